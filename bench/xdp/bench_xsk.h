/* bench_xsk.h: one AF_XDP socket with its own UMEM for the plain reference loops (xdp_rxdrop,
 * xdp_txonly), the way the kernel's xdpsock sample does it on libxdp: copy mode (veth has no
 * zero-copy), need_wakeup, and the fill ring sized to what is posted (libxdp's default fill ring
 * is 2048: reserving more returns 0 and fills nothing). */
#ifndef ETHERPATH_BENCH_XDP_BENCH_XSK_H
#define ETHERPATH_BENCH_XDP_BENCH_XSK_H

#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#include "bench/xdp/bench_common.h"

#define BENCH_NUM_FRAMES 4096
#define BENCH_FRAME_SIZE 2048
#define BENCH_RING 2048

struct bench_xsk {
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	int fd;
};

/* rx: open an RX ring and let libxdp load its default program (redirect this queue to us);
 * else TX only, no program. generic: skb mode for that program. */
static inline void bench_xsk_open(struct bench_xsk *x, const char *ifname, unsigned int queue,
				  int rx, int generic)
{
	struct xsk_umem_config ucfg = {
		.fill_size = BENCH_NUM_FRAMES,
		.comp_size = BENCH_RING,
		.frame_size = BENCH_FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg;
	int err;

	memset(x, 0, sizeof(*x));
	x->area = mmap(NULL, (size_t)BENCH_NUM_FRAMES * BENCH_FRAME_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED)
		bench_die("mmap UMEM");
	err = xsk_umem__create(&x->umem, x->area, (__u64)BENCH_NUM_FRAMES * BENCH_FRAME_SIZE,
			       &x->fill, &x->comp, &ucfg);
	if (err) {
		fprintf(stderr, "error: xsk_umem__create: %s\n", strerror(-err));
		exit(1);
	}
	memset(&scfg, 0, sizeof(scfg));
	scfg.rx_size = BENCH_RING;
	scfg.tx_size = BENCH_RING;
	scfg.libxdp_flags = rx ? 0 : XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
	scfg.xdp_flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	scfg.bind_flags = XDP_USE_NEED_WAKEUP | XDP_COPY;
	err = xsk_socket__create(&x->xsk, ifname, queue, x->umem, rx ? &x->rx : NULL,
				 rx ? NULL : &x->tx, &scfg);
	if (err) {
		fprintf(stderr, "error: xsk_socket__create on %s queue %u: %s\n", ifname, queue,
			strerror(-err));
		exit(1);
	}
	x->fd = xsk_socket__fd(x->xsk);
}

static inline void bench_xsk_close(struct bench_xsk *x)
{
	xsk_socket__delete(x->xsk);
	xsk_umem__delete(x->umem);
	munmap(x->area, (size_t)BENCH_NUM_FRAMES * BENCH_FRAME_SIZE);
}

static inline void bench_xsk_print_stats(const struct bench_xsk *x, const char *who)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0)
		printf("%s: rx_dropped=%llu rx_ring_full=%llu rx_fill_ring_empty=%llu "
		       "tx_invalid=%llu tx_ring_empty=%llu\n",
		       who, (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
		       (unsigned long long)st.rx_fill_ring_empty_descs,
		       (unsigned long long)st.tx_invalid_descs,
		       (unsigned long long)st.tx_ring_empty_descs);
}

static inline unsigned long long bench_xsk_rx_ring_full(const struct bench_xsk *x)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &len);
	return st.rx_ring_full;
}

#endif
