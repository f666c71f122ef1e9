// XskSocket: libxdp socket creation, ring batching, need_wakeup kicks, XDP_STATISTICS.
#include "datapath/xdp/xsk_socket.hpp"

#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "datapath/xdp/ring_runs.hpp"

namespace etherpath::datapath::xdp {

namespace {

// In copy mode the kernel puts received packets XDP_PACKET_HEADROOM bytes past the chunk start
// (plus the UMEM's own headroom); frames built for TX use the same layout, so a received frame
// and an allocated one have the same room for prepending.
constexpr std::uint32_t kXdpPacketHeadroom = 256;

#ifndef SO_PREFER_BUSY_POLL
constexpr int SO_PREFER_BUSY_POLL = 69;
#endif
#ifndef SO_BUSY_POLL_BUDGET
constexpr int SO_BUSY_POLL_BUDGET = 70;
#endif

Status set_int_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return fail_errno(std::string("setsockopt ") + what);
  }
  return ok();
}

}  // namespace

Result<std::unique_ptr<XskSocket>> XskSocket::create(const std::string& ifname,
                                                     std::uint32_t queue_id,
                                                     std::shared_ptr<Umem> umem,
                                                     const XskSocketOptions& options) {
  std::unique_ptr<XskSocket> s(new XskSocket());
  s->umem_ = std::move(umem);
  s->queue_id_ = queue_id;
  s->need_wakeup_ = options.need_wakeup;
  s->tx_offset_ = kXdpPacketHeadroom + s->umem_->headroom();
  const std::string where = ifname + ": AF_XDP socket on queue " + std::to_string(queue_id);

  xsk_socket_config config{};
  config.rx_size = options.rx_size;
  config.tx_size = options.tx_size;
  config.libxdp_flags = options.xsks_map_fd >= 0 ? XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD : 0U;
  config.xdp_flags = options.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  config.bind_flags = static_cast<std::uint16_t>((options.zero_copy ? XDP_ZEROCOPY : XDP_COPY) |
                                                 (options.need_wakeup ? XDP_USE_NEED_WAKEUP : 0U));
  xsk_socket* xsk = nullptr;
  xsk_ring_prod* tx = options.tx_size != 0 ? &s->tx_ : nullptr;
  const int err = xsk_socket__create_shared(&xsk, ifname.c_str(), queue_id, s->umem_->handle(),
                                            &s->rx_, tx, &s->fill_, &s->comp_, &config);
  if (err != 0) {
    return fail_errno(where + ": bind (" + (options.zero_copy ? "zero-copy" : "copy") + ")", -err);
  }
  s->xsk_ = xsk;
  s->fd_ = xsk_socket__fd(xsk);
  const int fd = s->fd_;

  if (options.xsks_map_fd >= 0) {
    const int map_err = xsk_socket__update_xskmap(xsk, options.xsks_map_fd);
    if (map_err != 0) {
      return fail_errno(where + ": register in the XSKMAP", map_err < 0 ? -map_err : errno);
    }
    s->xsks_map_fd_ = options.xsks_map_fd;
  }
  if (options.busy_poll) {
    EP_TRY_STATUS(set_int_option(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL"));
    EP_TRY_STATUS(set_int_option(fd, SOL_SOCKET, SO_BUSY_POLL, 20, "SO_BUSY_POLL"));
    EP_TRY_STATUS(set_int_option(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET,
                                 static_cast<int>(options.busy_poll_budget),
                                 "SO_BUSY_POLL_BUDGET"));
  }

  // The cache holds at most what the fill and TX rings can take; a reap adds at most a
  // completion ring's worth before the trim, hence the reservation (no reallocation later).
  s->cache_limit_ = std::size_t{s->umem_->fill_size()} + options.tx_size;
  s->cache_.reserve(s->cache_limit_ + s->umem_->comp_size() + FrameBatch::kCapacity);
  s->fill_target_ = std::min(options.prefill, s->umem_->fill_size());
  s->refill();
  return s;
}

XskSocket::~XskSocket() {
  if (xsk_ == nullptr) {
    return;
  }
  if (xsks_map_fd_ >= 0) {
    // Our steering program would otherwise keep redirecting this queue to a dead socket.
    ::bpf_map_delete_elem(xsks_map_fd_, &queue_id_);
  }
  // Frames waiting in the RX and completion rings go back to the pool; those on the fill ring
  // stay with the kernel until the UMEM is deleted.
  std::uint32_t idx = 0;
  const std::uint32_t rx_n = xsk_ring_cons__peek(&rx_, rx_.size, &idx);
  for (std::uint32_t i = 0; i < rx_n; ++i) {
    cache_.push_back(umem_->chunk_of(xsk_ring_cons__rx_desc(&rx_, idx + i)->addr));
    if (cache_.size() == cache_.capacity()) {
      umem_->give(cache_);
      cache_.clear();
    }
  }
  const std::uint32_t comp_n = xsk_ring_cons__peek(&comp_, comp_.size, &idx);
  for (std::uint32_t i = 0; i < comp_n; ++i) {
    cache_.push_back(umem_->chunk_of(*xsk_ring_cons__comp_addr(&comp_, idx + i)));
    if (cache_.size() == cache_.capacity()) {
      umem_->give(cache_);
      cache_.clear();
    }
  }
  xsk_socket__delete(xsk_);
  umem_->give(cache_);
}

void XskSocket::top_up_cache(std::size_t want) {
  if (cache_.size() >= want) {
    return;
  }
  const std::size_t old = cache_.size();
  const std::size_t room = std::min(want, cache_limit_) - std::min(old, cache_limit_);
  if (room == 0) {
    return;
  }
  cache_.resize(old + room);
  const std::size_t got = umem_->take(std::span(cache_).subspan(old, room));
  cache_.resize(old + got);
}

void XskSocket::trim_cache() {
  if (cache_.size() <= cache_limit_) {
    return;
  }
  // Keep half so that a socket that both receives and sends does not ping-pong with the pool.
  const std::size_t keep = cache_limit_ / 2;
  umem_->give(std::span(cache_).subspan(keep));
  cache_.resize(keep);
}

void XskSocket::cache_push(std::uint64_t chunk) {
  cache_.push_back(chunk);
}

void XskSocket::refill() {
  if (fill_target_ == 0) {
    return;
  }
  // xsk_prod_nb_free re-reads the kernel's consumer index only when the cached count is short.
  std::uint32_t n = xsk_prod_nb_free(&fill_, fill_target_);
  n = std::min(n, fill_target_);
  if (n == 0) {
    return;
  }
  top_up_cache(n);
  n = std::min<std::uint32_t>(n, static_cast<std::uint32_t>(cache_.size()));
  if (n == 0) {
    return;
  }
  std::uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&fill_, n, &idx) != n) {
    return;
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&fill_, idx + i) = cache_.back();
    cache_.pop_back();
  }
  xsk_ring_prod__submit(&fill_, n);
  counters_.fill_posted += n;
}

