// Umem: the AF_XDP packet buffer area (one libxdp xsk_umem) and its pool of free frames.
#pragma once

#include <xdp/xsk.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/mmap_region.hpp"
#include "base/result.hpp"
#include "datapath/frame.hpp"

namespace etherpath::datapath::xdp {

struct UmemOptions {
  std::uint32_t frame_count = 4096;  // chunks in the area
  std::uint32_t frame_size = 4096;   // 2048 or 4096 (aligned chunk mode needs a power of two)
  // Bytes the kernel leaves free in front of every received packet, on top of its own
  // XDP_PACKET_HEADROOM (256) in copy mode: room to prepend headers without moving the packet.
  std::uint32_t headroom = 0;
  // The first socket's fill and completion rings; 0 = frame_count / 2 (a power of two). libxdp's
  // default is 2048, and a reserve larger than the ring fails silently, so size it to the posts.
  std::uint32_t fill_size = 0;
  std::uint32_t comp_size = 0;
  bool huge_pages = false;
};

// Owns the mmap'd area and the xsk_umem registered over it. Sockets (XskSocket) hold a
// shared_ptr to it, so the UMEM outlives every socket bound to it, as xsk_umem__delete requires.
// Free frames are kept in a pool guarded by a mutex; sockets take and return them in bulk (one
// lock per batch, never per packet) and keep a local cache.
class Umem {
 public:
  static Result<std::shared_ptr<Umem>> create(const UmemOptions& options);
  Umem(const Umem&) = delete;
  Umem& operator=(const Umem&) = delete;
  Umem(Umem&&) = delete;
  Umem& operator=(Umem&&) = delete;
  ~Umem();

  [[nodiscard]] xsk_umem* handle() const { return umem_; }
  [[nodiscard]] std::byte* area() const { return static_cast<std::byte*>(area_.data()); }
  [[nodiscard]] std::uint32_t frame_size() const { return options_.frame_size; }
  [[nodiscard]] std::uint32_t frame_count() const { return options_.frame_count; }
  [[nodiscard]] std::uint32_t headroom() const { return options_.headroom; }
  [[nodiscard]] std::uint32_t fill_size() const { return options_.fill_size; }
  [[nodiscard]] std::uint32_t comp_size() const { return options_.comp_size; }
  [[nodiscard]] std::uint64_t size_bytes() const { return area_.size(); }
  // What the UMEM's frames point to (area and chunk size); its address is the pool identity that
  // Frame::pool() returns for every frame of this UMEM, on whichever socket it was received.
  [[nodiscard]] const FramePool& frame_pool() const { return pool_; }
  // The chunk that holds `addr`: RX descriptors point past the chunk start (XDP_PACKET_HEADROOM
  // plus our headroom in copy mode), and the fill ring takes chunk starts only.
  [[nodiscard]] std::uint64_t chunk_of(std::uint64_t addr) const { return addr & ~chunk_mask_; }
  [[nodiscard]] bool contains(std::uint64_t addr) const { return addr < area_.size(); }

  // Moves up to out.size() free chunk addresses into `out`; returns how many.
  std::size_t take(std::span<std::uint64_t> out);
  // Returns chunk addresses to the pool.
  void give(std::span<const std::uint64_t> addrs);
  [[nodiscard]] std::size_t free_count() const;

 private:
  Umem() = default;
  UmemOptions options_;
  MmapRegion area_;
  xsk_umem* umem_ = nullptr;
  // The rings xsk_umem__create maps; libxdp copies them into the first socket's own ring structs
  // and keeps pointers to these until then, so they live here, at a stable address.
  xsk_ring_prod fill_save_{};
  xsk_ring_cons comp_save_{};
  std::uint64_t chunk_mask_ = 0;
  FramePool pool_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> free_;  // guarded by mutex_; capacity frame_count, never grows
};

}  // namespace etherpath::datapath::xdp
