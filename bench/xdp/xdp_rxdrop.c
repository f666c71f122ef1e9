/* xdp_rxdrop: the plain AF_XDP rxdrop loop (reference RX peer): libxdp's default program
 * redirects one queue to one socket, copy mode, need_wakeup, batches of 64, every frame put
 * straight back on the fill ring. Prints the rate, rx_ring_full and the loop thread's CPU time
 * per packet (with --poll the thread sleeps when idle, so that figure is the work per packet).
 *
 *   xdp_rxdrop -i IF [-q QUEUE] [-m native|generic] [-d SECONDS] [--poll] [-b BATCH] [-c CPU]
 *              [--wait-cost N]
 * --wait-cost N: no receive loop; N times an empty peek and a poll() with a zero timeout, on an
 * idle link: the thread CPU time per wakeup of the syscall path (ep_rxdrop --wait-cost alike).
 */
#include "bench/xdp/bench_xsk.h"

#include <poll.h>

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IF [-q QUEUE] [-m native|generic] [-d SECONDS] [--poll] [-b BATCH] "
		"[-c CPU] [--wait-cost N]\n",
		prog);
	exit(2);
}

struct rx_result {
	unsigned long long pkts, first_pkts, waits;
	double t_first, t_last;
};

/* The receive loop, in a function of its own so that bench/xdp/count_rx.sh can count its
 * instructions under callgrind (--toggle-collect=rx_loop) the same way as ep_rxdrop's. */
static __attribute__((noinline)) struct rx_result rx_loop(struct bench_xsk *x, unsigned int batch,
							   int use_poll, double start,
							   double duration)
{
	struct rx_result r = { 0 };
	double now;
	__u32 idx, i;

	while (!bench_stop) {
		__u32 n = xsk_ring_cons__peek(&x->rx, batch, &idx), fidx;

		if (n == 0) {
			r.waits++;
			if (use_poll) {
				struct pollfd p = { .fd = x->fd, .events = POLLIN };

				poll(&p, 1, 100);
			} else if (xsk_ring_prod__needs_wakeup(&x->fill)) {
				recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
			}
			if (bench_now() - start >= duration)
				break;
			continue;
		}
		while (xsk_ring_prod__reserve(&x->fill, n, &fidx) != n)
			; /* every frame we hold has its slot: this does not spin */
		for (i = 0; i < n; i++) {
			__u64 addr = xsk_ring_cons__rx_desc(&x->rx, idx + i)->addr;

			/* Copy mode delivers at frame base + XDP_PACKET_HEADROOM: mask down. */
			*xsk_ring_prod__fill_addr(&x->fill, fidx + i) = addr - addr % BENCH_FRAME_SIZE;
		}
		xsk_ring_prod__submit(&x->fill, n);
		xsk_ring_cons__release(&x->rx, n);
		r.pkts += n;
		if ((r.pkts & 0xfff) < n) { /* about every 4096 frames: the clock is not free */
			now = bench_now();
			if (!r.t_first) {
				r.t_first = now;
				r.first_pkts = r.pkts;
			}
			r.t_last = now;
			if (now - start >= duration)
				break;
		}
	}
	return r;
}

/* --wait-cost: the empty peek and poll(), count times; thread CPU ns per round. */
static __attribute__((noinline)) double wait_cost(struct bench_xsk *x, long count)
{
	struct pollfd p = { .fd = x->fd, .events = POLLIN };
	uint64_t cpu0 = bench_thread_cpu_ns();
	__u32 idx;
	long i;

	for (i = 0; i < count; i++) {
		__u32 n = xsk_ring_cons__peek(&x->rx, 64, &idx), fidx, k;

		if (n) { /* the link should be idle; a stray frame goes back */
			while (xsk_ring_prod__reserve(&x->fill, n, &fidx) != n)
				;
			for (k = 0; k < n; k++) {
				__u64 addr = xsk_ring_cons__rx_desc(&x->rx, idx + k)->addr;

				*xsk_ring_prod__fill_addr(&x->fill, fidx + k) =
					addr - addr % BENCH_FRAME_SIZE;
			}
			xsk_ring_prod__submit(&x->fill, n);
			xsk_ring_cons__release(&x->rx, n);
		}
		poll(&p, 1, 0);
	}
	return (double)(bench_thread_cpu_ns() - cpu0) / (double)count;
}