std::size_t XskSocket::receive(FrameBatch& batch, std::uint16_t engine_queue) {
  std::uint32_t idx = 0;
  const auto want = static_cast<std::uint32_t>(batch.room());
  const std::uint32_t n = want == 0 ? 0 : xsk_ring_cons__peek(&rx_, want, &idx);
  if (n == 0) {
    // Zero-copy drivers stop taking fill entries until woken; copy mode never sets this flag.
    if (need_wakeup_ && xsk_ring_prod__needs_wakeup(&fill_)) {
      ::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
      ++counters_.rx_wakeups;
    }
    return 0;
  }
  // Everything the loop needs in locals: the Frame stores below could otherwise alias the ring
  // and UMEM fields, and the compiler would reload each of them for every frame.
  const FramePool* pool = &umem_->frame_pool();
  std::byte* area = pool->base;
  const std::uint32_t offset_mask = pool->chunk_size - 1U;  // chunk sizes are powers of two
  const auto* descs = static_cast<const xdp_desc*>(rx_.ring);
  const std::uint32_t first = idx & rx_.mask;
  const std::uint32_t run = std::min(n, rx_.size - first);
  Frame* out = batch.extend(n);  // n <= room(): the peek asked for at most that many
  std::uint64_t bytes =
      frames_from_descs(descs + first, run, out, pool, area, offset_mask, engine_queue);
  if (run != n) {  // the range wrapped: the rest starts at the ring's first entry
    bytes += frames_from_descs(descs, n - run, out + run, pool, area, offset_mask, engine_queue);
  }
  // The descriptors can go back at once: the kernel reuses a chunk only after it returns on the
  // fill ring, which release() does.
  xsk_ring_cons__release(&rx_, n);
  counters_.rx_packets += n;
  counters_.rx_bytes += bytes;
  return n;
}

void XskSocket::release(FrameBatch& batch) {
  // The usual case (a received batch given back whole, the fill ring kept full): the chunks go
  // straight onto the fill ring, as the plain rxdrop loop does, without passing the local cache.
  const auto n = static_cast<std::uint32_t>(batch.size());
  std::uint32_t idx = 0;
  if (n != 0 && fill_target_ == fill_.size && xsk_ring_prod__reserve(&fill_, n, &idx) == n) {
    const FramePool* pool = &umem_->frame_pool();
    const std::byte* area = pool->base;
    const std::uint64_t chunk_mask = ~std::uint64_t{pool->chunk_size - 1U};
    auto* fill = static_cast<std::uint64_t*>(fill_.ring);
    const std::uint32_t first = idx & fill_.mask;
    const std::uint32_t run = std::min(n, fill_.size - first);
    const Frame* frames = batch.begin();
    std::uint32_t done = frames_to_fill(frames, run, fill + first, pool, area, chunk_mask);
    if (done == run && run != n) {  // the range wrapped: the rest goes from the first entry
      done += frames_to_fill(frames + run, n - run, fill, pool, area, chunk_mask);
    }
    if (done == n) {
      xsk_ring_prod__submit(&fill_, n);
      counters_.fill_posted += n;
      batch.clear();
      return;
    }
    // A frame of another pool than this UMEM (copied in from another engine): take the reservation
    // back (libxdp has no cancel for producer rings; reserve only advanced cached_prod) and sort
    // the frames by pool below.
    fill_.cached_prod -= n;
  }
  for (const Frame& f : batch) {
    if (f.frame_pool() == &umem_->frame_pool()) {
      cache_push(f.chunk_addr());
    }
  }
  batch.clear();
  refill();
  trim_cache();
}

