// FlowTemplate: prototypes made with wire::FrameBuilder, patched per packet from cached sums.
#include "tools/etherpath-gen/flow_template.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include "conn/wire/checksum.hpp"
#include "conn/wire/frame_builder.hpp"

namespace etherpath::gen {
namespace {

Result<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (text.empty() || r.ec != std::errc() || r.ptr != end || v > max) {
    return fail(Errc::invalid_argument,
                "'" + std::string(text) + "' is not a number from 0 to " + std::to_string(max));
  }
  return v;
}

// Splits "BASE+N" into the base and N (0 when there is no '+').
Result<std::pair<std::string_view, std::uint32_t>> split_plus(std::string_view text) {
  const auto plus = text.rfind('+');
  if (plus == std::string_view::npos) {
    return std::pair{text, std::uint32_t{0}};
  }
  EP_TRY(auto n, parse_uint(text.substr(plus + 1), 0xfffffffeU));
  return std::pair{text.substr(0, plus), static_cast<std::uint32_t>(n)};
}

// The 16-bit words of a 32-bit value, as the checksum adds them.
constexpr std::uint64_t words32(std::uint32_t v) {
  return std::uint64_t{v >> 16U} + (v & 0xffffU);
}
constexpr std::uint64_t words64(std::uint64_t v) {
  return words32(static_cast<std::uint32_t>(v >> 32U)) + words32(static_cast<std::uint32_t>(v));
}

void store_be64(Bytes b, std::size_t off, std::uint64_t v) {
  store_be32(b, off, static_cast<std::uint32_t>(v >> 32U));
  store_be32(b, off + 4, static_cast<std::uint32_t>(v));
}

void store_mac(Bytes b, std::size_t off, std::uint64_t v) {
  store_be16(b, off, static_cast<std::uint16_t>(v >> 32U));
  store_be32(b, off + 2, static_cast<std::uint32_t>(v));
}

std::uint32_t low32(const IpAddress& a) {
  const auto& b = a.bytes();
  const std::size_t o = a.is_v4() ? 0 : 12;
  return (std::uint32_t{b[o]} << 24U) | (std::uint32_t{b[o + 1]} << 16U) |
         (std::uint32_t{b[o + 2]} << 8U) | b[o + 3];
}

IpAddress with_low32(const IpAddress& a, std::uint32_t v) {
  if (a.is_v4()) {
    return IpAddress::v4(v);
  }
  auto b = a.bytes();
  b[12] = static_cast<std::uint8_t>(v >> 24U);
  b[13] = static_cast<std::uint8_t>(v >> 16U);
  b[14] = static_cast<std::uint8_t>(v >> 8U);
  b[15] = static_cast<std::uint8_t>(v);
  return IpAddress::v6(b);
}

constexpr std::array<std::size_t, 3> kImixSizes{60, 590, 1514};
// 7 small, 4 medium, 1 large, interleaved so that no burst is all one size.
constexpr std::array<std::uint8_t, 12> kImixPattern{0, 0, 1, 0, 0, 1, 0, 2, 0, 1, 0, 1};

}  // namespace

Result<PortRange> parse_port_range(std::string_view text) {
  const auto dash = text.find('-');
  EP_TRY(auto first, parse_uint(text.substr(0, dash), 65535));
  std::uint64_t last = first;
  if (dash != std::string_view::npos) {
    EP_TRY(last, parse_uint(text.substr(dash + 1), 65535));
  }
  if (last < first) {
    return fail(Errc::invalid_argument, "range '" + std::string(text) + "' ends before it starts");
  }
  return PortRange{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)};
}

Result<MacRange> parse_mac_range(std::string_view text) {
  EP_TRY(auto parts, split_plus(text));
  EP_TRY(auto mac, MacAddress::parse(parts.first));
  return MacRange{mac, parts.second + 1};
}

Result<IpRange> parse_ip_range(std::string_view text) {
  EP_TRY(auto parts, split_plus(text));
  EP_TRY(auto ip, IpAddress::parse(parts.first));
  return IpRange{ip, parts.second + 1};
}

