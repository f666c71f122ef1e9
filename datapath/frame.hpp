// Frame and FrameBatch: borrowed views of packet buffers (UMEM chunks, pcap copies) in batches.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace etherpath::datapath {

// What every frame of one buffer pool (a UMEM, a pcap engine's arena) has in common, kept once
// by the engine that owns the pool instead of in each frame: a frame is then 24 bytes, and a
// received batch of 64 fits in 24 cache lines (it was 40 with these fields in every frame). The
// pool's owner keeps it at a stable address for as long as its frames can be used.
struct FramePool {
  std::byte* base = nullptr;     // chunk addresses count from here
  std::uint32_t chunk_size = 0;  // at most kMaxChunkSize
  // A packet starts at most this far into its chunk (Frame keeps the offset in 16 bits).
  static constexpr std::uint32_t kMaxChunkSize = 65535;
};

// One packet buffer lent by an engine. The bytes live in the engine's memory (a UMEM chunk for
// AF_XDP); a Frame is a plain value that points at them and owns nothing. Lifetime: a frame from
// Engine::receive or Engine::alloc stays valid until it is handed back with Engine::release or
// Engine::transmit (which takes it), or the engine is destroyed, whichever comes first.
class Frame {
 public:
  constexpr Frame() = default;
  // The chunk at address `chunk_addr` of `pool` (pool.base + chunk_addr, pool.chunk_size bytes);
  // the packet starts `offset` bytes into it and is `length` bytes long (offset + length <=
  // pool.chunk_size, which the engine guarantees).
  constexpr Frame(const FramePool& pool, std::uint64_t chunk_addr, std::uint32_t offset,
                  std::uint32_t length, std::uint16_t queue = 0)
      : data_(pool.base + chunk_addr + offset),
        pool_(&pool),
        length_(length),
        offset_(static_cast<std::uint16_t>(offset)),
        queue_(queue) {}
  // The same from the packet's first byte, for an engine's receive loop that keeps the pool's
  // base in a register (a frame store could alias FramePool::base, so the compiler would reload
  // it for every frame).
  static constexpr Frame at(const FramePool* pool, std::byte* data, std::uint32_t offset,
                            std::uint32_t length, std::uint16_t queue = 0) {
    Frame f;
    f.data_ = data;
    f.pool_ = pool;
    f.length_ = length;
    f.offset_ = static_cast<std::uint16_t>(offset);
    f.queue_ = queue;
    return f;
  }

  // The packet bytes, rewritable in place.
  [[nodiscard]] std::span<std::byte> data() const { return {data_, length_}; }
  [[nodiscard]] std::uint32_t size() const { return length_; }
  // Bytes free in front of the packet, for prepending headers (a VLAN tag, a tunnel header).
  [[nodiscard]] std::uint32_t headroom() const { return offset_; }
  // Bytes free after the packet.
  [[nodiscard]] std::uint32_t tailroom() const { return chunk_size() - offset_ - length_; }
  // The most bytes the packet can grow to from its current start.
  [[nodiscard]] std::uint32_t capacity() const { return chunk_size() - offset_; }

  // Sets the packet length; false (and no change) when it would not fit.
  bool resize(std::uint32_t length) {
    if (length > capacity()) {
      return false;
    }
    length_ = length;
    return true;
  }
  // Grows the packet at the front by n bytes taken from the headroom; false if there is too little.
  bool push_front(std::uint32_t n) {
    if (n > offset_) {
      return false;
    }
    data_ -= n;
    offset_ = static_cast<std::uint16_t>(offset_ - n);
    length_ += n;
    return true;
  }
  // Drops n bytes from the front (e.g. to strip a tag); false if the packet is shorter.
  bool pull_front(std::uint32_t n) {
    if (n > length_) {
      return false;
    }
    data_ += n;
    offset_ = static_cast<std::uint16_t>(offset_ + n);
    length_ -= n;
    return true;
  }
  // Moves the packet start to `offset` bytes into the chunk with `length` bytes.
  bool reset(std::uint32_t offset, std::uint32_t length) {
    const std::uint32_t size = chunk_size();
    if (offset > size || length > size - offset) {
      return false;
    }
    data_ = chunk() + offset;
    offset_ = static_cast<std::uint16_t>(offset);
    length_ = length;
    return true;
  }

