// PingSession: iputils ping's main loop over a Pinger: a request every interval, replies matched
// to their requests by sequence (duplicates flagged), the wait after the last request (-W when
// nothing came back, else two of the slowest round trips), and the summary, also on a stop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>

#include "tools/etherpath-ping/ping_report.hpp"
#include "tools/etherpath-ping/pinger.hpp"

namespace etherpath::ping {

struct SessionOptions {
  std::uint64_t count = 0;  // 0: until stopped (iputils refuses 0; Muti-Metroo runs on)
  std::chrono::microseconds interval{1000000};
  std::chrono::microseconds linger{10000000};  // -W
  std::size_t size = 56;
};

class PingSession {
 public:
  // `pinger`, `report`, `out` and `stop` must outlive the session. Lines go to `out` as they
  // happen, flushed, so a reader of a pipe sees each at once.
  PingSession(Pinger& pinger, PingReport& report, SessionOptions options, std::FILE* out,
              const std::atomic<bool>& stop);
  // Runs to the end (count reached and waited for, or stop) and prints the summary. Returns
  // iputils' exit code: 0 when any reply came, else 1. A failing receive ends it early (1 when
  // no reply came before).
  int run();

 private:
  void print(const std::string& line);
  void fill_data();

  Pinger& pinger_;
  PingReport& report_;
  SessionOptions options_;
  std::FILE* out_;
  const std::atomic<bool>& stop_;
  std::vector<std::byte> data_;
  std::vector<std::chrono::steady_clock::time_point> sent_at_;  // by sequence
  std::vector<bool> answered_;                                  // by sequence
};

}  // namespace etherpath::ping
