// ParsedFrame: what FrameParser found in one frame (every header field, the L2 key, views of each
// layer and the payload), and L2Key, the compact hashable key frames are dispatched by.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"
#include "conn/wire/drop_reason.hpp"
#include "conn/wire/ipv4.hpp"

namespace etherpath::wire {

// The longest IPv6 extension chain FrameParser walks; real traffic to an endpoint has at most a
// hop-by-hop and a destination-options header, and a bound keeps the walk (and BPF's) finite.
inline constexpr std::size_t kMaxIpv6Extensions = 4;

// etherconn's 12-byte L2EndpointKey: destination MAC, outer and inner VLAN ID (VlanStack::kNoVlan
// when absent), innermost EtherType. A value type with no padding, so it hashes and compares fast.
struct L2Key {
  MacAddress::Octets mac{};
  std::uint16_t outer_vlan = VlanStack::kNoVlan;
  std::uint16_t inner_vlan = VlanStack::kNoVlan;
  std::uint16_t ether_type = 0;

  static constexpr L2Key make(const MacAddress& mac, const VlanStack& vlans,
                              std::uint16_t ether_type) noexcept {
    return L2Key{mac.octets(), vlans.id_or_none(0), vlans.id_or_none(1), ether_type};
  }
  // The same from the destination MAC at the start of a frame of at least 14 bytes. Built in
  // registers and stored whole: a key assembled from narrow stores and then read wide (hashing it,
  // comparing it) stalls on store forwarding, which cost more than the rest of a UDP parse.
  static L2Key from_frame(ConstBytes frame, std::uint16_t outer_vlan, std::uint16_t inner_vlan,
                          std::uint16_t ether_type) noexcept {
    L2Key k;
    if constexpr (std::endian::native == std::endian::little) {
      // One 8-byte load (the frame holds at least 14 bytes), not a 6-byte copy through memory.
      std::uint64_t lo = 0;
      std::memcpy(&lo, frame.data(), 8);
      lo = (lo & 0x0000ffffffffffffULL) | (std::uint64_t{outer_vlan} << 48U);
      const std::uint32_t hi = inner_vlan | (std::uint32_t{ether_type} << 16U);
      std::array<std::byte, 12> raw{};
      std::memcpy(raw.data(), &lo, 8);
      std::memcpy(raw.data() + 8, &hi, 4);
      std::memcpy(&k, raw.data(), sizeof k);
    } else {
      std::memcpy(k.mac.data(), frame.data(), 6);
      k.outer_vlan = outer_vlan;
      k.inner_vlan = inner_vlan;
      k.ether_type = ether_type;
    }
    return k;
  }
  [[nodiscard]] constexpr MacAddress mac_address() const noexcept { return MacAddress(mac); }
  // etherconn's byte layout: MAC, the two IDs and the EtherType big-endian (a BPF map key).
  [[nodiscard]] std::array<std::uint8_t, 12> to_bytes() const noexcept;
  // etherconn's text: "02:00:00:00:01:01|100|65535#0x0800".
  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] std::uint64_t hash_value() const noexcept;

  friend constexpr bool operator==(const L2Key&, const L2Key&) = default;
};
static_assert(sizeof(L2Key) == 12, "L2Key must stay etherconn's 12 bytes");

enum class L3Kind : std::uint8_t { none, ipv4, ipv6, arp };
enum class L4Kind : std::uint8_t { none, udp, icmpv4, icmpv6, other };

struct Ipv4Fields {
  std::uint8_t ihl = 0;
  std::uint8_t tos = 0;
  std::uint16_t total_length = 0;
  std::uint16_t id = 0;
  std::uint8_t flags = 0;  // reserved, DF, MF (kIpv4Flag*)
  std::uint16_t fragment_offset = 0;
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  std::uint16_t checksum = 0;
  ConstBytes options;  // IHL*4 - 20 bytes
  [[nodiscard]] bool df() const noexcept { return (flags & kIpv4FlagDf) != 0; }
  [[nodiscard]] bool mf() const noexcept { return (flags & kIpv4FlagMf) != 0; }
};

// One extension header: its type (the previous header's next-header value) and all its bytes.
struct Ipv6Extension {
  std::uint8_t type = 0;
  ConstBytes bytes;
};

// Where an extension header sits in the frame: ParsedFrame stays small (it is built per packet).
struct Ipv6ExtensionRef {
  std::uint16_t offset = 0;  // from the start of the frame
  std::uint16_t size = 0;
  std::uint8_t type = 0;
};

// Widest members first: no padding (ParsedFrame is zeroed per packet, every byte costs).
struct Ipv6Fields {
  std::uint32_t flow_label = 0;
  std::uint16_t payload_length = 0;
  std::uint8_t traffic_class = 0;
  std::uint8_t next_header = 0;  // the fixed header's field; ParsedFrame::ip_protocol is the last
  std::uint8_t hop_limit = 0;
  std::uint8_t extension_count = 0;  // see ParsedFrame::ipv6_extension()
  std::array<Ipv6ExtensionRef, kMaxIpv6Extensions> extension_refs{};
};

struct UdpFields {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint16_t length = 0;
  std::uint16_t checksum = 0;
};

