// IcmpEchoConn: ICMP/ICMPv6 echo from an emulated host over an EtherConn: sends echo requests
// and matches replies by identifier and sequence, and optionally answers echo requests to its
// own address, so a kernel `ping` to the emulated host works.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "conn/ether_conn.hpp"
#include "conn/neighbor.hpp"

namespace etherpath::conn {

struct IcmpEchoOptions {
  IpAddress local;               // our address (IPv4 or IPv6)
  std::uint16_t identifier = 0;  // of the requests we send; replies must carry it
  bool answer_requests = false;  // reply to echo requests for `local`
  std::uint8_t ttl = 64;         // IPv4 TTL / IPv6 hop limit
  std::chrono::milliseconds resolve_timeout{3000};
};

struct EchoReply {
  IpAddress from;
  std::uint16_t identifier = 0;
  std::uint16_t sequence = 0;
  std::size_t size = 0;  // payload bytes copied
};

class IcmpEchoConn {
 public:
  // `conn` and `neighbor` must outlive the IcmpEchoConn; `local` becomes owned by the Neighbor.
  static Result<std::unique_ptr<IcmpEchoConn>> open(EtherConn& conn, IcmpEchoOptions options,
                                                    Neighbor& neighbor);
  ~IcmpEchoConn();
  IcmpEchoConn(const IcmpEchoConn&) = delete;
  IcmpEchoConn& operator=(const IcmpEchoConn&) = delete;
  IcmpEchoConn(IcmpEchoConn&&) = delete;
  IcmpEchoConn& operator=(IcmpEchoConn&&) = delete;

  // An echo request (ICMP type 8 or ICMPv6 128) with our identifier, `sequence` and `payload`.
  Status send_request(const IpAddress& to, std::uint16_t sequence, ConstBytes payload);
  // The next echo reply carrying our identifier (others are counted, not returned), answering
  // requests and ARP/NDP meanwhile. Errc::timeout when none came.
  Result<EchoReply> recv_reply(Bytes buffer, std::chrono::milliseconds timeout);
  // send_request + recv_reply until the reply with `sequence` arrives; the round-trip time.
  Result<std::chrono::nanoseconds> ping(const IpAddress& to, std::uint16_t sequence,
                                        ConstBytes payload, std::chrono::milliseconds timeout);
  // Only answers (requests, ARP/NDP) for `duration`: for a host that is pinged.
  void serve(std::chrono::milliseconds duration);

  [[nodiscard]] std::uint64_t requests_answered() const { return answered_.load(); }
  [[nodiscard]] std::uint64_t ignored() const { return ignored_.load(); }

 private:
  static constexpr std::size_t kMaxFrame = 2048;
  IcmpEchoConn(EtherConn& conn, IcmpEchoOptions options, Neighbor& neighbor)
      : conn_(conn), options_(options), neighbor_(neighbor) {}
  // One frame: answers what it must; returns a reply with our identifier, if that is what came.
  Result<std::optional<EchoReply>> read_one(Bytes out, std::chrono::milliseconds timeout);
  Status send_icmp(const IpAddress& to, const MacAddress& dst_mac, std::uint8_t type,
                   std::uint16_t id, std::uint16_t seq, ConstBytes payload);

  EtherConn& conn_;
  IcmpEchoOptions options_;
  Neighbor& neighbor_;
  std::mutex read_mutex_;
  std::array<std::byte, kMaxFrame + 14> rx_{};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> ignored_{0};
};

}  // namespace etherpath::conn
