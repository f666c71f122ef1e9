// Engine: the interface every packet I/O backend offers (AF_XDP, libpcap, the in-memory fake).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "datapath/frame.hpp"
#include "datapath/stats.hpp"

namespace etherpath::datapath {

// Packet I/O over numbered queues, in batches of borrowed frames (frame.hpp states the lifetime).
// Each queue is driven by one thread at a time: receive, release, alloc, transmit and flush on
// queue q are not safe to call concurrently for the same q (different queues are independent).
// The FrameBatch arguments are buffers the caller owns, the way read(2) takes a buffer.
class Engine {
 public:
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) = delete;
  Engine& operator=(Engine&&) = delete;
  virtual ~Engine() = default;

  // "xdp", "pcap", "fake".
  [[nodiscard]] virtual std::string_view kind() const = 0;
  // How it runs, for reports: "native-copy", "generic", "zero-copy", "pcap immediate", ...
  [[nodiscard]] virtual std::string mode() const = 0;
  [[nodiscard]] virtual std::size_t queue_count() const = 0;
  // The interface's queue id behind engine queue q.
  [[nodiscard]] virtual unsigned queue_id(std::size_t q) const = 0;

  // Appends up to batch.room() received frames of queue q, without waiting; returns how many.
  virtual std::size_t receive(std::size_t q, FrameBatch& batch) = 0;
  // Gives every frame in `batch` back to the engine unsent and clears the batch.
  virtual void release(std::size_t q, FrameBatch& batch) = 0;
  // Appends up to n empty frames for building packets (length 0, headroom as configured);
  // returns how many (fewer when the pool runs low).
  virtual std::size_t alloc(std::size_t q, FrameBatch& batch, std::size_t n) = 0;
  // Queues the batch's frames for sending on queue q and takes them: the accepted frames are
  // removed from the front of the batch; the rest (TX ring full, or a frame from a pool this
  // engine cannot send without a copy) stay for the caller to retry or release. Returns how many
  // were taken. The kernel is kicked by flush(), not here, so a loop can submit several batches.
  virtual std::size_t transmit(std::size_t q, FrameBatch& batch) = 0;
  // Makes queued frames go (a wakeup syscall only when the kernel asks for one) and recycles
  // completed TX frames. Cheap when there is nothing to do.
  virtual void flush(std::size_t q) = 0;
  // Waits until queue q may have frames to receive, or `timeout` passes: true when it may. An
  // error when the interface went away or the socket failed (ENETDOWN, ENXIO).
  virtual Result<bool> wait(std::size_t q, std::chrono::milliseconds timeout) = 0;
  // Whether frames of `pool` can be transmitted on this engine without a copy.
  [[nodiscard]] virtual bool shares_pool(const void* pool) const = 0;

  // A snapshot of queue q's counters (AF_XDP: includes the socket's XDP_STATISTICS).
  [[nodiscard]] virtual QueueStats stats(std::size_t q) const = 0;
  [[nodiscard]] QueueStats total_stats() const {
    QueueStats total;
    for (std::size_t q = 0; q < queue_count(); ++q) {
      total += stats(q);
    }
    return total;
  }
};

}  // namespace etherpath::datapath
