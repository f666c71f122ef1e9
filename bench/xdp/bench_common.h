/* bench_common.h: small helpers shared by the reference tools (C, header-only): argument
 * parsing for MAC/IP/port ranges, CPU pinning, clocks, and the stop flag set by SIGINT/SIGTERM. */
#ifndef ETHERPATH_BENCH_XDP_BENCH_COMMON_H
#define ETHERPATH_BENCH_XDP_BENCH_COMMON_H


#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/xdp/bench_abi.h"

static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

static inline void bench_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static inline void bench_die(const char *what)
{
	fprintf(stderr, "error: %s\n", what);
	exit(1);
}

static inline void bench_usage_error(const char *flag, const char *value)
{
	fprintf(stderr, "error: %s: invalid value '%s'\n", flag, value ? value : "");
	exit(2);
}

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		bench_die("sched_setaffinity");
}

/* "+N" suffix: a count (>= 1); returns 1 without one. */
static inline uint32_t bench_count_suffix(const char *flag, char *text)
{
	char *plus = strchr(text, '+');
	unsigned long n;
	char *end;

	if (!plus)
		return 1;
	*plus = '\0';
	n = strtoul(plus + 1, &end, 10);
	if (*end || n == 0 || n > 0xffffffffUL)
		bench_usage_error(flag, plus + 1);
	return (uint32_t)n;
}

/* MAC[+N] -> 48-bit integer and count. */
static inline void bench_parse_mac(const char *flag, const char *arg, __u64 *mac, __u32 *count)
{
	unsigned int o[6];
	char buf[64];
	int i;

	snprintf(buf, sizeof(buf), "%s", arg);
	*count = bench_count_suffix(flag, buf);
	if (sscanf(buf, "%x:%x:%x:%x:%x:%x", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]) != 6)
		bench_usage_error(flag, arg);
	*mac = 0;
	for (i = 0; i < 6; i++) {
		if (o[i] > 0xff)
			bench_usage_error(flag, arg);
		*mac = (*mac << 8) | o[i];
	}
}

/* IPv4[+N] -> host-order address and count. */
static inline void bench_parse_ip(const char *flag, const char *arg, __u32 *ip, __u32 *count)
{
	struct in_addr a;
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", arg);
	*count = bench_count_suffix(flag, buf);
	if (inet_pton(AF_INET, buf, &a) != 1)
		bench_usage_error(flag, arg);
	*ip = ntohl(a.s_addr);
}

