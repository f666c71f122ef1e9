// L2Table: the relay's flat open-addressing map from an L2 key to its receiver or fast path.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "base/mmap_region.hpp"
#include "conn/wire/parsed_frame.hpp"

namespace etherpath::datapath {

class Receiver;

// What a key leads to: a receiver (the convenience path) or a fast-path index (on_batch).
struct L2Target {
  Receiver* receiver = nullptr;
  const void* hot = nullptr;    // the receiver's Receiver::hot_line(), prefetched by the demux
  std::int32_t fast_path = -1;  // >= 0: index of an on_batch callback
  [[nodiscard]] bool found() const { return receiver != nullptr || fast_path >= 0; }
};

// A node-based hash map costs a pointer chase per lookup (bucket, then node), and with 65,536
// hosts (196,608 keys) both miss the cache on nearly every frame. Here a key and its target share
// one 32-byte slot in one array (two slots per cache line), found by linear probing from a
// multiplicative hash, so a lookup is usually one cache miss, and the demux loop can prefetch
// that line for the next frames of a batch while it handles this one (hash() + prefetch()).
// Deletion shifts the following slots back (no tombstones), so lookups stay short after churn.
// Not thread-safe: PacketRelay guards it with its registry lock. Lookups never allocate; insert
// allocates only when the table grows (load above 5/8), at registration time. The slot array is
// its own mapping, on transparent huge pages once it is 2 MiB or more: 196,608 keys take 16 MiB,
// which on 4 KiB pages is 4,096 pages, more than the data TLB holds, so nearly every lookup of a
// round robin over 65,536 hosts would also walk the page table.
class L2Table {
 public:
  L2Table() = default;

  [[nodiscard]] static std::uint64_t hash(const wire::L2Key& key) noexcept {
    // The 12 key bytes as one 8-byte and one 4-byte load (the key is stored whole, so no
    // store-forwarding stall), mixed so that MACs that differ in any byte spread over the table.
    std::uint64_t lo = 0;
    std::uint32_t hi = 0;
    std::memcpy(&lo, &key, 8);
    std::memcpy(&hi, reinterpret_cast<const std::byte*>(&key) + 8, 4);  // NOLINT: raw key bytes
    std::uint64_t h = (lo ^ (std::uint64_t{hi} << 17U)) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29U;
    return h * 0xbf58476d1ce4e5b9ULL;
  }

  // The target of `key`, or L2Target{} (found() false). `h` must be hash(key).
  [[nodiscard]] L2Target lookup(const wire::L2Key& key, std::uint64_t h) const noexcept {
    if (size_ == 0) {
      return {};
    }
    const Slot* slots = slots_ptr();
    for (std::size_t i = index_of(h);; i = (i + 1) & mask_) {
      const Slot& s = slots[i];
      if (s.fast_path == kEmpty) {
        return {};
      }
      if (same(s.key, key)) {
        return {s.receiver, s.hot, s.fast_path};
      }
    }
  }
  [[nodiscard]] std::optional<L2Target> find(const wire::L2Key& key) const noexcept {
    const L2Target t = lookup(key, hash(key));
    return t.found() ? std::optional<L2Target>(t) : std::nullopt;
  }
  // Starts loading the slot where a lookup of hash `h` begins.
  void prefetch(std::uint64_t h) const noexcept {
    if (size_ != 0) {
      __builtin_prefetch(slots_ptr() + index_of(h));
    }
  }

  // Adds `key` or replaces its target (which must be found()). May grow the table (allocation).
  void insert_or_assign(const wire::L2Key& key, L2Target target);
  // Removes `key`; false when it was not there.
  bool erase(const wire::L2Key& key);
  void clear();

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return mask_ + (region_.valid() ? 1 : 0); }
  // Bytes of the slot array (for the memory-per-host figures).
  [[nodiscard]] std::size_t memory_bytes() const { return capacity() * sizeof(Slot); }

  // Calls fn(key, target) for every entry, in table order.
  template <typename F>
  void for_each(F&& fn) const {
    for (std::size_t i = 0; i < capacity(); ++i) {
      const Slot& s = slots_ptr()[i];
      if (s.fast_path != kEmpty) {
        fn(s.key, L2Target{s.receiver, s.hot, s.fast_path});
      }
    }
  }

 private:
  static constexpr std::int32_t kEmpty = INT32_MIN;  // fast_path of a free slot
  struct alignas(32) Slot {
    wire::L2Key key;
    std::int32_t fast_path = kEmpty;
    Receiver* receiver = nullptr;
    const void* hot = nullptr;
  };
  static_assert(sizeof(Slot) == 32, "two slots per cache line");

  static bool same(const wire::L2Key& a, const wire::L2Key& b) noexcept {
    std::uint64_t a8 = 0;
    std::uint64_t b8 = 0;
    std::uint32_t a4 = 0;
    std::uint32_t b4 = 0;
    std::memcpy(&a8, &a, 8);
    std::memcpy(&b8, &b, 8);
    std::memcpy(&a4, reinterpret_cast<const std::byte*>(&a) + 8, 4);  // NOLINT: raw key bytes
    std::memcpy(&b4, reinterpret_cast<const std::byte*>(&b) + 8, 4);  // NOLINT: raw key bytes
    return ((a8 ^ b8) | (a4 ^ b4)) == 0;
  }
  [[nodiscard]] std::size_t index_of(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>(h >> shift_);  // the high bits: the best mixed
  }
  void rehash(std::size_t capacity);
  void place(const wire::L2Key& key, L2Target target);  // into a free slot; no growth
  [[nodiscard]] Slot* slots_ptr() const noexcept { return static_cast<Slot*>(region_.data()); }

  MmapRegion region_;  // capacity() constructed slots (page-aligned, so 32-byte aligned too)
  std::size_t mask_ = 0;
  unsigned shift_ = 63;
  std::size_t size_ = 0;
};

}  // namespace etherpath::datapath
