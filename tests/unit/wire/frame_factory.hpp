// Valid frames made with FrameBuilder, for tests to break in specific ways.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/icmp.hpp"

namespace etherpath::wire::testing {

inline const MacAddress kDstMac = MacAddress::parse("02:00:00:00:00:02").value();
inline const MacAddress kSrcMac = MacAddress::parse("02:00:00:00:00:01").value();
inline const IpAddress kSrc4 = IpAddress::parse("192.0.2.1").value();
inline const IpAddress kDst4 = IpAddress::parse("198.51.100.7").value();
inline const IpAddress kSrc6 = IpAddress::parse("2001:db8::1").value();
inline const IpAddress kDst6 = IpAddress::parse("2001:db8:1::7").value();

inline std::vector<std::byte> payload_of(std::size_t n) {
  std::vector<std::byte> p(n);
  for (std::size_t i = 0; i < n; ++i) {
    p[i] = static_cast<std::byte>(i * 13 + 1);
  }
  return p;
}

inline std::vector<std::byte> finish(FrameBuilder& b) {
  auto f = b.finish();
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  return f ? std::vector<std::byte>(f->begin(), f->end()) : std::vector<std::byte>{};
}

inline std::vector<std::byte> udp4(const VlanStack& vlans = {}, std::size_t payload = 18,
                                   ConstBytes options = {}) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf);
  b.payload(payload_of(payload))
      .push_udp(1000, 2000)
      .push_ipv4({.src = kSrc4, .dst = kDst4, .id = 7, .options = options})
      .push_vlans(vlans)
      .push_ethernet(kDstMac, kSrcMac);
  return finish(b);
}

inline std::vector<std::byte> udp6(const VlanStack& vlans = {}, std::size_t payload = 18,
                                   std::size_t hop_by_hop_headers = 0) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf, 512);
  b.payload(payload_of(payload)).push_udp(1000, 2000);
  const std::vector<std::byte> body(6);  // PadN-free zero body: Pad1 options
  for (std::size_t i = 0; i < hop_by_hop_headers; ++i) {
    b.push_ipv6_extension(60, body);
  }
  b.push_ipv6({.src = kSrc6, .dst = kDst6}).push_vlans(vlans).push_ethernet(kDstMac, kSrcMac);
  return finish(b);
}

inline std::vector<std::byte> icmp4_echo(std::size_t payload = 8) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf);
  b.payload(payload_of(payload))
      .push_icmp_echo(kIcmpv4EchoRequest, 1, 2)
      .push_ipv4({.src = kSrc4, .dst = kDst4})
      .push_ethernet(kDstMac, kSrcMac);
  return finish(b);
}

inline std::vector<std::byte> icmp6_echo(std::size_t payload = 8) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf);
  b.payload(payload_of(payload))
      .push_icmp_echo(kIcmpv6EchoRequest, 1, 2)
      .push_ipv6({.src = kSrc6, .dst = kDst6})
      .push_ethernet(kDstMac, kSrcMac);
  return finish(b);
}

inline std::vector<std::byte> arp_request() {
  std::vector<std::byte> buf(256);
  FrameBuilder b(buf);
  b.push_arp({.op = 1, .sender_mac = kSrcMac, .sender_ip = kSrc4, .target_ip = kDst4})
      .push_ethernet(MacAddress::broadcast(), kSrcMac);
  return finish(b);
}

inline std::vector<std::byte> neighbor_solicit(bool with_option = true) {
  std::vector<std::byte> buf(256);
  FrameBuilder b(buf);
  b.push_neighbor_solicit(kDst6, with_option ? std::optional(kSrcMac) : std::nullopt)
      .push_ipv6({.src = kSrc6, .dst = kDst6, .hop_limit = 255})
      .push_ethernet(kDstMac, kSrcMac);
  return finish(b);
}

}  // namespace etherpath::wire::testing
