// SharedEtherConn + SharingRUDPConn: many UDP endpoints on one L2 endpoint (MAC + VLANs),
// demultiplexed by etherconn's L4 key (IP, protocol, port) on the relay's poll thread into
// per-endpoint bounded queues. A datagram for an unregistered key is counted, not delivered.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "base/datagram_transport.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/neighbor.hpp"
#include "conn/rudp_conn.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::conn {

// etherconn's L4RecvKey: the local address, protocol and port a datagram is for.
struct L4RecvKey {
  IpAddress ip;
  std::uint8_t protocol = 17;
  std::uint16_t port = 0;
  friend bool operator==(const L4RecvKey&, const L4RecvKey&) = default;
  [[nodiscard]] std::string to_string() const;  // "ip#proto#port", as etherconn prints it
};

struct L4RecvKeyHash {
  std::size_t operator()(const L4RecvKey& k) const noexcept {
    return std::hash<IpAddress>{}(k.ip) ^ (std::size_t{k.port} << 8U) ^ k.protocol;
  }
};

struct SharedEtherConnOptions {
  MacAddress mac;
  VlanStack vlans;
  bool receive_multicast = false;
  bool is_default = false;
  std::size_t per_endpoint_depth = 64;  // datagrams queued per endpoint; more are counted, dropped
};

class SharingRUDPConn;

class SharedEtherConn final : public datapath::Receiver {
 public:
  // Registers (mac, vlans) for ARP, IPv4 and IPv6. ARP and NDP go to `neighbor` (which must
  // outlive this conn, as must the relay).
  static Result<std::unique_ptr<SharedEtherConn>> open(datapath::PacketRelay& relay,
                                                       SharedEtherConnOptions options,
                                                       Neighbor& neighbor);
  ~SharedEtherConn() override;  // deregisters
  SharedEtherConn(const SharedEtherConn&) = delete;
  SharedEtherConn& operator=(const SharedEtherConn&) = delete;
  SharedEtherConn(SharedEtherConn&&) = delete;
  SharedEtherConn& operator=(SharedEtherConn&&) = delete;

  [[nodiscard]] Station station() const { return {options_.mac, options_.vlans}; }
  [[nodiscard]] Neighbor& neighbor() { return neighbor_; }
  [[nodiscard]] datapath::PacketRelay& relay() { return relay_; }
  [[nodiscard]] const SharedEtherConnOptions& options() const { return options_; }

  // UDP datagrams no endpoint is registered for.
  [[nodiscard]] std::uint64_t unregistered() const { return unregistered_.load(); }

  // datapath::Receiver (poll threads)
  bool deliver(const datapath::Frame& frame, const datapath::L2Header& header) override;
  void relay_stopped() override;

 private:
  friend class SharingRUDPConn;
  SharedEtherConn(datapath::PacketRelay& relay, SharedEtherConnOptions options, Neighbor& neighbor)
      : relay_(relay), options_(options), neighbor_(neighbor) {}
  Status add(const L4RecvKey& key, SharingRUDPConn* conn);
  void remove(const L4RecvKey& key, SharingRUDPConn* conn);

  datapath::PacketRelay& relay_;
  SharedEtherConnOptions options_;
  Neighbor& neighbor_;
  mutable std::shared_mutex endpoints_mutex_;
  std::unordered_map<L4RecvKey, SharingRUDPConn*, L4RecvKeyHash> endpoints_;
  std::atomic<std::uint64_t> unregistered_{0};
  std::atomic<bool> stopped_{false};
};

struct SharingRUDPConnOptions {
  IpEndpoint local;  // 0.0.0.0 / :: take the port on every address of the family
  std::uint8_t ttl = 255;
  std::uint8_t dscp = 0;
  NextHopResolver resolver{};  // default: the shared conn's Neighbor
  std::chrono::milliseconds resolve_timeout{3000};
};

// One UDP endpoint of a SharedEtherConn. Unlike etherconn's, close is real: the destructor
// removes the key. It never accepts datagrams for another IP/port.
class SharingRUDPConn final : public DatagramTransport {
 public:
  static Result<std::unique_ptr<SharingRUDPConn>> open(SharedEtherConn& shared,
                                                       SharingRUDPConnOptions options);
  ~SharingRUDPConn() override;

  Status send_to(ConstBytes payload, const IpEndpoint& to) override;
  Result<ReceivedDatagram> recv_from(Bytes buffer, std::chrono::nanoseconds timeout) override;
  [[nodiscard]] IpEndpoint local_endpoint() const override { return options_.local; }

  [[nodiscard]] std::uint64_t overflows() const;
  // Bytes this endpoint holds now (its queue is allocated on the first datagram).
  [[nodiscard]] std::size_t memory_bytes() const;

 private:
  friend class SharedEtherConn;
  static constexpr std::size_t kMaxPayload = 2048;
  struct Slot {
    std::array<std::byte, kMaxPayload> bytes;
    std::size_t size = 0;
    bool truncated = false;
    IpEndpoint from;
  };
  SharingRUDPConn(SharedEtherConn& shared, SharingRUDPConnOptions options)
      : shared_(shared), options_(std::move(options)) {}
  L4RecvKey key() const { return {options_.local.address, 17, options_.local.port}; }
  // On a poll thread: queue one datagram (false when full).
  bool push(ConstBytes payload, const IpEndpoint& from);
  void stop();

  SharedEtherConn& shared_;
  SharingRUDPConnOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable readable_;
  std::vector<Slot> slots_;  // a ring, allocated on the first datagram
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::uint64_t overflows_ = 0;
  bool stopped_ = false;
};

}  // namespace etherpath::conn