int main(int argc, char **argv)
{
	unsigned long long pkts = 0, first_pkts = 0;
	double duration = 10, start, t_first = 0, t_last = 0;
	unsigned int queue = 0, batch = 64, i;
	int generic = 0, use_poll = 0, cpu = -1, a;
	long wait_rounds = 0;
	const char *ifname = NULL;
	uint64_t cpu0, cpu_ns;
	struct bench_xsk x;
	struct rx_result r;
	__u32 idx;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-i") && a + 1 < argc)
			ifname = argv[++a];
		else if (!strcmp(argv[a], "-q") && a + 1 < argc)
			queue = (unsigned int)atoi(argv[++a]);
		else if (!strcmp(argv[a], "-m") && a + 1 < argc)
			generic = !strcmp(argv[++a], "generic");
		else if (!strcmp(argv[a], "-d") && a + 1 < argc)
			duration = atof(argv[++a]);
		else if (!strcmp(argv[a], "--poll"))
			use_poll = 1;
		else if (!strcmp(argv[a], "-b") && a + 1 < argc)
			batch = (unsigned int)atoi(argv[++a]);
		else if (!strcmp(argv[a], "-c") && a + 1 < argc)
			cpu = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--wait-cost") && a + 1 < argc)
			wait_rounds = atol(argv[++a]);
		else
			usage(argv[0]);
	}
	if (!ifname || batch == 0 || batch > BENCH_RING)
		usage(argv[0]);
	bench_pin(cpu);
	bench_install_signals();
	bench_xsk_open(&x, ifname, queue, 1, generic);

	if (xsk_ring_prod__reserve(&x.fill, BENCH_NUM_FRAMES, &idx) != BENCH_NUM_FRAMES)
		bench_die("filling the fill ring");
	for (i = 0; i < BENCH_NUM_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&x.fill, idx + i) = (__u64)i * BENCH_FRAME_SIZE;
	xsk_ring_prod__submit(&x.fill, BENCH_NUM_FRAMES);
	printf("rxdrop: %s queue %u (%s XDP, copy, need_wakeup)\n", ifname, queue,
	       generic ? "generic" : "native");
	fflush(stdout);
	if (wait_rounds > 0) {
		printf("RESULT rxdrop_wait_ns=%.1f\n", wait_cost(&x, wait_rounds));
		bench_xsk_close(&x);
		return 0;
	}

	start = bench_now();
	cpu0 = bench_thread_cpu_ns();
	r = rx_loop(&x, batch, use_poll, start, duration);
	pkts = r.pkts;
	first_pkts = r.first_pkts;
	t_first = r.t_first;
	t_last = r.t_last;
	cpu_ns = bench_thread_cpu_ns() - cpu0;
	{
		double active = t_last - t_first;
		double pps = active > 0 ? (double)(pkts - first_pkts) / active : 0;
		double cpu_per_pkt = pkts ? (double)cpu_ns / (double)pkts : 0;

		printf("rxdrop: %llu frames, %.0f pps while active, %.1f ns thread CPU per frame, "
		       "%llu idle waits (%.1f frames per wait)\n",
		       pkts, pps, cpu_per_pkt, r.waits,
		       r.waits ? (double)pkts / (double)r.waits : 0.0);
		bench_xsk_print_stats(&x, "rxdrop");
		printf("RESULT rxdrop_pps=%.0f rxdrop_frames=%llu rxdrop_cpu_ns=%.1f "
		       "rxdrop_rx_ring_full=%llu\n",
		       pps, pkts, cpu_per_pkt, bench_xsk_rx_ring_full(&x));
	}
	bench_xsk_close(&x);
	return 0;
}
