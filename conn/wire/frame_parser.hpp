// FrameParser: one bounds-checked pass over a frame to a ParsedFrame, or to the DropReason that
// refused it. No allocation, no exceptions: it runs per packet on the fast path.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "base/byte_order.hpp"
#include "conn/wire/drop_reason.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/ipv4.hpp"
#include "conn/wire/parsed_frame.hpp"
#include "conn/wire/udp.hpp"
#include "conn/wire/vlan.hpp"

namespace etherpath::wire {

struct ParseOptions {
  // Verify the IPv4 header, UDP and ICMP checksums (canonical values only: a checksum that is
  // right in ones'-complement terms but spelled -0 where a sender writes +0 is refused).
  bool verify_checksums = false;
  // Accept EtherTypes other than IPv4, IPv6 and ARP (L3Kind::none, payload = the L3 bytes).
  bool accept_unknown_ether_type = false;
};

struct ParseResult {
  // On a drop, the layers before the failing one are filled (e.g. the L2 key of a frame whose
  // IPv4 header is bad), the rest keeps its defaults.
  ParsedFrame frame;
  DropReason drop = DropReason::none;
  explicit operator bool() const noexcept { return drop == DropReason::none; }
};

class FrameParser {
 public:
  constexpr FrameParser() = default;
  constexpr explicit FrameParser(ParseOptions options) : options_(options) {}

  // The result borrows `frame`: its spans are valid while the frame's bytes are. Inline: the
  // fast path for untagged or single-tagged IPv4/UDP (below) is written into the caller's result.
  [[nodiscard]] ParseResult parse(ConstBytes frame) const noexcept;

 private:
  // Every frame but the untagged or single-tagged IPv4/UDP ones of the fast path.
  [[nodiscard]] ParseResult parse_general(ConstBytes frame) const noexcept;
  // Fill `f` in place (the result object, built once without copies); return why it stopped.
  DropReason parse_ipv4(ParsedFrame& f, ConstBytes l3) const noexcept;
  DropReason parse_ipv6(ParsedFrame& f, ConstBytes l3) const noexcept;
  DropReason parse_l4(ParsedFrame& f, ConstBytes l4, std::uint8_t protocol) const noexcept;
  DropReason parse_icmp(ParsedFrame& f, ConstBytes l4, bool v6) const noexcept;

