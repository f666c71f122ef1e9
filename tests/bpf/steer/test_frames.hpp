// Hand-built test frames for the steering program's tests: Ethernet with up to three VLAN tags,
// IPv4/IPv6, UDP, ICMP echo, ARP and neighbour solicitations. Only the fields the program reads
// are meaningful; checksums are left zero (the program does not check them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"

namespace etherpath::bpf::test {

using Frame = std::vector<std::byte>;
using Octets = std::vector<std::uint8_t>;

inline constexpr std::uint16_t kIpv4 = 0x0800;
inline constexpr std::uint16_t kArp = 0x0806;
inline constexpr std::uint16_t kIpv6 = 0x86dd;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kIcmpv6 = 58;

inline void put16(Octets& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8U));
  out.push_back(static_cast<std::uint8_t>(v & 0xffU));
}

inline void put_bytes(Octets& out, const std::uint8_t* p, std::size_t n) {
  out.insert(out.end(), p, p + n);
}

// dst MAC, src 02:00:00:00:00:99, the tags of `vlans` (each with its own TPID and PCP), then
// `ethertype` and `payload`. `extra_tags` adds tags beyond the stack (for the too-deep case).
inline Frame ethernet(const MacAddress& dst, const VlanStack& vlans, std::uint16_t ethertype,
                      const Octets& payload, unsigned extra_tags = 0) {
  Octets out;
  put_bytes(out, dst.octets().data(), 6);
  const MacAddress src = MacAddress::from_u64(0x020000000099ULL);
  put_bytes(out, src.octets().data(), 6);
  for (const auto& tag : vlans) {
    put16(out, tag.tpid);
    put16(out, tag.tci());
  }
  for (unsigned i = 0; i < extra_tags; ++i) {
    put16(out, kTpid8021Q);
    put16(out, 7);
  }
  put16(out, ethertype);
  out.insert(out.end(), payload.begin(), payload.end());
  Frame frame(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    frame[i] = static_cast<std::byte>(out[i]);
  }
  return frame;
}

// A 20-byte IPv4 header (or longer with `option_words` 4-byte NOP options) and `l4`.
inline Octets ipv4(std::uint8_t protocol, const IpAddress& src, const IpAddress& dst,
                   const Octets& l4, std::uint16_t frag_off = 0, unsigned option_words = 0) {
  Octets out;
  out.push_back(static_cast<std::uint8_t>(0x40U | (5U + option_words)));
  out.push_back(0);
  put16(out, static_cast<std::uint16_t>(20 + 4 * option_words + l4.size()));
  put16(out, 1);  // id
  put16(out, frag_off);
  out.push_back(64);
  out.push_back(protocol);
  put16(out, 0);  // checksum
  put_bytes(out, src.bytes().data(), 4);
  put_bytes(out, dst.bytes().data(), 4);
  for (unsigned i = 0; i < 4 * option_words; ++i) {
    out.push_back(1);  // NOP
  }
  out.insert(out.end(), l4.begin(), l4.end());
  return out;
}

inline Octets ipv6(std::uint8_t next_header, const IpAddress& src, const IpAddress& dst,
                   const Octets& l4) {
  Octets out{0x60, 0, 0, 0};
  put16(out, static_cast<std::uint16_t>(l4.size()));
  out.push_back(next_header);
  out.push_back(255);
  put_bytes(out, src.bytes().data(), 16);
  put_bytes(out, dst.bytes().data(), 16);
  out.insert(out.end(), l4.begin(), l4.end());
  return out;
}

// UDP or TCP: only the ports matter to the program; 8 bytes of header and 4 of payload.
inline Octets ports(std::uint16_t src_port, std::uint16_t dst_port) {
  Octets out;
  put16(out, src_port);
  put16(out, dst_port);
  put16(out, 12);
  put16(out, 0);
  out.insert(out.end(), {0xde, 0xad, 0xbe, 0xef});
  return out;
}

// ICMP or ICMPv6 with an echo-shaped header: type, code, checksum, id, sequence.
inline Octets icmp(std::uint8_t type, std::uint16_t id, std::uint16_t seq = 1) {
  Octets out{type, 0, 0, 0};
  put16(out, id);
  put16(out, seq);
  out.insert(out.end(), {1, 2, 3, 4});
  return out;
}

inline Octets arp(std::uint16_t op, const IpAddress& sender, const IpAddress& target) {
  Octets out;
  put16(out, 1);      // Ethernet
  put16(out, kIpv4);  // IPv4
  out.push_back(6);
  out.push_back(4);
  put16(out, op);
  const MacAddress sha = MacAddress::from_u64(0x020000000099ULL);
  put_bytes(out, sha.octets().data(), 6);
  put_bytes(out, sender.bytes().data(), 4);
  out.insert(out.end(), 6, 0);
  put_bytes(out, target.bytes().data(), 4);
  return out;
}

// An ICMPv6 neighbour solicitation for `target` (type 135), with a source link-layer option.
inline Octets neighbour_solicitation(const IpAddress& target) {
  Octets out{135, 0, 0, 0, 0, 0, 0, 0};
  put_bytes(out, target.bytes().data(), 16);
  out.insert(out.end(), {1, 1, 0x02, 0, 0, 0, 0, 0x99});
  return out;
}

// 33:33:ff:xx:xx:xx, the MAC of the solicited-node multicast group of `target`.
inline MacAddress solicited_node_mac(const IpAddress& target) {
  const auto& b = target.bytes();
  return MacAddress(MacAddress::Octets{0x33, 0x33, 0xff, b[13], b[14], b[15]});
}

inline IpAddress solicited_node_ip(const IpAddress& target) {
  IpAddress::Bytes16 b{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  b[13] = target.bytes()[13];
  b[14] = target.bytes()[14];
  b[15] = target.bytes()[15];
  return IpAddress::v6(b);
}

// The first n bytes of a frame.
inline Frame truncated(const Frame& frame, std::size_t n) {
  return Frame(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace etherpath::bpf::test
