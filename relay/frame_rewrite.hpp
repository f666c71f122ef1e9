// Per-packet frame work of the datapath transport: parse and validate a received UDP/ICMP frame
// (lengths and checksums, one pass over the payload), and write fresh Ethernet/VLAN/IP/UDP
// headers in the headroom in front of a payload that stays where it is.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"
#include "conn/wire/drop_reason.hpp"
#include "relay/datagram.hpp"

namespace etherpath::relay {

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;

// What the transport keeps of a received frame. Offsets are from the start of the frame.
struct RxFrame {
  MacAddress src_mac;
  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;   // kProtoUdp, kProtoIcmp, kProtoIcmpv6 (others: not ours)
  std::uint16_t src_port = 0;  // UDP
  std::uint16_t dst_port = 0;  // UDP
  std::uint8_t icmp_type = 0;
  std::uint16_t echo_id = 0;         // ICMP
  std::uint32_t payload_offset = 0;  // the UDP payload, or the ICMP header
  std::uint32_t payload_length = 0;
  // The bytes after the UDP header or the 8-byte ICMP header, and their unfolded sum: the
  // checksum of the frame sent on is made from it without reading the payload again.
  std::uint32_t body_offset = 0;
  std::uint32_t body_length = 0;
  std::uint64_t body_sum = 0;
};

struct RxParse {
  RxFrame frame;
  wire::DropReason drop = wire::DropReason::none;
  // A bad UDP checksum that holds just the pseudo-header sum: the sender left the checksum to
  // an offload that never ran (a kernel sending over veth with TX checksumming on).
  bool checksum_offloaded = false;
  explicit operator bool() const noexcept { return drop == wire::DropReason::none; }
};

// Parses `frame` (Ethernet, up to two tags, IPv4/IPv6, UDP or ICMP) and checks the IPv4 header,
// UDP and ICMP checksums. A frame of another protocol parses with protocol set to it.
[[nodiscard]] RxParse parse_rx(ConstBytes frame) noexcept;

// The flow key of a frame that did not parse (dst address, protocol, UDP dst port or echo id), read
// as the steering program reads it: so a broken frame can be told apart from one for another
// flow. nullopt when the frame ends before the key.
struct RxKey {
  IpAddress dst;
  std::uint8_t protocol = 0;
  std::uint16_t port = 0;  // UDP destination port, or the ICMP echo identifier
  std::uint8_t icmp_type = 0;
};
[[nodiscard]] std::optional<RxKey> peek_key(ConstBytes frame) noexcept;

// One side of the relay as frames leave it: our MAC, tags and address there.
struct TxSide {
  MacAddress mac;
  VlanStack vlans;
  IpAddress address;
};

// Where one frame goes. For ICMP the payload already holds the Echo header (ICMPv4 checksum
// included); ICMPv6's checksum is written here.
struct TxTarget {
  MacAddress dst_mac;
  IpAddress dst;
  std::uint8_t protocol = kProtoUdp;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint16_t ipv4_id = 0;
};

// Bytes of headers write_headers() puts in front of the payload.
[[nodiscard]] std::uint32_t tx_header_size(const TxSide& side, const TxTarget& target) noexcept;

// The unfolded sum of chunk[offset, offset + length), using `rx`'s body sum when the range is the
// received body or ends with it behind an even-sized prefix (an Echo header put in front).
// `rx_base` is where the received frame started in the chunk.
[[nodiscard]] std::uint64_t payload_sum(ConstBytes chunk, std::uint32_t offset,
                                        std::uint32_t length, const RxFrame& rx,
                                        std::uint32_t rx_base) noexcept;

// Writes the headers for `target` in front of chunk[payload_offset, +payload_length) and returns
// where the frame now starts, or nullopt when the headroom is too small or the datagram too long.
// `payload_sum` is the unfolded sum of the payload bytes (UDP and ICMPv6 checksums).
[[nodiscard]] std::optional<std::uint32_t> write_headers(Bytes chunk, std::uint32_t payload_offset,
                                                         std::uint32_t payload_length,
                                                         std::uint64_t payload_sum,
                                                         const TxSide& side,
                                                         const TxTarget& target) noexcept;

// The headers of one UDP flow (a side and a target) written once and reused: a frame of the flow
// copies them and sets its lengths, IPv4 id and checksums from sums of the fixed fields kept
// here. What write_headers() writes, for a fraction of the work per frame.
class UdpHeaderTemplate {
 public:
  // Prepares the headers for `side` and a UDP `target` (its ipv4_id is ignored); false when they
  // cannot be made (families differ).
  bool prepare(const TxSide& side, const TxTarget& target) noexcept;
  [[nodiscard]] bool valid() const noexcept { return size_ != 0; }
  // Whether the template was made for this flow.
  [[nodiscard]] bool is_for(const IpAddress& side_address, const TxTarget& target) const noexcept {
    return valid() && target.src_port == target_.src_port && target.dst_port == target_.dst_port &&
           target.protocol == kProtoUdp && same_mac(target.dst_mac, target_.dst_mac) &&
           same_address(target.dst, target_.dst) && same_address(side_address, side_address_);
  }
  void reset() noexcept { size_ = 0; }
  // As write_headers(): where the frame now starts, or nullopt (no headroom, too long).
  [[nodiscard]] std::optional<std::uint32_t> write(Bytes chunk, std::uint32_t payload_offset,
                                                   std::uint32_t payload_length,
                                                   std::uint64_t payload_sum,
                                                   std::uint16_t ipv4_id) const noexcept;

 private:
  static constexpr std::size_t kMaxSize = 14 + 8 + 40 + 8;
  std::array<std::byte, kMaxSize> bytes_{};
  std::uint32_t size_ = 0;    // 0: not prepared
  std::uint32_t ip_at_ = 0;   // where the IP header starts
  std::uint32_t udp_at_ = 0;  // and the UDP header
  bool v6_ = false;
  std::uint64_t ip_sum_ = 0;   // IPv4: the header's fixed fields (without length, id, checksum)
  std::uint64_t udp_sum_ = 0;  // addresses, protocol and ports (without the lengths, payload)
  IpAddress side_address_;
  TxTarget target_;
};

}  // namespace etherpath::relay
