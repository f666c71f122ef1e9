// FrameBuilder: writes a frame back to front into a caller's buffer. The payload goes at the
// headroom offset and each push_* prepends one header, complete: everything inside it is final
// by then, so it writes its length, next-protocol field and checksum at once (a UDP/ICMP
// checksum when the IP header around it is pushed). finish() returns the frame.
//
//   std::array<std::byte, 2048> buf;
//   FrameBuilder b(buf);
//   b.payload(data).push_udp(1000, 2000).push_ipv4({.src = s, .dst = d}).push_vlan({.id = 100})
//    .push_ethernet(dst_mac, src_mac);
//   auto frame = b.finish();   // Result<Bytes>: a span inside buf
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/wire/checksum.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/ipv4.hpp"
#include "conn/wire/ipv6.hpp"
#include "conn/wire/udp.hpp"
#include "conn/wire/vlan.hpp"

namespace etherpath::wire {

struct Ipv4Spec {
  IpAddress src{};
  IpAddress dst{};
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  std::uint16_t id = 0;
  std::uint8_t flags = 0;  // kIpv4FlagDf etc.
  std::uint16_t fragment_offset = 0;
  std::optional<std::uint8_t> protocol{};  // default: from the header pushed before (UDP, ICMP)
  ConstBytes options{};                    // a multiple of 4 bytes, at most 40; copied at push time
};

struct Ipv6Spec {
  IpAddress src{};
  IpAddress dst{};
  std::uint8_t hop_limit = 64;
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;
  std::optional<std::uint8_t> next_header{};  // default: from the header pushed before
};

struct ArpSpec {
  std::uint16_t op = 1;  // kArpRequest, kArpReply
  MacAddress sender_mac{};
  IpAddress sender_ip{};
  MacAddress target_mac{};
  IpAddress target_ip{};
};

enum class BuildError : std::uint8_t {
  none = 0,
  no_room,             // the headroom (or the room after it) is too small
  bad_order,           // a header where it cannot go (UDP outside IP, two Ethernet headers, ...)
  missing_protocol,    // nothing says what follows a header (raw payload with no protocol given)
  bad_ipv4_options,    // not a multiple of 4, or more than 40 bytes
  bad_extension_size,  // an IPv6 extension body that is not 8n+6 bytes
  bad_address,         // an address of the wrong family for its header
  too_many_layers,     // more headers than FrameBuilder tracks
  too_long,            // an IP datagram over 65535 bytes
};
[[nodiscard]] std::string_view to_string(BuildError e) noexcept;

class FrameBuilder {
 public:
  // Enough for Ethernet, two tags, IPv4 with 40 bytes of options or IPv6 with a small
  // extension, and UDP; pass more for longer IPv6 chains.
  static constexpr std::size_t kDefaultHeadroom = 128;
  static constexpr std::size_t kMaxLayers = 12;

  // Borrows `buffer` (which must outlive the builder and the frame finish() returns).
  explicit FrameBuilder(Bytes buffer, std::size_t headroom = kDefaultHeadroom) noexcept;

  // Where the payload goes, for writing it in place (then call payload_size()). The payload must
  // be in place before the first push: each header is final (lengths, checksums) once pushed.
  [[nodiscard]] Bytes payload_room() const noexcept;
  FrameBuilder& payload(ConstBytes data) noexcept;
  FrameBuilder& payload_size(std::size_t n) noexcept;

