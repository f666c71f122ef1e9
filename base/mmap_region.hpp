// MmapRegion: the one owner of an mmap(2) mapping (UMEM areas, AF_XDP rings, pcap buffers).
#pragma once

#include <cstddef>
#include <span>
#include <utility>

#include "base/result.hpp"

namespace etherpath {

class MmapRegion {
 public:
  MmapRegion() = default;
  MmapRegion(const MmapRegion&) = delete;
  MmapRegion& operator=(const MmapRegion&) = delete;
  MmapRegion(MmapRegion&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MmapRegion& operator=(MmapRegion&& other) noexcept;
  ~MmapRegion() { reset(); }

  // Anonymous private memory, optionally backed by huge pages (falls back to normal pages).
  static Result<MmapRegion> anonymous(std::size_t size, bool try_huge_pages = false);
  // A shared mapping of `fd` at `offset` (AF_XDP ring offsets, for instance).
  static Result<MmapRegion> map_fd(int fd, std::size_t size, long offset, int prot);

  [[nodiscard]] void* data() const noexcept { return addr_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<std::byte> bytes() const noexcept {
    return {static_cast<std::byte*>(addr_), size_};
  }
  [[nodiscard]] bool valid() const noexcept { return addr_ != nullptr; }
  void reset() noexcept;

 private:
  MmapRegion(void* addr, std::size_t size) noexcept : addr_(addr), size_(size) {}
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace etherpath
