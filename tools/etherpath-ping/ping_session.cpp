// PingSession: the schedule of iputils' main_loop()/schedule_exit(), with waits cut into short
// slices so that a stop request is seen within 100 ms whatever the pinger blocks on.
#include "tools/etherpath-ping/ping_session.hpp"

#include <fmt/core.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>

namespace etherpath::ping {

namespace {
using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kSlice{100};
constexpr std::size_t kSequences = 65536;
}  // namespace

PingSession::PingSession(Pinger& pinger, PingReport& report, SessionOptions options, std::FILE* out,
                         const std::atomic<bool>& stop)
    : pinger_(pinger),
      report_(report),
      options_(options),
      out_(out),
      stop_(stop),
      data_(options.size),
      sent_at_(kSequences),
      answered_(kSequences, false) {
  // iputils' pattern: byte i holds i; the first 16 bytes carry the send time when they fit.
  for (std::size_t i = 0; i < data_.size(); ++i) {
    data_[i] = static_cast<std::byte>(i & 0xffU);
  }
}

void PingSession::print(const std::string& line) {
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

void PingSession::fill_data() {
  if (!report_.timing()) {
    return;
  }
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  std::memcpy(data_.data(), &tv, std::min(sizeof tv, data_.size()));
}

int PingSession::run() {
  print(report_.header());
  const auto start = Clock::now();
  auto next_send = start;
  auto last_send = start;
  auto last_event = start;
  std::uint64_t sent = 0;
  while (!stop_.load()) {
    auto now = Clock::now();
    const bool more = options_.count == 0 || sent < options_.count;
    if (more && now >= next_send) {
      const auto seq = static_cast<std::uint16_t>((sent + 1) & 0xffffU);
      fill_data();
      sent_at_[seq] = now;
      answered_[seq] = false;
      ++sent;
      report_.transmitted();
      if (auto st = pinger_.send(seq, data_); !st) {
        std::fflush(out_);
        fmt::print(stderr, "etherpath-ping: {}\n", st.error().message());
      }
      last_send = now;
      last_event = std::max(last_event, now);
      next_send += options_.interval;
      now = Clock::now();
      if (next_send < now) {
        next_send = now;  // a slow send (ARP) must not make the following ones burst
      }
      // On to the receive below: what arrived meanwhile (an error for this very request, after
      // a failed ARP) is reported before the next request goes.
    }
    Clock::time_point wait_until = next_send;
    if (!more) {
      const PingStats& s = report_.stats();
      if (s.received + s.errors >= options_.count) {
        break;
      }
      // iputils' schedule_exit(): -W when nothing came back, else two of the slowest round
      // trips but at least one interval.
      const auto wait = s.received > 0
                            ? std::max<std::chrono::microseconds>(
                                  std::chrono::microseconds(2 * s.tmax_us), options_.interval)
                            : options_.linger;
      wait_until = last_send + wait;
      if (now >= wait_until) {
        break;
      }
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(wait_until - now);
    auto got = pinger_.receive(std::clamp(left, std::chrono::milliseconds(0), kSlice));
    if (!got) {
      std::fflush(out_);
      fmt::print(stderr, "etherpath-ping: {}\n", got.error().message());
      break;
    }
    if (!*got) {
      continue;
    }
    const EchoEvent& e = **got;
    const auto seq = e.sequence;
    // Only what answers a request we sent: sequence numbers in the window of the last 32768.
    const auto age = static_cast<std::uint16_t>(static_cast<std::uint16_t>(sent & 0xffffU) - seq);
    if (sent == 0 || age >= std::min<std::uint64_t>(sent, 0x8000U)) {
      continue;
    }
    last_event = std::max(last_event, e.received);
    if (e.kind == EchoEvent::Kind::error) {
      print(report_.error(e));
      continue;
    }
    const bool duplicate = answered_[seq];
    answered_[seq] = true;
    print(report_.reply(e, e.received - sent_at_[seq], duplicate));
  }
  print(report_.summary(last_event - start));
  return report_.stats().received > 0 ? 0 : 1;
}

}  // namespace etherpath::ping