// The start of the datagram an ICMP error quotes: who sent what to whom, so the error can be
// matched to a flow. src_port/dst_port are the ports (UDP, TCP) or the echo id and sequence.
struct QuotedDatagram {
  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;
  bool has_ports = false;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

struct IcmpFields {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint16_t checksum = 0;
  std::uint32_t rest = 0;  // the 4 bytes after the checksum
  [[nodiscard]] std::uint16_t echo_id() const noexcept {
    return static_cast<std::uint16_t>(rest >> 16U);
  }
  [[nodiscard]] std::uint16_t echo_seq() const noexcept {
    return static_cast<std::uint16_t>(rest & 0xffffU);
  }
};

struct ArpFields {
  std::uint16_t op = 0;
  MacAddress sender_mac;
  IpAddress sender_ip;
  MacAddress target_mac;
  IpAddress target_ip;
};

// NS or NA (ICMPv6 135/136): the target and the link-layer address options.
struct NdpFields {
  IpAddress target;
  std::uint8_t flags = 0;                // NA: kNdpFlagRouter/Solicited/Override
  std::optional<MacAddress> source_mac;  // option 1
  std::optional<MacAddress> target_mac;  // option 2
};

// Borrowed views into the frame: valid as long as the frame's bytes are.
// The members are ordered to leave little padding: a ParseResult of 256 bytes or less is zeroed
// with a few wide stores (g++ and clang inline it or take memset's short path), a larger one
// loops. FrameParser's fast path writes it as words at fixed offsets (checked there).
struct ParsedFrame {
  ConstBytes bytes;  // the whole frame
  MacAddress dst;
  MacAddress src;
  L3Kind l3 = L3Kind::none;      // which of the L3 fields below are filled
  L4Kind l4 = L4Kind::none;      // which of the L4 fields below are filled
  std::uint8_t ip_protocol = 0;  // the upper-layer protocol, after any IPv6 extensions
  VlanStack vlans;               // outer first, with TPID, PCP and DEI
  std::uint16_t ether_type = 0;  // the innermost EtherType
  L2Key key;

  ConstBytes l3_bytes;  // the IP datagram or ARP message, bounded by its own length
  Ipv4Fields ipv4;
  Ipv6Fields ipv6;

  IcmpFields icmp;
  UdpFields udp;

 private:
  friend class FrameParser;
  // The IP source and destination (0.0.0.0 when the frame is not IP), stored whole so that
  // ip_src()/ip_dst() hand out references: no per-read construction.
  IpAddress src_ip_{};
  IpAddress dst_ip_{};

 public:
  ConstBytes l4_bytes;  // UDP datagram, ICMP message or other upper-layer bytes
  // UDP payload; an ICMP message after its 8-byte header; the upper-layer bytes of another IP
  // protocol; the L3 bytes of an accepted unknown EtherType; empty for ARP.
  ConstBytes payload;
  std::size_t trailing = 0;  // bytes after the datagram (Ethernet padding)

  [[nodiscard]] std::size_t l3_offset() const noexcept {
    return static_cast<std::size_t>(l3_bytes.data() - bytes.data());
  }
  [[nodiscard]] std::size_t l4_offset() const noexcept {
    return static_cast<std::size_t>(l4_bytes.data() - bytes.data());
  }
  [[nodiscard]] std::size_t payload_offset() const noexcept {
    return static_cast<std::size_t>(payload.data() - bytes.data());
  }
  [[nodiscard]] bool is_ip() const noexcept { return l3 == L3Kind::ipv4 || l3 == L3Kind::ipv6; }
  // The IP source and destination (0.0.0.0 when the frame is not IP); valid as long as this is.
  [[nodiscard]] const IpAddress& ip_src() const noexcept { return src_ip_; }
  [[nodiscard]] const IpAddress& ip_dst() const noexcept { return dst_ip_; }

  // The rarer layers are decoded on demand from the frame's bytes, so that parsing a UDP frame
  // does not pay for them. Safe on the partial frame of a drop too (they check sizes again).
  [[nodiscard]] Ipv6Extension ipv6_extension(std::size_t i) const noexcept {
    const Ipv6ExtensionRef& r = ipv6.extension_refs[i];
    return Ipv6Extension{r.type, bytes.subspan(r.offset, r.size)};
  }
  // For l3 == arp; default fields otherwise.
  [[nodiscard]] ArpFields arp() const noexcept;
  // For an ICMPv6 NS or NA; nullopt otherwise.
  [[nodiscard]] std::optional<NdpFields> ndp() const noexcept;
  // For ICMP destination unreachable, time exceeded and (v6) packet too big, when enough of the
  // offending datagram was quoted; nullopt otherwise.
  [[nodiscard]] std::optional<QuotedDatagram> quoted() const noexcept;
};
static_assert(sizeof(ParsedFrame) <= 248,
              "ParseResult (ParsedFrame + DropReason) must stay <= 256");

// A multi-line human-readable decode, one line per layer (the demo and debug logs use it).
[[nodiscard]] std::string describe(const ParsedFrame& frame);

}  // namespace etherpath::wire

template <>
struct std::hash<etherpath::wire::L2Key> {
  std::size_t operator()(const etherpath::wire::L2Key& k) const noexcept {
    return static_cast<std::size_t>(k.hash_value());
  }
};
