// EtherConn: an L2 endpoint (MAC, VLAN stack, EtherTypes) on a PacketRelay, with socket-like
// sends and reads with deadlines (the convenience path of design.md §2).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::conn {

// etherconn's DefaultEtherTypes: ARP, IPv4, IPv6.
inline const std::vector<std::uint16_t> kDefaultEtherTypes = {0x0806, 0x0800, 0x86dd};

struct EtherConnOptions {
  MacAddress mac;
  VlanStack vlans;
  std::vector<std::uint16_t> ether_types = kDefaultEtherTypes;
  bool receive_multicast = false;  // broadcast/multicast of this VLAN stack + these types
  bool is_default = false;         // the relay's default receiver for this VLAN stack + types
  std::size_t queue_depth = 1024;  // received frames kept for read(); more are counted and dropped
  std::size_t max_frame = 2048;    // the largest frame a queue slot holds
};

// What read() returns: the L2 payload went into the caller's buffer.
struct EtherPacket {
  std::size_t size = 0;       // bytes copied into the buffer
  std::size_t full_size = 0;  // the payload's size; > size when the buffer was too small
  MacAddress src;             // the remote end
  MacAddress dst;
  VlanStack vlans;
  std::uint16_t ether_type = 0;
  [[nodiscard]] bool truncated() const { return full_size > size; }
};

class EtherConn final : public datapath::Receiver {
 public:
  // Registers on `relay` (which must outlive the conn): one L2 key per EtherType.
  static Result<std::unique_ptr<EtherConn>> open(datapath::PacketRelay& relay,
                                                 EtherConnOptions options);
  ~EtherConn() override;  // deregisters

  [[nodiscard]] const EtherConnOptions& options() const { return options_; }

  // An IPv4 or IPv6 packet; the EtherType comes from the version nibble.
  Status send_ip(std::span<const std::byte> packet, const MacAddress& dst);
  // Any payload with the given EtherType.
  Status send(std::span<const std::byte> payload, std::uint16_t ether_type, const MacAddress& dst);

  // Waits up to `timeout` for a frame: Errc::timeout when none came, Errc::relay_stopped once the
  // relay stopped (and the queue is empty).
  Result<EtherPacket> read(std::span<std::byte> buffer, std::chrono::milliseconds timeout);

  // Frames dropped because the receive queue was full.
  [[nodiscard]] std::uint64_t overflows() const;
  [[nodiscard]] std::size_t queued() const;

  // datapath::Receiver (called on the relay's poll threads)
  bool deliver(const datapath::Frame& frame, const datapath::L2Header& header) override;
  void relay_stopped() override;

 private:
  struct Slot {
    std::vector<std::byte> bytes;  // max_frame bytes, allocated once with the queue
    std::size_t size = 0;
    std::size_t payload_offset = 0;
    MacAddress src, dst;
    VlanStack vlans;
    std::uint16_t ether_type = 0;
  };
  EtherConn(datapath::PacketRelay& relay, EtherConnOptions options)
      : relay_(relay), options_(std::move(options)) {}

  datapath::PacketRelay& relay_;
  EtherConnOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable readable_;
  std::vector<Slot> slots_;  // a ring, allocated on the first delivery
  std::size_t head_ = 0;     // next to read
  std::size_t count_ = 0;
  std::uint64_t overflows_ = 0;
  bool stopped_ = false;
};

}  // namespace etherpath::conn
