// FrameTemplate: header copy plus patching from cached partial checksums (RFC 1624's idea: only
// the changed words enter the sum; the rest was summed once).
#include "conn/wire/frame_template.hpp"

#include <cstdint>
#include <cstring>

#include "conn/wire/checksum.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/ipv4.hpp"
#include "conn/wire/ipv6.hpp"

namespace etherpath::wire {

Result<FrameTemplate> FrameTemplate::from_frame(ConstBytes prototype) {
  const FrameParser parser(ParseOptions{.verify_checksums = true});
  const ParseResult r = parser.parse(prototype);
  if (!r) {
    return fail(Errc::malformed, std::string("frame template: prototype does not parse: ") +
                                     std::string(to_string(r.drop)));
  }
  const ParsedFrame& f = r.frame;
  const bool echo = (f.l4 == L4Kind::icmpv4 &&
                     (f.icmp.type == kIcmpv4EchoRequest || f.icmp.type == kIcmpv4EchoReply)) ||
                    (f.l4 == L4Kind::icmpv6 &&
                     (f.icmp.type == kIcmpv6EchoRequest || f.icmp.type == kIcmpv6EchoReply));
  if (f.l4 != L4Kind::udp && !echo) {
    return fail(Errc::unsupported, "frame template: prototype is neither UDP nor ICMP echo");
  }
  FrameTemplate t;
  const std::size_t hs = f.l4_offset() + 8;
  if (hs > kMaxHeaderSize) {
    return fail(Errc::unsupported, "frame template: headers longer than 128 bytes");
  }
  std::memcpy(t.header_.data(), prototype.data(), hs);
  t.header_size_ = static_cast<std::uint16_t>(hs);
  t.ip_offset_ = static_cast<std::uint16_t>(f.l3_offset());
  t.l4_offset_ = static_cast<std::uint16_t>(f.l4_offset());
  t.v6_ = f.l3 == L3Kind::ipv6;
  t.udp_ = f.l4 == L4Kind::udp;
  const Bytes h(t.header_.data(), hs);
  if (!t.v6_) {
    Ipv4Writer w(h.subspan(t.ip_offset_));
    w.set_total_length(0);
    w.set_id(0);
    w.set_checksum(0);
    t.ip_base_sum_ = checksum_add(0, h.subspan(t.ip_offset_, std::size_t{f.ipv4.ihl} * 4U));
  }
  const Bytes l4 = h.subspan(t.l4_offset_, 8);
  if (t.udp_) {
    std::memset(l4.data(), 0, 8);
    t.l4_base_sum_ = pseudo_header_sum(f.ip_src(), f.ip_dst(), kIpProtoUdp, 0);
  } else {
    IcmpWriter w(l4);
    w.set_checksum(0);
    w.set_echo(0, 0);
    t.l4_base_sum_ = checksum_add(0, l4);
    if (t.v6_) {
      t.l4_base_sum_ += pseudo_header_sum(f.ip_src(), f.ip_dst(), kIpProtoIcmpv6, 0);
    }
  }
  return t;
}

Bytes FrameTemplate::write(Bytes out, ConstBytes payload, const FramePatch& patch) const noexcept {
  if (out.size() < header_size_ || out.size() - header_size_ < payload.size()) {
    return {};
  }
  // Summed from the caller's bytes as they are copied (one pass, and no loads right after the
  // copy's stores, which can stall); memmove when the caller's bytes overlap where they go.
  std::byte* to = out.data() + header_size_;
  const auto from = reinterpret_cast<std::uintptr_t>(payload.data());  // NOLINT: overlap test
  const auto dst = reinterpret_cast<std::uintptr_t>(to);               // NOLINT: overlap test
  std::uint64_t payload_sum = 0;
  if (from + payload.size() <= dst || dst + payload.size() <= from) {
    payload_sum = checksum_copy(to, payload, 0);
  } else {
    payload_sum = checksum_add(0, payload);
    std::memmove(to, payload.data(), payload.size());
  }
  return patch_headers(out, payload.size(), payload_sum, patch);
}

Bytes FrameTemplate::write_headers(Bytes out, std::size_t payload_size,
                                   const FramePatch& patch) const noexcept {
  if (out.size() < header_size_ || out.size() - header_size_ < payload_size) {
    return {};
  }
  return patch_headers(out, payload_size, checksum_add(0, out.subspan(header_size_, payload_size)),
                       patch);
}

Bytes FrameTemplate::patch_headers(Bytes out, std::size_t payload_size, std::uint64_t payload_sum,
                                   const FramePatch& patch) const noexcept {
  const std::size_t size = header_size_ + payload_size;
  if (out.size() < size || size - ip_offset_ > 0xffff) {
    return {};
  }
  std::memcpy(out.data(), header_.data(), header_size_);
  const Bytes frame = out.first(size);
  const auto l4_len = static_cast<std::uint16_t>(size - l4_offset_);
  if (!v6_) {
    const auto total = static_cast<std::uint16_t>(size - ip_offset_);
    const Bytes ip = frame.subspan(ip_offset_);
    store_be16(ip, 2, total);
    store_be16(ip, 4, patch.ipv4_id);
    store_be16(ip, 10, checksum_finish(ip_base_sum_ + total + patch.ipv4_id));
  } else {
    store_be16(frame, ip_offset_ + 4U,
               static_cast<std::uint16_t>(size - ip_offset_ - Ipv6View::kSize));
  }
  const Bytes l4 = frame.subspan(l4_offset_);
  store_be16(l4, 0 + (udp_ ? 0U : 4U), patch.src_port);
  store_be16(l4, 2 + (udp_ ? 0U : 4U), patch.dst_port);
  if (udp_) {
    store_be16(l4, 4, l4_len);
    // The length counts twice: in the pseudo-header and in the UDP header.
    const std::uint64_t sum =
        l4_base_sum_ + 2U * std::uint64_t{l4_len} + patch.src_port + patch.dst_port + payload_sum;
    store_be16(l4, 6, udp_checksum_finish(sum));
  } else {
    const std::uint64_t sum = l4_base_sum_ + (v6_ ? std::uint64_t{l4_len} : 0U) + patch.src_port +
                              patch.dst_port + payload_sum;
    store_be16(l4, 2, checksum_finish(sum));
  }
  return frame;
}

}  // namespace etherpath::wire
