// Job: one run of the generator (the threads of one engine), as the progress loop sees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "datapath/xdp/xdp_engine.hpp"
#include "tools/etherpath-gen/flow_template.hpp"
#include "tools/etherpath-gen/pcap_writer.hpp"
#include "tools/etherpath-gen/rate_limiter.hpp"
#include "tools/etherpath-gen/rx_tracker.hpp"

namespace etherpath::gen {

// What a run is asked to do (the command line, checked).
struct GenOptions {
  std::string iface;
  FlowSpec flow;
  Rate rate;
  std::uint64_t count = 0;  // 0 = no limit
  double duration = 0;      // seconds; 0 = no limit
  unsigned queues = 1;
  datapath::xdp::XdpMode xdp_mode = datapath::xdp::XdpMode::automatic;
  bool rx = false;
};

struct Totals {
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
};

class Job {
 public:
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  Job(Job&&) = delete;
  Job& operator=(Job&&) = delete;
  virtual ~Job() = default;
  virtual void start() = 0;
  // Every thread has finished (count or deadline reached, or stopped).
  [[nodiscard]] virtual bool done() const = 0;
  virtual void join() = 0;
  // Safe while running (relaxed counters).
  [[nodiscard]] virtual Totals totals() const = 0;
  // Only after join().
  [[nodiscard]] virtual std::uint64_t tx_errors() const = 0;
  [[nodiscard]] virtual RxTracker rx() const = 0;
  [[nodiscard]] virtual std::string mode() const = 0;
};

// The deadline of --duration from now (max when 0).
Clock::TimePoint deadline_after(double seconds);
// Frames for queue q of n when `count` are asked for in all (0 = no limit).
constexpr std::uint64_t share_of(std::uint64_t count, std::size_t q, std::size_t n) {
  return count / n + (q < count % n ? 1 : 0);
}

// The xdp and pcap engines: one Sender thread per queue over a datapath Engine.
Result<std::unique_ptr<Job>> make_xdp_job(const GenOptions& o, const FlowTemplate& flow,
                                          PcapWriter* dump, const std::atomic<bool>& stop);
Result<std::unique_ptr<Job>> make_pcap_job(const GenOptions& o, const FlowTemplate& flow,
                                           PcapWriter* dump, const std::atomic<bool>& stop);
// xdp-live: BPF_PROG_RUN live frames (live_job.cpp).
Result<std::unique_ptr<Job>> make_live_job(const GenOptions& o, const FlowTemplate& flow,
                                           PcapWriter* dump, const std::atomic<bool>& stop);

}  // namespace etherpath::gen