  ParseOptions options_;
};

namespace detail {

// The fast path below writes a ParseResult as words at these offsets (the layout g++ and clang
// give on 64-bit little-endian hosts; members are laid out in declaration order, and the sizes
// pin the padding: the two private IpAddress members, 17 bytes aligned to 1, sit between udp
// and l4_bytes, family byte first). Elsewhere every frame takes the general path. ParsedFrame is
// not standard layout (private members), where offsetof is conditionally supported: both
// compilers support it for classes without virtual bases, as here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
inline constexpr bool kWordLayout =
    std::endian::native == std::endian::little && sizeof(void*) == 8 &&
    sizeof(ParseResult) == 256 && offsetof(ParseResult, drop) == 0xf8 &&
    offsetof(ParsedFrame, dst) == 0x10 && offsetof(ParsedFrame, src) == 0x16 &&
    offsetof(ParsedFrame, l3) == 0x1c && offsetof(ParsedFrame, l4) == 0x1d &&
    offsetof(ParsedFrame, ip_protocol) == 0x1e && offsetof(ParsedFrame, vlans) == 0x20 &&
    sizeof(VlanStack) == 24 && alignof(VlanStack) == 8 && std::is_standard_layout_v<VlanStack> &&
    sizeof(VlanTag) == 6 && offsetof(VlanTag, id) == 0 && offsetof(VlanTag, tpid) == 2 &&
    offsetof(VlanTag, pcp) == 4 && offsetof(VlanTag, dei) == 5 && sizeof(MacAddress) == 6 &&
    offsetof(ParsedFrame, ether_type) == 0x38 && offsetof(ParsedFrame, key) == 0x3a &&
    offsetof(L2Key, outer_vlan) == 6 && offsetof(L2Key, inner_vlan) == 8 &&
    offsetof(L2Key, ether_type) == 10 && offsetof(ParsedFrame, l3_bytes) == 0x48 &&
    offsetof(ParsedFrame, ipv4) == 0x58 && offsetof(Ipv4Fields, options) == 0x10 &&
    offsetof(Ipv4Fields, total_length) == 2 && offsetof(Ipv4Fields, id) == 4 &&
    offsetof(Ipv4Fields, flags) == 6 && offsetof(Ipv4Fields, fragment_offset) == 8 &&
    offsetof(Ipv4Fields, ttl) == 10 && offsetof(Ipv4Fields, protocol) == 11 &&
    offsetof(Ipv4Fields, checksum) == 12 && offsetof(UdpFields, dst_port) == 2 &&
    offsetof(UdpFields, length) == 4 && offsetof(UdpFields, checksum) == 6 &&
    offsetof(ParsedFrame, ipv6) == 0x78 && sizeof(Ipv6Fields) == 0x24 &&
    offsetof(ParsedFrame, icmp) == 0x9c && sizeof(IcmpFields) == 8 &&
    offsetof(ParsedFrame, udp) == 0xa4 && sizeof(UdpFields) == 8 && sizeof(IpAddress) == 17 &&
    alignof(IpAddress) == 1 && std::is_standard_layout_v<IpAddress> &&
    static_cast<std::uint8_t>(IpFamily::v4) == 4 && offsetof(ParsedFrame, l4_bytes) == 0xd0 &&
    offsetof(ParsedFrame, payload) == 0xe0 && offsetof(ParsedFrame, trailing) == 0xf0 &&
    sizeof(ParsedFrame) == 0xf8;
#pragma GCC diagnostic pop
static_assert(kWordLayout || std::endian::native != std::endian::little || sizeof(void*) != 8,
              "ParsedFrame's layout changed: update the offsets parse_udp4() stores at");

// 16 bytes in one store (GCC/clang vector extension: one SSE/NEON register), so that a reader
// copying an IpAddress with a 16-byte load finds it in one store (forwarding fails otherwise).
using Bytes16 __attribute__((vector_size(16))) = long long;

// Stores `v` at byte `at` of the result.
template <std::size_t At, typename T>
[[gnu::always_inline]] inline void put_at(ParseResult& r, T v) noexcept {
  static_assert(std::is_trivially_copyable_v<ParseResult> && At + sizeof(T) <= sizeof(ParseResult));
  std::memcpy(static_cast<std::byte*>(static_cast<void*>(&r)) + At, &v, sizeof v);
}

[[gnu::always_inline]] inline std::uint64_t raw_u64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

[[gnu::always_inline]] inline std::uint32_t raw_u32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}

// What parse()'s fast path found: the frames a UDP endpoint receives, untagged or with one tag,
// IPv4 without options or fragmentation, UDP, lengths that agree. off == 0: another frame.
struct Udp4Match {
  std::size_t off = 0;    // of the IPv4 header
  std::uint32_t tag = 0;  // TPID << 16 | TCI (0x8100 << 16 when untagged: the default tag)
  std::uint64_t ip0 = 0;  // IPv4 bytes 0-7 and 8-11 as loaded (little-endian)
  std::uint32_t ip8 = 0;
  std::uint64_t udp = 0;  // the UDP header as loaded
  std::uint16_t total = 0;
};

// Reads only; one branch admits the frame.
[[gnu::always_inline]] inline Udp4Match match_udp4(ConstBytes frame) noexcept {
  const std::byte* d = frame.data();
  const std::size_t size = frame.size();
  constexpr std::size_t kMin = EthernetView::kSize + Ipv4View::kMinSize + UdpView::kSize;
  if (size < kMin) {
    return {};
  }
  // The EtherType (or TPID) and the two bytes after it; a tag moves IPv4 by 4 bytes.
  std::uint32_t type_word = bswap32(raw_u32(d + 12));
  std::uint32_t tag = std::uint32_t{kTpid8021Q} << 16U;
  std::size_t off = EthernetView::kSize;
  if (is_vlan_tpid(static_cast<std::uint16_t>(type_word >> 16U))) {
    if (size < kMin + VlanTagView::kSize) {
      return {};
    }
    tag = type_word;
    type_word = bswap32(raw_u32(d + 16));
    off += VlanTagView::kSize;
  }
  const std::byte* ip = d + off;
  Udp4Match m{off, tag, raw_u64(ip), raw_u32(ip + 8), raw_u64(ip + 20), 0};
  m.total = bswap16(static_cast<std::uint16_t>(m.ip0 >> 16U));
  const std::uint16_t udp_len = bswap16(static_cast<std::uint16_t>(m.udp >> 32U));
  // 0x0800 then version 4, IHL 5; no MF or offset; UDP; the UDP length is the IP payload's; the
  // datagram fits in the frame.
  const bool bad = ((type_word >> 8U) != 0x080045U) | ((m.ip0 & 0xff3f000000000000ULL) != 0) |
                   (((m.ip8 >> 8U) & 0xffU) != kIpProtoUdp) |
                   (udp_len != static_cast<std::uint16_t>(m.total - Ipv4View::kMinSize)) |
                   (m.total > size - off) | (m.total < Ipv4View::kMinSize + UdpView::kSize);
  if (bad) {
    m.off = 0;
  }
  return m;
}

// The fast path's result, every byte written once in about 30 word stores (both compilers drop
// the zeroing of `r` as dead), where the general path zeroes 256 bytes and then stores field by
// field. Exactly what the general path gives for these frames (tests/unit/wire compares them).
// In offset order: g++ then sees every byte of `r` overwritten.
[[gnu::always_inline]] inline ParseResult parse_udp4(ConstBytes frame,
                                                     const Udp4Match& m) noexcept {
  // Every load first: `r` might overlap the frame for all the compiler knows, so a load after a
  // store to `r` would keep the zeroing alive.
  const std::byte* d = frame.data();
  const std::byte* ip = d + m.off;
  const std::uint64_t total = m.total;
  const std::uint64_t head = raw_u64(d);
  const std::uint64_t src_mac = raw_u64(d + 6) & 0xffffffffffffULL;
  const std::uint64_t src_ip = raw_u32(ip + 12);
  const std::uint64_t dst_ip = raw_u32(ip + 16);
  // Zeros the compiler cannot see through: stores of a known 0 after the zeroing of `r` would be
  // dropped as redundant, keeping part of the zeroing alive instead (as `rep stos` in callers
  // not tuned for a newer core); opaque zeros make all of it dead.
  std::uint64_t zero = 0;
  asm("" : "+r"(zero));  // an empty statement: no instruction
  ParseResult r;
  ParsedFrame& f = r.frame;
  f.bytes = frame;
  // MACs, then L3Kind, L4Kind, protocol: each MAC lies whole inside one store, for readers.
  put_at<0x10>(r, head);
  put_at<0x16>(r, src_mac | (std::uint64_t{static_cast<std::uint8_t>(L3Kind::ipv4)} << 48U) |
                      (std::uint64_t{static_cast<std::uint8_t>(L4Kind::udp)} << 56U));
  put_at<0x1e>(r, std::uint16_t{kIpProtoUdp});
  // VlanStack: tag 0 (id, TPID, PCP, DEI), tag 1 default, the size; an absent tag 0 is default.
  // m.tag of an untagged frame is TPID 0x8100 with TCI 0: the default tag.
  const std::uint64_t tag = m.tag;
  const std::uint64_t tagged = m.off != EthernetView::kSize ? 1U : 0U;
  const std::uint64_t outer = tagged != 0 ? tag & 0x0fffU : VlanStack::kNoVlan;
  put_at<0x20>(
      r, (tag & 0xffff0fffU) | ((tag << 19U) & 0x700000000ULL) | ((tag << 28U) & 0x10000000000ULL));
  put_at<0x28>(r, std::uint64_t{kTpid8021Q});
  put_at<0x30>(r, tagged);
  // The EtherType, then the key (MAC, outer, inner, EtherType) in two stores that each hold
  // the part a reader loads whole.
  put_at<0x38>(r, kEtherTypeIpv4 | (head << 16U));
  put_at<0x3a>(r, (head & 0xffffffffffffULL) | (outer << 48U));
  put_at<0x40>(r, outer | (std::uint64_t{VlanStack::kNoVlan} << 16U) |
                      (std::uint64_t{kEtherTypeIpv4} << 32U));
  f.l3_bytes = ConstBytes(ip, total);
  // Ipv4Fields (IHL 5, no fragment offset here): IHL, TOS, total length, ID, flags; fragment
  // offset, TTL, protocol, checksum.
  const std::uint64_t x = m.ip0;
  const std::uint64_t w = m.ip8;
  put_at<0x58>(r, 5U | (x & 0xff00U) | (total << 16U) |
                      (std::uint64_t{bswap16(static_cast<std::uint16_t>(x >> 32U))} << 32U) |
                      (((x >> 53U) & 7U) << 48U));
  put_at<0x60>(r, ((w & 0xffU) << 16U) | (std::uint64_t{kIpProtoUdp} << 24U) |
                      (std::uint64_t{bswap16(static_cast<std::uint16_t>(w >> 16U))} << 32U));
  f.ipv4.options = ConstBytes(ip + Ipv4View::kMinSize, 0);
  put_at<0x78>(r, zero);  // Ipv6Fields, then IcmpFields
  put_at<0x80>(r, zero);
  put_at<0x88>(r, zero);
  put_at<0x90>(r, zero);
  put_at<0x98>(r, zero);
  put_at<0xa0>(r, static_cast<std::uint32_t>(zero));
  // UdpFields: each 16-bit field byte-swapped in place.
  const std::uint64_t u = m.udp;
  put_at<0xa4>(r, ((u & 0x00ff00ff00ff00ffULL) << 8U) | ((u >> 8U) & 0x00ff00ff00ff00ffULL));
  // The IpAddress members: family 4, the address as on the wire, zeros; then 2 bytes padding.
  constexpr std::uint64_t kV4 = static_cast<std::uint8_t>(IpFamily::v4);
  const auto z = static_cast<long long>(zero);
  put_at<0xac>(r, Bytes16{static_cast<long long>(kV4 | (src_ip << 8U)), z});
  put_at<0xbc>(r, static_cast<std::uint8_t>(zero));
  put_at<0xbd>(r, Bytes16{static_cast<long long>(kV4 | (dst_ip << 8U)), z});
  put_at<0xcc>(r, static_cast<std::uint32_t>(zero));
  f.l4_bytes = ConstBytes(ip + Ipv4View::kMinSize, total - Ipv4View::kMinSize);
  f.payload = ConstBytes(ip + Ipv4View::kMinSize + UdpView::kSize,
                         total - Ipv4View::kMinSize - UdpView::kSize);
  f.trailing = frame.size() - m.off - total;
  put_at<0xf8>(r, zero);  // DropReason::none and the padding
  return r;
}

}  // namespace detail

[[gnu::always_inline]] inline ParseResult FrameParser::parse(ConstBytes frame) const noexcept {
  if constexpr (detail::kWordLayout) {
    if (!options_.verify_checksums) {
      const detail::Udp4Match m = detail::match_udp4(frame);
      if (m.off != 0) {
        return detail::parse_udp4(frame, m);
      }
    }
  }
  return parse_general(frame);
}

}  // namespace etherpath::wire
