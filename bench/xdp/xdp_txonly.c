/* xdp_txonly: the plain AF_XDP txonly loop (reference TX peer): copy mode, need_wakeup, batches
 * of 64, completions recycled. The frames are written once into the UMEM (frame k is frame k of
 * the flow, so ranges of MACs, IPs and ports round robin) and sent over and over.
 *
 *   xdp_txonly -i IF [-q QUEUE] [-d SECONDS | -n COUNT] [-b BATCH] [-c CPU] [flow options]
 */
#include "bench/xdp/bench_xsk.h"

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IF [-q QUEUE] [-d SECONDS | -n COUNT] [-b BATCH] [-c CPU]\n" BENCH_FLOW_USAGE,
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long sent = 0, queued = 0, count = 0;
	double duration = 10, start, elapsed;
	unsigned int queue = 0, batch = 64, i, nfree = 0;
	__u64 free_addrs[BENCH_NUM_FRAMES];
	const char *ifname = NULL;
	struct bench_flow flow;
	int cpu = -1, a;
	struct bench_xsk x;
	__u32 idx;

	bench_default_flow(&flow);
	for (a = 1; a < argc; a++) {
		if (bench_flow_option(&flow, argc, argv, a))
			a++;
		else if (!strcmp(argv[a], "-i") && a + 1 < argc)
			ifname = argv[++a];
		else if (!strcmp(argv[a], "-q") && a + 1 < argc)
			queue = (unsigned int)atoi(argv[++a]);
		else if (!strcmp(argv[a], "-d") && a + 1 < argc)
			duration = atof(argv[++a]);
		else if (!strcmp(argv[a], "-n") && a + 1 < argc)
			count = strtoull(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "-b") && a + 1 < argc)
			batch = (unsigned int)atoi(argv[++a]);
		else if (!strcmp(argv[a], "-c") && a + 1 < argc)
			cpu = atoi(argv[++a]);
		else
			usage(argv[0]);
	}
	if (!ifname || batch == 0 || batch > BENCH_RING)
		usage(argv[0]);
	bench_pin(cpu);
	bench_install_signals();
	bench_xsk_open(&x, ifname, queue, 0, 0);
	for (i = 0; i < BENCH_NUM_FRAMES; i++) {
		bench_build_frame(&flow, i, (unsigned char *)x.area + (size_t)i * BENCH_FRAME_SIZE);
		free_addrs[nfree++] = (__u64)i * BENCH_FRAME_SIZE;
	}
	printf("txonly: %s queue %u (copy, need_wakeup), %u-byte frames\n", ifname, queue,
	       flow.frame_len);
	fflush(stdout);

	start = bench_now();
	while (!bench_stop) {
		__u32 done = xsk_ring_cons__peek(&x.comp, BENCH_RING, &idx), n;

		for (i = 0; i < done; i++)
			free_addrs[nfree++] = *xsk_ring_cons__comp_addr(&x.comp, idx + i);
		if (done)
			xsk_ring_cons__release(&x.comp, done);
		sent += done;
		if ((count && sent >= count) || (!count && (sent & 0xfff) < done &&
						    bench_now() - start >= duration))
			break;
		n = batch < nfree ? batch : nfree;
		if (count && queued + n > count)
			n = (unsigned int)(count - queued);
		if (n && xsk_ring_prod__reserve(&x.tx, n, &idx) == n) {
			for (i = 0; i < n; i++) {
				struct xdp_desc *d = xsk_ring_prod__tx_desc(&x.tx, idx + i);

				d->addr = free_addrs[--nfree];
				d->len = flow.frame_len;
			}
			xsk_ring_prod__submit(&x.tx, n);
			queued += n;
		}
		/* Copy mode sends in the kick: kick only when the kernel asks for it. */
		if (xsk_ring_prod__needs_wakeup(&x.tx))
			sendto(x.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
		if (!count && bench_now() - start >= duration + 1)
			break; /* completions stopped coming */
	}
	elapsed = bench_now() - start;
	printf("txonly: %llu frames completed in %.3f s: %.0f pps\n", sent, elapsed,
	       (double)sent / elapsed);
	bench_xsk_print_stats(&x, "txonly");
	printf("RESULT txonly_pps=%.0f txonly_frames=%llu\n", (double)sent / elapsed, sent);
	bench_xsk_close(&x);
	return 0;
}