  // Each prepends one header. Errors are sticky: finish() reports the first. After an error the
  // buffer's bytes are unspecified (later pushes may still write into it, never outside it).
  FrameBuilder& push_udp(std::uint16_t src_port, std::uint16_t dst_port) noexcept;
  // ICMPv4 or ICMPv6 by the IP header around it; `rest` is the 4 bytes after the checksum.
  FrameBuilder& push_icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest = 0) noexcept;
  FrameBuilder& push_icmp_echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq) noexcept;
  // ICMPv6 NS/NA with a source (NS) or target (NA) link-layer address option when given.
  FrameBuilder& push_neighbor_solicit(const IpAddress& target,
                                      std::optional<MacAddress> source_mac) noexcept;
  FrameBuilder& push_neighbor_advert(const IpAddress& target, std::uint8_t flags,
                                     std::optional<MacAddress> target_mac) noexcept;
  FrameBuilder& push_ipv4(const Ipv4Spec& spec) noexcept;
  FrameBuilder& push_ipv6(const Ipv6Spec& spec) noexcept;
  // An extension header of `type` (hop-by-hop 0, routing 43, destination options 60) whose body
  // (after next-header and length) is `body`, 8n+6 bytes. `next_header` as for Ipv6Spec.
  FrameBuilder& push_ipv6_extension(std::uint8_t type, ConstBytes body,
                                    std::optional<std::uint8_t> next_header = {}) noexcept;
  FrameBuilder& push_arp(const ArpSpec& spec) noexcept;
  // Push the inner tag first; push_vlans() does so for a whole stack (outer first, as written).
  FrameBuilder& push_vlan(const VlanTag& tag) noexcept;
  FrameBuilder& push_vlans(const VlanStack& stack) noexcept;
  FrameBuilder& push_ethernet(const MacAddress& dst, const MacAddress& src,
                              std::optional<std::uint16_t> ether_type = {}) noexcept;
  // Raw bytes before what is there (an unsupported header, a quoted datagram).
  FrameBuilder& push_bytes(ConstBytes bytes) noexcept;

  // The frame, a span of the buffer. Every length, EtherType, next-protocol field and checksum
  // was written by the pushes (inside out, so each header sees final bytes inside it); what is
  // left is an ICMP header with no IP header around it. IPv4 UDP gets a real checksum (etherconn
  // left it 0).
  [[nodiscard]] Result<Bytes> finish();
  [[nodiscard]] BuildError error() const noexcept { return static_cast<BuildError>(error_); }
  // Start again on the same buffer and headroom.
  void reset() noexcept;

 private:
  // A UDP or ICMP header whose checksum waits for the IP header around it (the pseudo-header's
  // addresses, and whether ICMP is v4 or v6). Usually one; more only when one nests in another.
  struct PendingChecksum {
    std::byte* header = nullptr;  // in the buffer, or in scratch_ after no_room
    // Everything but the IP header's part: UDP's ports, length twice and protocol, ICMP's type,
    // code and rest; and the bytes after the 8-byte header as they were at push time.
    std::uint64_t sum = 0;
    std::uint32_t length = 0;  // of the UDP/ICMP message, for ICMPv6's pseudo-header
    bool udp = false;
  };
  // Where a header goes: `p` in the buffer and `at` its offset, or, when it does not fit, p in
  // scratch_ and `at` the old start (no_room recorded).
  struct Slot {
    std::byte* p;
    std::size_t at;
  };
  // state_ is the structure of what was pushed, packed so that a push updates it in one word:
  //   bits 0-7    guard: layers still allowed, plus kClosed once an Ethernet header is out
  //               front, so one compare admits a push (see admit())
  //   bits 8-15   how many PendingChecksums wait
  //   bit 16      kSummed: nothing is in front of the payload yet and payload_sum_ is its sum
  //   bits 24-32  the IP protocol of the header just inside, for the one pushed next
  //               (kNoProtocol, or kIcmpEitherFamily: 1 or 58 by the IP header around it)
  //   bits 40-56  the EtherType (or a tag's TPID) of the header just inside (kNoEtherType)
  // It depends only on which pushes were called with which protocols, never on the buffer's
  // room, lengths or addresses: those only record an error (error_) and the push goes on, into
  // scratch_ if it does not fit. So in a chain of inline pushes the compiler knows the state at
  // every step and folds all of its checks; only the room and length compares are left.
  static constexpr unsigned kPendingShift = 8;
  static constexpr unsigned kProtocolShift = 24;
  static constexpr unsigned kEtherTypeShift = 40;
  static constexpr std::uint64_t kGuardMask = 0xff;
  static constexpr std::uint64_t kPendingMask = std::uint64_t{0xff} << kPendingShift;
  static constexpr std::uint64_t kSummed = std::uint64_t{1} << 16U;
  static constexpr std::uint32_t kNoEtherType = 0x10000;
  static constexpr std::uint16_t kNoProtocol = 0x100;
  static constexpr std::uint16_t kIcmpEitherFamily = 0x101;
  static constexpr std::uint8_t kClosed = 0x80;
  static constexpr std::uint64_t kInitialState = kMaxLayers | kSummed |
                                                 (std::uint64_t{kNoProtocol} << kProtocolShift) |
                                                 (std::uint64_t{kNoEtherType} << kEtherTypeShift);
  // The largest header a per-packet push writes: IPv4 with 40 bytes of options.
  static constexpr std::size_t kScratchSize = 64;

  [[nodiscard]] static std::uint8_t guard(std::uint64_t state) noexcept {
    return static_cast<std::uint8_t>(state & kGuardMask);
  }
  [[nodiscard]] static std::size_t pending_in(std::uint64_t state) noexcept {
    return static_cast<std::size_t>((state & kPendingMask) >> kPendingShift);
  }
  [[nodiscard]] static std::uint16_t next_protocol(std::uint64_t state) noexcept {
    return static_cast<std::uint16_t>((state >> kProtocolShift) & 0x1ffU);
  }
  [[nodiscard]] static std::uint32_t next_ether_type(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>((state >> kEtherTypeShift) & 0x1ffffU);
  }
  // The state after an admitted header: one layer used, `pending` checksums waiting, what the
  // next header out sees. `closed`: kClosed after an Ethernet header, else 0.
  [[nodiscard]] static std::uint64_t pushed(std::uint64_t state, std::uint32_t ether_type,
                                            std::uint16_t protocol, std::size_t pending,
                                            std::uint8_t closed = 0) noexcept {
    return ((state - 1U) & kGuardMask) | closed | (std::uint64_t{pending} << kPendingShift) |
           (std::uint64_t{protocol} << kProtocolShift) |
           (std::uint64_t{ether_type} << kEtherTypeShift);
  }
  // Whether the state lets a header go in front (a layer left, no Ethernet header outside);
  // records why not otherwise. Depends on the state only: in a chain it folds away.
  [[nodiscard]] bool admit(std::uint64_t state, std::size_t n, std::size_t start) noexcept {
    if (static_cast<std::uint8_t>(guard(state) - 1U) < kMaxLayers) [[likely]] {
      return true;
    }
    refuse(n, start);
    return false;
  }
  void refuse(std::size_t n, std::size_t start) noexcept;
  // Records e unless an error came first.
  void fail_with(BuildError e) noexcept {
    if (error_ == 0) {
      error_ = static_cast<std::uint16_t>(e);
    }
  }
  // Where an n-byte header goes in front of `start` (see Slot).
  [[nodiscard]] Slot place(std::byte* base, std::size_t start, std::size_t n) noexcept {
    if (n <= start) [[likely]] {
      return {base + (start - n), start - n};
    }
    fail_with(BuildError::no_room);
    return {scratch_.data(), start};
  }
  // n bytes in front that are no layer of their own (an NS/NA body), or records no_room.
  Bytes reserve(std::size_t n) noexcept;
  FrameBuilder& push_l4(bool udp, std::uint32_t word0, std::uint32_t word1,
                        std::uint64_t head_sum) noexcept;
  // Fills the pending UDP/ICMP checksums now that the IP header around them is known (the
  // caller's state then has none pending).
  // `first` is pending_[0], read by the caller before anything else (see the members).
  void fill_pending(std::uint64_t state, const PendingChecksum& first, bool v6,
                    std::uint64_t address_sum) noexcept;
  void fill_pending_slow(std::size_t n, bool v6, std::uint64_t address_sum) noexcept;
  [[nodiscard]] Result<Bytes> finish_slow();

  // Every push reads the members it needs before it stores any header byte and writes them back
  // after: a byte store may alias anything, so the compiler would reload every member after it
  // otherwise, and the next push could not see the state this one left.
  Bytes buffer_;
  std::size_t headroom_;
  std::size_t start_;
  std::size_t end_;
  std::uint64_t payload_sum_ = 0;  // of [headroom_, end_) while state_ has kSummed
  std::uint64_t state_ = kInitialState;
  // A BuildError, held as a 16-bit integer: a store of a 1-byte type may alias anything (as a
  // header byte does), so recording an error would make the compiler reload every member.
  std::uint16_t error_ = 0;
  std::array<PendingChecksum, kMaxLayers> pending_{};  // innermost first
  // Where a header that does not fit goes, so that a push never branches around its stores.
  std::array<std::byte, kScratchSize> scratch_{};
};

