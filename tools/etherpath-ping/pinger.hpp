// Pinger: the one seam between etherpath-ping's loop and the way echoes travel (kernel sockets or
// an emulated host on the datapath), so the loop and its output are the same for both.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/result.hpp"

namespace etherpath::ping {

// What came back for one of our echo requests: its reply, or an ICMP error that quotes it.
struct EchoEvent {
  enum class Kind : std::uint8_t { reply, error };
  Kind kind = Kind::reply;
  IpAddress from;
  std::uint16_t sequence = 0;
  std::size_t icmp_bytes = 0;  // ICMP header + data, what iputils prints as "N bytes"
  int ttl = -1;                // IPv4 TTL or IPv6 hop limit; -1 when unknown
  std::string error;           // for errors: iputils' text, e.g. "Destination Host Unreachable"
  std::chrono::steady_clock::time_point received{};
};

class Pinger {
 public:
  Pinger() = default;
  Pinger(const Pinger&) = delete;
  Pinger& operator=(const Pinger&) = delete;
  Pinger(Pinger&&) = delete;
  Pinger& operator=(Pinger&&) = delete;
  virtual ~Pinger() = default;

  // One echo request with `sequence` and `data` (what follows the 8-byte ICMP header).
  virtual Status send(std::uint16_t sequence, ConstBytes data) = 0;
  // The next event for our requests, or nullopt when none came within `timeout`. An error is
  // fatal (the interface went away).
  virtual Result<std::optional<EchoEvent>> receive(std::chrono::milliseconds timeout) = 0;
  // How echoes travel, for -v: "SOCK_DGRAM (ping socket)", "emulated host ... (xdp, ...)".
  [[nodiscard]] virtual std::string describe() const = 0;
};

// iputils' texts for the ICMP errors it reports ("Destination Host Unreachable", ...).
std::string icmp_error_text(bool v6, std::uint8_t type, std::uint8_t code);

}  // namespace etherpath::ping