/* P or P-Q -> range. */
static inline void bench_parse_ports(const char *flag, const char *arg, __u16 *lo, __u16 *hi)
{
	unsigned long a, b;
	char *end;

	a = strtoul(arg, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (*end || a > 65535 || b > 65535 || b < a)
		bench_usage_error(flag, arg);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
}

static inline void bench_mac_bytes(uint64_t mac, unsigned char *out)
{
	int i;

	for (i = 0; i < 6; i++)
		out[i] = (unsigned char)(mac >> (40 - 8 * i));
}

/* Fills the flow with the defaults the benchmarks use (a single host, ports 9/9). */
static inline void bench_default_flow(struct bench_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->dst_mac = 0x020000000002ULL;
	f->src_mac = 0x020000000001ULL;
	f->dst_mac_count = 1;
	f->dst_ip = 0x0a000002; /* 10.0.0.2 */
	f->dst_ip_count = 1;
	f->src_ip = 0x0a000001; /* 10.0.0.1 */
	f->sport_lo = f->sport_hi = 9;
	f->dport_lo = f->dport_hi = 9;
	f->frame_len = 60;
}

/* Flow options shared by the generator, txonly and the sink; returns 1 if it consumed argv[i]
 * and argv[i + 1]. */
static inline int bench_flow_option(struct bench_flow *f, int argc, char **argv, int i)
{
	const char *flag = argv[i];
	const char *value = i + 1 < argc ? argv[i + 1] : NULL;
	__u32 count;

	if (strcmp(flag, "--dst-mac") && strcmp(flag, "--src-mac") && strcmp(flag, "--dst-ip") &&
	    strcmp(flag, "--src-ip") && strcmp(flag, "--sport") && strcmp(flag, "--dport") &&
	    strcmp(flag, "--size"))
		return 0;
	if (!value)
		bench_usage_error(flag, NULL);
	if (!strcmp(flag, "--dst-mac")) {
		bench_parse_mac(flag, value, &f->dst_mac, &f->dst_mac_count);
	} else if (!strcmp(flag, "--src-mac")) {
		bench_parse_mac(flag, value, &f->src_mac, &count);
	} else if (!strcmp(flag, "--dst-ip")) {
		bench_parse_ip(flag, value, &f->dst_ip, &f->dst_ip_count);
	} else if (!strcmp(flag, "--src-ip")) {
		bench_parse_ip(flag, value, &f->src_ip, &count);
	} else if (!strcmp(flag, "--sport")) {
		bench_parse_ports(flag, value, &f->sport_lo, &f->sport_hi);
	} else if (!strcmp(flag, "--dport")) {
		bench_parse_ports(flag, value, &f->dport_lo, &f->dport_hi);
	} else {
		char *end;
		unsigned long n = strtoul(value, &end, 10);

		if (*end || n < 60 || n > 1514)
			bench_usage_error(flag, value);
		f->frame_len = (uint32_t)n;
	}
	return 1;
}

static inline uint16_t bench_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint32_t bench_sum16(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)((p[i] << 8) | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

/* Frame number n of the flow, as livegen.bpf.c builds it: Ethernet + IPv4 + UDP, payload magic
 * and sequence number then zeros, both checksums. out holds flow->frame_len bytes. */
static inline void bench_build_frame(const struct bench_flow *f, uint64_t n, unsigned char *out)
{
	unsigned char *ip = out + 14, *udp = ip + 20, *pl = udp + 8;
	uint32_t daddr = f->dst_ip + (uint32_t)(n % f->dst_ip_count);
	uint16_t udp_len = (uint16_t)(f->frame_len - 34);
	uint16_t sport = (uint16_t)(f->sport_lo + n % (uint32_t)(f->sport_hi - f->sport_lo + 1));
	uint16_t dport = (uint16_t)(f->dport_lo + n % (uint32_t)(f->dport_hi - f->dport_lo + 1));
	uint32_t sum;
	uint16_t c;

	memset(out, 0, f->frame_len);
	bench_mac_bytes(f->dst_mac + n % f->dst_mac_count, out);
	bench_mac_bytes(f->src_mac, out + 6);
	out[12] = 0x08;
	out[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = (unsigned char)((f->frame_len - 14) >> 8);
	ip[3] = (unsigned char)(f->frame_len - 14);
	ip[4] = (unsigned char)(n >> 8);
	ip[5] = (unsigned char)n;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = (unsigned char)(f->src_ip >> 24);
	ip[13] = (unsigned char)(f->src_ip >> 16);
	ip[14] = (unsigned char)(f->src_ip >> 8);
	ip[15] = (unsigned char)f->src_ip;
	ip[16] = (unsigned char)(daddr >> 24);
	ip[17] = (unsigned char)(daddr >> 16);
	ip[18] = (unsigned char)(daddr >> 8);
	ip[19] = (unsigned char)daddr;
	c = bench_fold(bench_sum16(ip, 20));
	ip[10] = (unsigned char)(c >> 8);
	ip[11] = (unsigned char)c;
	udp[0] = (unsigned char)(sport >> 8);
	udp[1] = (unsigned char)sport;
	udp[2] = (unsigned char)(dport >> 8);
	udp[3] = (unsigned char)dport;
	udp[4] = (unsigned char)(udp_len >> 8);
	udp[5] = (unsigned char)udp_len;
	pl[0] = (unsigned char)(BENCH_MAGIC >> 24);
	pl[1] = (unsigned char)(BENCH_MAGIC >> 16);
	pl[2] = (unsigned char)(BENCH_MAGIC >> 8);
	pl[3] = (unsigned char)BENCH_MAGIC;
	for (int i = 0; i < 8; i++)
		pl[4 + i] = (unsigned char)(n >> (56 - 8 * i));
	sum = bench_sum16(ip + 12, 8) + 17 + udp_len + bench_sum16(udp, udp_len);
	c = bench_fold(sum);
	if (c == 0)
		c = 0xffff;
	udp[6] = (unsigned char)(c >> 8);
	udp[7] = (unsigned char)c;
}

#define BENCH_FLOW_USAGE                                                                     \
	"  --dst-mac MAC[+N] --src-mac MAC --dst-ip IP[+N] --src-ip IP --sport P[-Q] --dport P[-Q]\n" \
	"  --size BYTES (frame without FCS, 60-1514; default 60)\n"

#endif