  // The chunk's address inside its pool (a UMEM offset for AF_XDP).
  [[nodiscard]] std::uint64_t chunk_addr() const {
    return static_cast<std::uint64_t>(chunk() - pool_->base);
  }
  // The packet's address inside its pool: what an AF_XDP TX descriptor carries.
  [[nodiscard]] std::uint64_t packet_addr() const {
    return static_cast<std::uint64_t>(data_ - pool_->base);
  }
  [[nodiscard]] std::uint32_t offset() const { return offset_; }
  [[nodiscard]] std::uint32_t chunk_size() const { return pool_->chunk_size; }
  [[nodiscard]] std::byte* chunk() const { return data_ - offset_; }
  // Which buffer pool the frame belongs to (its FramePool); engines sharing a UMEM can send each
  // other's frames without a copy.
  [[nodiscard]] const void* pool() const { return pool_; }
  [[nodiscard]] const FramePool* frame_pool() const { return pool_; }
  // The queue the frame was received on (0 for allocated frames).
  [[nodiscard]] std::uint16_t queue() const { return queue_; }
  [[nodiscard]] bool valid() const { return data_ != nullptr; }

 private:
  std::byte* data_ = nullptr;  // the packet's first byte
  const FramePool* pool_ = nullptr;
  std::uint32_t length_ = 0;
  std::uint16_t offset_ = 0;  // data_ - chunk start
  std::uint16_t queue_ = 0;
};
static_assert(sizeof(Frame) == 24, "a batch of 64 frames is meant to fill 24 cache lines");

// A fixed-capacity array of frames: what one poll of an RX ring yields, and what one TX submit
// takes. No allocation; a batch is meant to live on the poll loop's stack or in its object.
class FrameBatch {
 public:
  static constexpr std::size_t kCapacity = 64;  // the RX batch of the AF_XDP idiom

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == kCapacity; }
  [[nodiscard]] static constexpr std::size_t capacity() { return kCapacity; }
  [[nodiscard]] std::size_t room() const { return kCapacity - size_; }

  Frame& operator[](std::size_t i) { return frames_[i]; }
  const Frame& operator[](std::size_t i) const { return frames_[i]; }
  Frame* begin() { return frames_.data(); }
  Frame* end() { return frames_.data() + size_; }
  [[nodiscard]] const Frame* begin() const { return frames_.data(); }
  [[nodiscard]] const Frame* end() const { return frames_.data() + size_; }
  [[nodiscard]] std::span<Frame> frames() { return {frames_.data(), size_}; }
  [[nodiscard]] std::span<const Frame> frames() const { return {frames_.data(), size_}; }

  // False when the batch is full.
  bool push(const Frame& f) {
    if (size_ == kCapacity) {
      return false;
    }
    frames_[size_++] = f;
    return true;
  }
  // Makes room for n more frames (n <= room()) and returns where the first goes: engines fill a
  // received burst in place, without push()'s check per frame.
  Frame* extend(std::size_t n) {
    Frame* first = frames_.data() + size_;
    size_ += n;
    return first;
  }
  // Forgets the frames (it does not give them back to their engine).
  void clear() { size_ = 0; }
  // Forgets the first n frames, keeping the rest in order (after a partial transmit).
  void drop_front(std::size_t n);
  // Keeps the first n frames (n <= size()).
  void truncate(std::size_t n) { size_ = n < size_ ? n : size_; }
  // Removes frame i by moving the last frame into its place (order is not kept).
  void swap_remove(std::size_t i) { frames_[i] = frames_[--size_]; }

 private:
  std::array<Frame, kCapacity> frames_{};
  std::size_t size_ = 0;
};

inline void FrameBatch::drop_front(std::size_t n) {
  if (n >= size_) {
    size_ = 0;
    return;
  }
  // size_ <= kCapacity always; saying so keeps g++ 12's -Warray-bounds from flagging the copy for
  // a constant n past the capacity (a path the check above already ruled out).
  const std::size_t size = std::min(size_, kCapacity);
  for (std::size_t i = n; i < size; ++i) {
    frames_[i - n] = frames_[i];
  }
  size_ = size - n;
}

}  // namespace etherpath::datapath