std::optional<Stamp> read_stamp(ConstBytes payload) noexcept {
  if (payload.size() < kStampSize || load_be16(payload, 0) != kStampMagic) {
    return std::nullopt;
  }
  const auto be64 = [&](std::size_t off) {
    return (std::uint64_t{load_be32(payload, off)} << 32U) | load_be32(payload, off + 4);
  };
  return Stamp{be64(2), be64(10)};
}

Result<FlowTemplate> FlowTemplate::create(const FlowSpec& spec) {
  FlowTemplate t;
  t.spec_ = spec;
  if (spec.src_ip.first.is_v4() != spec.dst_ip.first.is_v4()) {
    return fail(Errc::invalid_argument, "source and destination are of different IP families");
  }
  if (spec.src_mac.count == 0 || spec.src_ip.count == 0 || spec.dst_ip.count == 0) {
    return fail(Errc::invalid_argument, "empty range");
  }
  t.v6_ = spec.src_ip.first.is_v6();
  t.ip_offset_ = 14 + 4 * spec.vlans.size();
  t.l4_offset_ = t.ip_offset_ + (t.v6_ ? 40U : 20U);
  t.payload_offset_ = t.l4_offset_ + 8;
  t.src_addr_offset_ = t.ip_offset_ + (t.v6_ ? 20U : 12U);
  t.dst_addr_offset_ = t.ip_offset_ + (t.v6_ ? 36U : 16U);
  t.pseudo_header_ = spec.proto == L4Proto::udp || t.v6_;
  t.l4_checksum_offset_ = t.l4_offset_ + (spec.proto == L4Proto::udp ? 6U : 2U);
  t.port_offset_ = t.l4_offset_ + (spec.proto == L4Proto::udp ? 0U : 4U);
  t.min_size_ = std::max<std::size_t>(60, t.payload_offset_ + kStampSize);
  t.src_ip_low_ = low32(spec.src_ip.first);
  t.dst_ip_low_ = low32(spec.dst_ip.first);
  t.src_mac_ = spec.src_mac.first.to_u64();

  std::vector<std::size_t> sizes;
  if (spec.imix) {
    for (std::size_t s : kImixSizes) {
      sizes.push_back(std::max(s, t.min_size_));
    }
    t.size_pattern_.assign(kImixPattern.begin(), kImixPattern.end());
  } else {
    const std::size_t size = spec.size == 0 ? t.min_size_ : spec.size;
    if (size < t.min_size_ || size > kMaxFrameSize) {
      return fail(Errc::invalid_argument, "frame size " + std::to_string(size) + " is outside " +
                                              std::to_string(t.min_size_) + "-" +
                                              std::to_string(kMaxFrameSize) + " for these headers");
    }
    sizes.push_back(size);
    t.size_pattern_.push_back(0);
  }
  for (std::size_t s : sizes) {
    EP_TRY(auto p, t.build(s));
    t.prototypes_.push_back(std::move(p));
  }
  return t;
}

FlowTemplate::Layout FlowTemplate::layout() const {
  Layout l;
  l.src_addr_offset = src_addr_offset_;
  l.dst_addr_offset = dst_addr_offset_;
  l.port_offset = port_offset_;
  l.l4_checksum_offset = l4_checksum_offset_;
  l.ip_checksum_offset = v6_ ? 0 : ip_offset_ + 10;
  l.stamp_offset = payload_offset_ + 2;
  l.header_size = payload_offset_ + kStampSize;
  l.pseudo_header = pseudo_header_;
  l.src_mac = src_mac_;
  l.src_ip_low = src_ip_low_;
  l.dst_ip_low = dst_ip_low_;
  return l;
}

std::size_t FlowTemplate::max_size() const {
  std::size_t m = 0;
  for (const auto& p : prototypes_) {
    m = std::max(m, p.size);
  }
  return m;
}