namespace detail {
inline void put_be16(std::byte* p, std::uint16_t v) noexcept {
  v = bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void put_be32(std::byte* p, std::uint32_t v) noexcept {
  v = bswap32(v);
  std::memcpy(p, &v, 4);
}
inline std::uint32_t get_be32(const std::uint8_t* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return bswap32(v);
}
}  // namespace detail

// The per-packet pushes are always inline so that a caller's chain of them compiles to a few
// stores: the state folds only while the whole chain is in one function (g++'s own heuristics
// once left payload() out of line, and the benchmark's build went from 223 to 317 instructions).
[[gnu::always_inline]] inline void FrameBuilder::reset() noexcept {
  start_ = headroom_;
  end_ = headroom_;
  payload_sum_ = 0;
  state_ = kInitialState;
  error_ = 0;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::payload_size(std::size_t n) noexcept {
  const std::uint64_t state = state_;
  const std::size_t headroom = headroom_;
  if (guard(state) != kMaxLayers || start_ != headroom) {
    fail_with(BuildError::bad_order);
    return *this;
  }
  if (n <= buffer_.size() - headroom) [[likely]] {
    end_ = headroom + n;
  } else {
    fail_with(BuildError::no_room);
  }
  state_ = state & ~kSummed;  // written in place: summed when a header needs it
  return *this;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::payload(ConstBytes data) noexcept {
  const std::uint64_t state = state_;
  const std::size_t headroom = headroom_;
  if (guard(state) != kMaxLayers || start_ != headroom) {
    fail_with(BuildError::bad_order);
    return *this;
  }
  std::byte* to = buffer_.data() + headroom;
  if (data.size() > buffer_.size() - headroom) [[unlikely]] {
    fail_with(BuildError::no_room);
    state_ = state | kSummed;  // an empty payload, as it was
    return *this;
  }
  const auto from = reinterpret_cast<std::uintptr_t>(data.data());  // NOLINT: overlap test only
  const auto dst = reinterpret_cast<std::uintptr_t>(to);            // NOLINT: overlap test only
  std::uint64_t sum = 0;
  if (from + data.size() <= dst || dst + data.size() <= from) [[likely]] {
    sum = checksum_copy(to, data, 0);
  } else {
    // The caller's bytes already lie in the buffer, overlapping where they go.
    std::memmove(to, data.data(), data.size());
    sum = checksum_add(0, ConstBytes(to, data.size()));
  }
  end_ = headroom + data.size();
  payload_sum_ = sum;
  state_ = state | kSummed;
  return *this;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_l4(bool udp, std::uint32_t word0,
                                                                  std::uint32_t word1,
                                                                  std::uint64_t head_sum) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  const std::size_t end = end_;
  std::byte* base = buffer_.data();
  const std::uint64_t payload_sum = payload_sum_;
  if (!admit(state, 8, start)) {
    return *this;
  }
  const Slot s = place(base, start, 8);
  const std::size_t len = end - start + 8;
  if (udp && len > 0xffff) [[unlikely]] {
    fail_with(BuildError::too_long);
  }
  const std::uint64_t body_sum =
      (state & kSummed) != 0 ? payload_sum : checksum_add(0, ConstBytes(base + start, end - start));
  const std::size_t n = pending_in(state);
  // UDP: ports, then length and a zero checksum; ICMP: type, code, a zero checksum, then rest.
  if (udp) {
    detail::put_be32(s.p, word0);
    detail::put_be32(s.p + 4, static_cast<std::uint32_t>(len << 16U));
    head_sum += 2 * len;  // in the pseudo-header and in the header
  } else {
    detail::put_be32(s.p, word0 << 16U);
    detail::put_be32(s.p + 4, word1);
  }
  pending_[n] = PendingChecksum{s.p, head_sum + body_sum, static_cast<std::uint32_t>(len), udp};
  start_ = s.at;
  state_ = pushed(state, kNoEtherType, udp ? std::uint16_t{kIpProtoUdp} : kIcmpEitherFamily, n + 1);
  return *this;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_udp(
    std::uint16_t src_port, std::uint16_t dst_port) noexcept {
  return push_l4(true, (std::uint32_t{src_port} << 16U) | dst_port, 0,
                 std::uint64_t{src_port} + dst_port + kIpProtoUdp);
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_icmp(std::uint8_t type,
                                                                    std::uint8_t code,
                                                                    std::uint32_t rest) noexcept {
  const std::uint32_t type_code = (std::uint32_t{type} << 8U) | code;
  return push_l4(false, type_code, rest,
                 std::uint64_t{type_code} + (rest >> 16U) + (rest & 0xffffU));
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_icmp_echo(
    std::uint8_t type, std::uint16_t id, std::uint16_t seq) noexcept {
  return push_icmp(type, 0, (std::uint32_t{id} << 16U) | seq);
}

[[gnu::always_inline]] inline void FrameBuilder::fill_pending(std::uint64_t state,
                                                              const PendingChecksum& first, bool v6,
                                                              std::uint64_t address_sum) noexcept {
  const std::size_t n = pending_in(state);
  if (n == 0) {
    return;
  }
  if (n != 1) {
    fill_pending_slow(n, v6, address_sum);
    return;
  }
  const PendingChecksum& pc = first;
  if (pc.udp) {
    detail::put_be16(pc.header + 6, udp_checksum_finish(pc.sum + address_sum));
  } else if (v6) {
    detail::put_be16(pc.header + 2, checksum_finish(pc.sum + address_sum + kIpProtoIcmpv6 +
                                                    (pc.length >> 16U) + (pc.length & 0xffffU)));
  } else {
    detail::put_be16(pc.header + 2, checksum_finish(pc.sum));
  }
}

// always_inline: the IPv4 push is the longest of the per-packet ones, and inlined into the
// caller's chain its spec's constants (no options, a known TTL and flags) fold away.
[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_ipv4(const Ipv4Spec& spec) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  const std::size_t end = end_;
  std::byte* base = buffer_.data();
  const PendingChecksum first = pending_[0];
  // Checks on values (addresses, options) record an error and the push goes on: a branch
  // around it would leave a state that depends on them.
  if (!spec.src.is_v4() || !spec.dst.is_v4()) [[unlikely]] {
    fail_with(BuildError::bad_address);
  }
  std::size_t options = spec.options.size();
  if (options % 4 != 0 || options > 40) [[unlikely]] {
    fail_with(BuildError::bad_ipv4_options);
    options = 0;
  }
  const std::uint16_t inner = next_protocol(state);
  const auto proto_or_none = static_cast<std::uint16_t>(
      spec.protocol ? *spec.protocol : (inner == kIcmpEitherFamily ? kIpProtoIcmp : inner));
  if (proto_or_none == kNoProtocol) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  const std::size_t hl = Ipv4View::kMinSize + options;
  if (!admit(state, hl, start)) {
    return *this;
  }
  const Slot s = place(base, start, hl);
  const std::size_t len = end - start + hl;
  if (len > 0xffff) [[unlikely]] {
    fail_with(BuildError::too_long);
  }
  // Three 32-bit words and the two addresses; the checksum sums 32-bit words (congruent to the
  // 16-bit sum modulo 0xffff), computed from the values, never read back from the header.
  const std::uint32_t w0 = ((0x40U | static_cast<std::uint32_t>(hl / 4)) << 24U) |
                           (std::uint32_t{spec.tos} << 16U) | static_cast<std::uint32_t>(len);
  const std::uint32_t w1 = (std::uint32_t{spec.id} << 16U) | ((spec.flags & 7U) << 13U) |
                           (spec.fragment_offset & 0x1fffU);
  const std::uint32_t w2 = (std::uint32_t{spec.ttl} << 24U) | (std::uint32_t{proto_or_none} << 16U);
  const std::uint32_t src = detail::get_be32(spec.src.bytes().data());
  const std::uint32_t dst = detail::get_be32(spec.dst.bytes().data());
  const std::uint64_t address_sum = std::uint64_t{src} + dst;
  std::uint64_t sum = address_sum + w0 + w1 + w2;
  fill_pending(state, first, false, address_sum);
  if (options != 0) {
    std::memcpy(s.p + Ipv4View::kMinSize, spec.options.data(), options);
    sum = checksum_add(sum, spec.options);
  }
  detail::put_be32(s.p, w0);
  detail::put_be32(s.p + 4, w1);
  detail::put_be32(s.p + 8, (w2 | 0xffffU) - checksum_fold(sum));  // w2 | checksum_finish(sum)
  detail::put_be32(s.p + 12, src);
  detail::put_be32(s.p + 16, dst);
  start_ = s.at;
  state_ = pushed(state, kEtherTypeIpv4, 4, 0);  // IP in IP
  return *this;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_ipv6(const Ipv6Spec& spec) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  const std::size_t end = end_;
  std::byte* base = buffer_.data();
  const PendingChecksum first = pending_[0];
  if (!spec.src.is_v6() || !spec.dst.is_v6()) [[unlikely]] {
    fail_with(BuildError::bad_address);
  }
  const std::uint16_t inner = next_protocol(state);
  const auto nh_or_none = static_cast<std::uint16_t>(
      spec.next_header ? *spec.next_header : (inner == kIcmpEitherFamily ? kIpProtoIcmpv6 : inner));
  if (nh_or_none == kNoProtocol) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  if (!admit(state, Ipv6View::kSize, start)) {
    return *this;
  }
  const Slot s = place(base, start, Ipv6View::kSize);
  const std::size_t plen = end - start;
  if (plen > 0xffff) [[unlikely]] {
    fail_with(BuildError::too_long);
  }
  const auto src = std::as_bytes(std::span(spec.src.bytes()));
  const auto dst = std::as_bytes(std::span(spec.dst.bytes()));
  fill_pending(state, first, true, checksum_add(checksum_add(0, src), dst));
  detail::put_be32(s.p, (6U << 28U) | (std::uint32_t{spec.traffic_class} << 20U) |
                            (spec.flow_label & 0x000fffffU));
  detail::put_be32(s.p + 4, (static_cast<std::uint32_t>(plen) << 16U) |
                                (std::uint32_t{nh_or_none} << 8U) | spec.hop_limit);
  std::memcpy(s.p + 8, spec.src.bytes().data(), 16);
  std::memcpy(s.p + 24, spec.dst.bytes().data(), 16);
  start_ = s.at;
  state_ = pushed(state, kEtherTypeIpv6, 41, 0);  // IPv6 in IP
  return *this;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_vlan(const VlanTag& tag) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  std::byte* base = buffer_.data();
  // This layer is the TCI and the next EtherType; the TPID goes into the header outside it.
  const std::uint32_t next = next_ether_type(state);
  if (next == kNoEtherType) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  if (!admit(state, 4, start)) {
    return *this;
  }
  const VlanTag clean{.id = static_cast<std::uint16_t>(tag.id & 0x0fffU),
                      .tpid = tag.tpid,
                      .pcp = static_cast<std::uint8_t>(tag.pcp & 7U),
                      .dei = tag.dei};
  const Slot s = place(base, start, 4);
  detail::put_be32(s.p, (std::uint32_t{clean.tci()} << 16U) | next);
  start_ = s.at;
  state_ = pushed(state, tag.tpid, kNoProtocol, pending_in(state));
  return *this;
}

inline FrameBuilder& FrameBuilder::push_vlans(const VlanStack& stack) noexcept {
  for (std::size_t i = stack.size(); i > 0; --i) {
    push_vlan(stack[i - 1]);
  }
  return *this;
}

[[gnu::always_inline]] inline FrameBuilder& FrameBuilder::push_ethernet(
    const MacAddress& dst, const MacAddress& src,
    std::optional<std::uint16_t> ether_type) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  std::byte* base = buffer_.data();
  const std::uint32_t type = ether_type ? *ether_type : next_ether_type(state);
  if (type == kNoEtherType) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  if (!admit(state, EthernetView::kSize, start)) {
    return *this;
  }
  const Slot s = place(base, start, EthernetView::kSize);
  std::memcpy(s.p, dst.octets().data(), MacAddress::kSize);
  std::memcpy(s.p + 6, src.octets().data(), MacAddress::kSize);
  detail::put_be16(s.p + 12, static_cast<std::uint16_t>(type));
  start_ = s.at;
  // Closed: nothing goes outside it.
  state_ = pushed(state, kNoEtherType, kNoProtocol, pending_in(state), kClosed);
  return *this;
}

[[gnu::always_inline]] inline Result<Bytes> FrameBuilder::finish() {
  if (error_ != 0 || pending_in(state_) != 0) [[unlikely]] {
    return finish_slow();
  }
  return Bytes(buffer_.data() + start_, end_ - start_);
}

}  // namespace etherpath::wire