std::size_t XskSocket::alloc(FrameBatch& batch, std::size_t n) {
  n = std::min(n, batch.room());
  top_up_cache(n);
  n = std::min(n, cache_.size());
  const FramePool& pool = umem_->frame_pool();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t chunk = cache_.back();
    cache_.pop_back();
    batch.push(Frame(pool, chunk, tx_offset_, 0));
  }
  return n;
}

std::size_t XskSocket::transmit(FrameBatch& batch) {
  std::uint32_t n = 0;
  while (n < batch.size() && batch[n].frame_pool() == &umem_->frame_pool()) {
    ++n;
  }
  if (n == 0 || !has_tx_ring()) {
    return 0;
  }
  n = std::min(n, xsk_prod_nb_free(&tx_, n));
  std::uint32_t idx = 0;
  if (n == 0 || xsk_ring_prod__reserve(&tx_, n, &idx) != n) {
    return 0;
  }
  std::uint64_t bytes = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + i);
    d->addr = batch[i].packet_addr();
    d->len = batch[i].size();
    d->options = 0;
    bytes += d->len;
  }
  xsk_ring_prod__submit(&tx_, n);
  outstanding_tx_ += n;
  counters_.tx_packets += n;
  counters_.tx_bytes += bytes;
  batch.drop_front(n);
  return n;
}

bool XskSocket::submit_raw_tx_descriptor(std::uint64_t addr, std::uint32_t len) {
  std::uint32_t idx = 0;
  if (!has_tx_ring() || xsk_ring_prod__reserve(&tx_, 1, &idx) != 1) {
    return false;
  }
  xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx);
  d->addr = addr;
  d->len = len;
  d->options = 0;
  xsk_ring_prod__submit(&tx_, 1);
  return true;
}

bool XskSocket::kick_tx() {
  ++counters_.tx_kicks;
  if (::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) {
    return true;
  }
  // These mean "busy, try again on the next flush"; anything else is a real failure.
  if (errno != ENOBUFS && errno != EAGAIN && errno != EBUSY && errno != ENETDOWN) {
    ++counters_.tx_errors;
  }
  return false;
}

void XskSocket::reap_completions() {
  std::uint32_t idx = 0;
  const std::uint32_t n = xsk_ring_cons__peek(&comp_, comp_.size, &idx);
  if (n == 0) {
    return;
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    cache_push(umem_->chunk_of(*xsk_ring_cons__comp_addr(&comp_, idx + i)));
  }
  xsk_ring_cons__release(&comp_, n);
  outstanding_tx_ -= std::min(outstanding_tx_, n);
  counters_.tx_completed += n;
}

void XskSocket::flush() {
  // Copy mode sends in the sendto() call (up to 32 frames per call), so kick while anything is
  // outstanding and the kernel says it is not already working on the ring.
  // Copy mode sends at most 32 frames per sendto(), so kick until the kernel has taken every
  // descriptor off the ring; the bound keeps a stuck device from holding the loop.
  for (std::uint32_t i = 0; i <= tx_.size / 32 && outstanding_tx_ > 0; ++i) {
    if (xsk_prod_nb_free(&tx_, tx_.size) == tx_.size) {
      break;  // ring drained: the rest are completions on their way
    }
    if (need_wakeup_ && !xsk_ring_prod__needs_wakeup(&tx_)) {
      break;  // the kernel is already working on the ring (zero-copy drivers)
    }
    if (!kick_tx()) {
      break;
    }
  }
  reap_completions();
  refill();
  trim_cache();
}

Result<bool> XskSocket::wait(int timeout_ms) const {
  pollfd p{fd(), POLLIN, 0};
  const int r = ::poll(&p, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) {
      return false;
    }
    return fail_errno("AF_XDP poll on queue " + std::to_string(queue_id_));
  }
  if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    return fail_errno("AF_XDP socket on queue " + std::to_string(queue_id_),
                      err != 0 ? err : ENETDOWN);
  }
  return (p.revents & POLLIN) != 0;
}

QueueStats XskSocket::stats() const {
  QueueStats s = counters_;
  xdp_statistics k{};
  socklen_t len = sizeof k;
  if (::getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &k, &len) == 0) {
    s.kernel_rx_dropped = k.rx_dropped;
    s.kernel_rx_invalid_descs = k.rx_invalid_descs;
    s.kernel_tx_invalid_descs = k.tx_invalid_descs;
    s.kernel_rx_ring_full = k.rx_ring_full;
    s.kernel_rx_fill_ring_empty_descs = k.rx_fill_ring_empty_descs;
    s.kernel_tx_ring_empty_descs = k.tx_ring_empty_descs;
  }
  return s;
}

}  // namespace etherpath::datapath::xdp
