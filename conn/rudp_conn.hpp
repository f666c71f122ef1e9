// RUDPConn: a UDP endpoint (IPv4 or IPv6, 0.0.0.0 and :: included) over an EtherConn, with
// deadlines, accept-any, right checksums, configurable TTL/hop limit and DSCP, and the next-hop
// MAC from a resolver (by default the relay's Neighbor: ARP/NDP).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/datagram_transport.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "conn/ether_conn.hpp"
#include "conn/neighbor.hpp"

namespace etherpath::conn {

// Gives the MAC to send to for a next-hop address (etherconn's resolveNexthopFunc).
using NextHopResolver =
    std::function<Result<MacAddress>(const IpAddress& next_hop, std::chrono::milliseconds timeout)>;

struct RUDPConnOptions {
  IpEndpoint local;                    // 0.0.0.0 / :: accept any destination address of the family
  bool accept_any = false;             // any UDP datagram to this MAC/VLAN, whatever its address
  std::uint8_t ttl = 255;              // IPv4 TTL and IPv6 hop limit (etherconn's DefaultTTL)
  std::uint8_t dscp = 0;               // 6 bits, into the TOS / traffic class
  std::optional<IpAddress> gateway{};  // off-link destinations go through it (one per family)
  NextHopResolver resolver{};          // overrides the Neighbor
  bool announce = false;               // a gratuitous ARP / unsolicited NA at open
  std::chrono::milliseconds resolve_timeout{3000};
};

class RUDPConn final : public DatagramTransport {
 public:
  // `conn` (and `neighbor`, when given) must outlive the RUDPConn. With a Neighbor, the local
  // address becomes owned (requests for it are answered) and next hops are resolved by ARP/NDP;
  // with neither a Neighbor nor a resolver, frames go to the broadcast MAC (etherconn's default).
  static Result<std::unique_ptr<RUDPConn>> open(EtherConn& conn, RUDPConnOptions options,
                                                Neighbor* neighbor = nullptr);
  ~RUDPConn() override;

  // DatagramTransport
  Status send_to(ConstBytes payload, const IpEndpoint& to) override;
  Result<ReceivedDatagram> recv_from(Bytes buffer, std::chrono::nanoseconds timeout) override;
  [[nodiscard]] IpEndpoint local_endpoint() const override { return options_.local; }

  // From an explicit source (etherconn's WriteToFrom).
  Status send_to_from(ConstBytes payload, const IpEndpoint& from, const IpEndpoint& to);

  // Datagrams read but not for this endpoint (another port/address), counted not delivered.
  [[nodiscard]] std::uint64_t ignored() const;
  [[nodiscard]] EtherConn& ether_conn() { return conn_; }

 private:
  static constexpr std::size_t kMaxFrame = 2048;
  RUDPConn(EtherConn& conn, RUDPConnOptions options, Neighbor* neighbor)
      : conn_(conn), options_(std::move(options)), neighbor_(neighbor) {}
  Result<MacAddress> next_hop_mac(const IpAddress& src, const IpAddress& dst);
  // Reads one frame (up to `timeout`): ARP/NDP goes to the Neighbor; a matching UDP datagram
  // is copied into `out`. Errc::timeout when nothing matching came.
  Result<std::optional<ReceivedDatagram>> read_one(Bytes out, std::chrono::milliseconds timeout);
  [[nodiscard]] bool matches(const IpAddress& dst, std::uint16_t port) const;

  EtherConn& conn_;
  RUDPConnOptions options_;
  Neighbor* neighbor_;
  std::mutex read_mutex_;  // one reader of conn_ at a time
  std::array<std::byte, kMaxFrame + 14> rx_{};
  // One datagram that arrived while send_to() was reading for an ARP/NDP answer, kept for the
  // next recv_from(); allocated on first use.
  std::vector<std::byte> stash_;
  std::optional<ReceivedDatagram> stashed_;
  std::atomic<std::uint64_t> ignored_{0};
};

}  // namespace etherpath::conn
