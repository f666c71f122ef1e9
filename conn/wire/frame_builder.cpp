// FrameBuilder: back-to-front header pushes, each final when pushed; the rarer pushes and the
// error paths live here, the per-packet ones inline in the header.
#include "conn/wire/frame_builder.hpp"

#include <algorithm>
#include <cstring>

#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/checksum.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/ipv4.hpp"
#include "conn/wire/ipv6.hpp"
#include "conn/wire/udp.hpp"
#include "conn/wire/vlan.hpp"

namespace etherpath::wire {

std::string_view to_string(BuildError e) noexcept {
  switch (e) {
    case BuildError::none: return "none";
    case BuildError::no_room: return "no room in the buffer";
    case BuildError::bad_order: return "header pushed where it cannot go";
    case BuildError::missing_protocol: return "nothing names the protocol that follows a header";
    case BuildError::bad_ipv4_options:
      return "IPv4 options must be a multiple of 4, at most 40 bytes";
    case BuildError::bad_extension_size: return "IPv6 extension body must be 8n+6 bytes";
    case BuildError::bad_address: return "address of the wrong family";
    case BuildError::too_many_layers: return "too many headers";
    case BuildError::too_long: return "IP datagram over 65535 bytes";
  }
  return "unknown";
}

FrameBuilder::FrameBuilder(Bytes buffer, std::size_t headroom) noexcept
    : buffer_(buffer),
      headroom_(std::min(headroom, buffer.size())),
      start_(headroom_),
      end_(headroom_) {}

Bytes FrameBuilder::payload_room() const noexcept {
  return buffer_.subspan(headroom_);
}

Bytes FrameBuilder::reserve(std::size_t n) noexcept {
  const std::size_t start = start_;
  state_ &= ~kSummed;  // the payload's sum no longer covers what is inside the next header
  if (error_ != 0) {
    return {};
  }
  if (n > start) {
    fail_with(BuildError::no_room);
    return {};
  }
  start_ = start - n;
  return buffer_.subspan(start - n, n);
}

void FrameBuilder::refuse(std::size_t n, std::size_t start) noexcept {
  if (n > start) {
    fail_with(BuildError::no_room);
  } else if ((guard(state_) & ~kClosed) == 0) {
    fail_with(BuildError::too_many_layers);
  } else {
    fail_with(BuildError::bad_order);  // nothing goes outside the Ethernet header
  }
}

FrameBuilder& FrameBuilder::push_bytes(ConstBytes bytes) noexcept {
  const std::uint64_t state = state_;
  const std::size_t n = bytes.size();
  const std::size_t start = start_;
  // Raw bytes in front of a header hide it from the headers outside: they are a layer then.
  // Raw bytes in front of the payload only extend it.
  const bool layer = guard(state) != kMaxLayers;
  if (error_ != 0) {
    return *this;
  }
  if (n > start) {
    fail_with(BuildError::no_room);
    return *this;
  }
  if (layer && !admit(state, n, start)) {
    return *this;
  }
  if (n != 0) {
    std::memcpy(buffer_.data() + start - n, bytes.data(), n);
  }
  start_ = start - n;
  state_ = layer ? pushed(state, kNoEtherType, kNoProtocol, pending_in(state)) : state & ~kSummed;
  return *this;
}

namespace {
// Target address plus an optional link-layer address option: the NS/NA body after the first 8.
std::size_t ndp_body(std::array<std::byte, 24>& body, const IpAddress& target, std::uint8_t option,
                     const std::optional<MacAddress>& mac) noexcept {
  std::memcpy(body.data(), target.bytes().data(), 16);
  if (!mac) {
    return 16;
  }
  body[16] = static_cast<std::byte>(option);
  body[17] = std::byte{1};  // one unit of 8 octets
  std::memcpy(body.data() + 18, mac->octets().data(), MacAddress::kSize);
  return 24;
}
}  // namespace

FrameBuilder& FrameBuilder::push_neighbor_solicit(const IpAddress& target,
                                                  std::optional<MacAddress> source_mac) noexcept {
  if (!target.is_v6()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  std::array<std::byte, 24> body{};
  const std::size_t n = ndp_body(body, target, kNdpOptionSourceLinkAddress, source_mac);
  const Bytes b = reserve(n);
  if (!b.empty()) {
    std::memcpy(b.data(), body.data(), n);
  }
  return push_icmp(kIcmpv6NeighborSolicit, 0, 0);
}

FrameBuilder& FrameBuilder::push_neighbor_advert(const IpAddress& target, std::uint8_t flags,
                                                 std::optional<MacAddress> target_mac) noexcept {
  if (!target.is_v6()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  std::array<std::byte, 24> body{};
  const std::size_t n = ndp_body(body, target, kNdpOptionTargetLinkAddress, target_mac);
  const Bytes b = reserve(n);
  if (!b.empty()) {
    std::memcpy(b.data(), body.data(), n);
  }
  return push_icmp(kIcmpv6NeighborAdvert, 0, std::uint32_t{flags} << 24U);
}

FrameBuilder& FrameBuilder::push_ipv6_extension(std::uint8_t type, ConstBytes body,
                                                std::optional<std::uint8_t> next_header) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  const std::size_t n = body.size() + 2;
  if (n % 8 != 0 || n > 2048) {
    fail_with(BuildError::bad_extension_size);
    return *this;
  }
  const std::uint16_t inner = next_protocol(state);
  const auto nh = static_cast<std::uint16_t>(
      next_header ? *next_header : (inner == kIcmpEitherFamily ? kIpProtoIcmpv6 : inner));
  if (nh == kNoProtocol) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  if (!admit(state, n, start)) {
    return *this;
  }
  if (n > start) {
    fail_with(BuildError::no_room);
    return *this;
  }
  std::byte* p = buffer_.data() + start - n;
  p[0] = static_cast<std::byte>(nh);
  p[1] = static_cast<std::byte>(n / 8 - 1);
  if (!body.empty()) {
    std::memcpy(p + 2, body.data(), body.size());
  }
  start_ = start - n;
  // Its own type is what the header outside it names.
  state_ = pushed(state, kNoEtherType, type, pending_in(state));
  return *this;
}

FrameBuilder& FrameBuilder::push_arp(const ArpSpec& spec) noexcept {
  const std::uint64_t state = state_;
  const std::size_t start = start_;
  if (!spec.sender_ip.is_v4() || !spec.target_ip.is_v4()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  if (!admit(state, ArpView::kSize, start)) {
    return *this;
  }
  if (ArpView::kSize > start) {
    fail_with(BuildError::no_room);
    return *this;
  }
  const std::size_t at = start - ArpView::kSize;
  ArpWriter(buffer_.subspan(at, ArpView::kSize))
      .set(spec.op, spec.sender_mac, spec.sender_ip, spec.target_mac, spec.target_ip);
  start_ = at;
  state_ = pushed(state, kEtherTypeArp, kNoProtocol, pending_in(state));
  return *this;
}

void FrameBuilder::fill_pending_slow(std::size_t n, bool v6, std::uint64_t address_sum) noexcept {
  // After an error a header may lie in scratch_, and nothing of the frame counts any more.
  if (error_ != 0) {
    return;
  }
  // Innermost first: an outer header's sum then covers the inner one's final checksum, so every
  // one but the innermost is summed again here from its bytes, its checksum field still 0
  // (nesting is rare; one header is the fast path).
  for (std::size_t i = 0; i < n; ++i) {
    const PendingChecksum& p = pending_[i];
    const Bytes l4(p.header, p.length);
    const std::size_t len = l4.size();
    // UDP adds its pseudo-header's protocol and length (the header holds the length once).
    const std::uint64_t sum = i == 0 ? p.sum : checksum_add(p.udp ? kIpProtoUdp + len : 0, l4);
    if (p.udp) {
      store_be16(l4, 6, udp_checksum_finish(sum + address_sum));
    } else if (v6) {
      store_be16(
          l4, 2,
          checksum_finish(sum + address_sum + kIpProtoIcmpv6 + (len >> 16U) + (len & 0xffffU)));
    } else {
      store_be16(l4, 2, checksum_finish(sum));
    }
  }
}

Result<Bytes> FrameBuilder::finish_slow() {
  const std::size_t n = pending_in(state_);
  if (error_ == 0 && n != 0) {
    // No IP header around them: UDP has no pseudo-header to sum, ICMP(v4) needs none.
    for (std::size_t i = 0; i < n; ++i) {
      if (pending_[i].udp) {
        fail_with(BuildError::bad_order);
      }
    }
    fill_pending_slow(n, false, 0);
    state_ &= ~kPendingMask;
  }
  if (error_ != 0) {
    return fail(Errc::invalid_argument,
                std::string("frame builder: ") + std::string(to_string(error())));
  }
  return buffer_.subspan(start_, end_ - start_);
}

}  // namespace etherpath::wire
