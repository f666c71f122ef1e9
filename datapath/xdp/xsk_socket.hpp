// XskSocket: one AF_XDP socket on one interface queue, with its RX/TX and fill/completion rings.
#pragma once

#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "datapath/frame.hpp"
#include "datapath/stats.hpp"
#include "datapath/xdp/umem.hpp"

namespace etherpath::datapath::xdp {

struct XskSocketOptions {
  std::uint32_t rx_size = 2048;  // RX and TX ring entries (powers of two)
  // 0: a receive-only socket without a TX ring (transmit() takes nothing). In copy mode with
  // need_wakeup the kernel's poll() drives a socket's TX ring on every call (xsk_poll ->
  // xsk_generic_xmit: the socket mutex and an empty ring walk, per wakeup), which a socket that
  // never sends has no use for.
  std::uint32_t tx_size = 2048;
  bool zero_copy = false;  // bind with XDP_ZEROCOPY, else XDP_COPY
  bool generic = false;    // only for libxdp's built-in program: attach it in skb mode
  // >= 0: an XSKMAP of our steering program; the socket is registered in it at its queue id
  // (XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD). < 0: libxdp loads and attaches its built-in program.
  int xsks_map_fd = -1;
  bool need_wakeup = true;
  // Frames to post on the fill ring at start; UINT32_MAX = as many as the ring takes. 0 leaves the
  // fill ring empty (the fill-ring-empty test).
  std::uint32_t prefill = UINT32_MAX;
  bool busy_poll = false;  // SO_PREFER_BUSY_POLL + SO_BUSY_POLL + SO_BUSY_POLL_BUDGET
  std::uint32_t busy_poll_budget = 64;
};

// Owns the xsk_socket. Frames come from and go back to the shared Umem through a local cache, so
// the pool's mutex is taken once per batch, never per frame. Not thread-safe: one thread drives a
// socket at a time (different sockets on one Umem may run on different threads).
// The object must not move (libxdp keeps pointers to its ring structs): it lives in a unique_ptr.
class XskSocket {
 public:
  static Result<std::unique_ptr<XskSocket>> create(const std::string& ifname,
                                                   std::uint32_t queue_id,
                                                   std::shared_ptr<Umem> umem,
                                                   const XskSocketOptions& options);
  XskSocket(const XskSocket&) = delete;
  XskSocket& operator=(const XskSocket&) = delete;
  XskSocket(XskSocket&&) = delete;
  XskSocket& operator=(XskSocket&&) = delete;
  ~XskSocket();

  [[nodiscard]] int fd() const { return fd_; }
  // False for a receive-only socket (XskSocketOptions::tx_size 0).
  [[nodiscard]] bool has_tx_ring() const { return tx_.ring != nullptr; }
  [[nodiscard]] std::uint32_t queue_id() const { return queue_id_; }
  [[nodiscard]] const std::shared_ptr<Umem>& umem() const { return umem_; }

  // Appends up to batch.room() (at most one ring peek) received frames; see Engine::receive.
  std::size_t receive(FrameBatch& batch, std::uint16_t engine_queue);
  // Returns frames to the local cache and tops up the fill ring.
  void release(FrameBatch& batch);
  std::size_t alloc(FrameBatch& batch, std::size_t n);
  // Puts frames of this socket's UMEM on the TX ring; see Engine::transmit.
  std::size_t transmit(FrameBatch& batch);
  // Kicks TX when frames are outstanding and the kernel asked for a wakeup, reaps completions,
  // tops up the fill ring.
  void flush();
  // poll(2) for POLLIN; an error when the socket reports one (the device went away).
  [[nodiscard]] Result<bool> wait(int timeout_ms) const;
  // Puts one TX descriptor exactly as given, bypassing the frame checks: for testing the kernel's
  // descriptor validation (tx_invalid_descs). Returns false when the TX ring is full.
  bool submit_raw_tx_descriptor(std::uint64_t addr, std::uint32_t len);
  // Our counters plus XDP_STATISTICS (one getsockopt).
  [[nodiscard]] QueueStats stats() const;
  // Frames this socket holds in its local cache (free, ready for fill or TX).
  [[nodiscard]] std::size_t cached_frames() const { return cache_.size(); }
  // Frames sent but not yet completed.
  [[nodiscard]] std::uint32_t outstanding_tx() const { return outstanding_tx_; }

 private:
  XskSocket() = default;
  void refill();
  void reap_completions();
  bool kick_tx();  // false when the kernel said busy or failed
  // Makes the local cache hold at least `want` frames if the pool has them.
  void top_up_cache(std::size_t want);
  void trim_cache();
  void cache_push(std::uint64_t chunk);

  std::shared_ptr<Umem> umem_;  // first member: released last, after the socket is deleted
  xsk_socket* xsk_ = nullptr;
  int fd_ = -1;  // xsk_socket__fd(xsk_), kept: the wait and wakeup paths need it per call
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  std::uint32_t queue_id_ = 0;
  int xsks_map_fd_ = -1;
  bool need_wakeup_ = true;
  std::uint32_t tx_offset_ = 0;  // where allocated frames start: the RX layout (headroom) again
  std::uint32_t outstanding_tx_ = 0;
  std::uint32_t fill_target_ = 0;  // entries kept on the fill ring; 0 = none (tests)
  std::size_t cache_limit_ = 0;
  std::vector<std::uint64_t> cache_;  // reserved once; never grows past cache_limit_
  QueueStats counters_;
};

}  // namespace etherpath::datapath::xdp