Result<FlowTemplate::Prototype> FlowTemplate::build(std::size_t size) const {
  // The prototype carries every varying field as 0 (the low address words, ports, stamp), so
  // that its sums are the constant part and a packet adds only its own values.
  Prototype p;
  p.size = size;
  p.bytes.assign(size + wire::FrameBuilder::kDefaultHeadroom, std::byte{0});
  wire::FrameBuilder b(p.bytes);
  b.payload_size(size - payload_offset_);
  store_be16(b.payload_room(), 0, kStampMagic);
  const IpAddress src = with_low32(spec_.src_ip.first, 0);
  const IpAddress dst = with_low32(spec_.dst_ip.first, 0);
  if (spec_.proto == L4Proto::udp) {
    b.push_udp(0, 0);
  } else {
    b.push_icmp_echo(v6_ ? std::uint8_t{128} : std::uint8_t{8}, 0, 0);
  }
  if (v6_) {
    b.push_ipv6({.src = src, .dst = dst});
  } else {
    b.push_ipv4({.src = src, .dst = dst, .flags = 2 /* DF */});
  }
  b.push_vlans(spec_.vlans).push_ethernet(spec_.dst_mac, MacAddress{});
  auto frame = b.finish();
  if (!frame) {
    return fail(Errc::invalid_argument,
                "cannot build the frame: " + std::string(wire::to_string(b.error())));
  }
  if (frame->size() != size) {
    return fail(Errc::malformed, "prototype of " + std::to_string(frame->size()) + " bytes, not " +
                                     std::to_string(size));
  }
  std::vector<std::byte> bytes(frame->begin(), frame->end());
  p.bytes = std::move(bytes);
  const Bytes f(p.bytes);
  // The checksum fields as the builder wrote them are the complements of the constant sums.
  if (!v6_) {
    p.ip_base_sum = static_cast<std::uint16_t>(~load_be16(f, ip_offset_ + 10));
  }
  p.l4_base_sum = static_cast<std::uint16_t>(~load_be16(f, l4_checksum_offset_));
  return p;
}

std::size_t FlowTemplate::write(Bytes out, FlowCursor& c, std::uint64_t seq,
                                std::uint64_t tx_ns) const noexcept {
  const Prototype& p = prototypes_[size_pattern_[c.size]];
  if (out.size() < p.size) {
    return 0;
  }
  std::memcpy(out.data(), p.bytes.data(), p.size);
  const std::uint32_t sip = src_ip_low_ + c.src_ip;
  const std::uint32_t dip = dst_ip_low_ + c.dst_ip;
  const std::uint64_t mac = (src_mac_ + c.mac) & 0xffffffffffffULL;
  const auto sport = static_cast<std::uint16_t>(spec_.sport.first + c.sport);
  const auto dport = spec_.proto == L4Proto::udp
                         ? static_cast<std::uint16_t>(spec_.dport.first + c.dport)
                         : static_cast<std::uint16_t>(seq);  // the echo sequence number
  store_mac(out, 6, mac);
  store_be32(out, src_addr_offset_, sip);
  store_be32(out, dst_addr_offset_, dip);
  store_be16(out, port_offset_, sport);
  store_be16(out, port_offset_ + 2, dport);
  store_be64(out, payload_offset_ + 2, seq);
  store_be64(out, payload_offset_ + 10, tx_ns);

  const std::uint64_t addr_sum = words32(sip) + words32(dip);
  if (!v6_) {
    store_be16(out, ip_offset_ + 10, wire::checksum_finish(p.ip_base_sum + addr_sum));
  }
  const std::uint64_t l4_sum = p.l4_base_sum + (pseudo_header_ ? addr_sum : 0) + sport + dport +
                               words64(seq) + words64(tx_ns);
  store_be16(out, l4_checksum_offset_,
             spec_.proto == L4Proto::udp ? wire::udp_checksum_finish(l4_sum)
                                         : wire::checksum_finish(l4_sum));

  // Each field walks its own range.
  if (++c.mac == spec_.src_mac.count) {
    c.mac = 0;
  }
  if (++c.src_ip == spec_.src_ip.count) {
    c.src_ip = 0;
  }
  if (++c.dst_ip == spec_.dst_ip.count) {
    c.dst_ip = 0;
  }
  if (++c.sport == spec_.sport.count()) {
    c.sport = 0;
  }
  if (++c.dport == spec_.dport.count()) {
    c.dport = 0;
  }
  if (++c.size == size_pattern_.size()) {
    c.size = 0;
  }
  return p.size;
}

}  // namespace etherpath::gen
