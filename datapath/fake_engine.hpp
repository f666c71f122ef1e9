// FakeEngine: an in-memory Engine for unit tests of everything above the datapath (no root).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "datapath/engine.hpp"

namespace etherpath::datapath {

// Frames come from a fixed arena like a UMEM, so frame lifetime bugs show up as pool exhaustion.
// Tests put frames on a queue's "wire" with inject() and read what was sent with sent(). Thread-
// safe between the test thread (inject, sent, fail) and the queue's driver thread.
class FakeEngine final : public Engine {
 public:
  struct Options {
    std::size_t queues = 1;
    std::uint32_t frames = 1024;
    std::uint32_t frame_size = 2048;  // at most FramePool::kMaxChunkSize
    std::uint32_t headroom = 256;     // where packets start in a chunk, as in AF_XDP copy mode
    std::size_t tx_ring = 512;        // transmit() takes at most this many unflushed frames
  };
  explicit FakeEngine(Options options);
  FakeEngine() : FakeEngine(Options{}) {}
  ~FakeEngine() override = default;

  [[nodiscard]] std::string_view kind() const override { return "fake"; }
  [[nodiscard]] std::string mode() const override { return "fake"; }
  [[nodiscard]] std::size_t queue_count() const override { return queues_.size(); }
  [[nodiscard]] unsigned queue_id(std::size_t q) const override { return static_cast<unsigned>(q); }
  std::size_t receive(std::size_t q, FrameBatch& batch) override;
  void release(std::size_t q, FrameBatch& batch) override;
  std::size_t alloc(std::size_t q, FrameBatch& batch, std::size_t n) override;
  std::size_t transmit(std::size_t q, FrameBatch& batch) override;
  void flush(std::size_t q) override;
  Result<bool> wait(std::size_t q, std::chrono::milliseconds timeout) override;
  [[nodiscard]] bool shares_pool(const void* pool) const override { return pool == &pool_; }
  [[nodiscard]] QueueStats stats(std::size_t q) const override;

  // Puts a copy of `bytes` on queue q's RX side; false when the arena is exhausted (counted as
  // kernel_rx_fill_ring_empty_descs, like a real socket with an empty fill ring).
  bool inject(std::size_t q, std::span<const std::byte> bytes);
  // Everything flushed on queue q so far, oldest first; clears the record.
  std::vector<std::vector<std::byte>> take_sent(std::size_t q);
  // From now on wait() fails with `error` (an interface that went away).
  void fail(Error error);
  [[nodiscard]] std::size_t free_frames() const;

 private:
  struct Queue {
    std::deque<Frame> rx;
    std::vector<Frame> tx_pending;
    std::vector<std::vector<std::byte>> sent;
    QueueStats stats;
  };
  std::optional<Frame> take_free_locked(std::uint16_t q);

  Options options_;
  std::vector<std::byte> arena_;
  FramePool pool_;  // over arena_
  mutable std::mutex mutex_;
  std::condition_variable rx_ready_;
  std::vector<std::uint64_t> free_;
  std::vector<Queue> queues_;
  std::optional<Error> failure_;
};

}  // namespace etherpath::datapath
