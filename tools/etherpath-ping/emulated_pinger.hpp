// EmulatedPinger: echoes from a host that no OS interface has (its own MAC, VLAN stack and
// address) over a PacketRelay: ARP/NDP by conn::Neighbor, frames through a conn::EtherConn. It
// also behaves as a host while it pings: it answers ARP/NDP and echo requests for its address.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "tools/common/emulated_host.hpp"
#include "tools/etherpath-ping/pinger.hpp"

namespace etherpath::ping {

struct EmulatedPingerOptions {
  tool_common::EmulatedHostOptions host;  // the interface, MAC, VLANs and engine
  IpAddress source;
  IpAddress destination;
  std::optional<IpAddress> gateway;  // the next hop for everything, when the target is not on-link
  std::uint16_t identifier = 0;
  std::uint8_t ttl = 64;
  std::chrono::milliseconds resolve_timeout{3000};
};

class EmulatedPinger final : public Pinger {
 public:
  // Opens the relay on the interface (in the calling thread's namespace) and the host on it.
  static Result<std::unique_ptr<EmulatedPinger>> open(const EmulatedPingerOptions& options);
  ~EmulatedPinger() override = default;

  Status send(std::uint16_t sequence, ConstBytes data) override;
  Result<std::optional<EchoEvent>> receive(std::chrono::milliseconds timeout) override;
  [[nodiscard]] std::string describe() const override;

 private:
  static constexpr std::size_t kMaxFrame = 9216;
  explicit EmulatedPinger(EmulatedPingerOptions options) : options_(std::move(options)) {}
  // Reads one frame: answers what a host answers, queues what concerns our echoes.
  Status read_one(std::chrono::milliseconds timeout);
  Status send_icmp(const IpAddress& to, const MacAddress& dst_mac, std::uint8_t type,
                   std::uint16_t id, std::uint16_t seq, ConstBytes data);

  EmulatedPingerOptions options_;
  std::unique_ptr<tool_common::EmulatedHost> host_;  // owns the source address while it lives
  std::deque<EchoEvent> pending_;
  std::unique_ptr<std::array<std::byte, kMaxFrame + 14>> rx_;
  std::unique_ptr<std::array<std::byte, kMaxFrame>> tx_;
};

}  // namespace etherpath::ping
