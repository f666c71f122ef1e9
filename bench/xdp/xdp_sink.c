/* xdp_sink: the XDP counter for the sink side (reference RX peer and TX judge). It attaches
 * sink.bpf.c (native mode unless -m generic), which counts and drops every frame and checks each
 * against the flow options; --validate reports the valid/invalid split (the checks run either
 * way, so the cost is the same).
 *
 *   xdp_sink -i IF [-m native|generic] [-d SECONDS] [--validate] [-q] [flow options]
 */
#include "bench/xdp/bench_common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include "sink_bpf.skel.h"

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IF [-m native|generic] [-d SECONDS] [--validate] [-q]\n" BENCH_FLOW_USAGE,
		prog);
	exit(2);
}

static void read_stats(int fd, int cpus, unsigned long long *out)
{
	unsigned long long values[cpus];
	__u32 k;
	int c;

	for (k = 0; k < SINK_STAT_COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, values))
			continue;
		for (c = 0; c < cpus; c++)
			out[k] += values[c];
	}
}

int main(int argc, char **argv)
{
	unsigned long long s[SINK_STAT_COUNT], prev = 0, first_frames = 0, last_frames = 0;
	double duration = 0, start, now, t_first = 0, t_last = 0, last_print;
	const char *ifname = NULL;
	int validate = 0, quiet = 0, generic = 0, i, prog_fd, map_fd, cpus, err;
	__u32 flags;
	struct bench_flow flow;
	struct sink_bpf *skel;
	unsigned int ifindex;

	bench_default_flow(&flow);
	for (i = 1; i < argc; i++) {
		if (bench_flow_option(&flow, argc, argv, i)) {
			i++;
		} else if (!strcmp(argv[i], "-i") && i + 1 < argc) {
			ifname = argv[++i];
		} else if (!strcmp(argv[i], "-m") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "generic"))
				generic = 1;
			else if (strcmp(argv[i], "native"))
				bench_usage_error("-m", argv[i]);
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			duration = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--validate")) {
			validate = 1;
		} else if (!strcmp(argv[i], "-q")) {
			quiet = 1;
		} else {
			usage(argv[0]);
		}
	}
	if (!ifname)
		usage(argv[0]);
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		bench_usage_error("-i", ifname);
	bench_install_signals();

	skel = sink_bpf__open();
	if (!skel)
		bench_die("opening the sink program");
	skel->rodata->flow = flow;
	if (sink_bpf__load(skel))
		bench_die("loading the sink program");
	prog_fd = bpf_program__fd(skel->progs.xdp_sink);
	map_fd = bpf_map__fd(skel->maps.sink_stats);
	cpus = libbpf_num_possible_cpus();
	flags = XDP_FLAGS_UPDATE_IF_NOEXIST | (generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	err = bpf_xdp_attach((int)ifindex, prog_fd, flags, NULL);
	if (err) {
		fprintf(stderr, "error: attaching the sink to %s: %s\n", ifname, strerror(-err));
		sink_bpf__destroy(skel);
		return 1;
	}
	printf("sink: attached to %s (%s XDP)\n", ifname, generic ? "generic" : "native");
	fflush(stdout);

	start = last_print = bench_now();
	while (!bench_stop && (duration <= 0 || bench_now() - start < duration)) {
		usleep(100000);
		now = bench_now();
		read_stats(map_fd, cpus, s);
		if (s[SINK_FRAMES] != prev) {
			/* The active period: from the first poll that saw frames to the last. */
			if (!t_first) {
				t_first = now;
				first_frames = s[SINK_FRAMES];
			}
			t_last = now;
			last_frames = s[SINK_FRAMES];
		}
		if (!quiet && now - last_print >= 1.0) {
			fprintf(stderr, "sink: %.3f Mpps\n",
				(double)(s[SINK_FRAMES] - prev) / (now - last_print) / 1e6);
			prev = s[SINK_FRAMES];
			last_print = now;
		}
		if (quiet)
			prev = s[SINK_FRAMES];
	}
	bpf_xdp_detach((int)ifindex, generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, NULL);
	read_stats(map_fd, cpus, s);
	{
		double active = t_last - t_first;
		double pps = active > 0 ? (double)(last_frames - first_frames) / active : 0;

		printf("sink: %llu frames, %llu bytes, %.0f pps while active\n", s[SINK_FRAMES],
		       s[SINK_BYTES], pps);
		if (validate)
			printf("sink: %llu valid, %llu invalid\n", s[SINK_VALID], s[SINK_INVALID]);
		printf("RESULT sink_pps=%.0f sink_frames=%llu", pps, s[SINK_FRAMES]);
		if (validate)
			printf(" sink_valid=%llu sink_invalid=%llu", s[SINK_VALID], s[SINK_INVALID]);
		printf("\n");
	}
	sink_bpf__destroy(skel);
	return 0;
}
