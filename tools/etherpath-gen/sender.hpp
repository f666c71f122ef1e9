// Sender: one queue's TX loop over a datapath Engine (AF_XDP or libpcap): frames from the flow
// template, paced by a token bucket, bounded by a count and a deadline; it also reads back the
// returning stream on the same queue for --rx.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "base/clock.hpp"
#include "datapath/engine.hpp"
#include "datapath/stats.hpp"
#include "tools/etherpath-gen/flow_template.hpp"
#include "tools/etherpath-gen/pcap_writer.hpp"
#include "tools/etherpath-gen/rate_limiter.hpp"
#include "tools/etherpath-gen/rx_tracker.hpp"

namespace etherpath::gen {

// Read by the progress thread while the sender runs.
struct alignas(64) SenderCounters {
  datapath::Counter tx_packets;
  datapath::Counter tx_bytes;
  datapath::Counter rx_packets;  // stamped frames of ours that came back
  datapath::Counter rx_bytes;
};

struct SenderOptions {
  std::uint64_t count = 0;  // frames for this queue; 0 = no limit
  Clock::TimePoint deadline = Clock::TimePoint::max();
  Rate rate;            // this queue's share
  bool rx = false;      // track what comes back
  unsigned stream = 0;  // the top bits of this queue's sequence numbers
  // After sending, how long to keep reading returning frames (--rx), ended early by a quiet gap.
  std::chrono::milliseconds rx_linger{500};
  PcapWriter* dump = nullptr;  // the --pcap file (one queue writes it)
  // Receive only (a queue the returning stream may land on, not one we send on): read until
  // `tx_over` turns true, then linger as a sender does.
  bool rx_only = false;
  const std::atomic<bool>* tx_over = nullptr;
};

class Sender {
 public:
  Sender(datapath::Engine& engine, std::size_t queue, const FlowTemplate& flow,
         SenderOptions options, const std::atomic<bool>& stop);

  // Sends until the count, the deadline or stop; then waits for the kernel to complete every
  // frame (AF_XDP's completion ring) and, with rx, for the stragglers.
  void run();

  [[nodiscard]] const SenderCounters& counters() const { return counters_; }
  [[nodiscard]] const RxTracker& rx() const { return rx_; }
  // The engine's counters for this queue, read by the sending thread at the end of run().
  [[nodiscard]] const datapath::QueueStats& final_stats() const { return final_stats_; }

 private:
  void poll_rx();
  void drain_tx();
  std::size_t send_batch(std::size_t n);

  datapath::Engine& engine_;
  std::size_t queue_;
  const FlowTemplate& flow_;
  SenderOptions options_;
  const std::atomic<bool>& stop_;
  SteadyClock& clock_;
  RateLimiter limiter_;
  FlowCursor cursor_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t sent_ = 0;
  SenderCounters counters_;
  RxTracker rx_;
  datapath::QueueStats final_stats_;
  datapath::FrameBatch batch_;
  datapath::FrameBatch rx_batch_;
};

// Nanoseconds on CLOCK_MONOTONIC (what the stamps carry).
std::uint64_t monotonic_ns();
// Nanoseconds on CLOCK_REALTIME (pcap timestamps).
std::uint64_t realtime_ns();

}  // namespace etherpath::gen
