// PingSession over a fake pinger that answers at once (or not, or twice): counts, duplicates,
// the exit codes and the stop flag. Short intervals; nothing asserts on time.
#include "tools/etherpath-ping/ping_session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <set>
#include <string>
#include <thread>

namespace etherpath::ping {
namespace {

using namespace std::chrono_literals;

class FakePinger final : public Pinger {
 public:
  std::set<std::uint16_t> drop;       // sequences never answered
  std::set<std::uint16_t> duplicate;  // sequences answered twice
  std::set<std::uint16_t> unreachable;
  std::atomic<std::size_t> sent{0};  // read by the test while the session runs
  std::size_t last_size = 0;

  Status send(std::uint16_t sequence, ConstBytes data) override {
    ++sent;
    last_size = data.size();
    EchoEvent e;
    e.from = IpAddress::parse("10.0.0.1").value();
    e.sequence = sequence;
    e.icmp_bytes = 8 + data.size();
    e.ttl = 64;
    e.received = std::chrono::steady_clock::now();
    if (unreachable.contains(sequence)) {
      e.kind = EchoEvent::Kind::error;
      e.error = "Destination Host Unreachable";
      events_.push_back(e);
      return ok();
    }
    if (!drop.contains(sequence)) {
      events_.push_back(e);
      if (duplicate.contains(sequence)) {
        events_.push_back(e);
      }
    }
    return ok();
  }
  Result<std::optional<EchoEvent>> receive(std::chrono::milliseconds timeout) override {
    if (events_.empty()) {
      std::this_thread::sleep_for(std::min(timeout, 5ms));
      return std::optional<EchoEvent>{};
    }
    EchoEvent e = events_.front();
    events_.pop_front();
    return std::optional<EchoEvent>{e};
  }
  [[nodiscard]] std::string describe() const override { return "fake"; }

 private:
  std::deque<EchoEvent> events_;
};

struct SessionRun {
  int code = -1;
  std::string out;
  PingStats stats;
};

SessionRun run_session(FakePinger& pinger, SessionOptions options, const std::atomic<bool>& stop) {
  PingReport report(PingTarget{"10.0.0.1", IpAddress::parse("10.0.0.1").value(), true},
                    options.size, options.size >= 16);
  std::FILE* out = std::tmpfile();
  PingSession session(pinger, report, options, out, stop);
  SessionRun r;
  r.code = session.run();
  r.stats = report.stats();
  std::rewind(out);
  std::array<char, 512> line{};
  while (std::fgets(line.data(), static_cast<int>(line.size()), out) != nullptr) {
    r.out += line.data();
  }
  std::fclose(out);
  return r;
}

SessionOptions fast(std::uint64_t count) {
  return SessionOptions{.count = count, .interval = 5ms, .linger = 200ms, .size = 56};
}

TEST(PingSession, CountRepliesAndExit0) {
  FakePinger p;
  const std::atomic<bool> stop{false};
  const SessionRun r = run_session(p, fast(3), stop);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(p.sent.load(), 3U);
  EXPECT_EQ(p.last_size, 56U);
  EXPECT_EQ(r.stats.transmitted, 3U);
  EXPECT_EQ(r.stats.received, 3U);
  EXPECT_NE(r.out.find("64 bytes from 10.0.0.1: icmp_seq=3 ttl=64 time="), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("3 packets transmitted, 3 received, 0% packet loss"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rtt min/avg/max/mdev = "), std::string::npos) << r.out;
}

TEST(PingSession, LossAndDuplicates) {
  FakePinger p;
  p.drop = {2};
  p.duplicate = {3};
  const std::atomic<bool> stop{false};
  const SessionRun r = run_session(p, fast(4), stop);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.stats.received, 3U);
  EXPECT_EQ(r.stats.duplicates, 1U);
  EXPECT_NE(r.out.find("icmp_seq=3 ttl=64 time="), std::string::npos);
  EXPECT_NE(r.out.find("(DUP!)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 packets transmitted, 3 received, +1 duplicates, 25% packet loss"),
            std::string::npos)
      << r.out;
}

TEST(PingSession, NoReplyWaitsLingerAndExits1) {
  FakePinger p;
  p.drop = {1, 2};
  const std::atomic<bool> stop{false};
  const SessionRun r = run_session(p, fast(2), stop);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("2 packets transmitted, 0 received, 100% packet loss"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("rtt"), std::string::npos) << r.out;
}

TEST(PingSession, ErrorsEndTheWaitAndCount) {
  FakePinger p;
  p.unreachable = {1};
  const std::atomic<bool> stop{false};
  const SessionRun r = run_session(p, fast(1), stop);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("From 10.0.0.1 icmp_seq=1 Destination Host Unreachable"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 packets transmitted, 0 received, +1 errors, 100% packet loss"),
            std::string::npos)
      << r.out;
}

TEST(PingSession, CountZeroRunsUntilStopped) {
  FakePinger p;
  std::atomic<bool> stop{false};
  SessionRun r;
  std::thread t([&] { r = run_session(p, fast(0), stop); });
  while (p.sent < 10) {
    std::this_thread::sleep_for(1ms);
  }
  stop = true;
  t.join();
  EXPECT_EQ(r.code, 0);
  EXPECT_GE(r.stats.transmitted, 10U);
  EXPECT_NE(r.out.find("--- 10.0.0.1 ping statistics ---"), std::string::npos) << r.out;
}

TEST(PingSession, SmallDataHasNoTimes) {
  FakePinger p;
  const std::atomic<bool> stop{false};
  SessionOptions o = fast(1);
  o.size = 8;
  const SessionRun r = run_session(p, o, stop);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("16 bytes from 10.0.0.1: icmp_seq=1 ttl=64\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("time="), std::string::npos) << r.out;
}

}  // namespace
}  // namespace etherpath::ping
