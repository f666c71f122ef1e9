// Counters of the datapath: per engine queue (ours and the kernel's XDP_STATISTICS) and per relay.
#pragma once

#include <atomic>
#include <cstdint>

namespace etherpath::datapath {

// One engine queue's counters, read as a snapshot. The kernel_* fields are AF_XDP's
// XDP_STATISTICS for the queue's socket (zero on engines that have none).
struct QueueStats {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_packets = 0;  // descriptors put on the TX ring (or injected)
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_completed = 0;  // TX frames the kernel gave back
  std::uint64_t tx_errors = 0;     // frames the engine could not send (pcap_inject failures)
  std::uint64_t tx_kicks = 0;      // wakeup syscalls on the TX path
  std::uint64_t rx_wakeups = 0;    // wakeup syscalls for the fill ring
  std::uint64_t fill_posted = 0;   // frames put on the fill ring
  // XDP_STATISTICS
  std::uint64_t kernel_rx_dropped = 0;
  std::uint64_t kernel_rx_invalid_descs = 0;
  std::uint64_t kernel_tx_invalid_descs = 0;
  std::uint64_t kernel_rx_ring_full = 0;
  std::uint64_t kernel_rx_fill_ring_empty_descs = 0;
  std::uint64_t kernel_tx_ring_empty_descs = 0;

  QueueStats& operator+=(const QueueStats& o) {
    rx_packets += o.rx_packets;
    rx_bytes += o.rx_bytes;
    tx_packets += o.tx_packets;
    tx_bytes += o.tx_bytes;
    tx_completed += o.tx_completed;
    tx_errors += o.tx_errors;
    tx_kicks += o.tx_kicks;
    rx_wakeups += o.rx_wakeups;
    fill_posted += o.fill_posted;
    kernel_rx_dropped += o.kernel_rx_dropped;
    kernel_rx_invalid_descs += o.kernel_rx_invalid_descs;
    kernel_tx_invalid_descs += o.kernel_tx_invalid_descs;
    kernel_rx_ring_full += o.kernel_rx_ring_full;
    kernel_rx_fill_ring_empty_descs += o.kernel_rx_fill_ring_empty_descs;
    kernel_tx_ring_empty_descs += o.kernel_tx_ring_empty_descs;
    return *this;
  }
};

// A counter written by one thread and read by others: relaxed atomics, no fences on the hot path.
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace etherpath::datapath
