// PingReport: iputils ping's lines, byte for byte: the PING header, one line per reply or error,
// and the statistics at the end (integer microseconds and rounding as iputils 20221126 does).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/ip_address.hpp"
#include "tools/etherpath-ping/pinger.hpp"

namespace etherpath::ping {

struct PingTarget {
  std::string host;  // as given on the command line
  IpAddress address;
  bool numeric = true;  // host was an address (or -n): replies print addresses only
};

// Counters and round-trip sums in microseconds, as iputils keeps them.
struct PingStats {
  std::uint64_t transmitted = 0;
  std::uint64_t received = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t errors = 0;
  long long tmin_us = 0;
  long long tmax_us = 0;
  long long tsum_us = 0;
  long long tsum2_us = 0;
  int pipe = 0;  // the most requests outstanding when one was answered (iputils' pipesize)

  void add_rtt(long long us);
};

class PingReport {
 public:
  // `size` is -s; `timing` says whether the data holds a timestamp (size >= 16), as in iputils,
  // which prints no times otherwise. `source` (address and interface) is for the header's
  // "from ..." part when the source was chosen (-I in iputils, --iface here).
  using NameOf = std::function<std::string(const IpAddress&)>;
  PingReport(PingTarget target, std::size_t size, bool timing, std::string source = {},
             NameOf name_of = {});

  [[nodiscard]] std::string header() const;
  // The reply line; adds it to the statistics.
  std::string reply(const EchoEvent& e, std::chrono::nanoseconds rtt, bool duplicate);
  // "From X icmp_seq=N <text>"; counts an error.
  std::string error(const EchoEvent& e);
  void transmitted() { ++stats_.transmitted; }
  // The blank line, "--- host ping statistics ---" and the counters and rtt lines.
  [[nodiscard]] std::string summary(std::chrono::nanoseconds elapsed) const;

  [[nodiscard]] const PingStats& stats() const { return stats_; }
  [[nodiscard]] bool timing() const { return timing_; }

 private:
  [[nodiscard]] std::string address_text(const IpAddress& a) const;
  void acknowledge(std::uint16_t sequence);

  PingTarget target_;
  std::size_t size_;
  bool timing_;
  std::string source_;
  NameOf name_of_;
  PingStats stats_;
};

// iputils' " time=X ms" rounding for a round trip of `us` microseconds.
std::string format_time(long long us);

}  // namespace etherpath::ping
