/* xdp_livegen: the in-kernel live-frames generator (reference TX peer). BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs livegen.bpf.c, which rewrites each frame (ranges of dst MAC, dst
 * IP and ports, round robin) and returns XDP_TX out of the given interface. The receiving veth
 * needs an XDP program in native mode (its NAPI) for the frames to arrive.
 *
 *   xdp_livegen -i IF [-d SECONDS | -n COUNT] [-b BATCH] [-c CPU] [--host-stride S] [flow options]
 *
 * --host-stride S: frame n goes to dst MAC and IP number n * S of their ranges (modulo the range's
 * size) instead of n: with an odd S (and a power-of-two range) every host still gets one frame per
 * round, in a scattered order (bench/conn's run_scale.sh uses it).
 */
#include "bench/xdp/bench_common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "livegen_bpf.skel.h"

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IF [-d SECONDS | -n COUNT] [-b BATCH=64] [-c CPU] [--host-stride S=1]\n"
		BENCH_FLOW_USAGE,
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL;
	double duration = 5, start, last_print, now, elapsed;
	unsigned long long count = 0, sent, printed = 0, host_stride = 1;
	unsigned int batch = 64, ifindex;
	struct bench_flow flow;
	struct livegen_bpf *skel;
	unsigned char frame[1514];
	struct xdp_md ctx;
	int cpu = -1, i, fd, err;

	bench_default_flow(&flow);
	for (i = 1; i < argc; i++) {
		if (bench_flow_option(&flow, argc, argv, i)) {
			i++;
		} else if (!strcmp(argv[i], "-i") && i + 1 < argc) {
			ifname = argv[++i];
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			duration = atof(argv[++i]);
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			count = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "-b") && i + 1 < argc) {
			batch = (unsigned int)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			cpu = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--host-stride") && i + 1 < argc) {
			host_stride = strtoull(argv[++i], NULL, 10);
			if (host_stride == 0)
				bench_usage_error("--host-stride", argv[i]);
		} else {
			usage(argv[0]);
		}
	}
	if (!ifname)
		usage(argv[0]);
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		bench_usage_error("-i", ifname);
	bench_pin(cpu);
	bench_install_signals();

	skel = livegen_bpf__open();
	if (!skel)
		bench_die("opening the generator program");
	skel->rodata->flow = flow;
	skel->rodata->host_stride = host_stride;
	err = livegen_bpf__load(skel);
	if (err)
		bench_die("loading the generator program");
	fd = bpf_program__fd(skel->progs.xdp_livegen);

	memset(frame, 0, sizeof(frame));
	memset(&ctx, 0, sizeof(ctx));
	ctx.ingress_ifindex = ifindex;
	ctx.data_end = flow.frame_len;

	start = last_print = bench_now();
	for (;;) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = flow.frame_len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch,
			    .repeat = 1 << 18);

		if (count && skel->bss->seq + opts.repeat > count)
			opts.repeat = (unsigned int)(count - skel->bss->seq);
		if (opts.repeat == 0)
			break;
		err = bpf_prog_test_run_opts(fd, &opts);
		if (err && errno != EINTR) {
			perror("BPF_PROG_RUN (live frames)");
			livegen_bpf__destroy(skel);
			return 1;
		}
		now = bench_now();
		if (now - last_print >= 1.0) {
			sent = skel->bss->seq;
			fprintf(stderr, "livegen: %.3f Mpps\n",
				(double)(sent - printed) / (now - last_print) / 1e6);
			printed = sent;
			last_print = now;
		}
		if (bench_stop || (!count && now - start >= duration) || (count && skel->bss->seq >= count))
			break;
	}
	elapsed = bench_now() - start;
	sent = skel->bss->seq;
	printf("livegen: %llu frames in %.3f s: %.0f pps (offered; XDP_TX drops show on the "
	       "receiver)\n",
	       sent, elapsed, (double)sent / elapsed);
	printf("RESULT gen_pps=%.0f gen_frames=%llu\n", (double)sent / elapsed, sent);
	livegen_bpf__destroy(skel);
	return 0;
}
