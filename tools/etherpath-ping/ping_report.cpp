// PingReport: the formats of iputils 20221126's ping_common.c (finish(), gather_statistics()) and
// ping.c / ping6_common.c (the header lines).
#include "tools/etherpath-ping/ping_report.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <climits>

namespace etherpath::ping {

namespace {

// iputils' llsqrt: the integer square root, rounded down.
long long integer_sqrt(long long v) {
  if (v <= 0) {
    return 0;
  }
  long long x = v;
  long long y = (x + 1) / 2;
  while (y < x) {
    x = y;
    y = (x + v / x) / 2;
  }
  return x;
}

}  // namespace

void PingStats::add_rtt(long long us) {
  const bool first = received + duplicates == 0;
  tsum_us += us;
  tsum2_us += us * us;
  if (first || us < tmin_us) {
    tmin_us = us;
  }
  tmax_us = std::max(tmax_us, us);
}

std::string format_time(long long us) {
  if (us >= 100000 - 50) {
    return fmt::format(" time={} ms", (us + 500) / 1000);
  }
  if (us >= 10000 - 5) {
    return fmt::format(" time={}.{:01} ms", (us + 50) / 1000, ((us + 50) % 1000) / 100);
  }
  if (us >= 1000) {
    return fmt::format(" time={}.{:02} ms", (us + 5) / 1000, ((us + 5) % 1000) / 10);
  }
  return fmt::format(" time={}.{:03} ms", us / 1000, us % 1000);
}

PingReport::PingReport(PingTarget target, std::size_t size, bool timing, std::string source,
                       NameOf name_of)
    : target_(std::move(target)),
      size_(size),
      timing_(timing),
      source_(std::move(source)),
      name_of_(std::move(name_of)) {}

std::string PingReport::header() const {
  const std::string from = source_.empty() ? "" : fmt::format("from {}: ", source_);
  if (target_.address.is_v4()) {
    return fmt::format("PING {} ({}) {}{}({}) bytes of data.\n", target_.host,
                       target_.address.to_string(), from, size_, size_ + 8 + 20);
  }
  return fmt::format("PING {}({}) {}{} data bytes\n", target_.host, target_.address.to_string(),
                     from, size_);
}

std::string PingReport::address_text(const IpAddress& a) const {
  std::string numeric = a.to_string();
  if (target_.numeric || !name_of_) {
    return numeric;
  }
  const std::string name = name_of_(a);
  return name.empty() || name == numeric ? numeric : fmt::format("{} ({})", name, numeric);
}

void PingReport::acknowledge(std::uint16_t sequence) {
  const auto diff = static_cast<std::uint16_t>(stats_.transmitted - sequence);
  if (diff <= 0x7fffU) {
    stats_.pipe = std::max(stats_.pipe, diff + 1);
  }
}

std::string PingReport::reply(const EchoEvent& e, std::chrono::nanoseconds rtt, bool duplicate) {
  acknowledge(e.sequence);
  const long long us = std::chrono::duration_cast<std::chrono::microseconds>(rtt).count();
  if (timing_) {
    stats_.add_rtt(us);
  }
  if (duplicate) {
    ++stats_.duplicates;
  } else {
    ++stats_.received;
  }
  std::string line =
      fmt::format("{} bytes from {}: icmp_seq={}", e.icmp_bytes, address_text(e.from), e.sequence);
  if (e.ttl >= 0) {
    line += fmt::format(" ttl={}", e.ttl);
  }
  if (e.icmp_bytes < size_ + 8) {
    return line + " (truncated)\n";
  }
  if (timing_) {
    line += format_time(us);
  }
  if (duplicate) {
    line += " (DUP!)";
  }
  return line + "\n";
}

std::string PingReport::error(const EchoEvent& e) {
  ++stats_.errors;
  acknowledge(e.sequence);
  return fmt::format("From {} icmp_seq={} {}\n", address_text(e.from), e.sequence, e.error);
}

std::string PingReport::summary(std::chrono::nanoseconds elapsed) const {
  const PingStats& s = stats_;
  std::string out = fmt::format("\n--- {} ping statistics ---\n", target_.host);
  out += fmt::format("{} packets transmitted, {} received", s.transmitted, s.received);
  if (s.duplicates > 0) {
    out += fmt::format(", +{} duplicates", s.duplicates);
  }
  if (s.errors > 0) {
    out += fmt::format(", +{} errors", s.errors);
  }
  if (s.transmitted > 0) {
    // iputils computes the loss in float and prints it with %g (33.3333%).
    const auto loss = static_cast<float>(static_cast<double>(static_cast<long long>(s.transmitted) -
                                                             static_cast<long long>(s.received)) *
                                         100.0 / static_cast<double>(s.transmitted));
    const long long ms =
        (std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count() + 500000) / 1000000;
    out += fmt::format(", {:g}% packet loss, time {}ms", static_cast<double>(loss), ms);
  }
  out += "\n";
  std::string comma;
  if (s.received > 0 && timing_) {
    const auto total = static_cast<long long>(s.received) + static_cast<long long>(s.duplicates);
    const long long tmavg = s.tsum_us / total;
    const long long tmvar = s.tsum_us < INT_MAX
                                ? (s.tsum2_us - ((s.tsum_us * s.tsum_us) / total)) / total
                                : (s.tsum2_us / total) - (tmavg * tmavg);
    const long long tmdev = integer_sqrt(tmvar);
    out += fmt::format("rtt min/avg/max/mdev = {}.{:03}/{}.{:03}/{}.{:03}/{}.{:03} ms",
                       s.tmin_us / 1000, s.tmin_us % 1000, tmavg / 1000, tmavg % 1000,
                       s.tmax_us / 1000, s.tmax_us % 1000, tmdev / 1000, tmdev % 1000);
    comma = ", ";
  }
  if (s.pipe > 1) {
    out += fmt::format("{}pipe {}", comma, s.pipe);
  }
  // iputils ends with a newline whether or not that line had anything on it.
  out += "\n";
  return out;
}

std::string icmp_error_text(bool v6, std::uint8_t type, std::uint8_t code) {
  if (!v6) {
    switch (type) {
      case 3:
        switch (code) {
          case 0: return "Destination Net Unreachable";
          case 1: return "Destination Host Unreachable";
          case 2: return "Destination Protocol Unreachable";
          case 3: return "Destination Port Unreachable";
          case 4: return "Frag needed and DF set";
          case 5: return "Source Route Failed";
          case 6: return "Destination Net Unknown";
          case 7: return "Destination Host Unknown";
          case 9: return "Destination Net Prohibited";
          case 10: return "Destination Host Prohibited";
          case 13: return "Communication prohibited by filter";
          default: return fmt::format("Dest Unreachable, Bad Code: {}", code);
        }
      case 11: return code == 0 ? "Time to live exceeded" : "Frag reassembly time exceeded";
      default: return fmt::format("Bad ICMP type: {}", type);
    }
  }
  switch (type) {
    case 1:
      switch (code) {
        case 0: return "Destination unreachable: No route";
        case 1: return "Destination unreachable: Administratively prohibited";
        case 2: return "Destination unreachable: Beyond scope of source address";
        case 3: return "Destination unreachable: Address unreachable";
        case 4: return "Destination unreachable: Port unreachable";
        default: return fmt::format("Destination unreachable: Unknown code {}", code);
      }
    case 2: return "Packet too big";
    case 3:
      return code == 0 ? "Time exceeded: Hop limit" : "Time exceeded: Defragmentation failure";
    default: return fmt::format("ICMP type: {}, code: {}", type, code);
  }
}

}  // namespace etherpath::ping
