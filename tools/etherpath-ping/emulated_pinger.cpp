// EmulatedPinger: echo requests built with wire::FrameBuilder, replies and ICMP errors parsed with
// wire::FrameParser from what the host's EtherConn receives.
#include "tools/etherpath-ping/emulated_pinger.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"

namespace etherpath::ping {

namespace {
constexpr std::uint8_t kIpProtoIcmp = 1;
constexpr std::uint8_t kIpProtoIcmpv6 = 58;
}  // namespace

Result<std::unique_ptr<EmulatedPinger>> EmulatedPinger::open(const EmulatedPingerOptions& options) {
  std::unique_ptr<EmulatedPinger> p(new EmulatedPinger(options));
  p->rx_ = std::make_unique<std::array<std::byte, kMaxFrame + 14>>();
  p->tx_ = std::make_unique<std::array<std::byte, kMaxFrame>>();
  tool_common::EmulatedHostOptions host = options.host;
  host.max_frame = kMaxFrame;
  EP_TRY(p->host_, tool_common::EmulatedHost::open(host));
  // Requests for our address (ARP, NDP) reach the Neighbor, which answers them.
  EP_TRY_STATUS(p->host_->own(options.source));
  return p;
}

std::string EmulatedPinger::describe() const {
  return host_->describe();
}

Status EmulatedPinger::send_icmp(const IpAddress& to, const MacAddress& dst_mac, std::uint8_t type,
                                 std::uint16_t id, std::uint16_t seq, ConstBytes data) {
  wire::FrameBuilder b(*tx_);
  b.payload(data).push_icmp_echo(type, id, seq);
  if (to.is_v4()) {
    b.push_ipv4({.src = options_.source, .dst = to, .ttl = options_.ttl});
  } else {
    b.push_ipv6({.src = options_.source, .dst = to, .hop_limit = options_.ttl});
  }
  EP_TRY(auto packet, b.finish());
  return host_->conn().send_ip(packet, dst_mac);
}

Status EmulatedPinger::send(std::uint16_t sequence, ConstBytes data) {
  const conn::Station self = host_->station();
  const IpAddress hop = options_.gateway.value_or(options_.destination);
  const conn::Neighbor::Pump pump = [this](std::chrono::milliseconds slice) {
    (void)read_one(slice);
  };
  auto mac = host_->neighbor().resolve(self, options_.source, hop, options_.resolve_timeout, pump);
  if (!mac) {
    if (mac.error().is(Errc::not_found) || mac.error().is(Errc::timeout)) {
      // What the kernel reports when its neighbour entry fails: an error from ourselves.
      EchoEvent e;
      e.kind = EchoEvent::Kind::error;
      e.from = options_.source;
      e.sequence = sequence;
      e.error =
          options_.destination.is_v4() ? icmp_error_text(false, 3, 1) : icmp_error_text(true, 1, 3);
      e.received = std::chrono::steady_clock::now();
      pending_.push_back(e);
      return ok();
    }
    return fail(mac.error());
  }
  const std::uint8_t type =
      options_.destination.is_v4() ? wire::kIcmpv4EchoRequest : wire::kIcmpv6EchoRequest;
  return send_icmp(options_.destination, *mac, type, options_.identifier, sequence, data);
}

Result<std::optional<EchoEvent>> EmulatedPinger::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pending_.empty()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::optional<EchoEvent>{};
    }
    auto st = read_one(left);
    if (!st && !st.error().is(Errc::timeout)) {
      return fail(st.error());
    }
  }
  EchoEvent e = pending_.front();
  pending_.pop_front();
  return std::optional<EchoEvent>{e};
}

Status EmulatedPinger::read_one(std::chrono::milliseconds timeout) {
  auto& rx = *rx_;
  const Bytes payload_room(rx.data() + 14, kMaxFrame);
  EP_TRY(auto pkt, host_->conn().read(payload_room, timeout));
  const auto received = std::chrono::steady_clock::now();
  if (pkt.truncated()) {
    return ok();
  }
  // The conn hands over the L2 payload; put an Ethernet header back in front for the parser.
  const Bytes header(rx.data(), 14);
  std::memcpy(header.data(), pkt.dst.octets().data(), 6);
  std::memcpy(header.data() + 6, pkt.src.octets().data(), 6);
  store_be16(header, 12, pkt.ether_type);
  const wire::FrameParser parser;
  auto parsed = parser.parse(ConstBytes(rx.data(), 14 + pkt.size));
  if (!parsed) {
    return ok();
  }
  wire::ParsedFrame& f = parsed.frame;
  f.vlans = pkt.vlans;
  if (host_->neighbor().handle(f, options_.host.mac)) {
    return ok();
  }
  const bool v4 = f.l4 == wire::L4Kind::icmpv4;
  const bool v6 = f.l4 == wire::L4Kind::icmpv6;
  if ((!v4 && !v6) || f.ip_dst() != options_.source) {
    return ok();
  }
  const std::uint8_t request = v4 ? wire::kIcmpv4EchoRequest : wire::kIcmpv6EchoRequest;
  const std::uint8_t reply = v4 ? wire::kIcmpv4EchoReply : wire::kIcmpv6EchoReply;
  if (f.icmp.type == request && f.icmp.code == 0) {
    // A host answers pings; a failed answer is not the pinger's business.
    (void)send_icmp(f.ip_src(), pkt.src, reply, f.icmp.echo_id(), f.icmp.echo_seq(), f.payload);
    return ok();
  }
  EchoEvent e;
  e.from = f.ip_src();
  e.ttl = v4 ? f.ipv4.ttl : f.ipv6.hop_limit;
  e.received = received;
  if (f.icmp.type == reply) {
    if (f.icmp.echo_id() != options_.identifier) {
      return ok();
    }
    e.sequence = f.icmp.echo_seq();
    e.icmp_bytes = f.l4_bytes.size();
    pending_.push_back(e);
    return ok();
  }
  // An ICMP error that quotes one of our requests.
  const auto quoted = f.quoted();
  if (!quoted || !quoted->has_ports || quoted->src != options_.source ||
      quoted->protocol != (v4 ? kIpProtoIcmp : kIpProtoIcmpv6) ||
      quoted->src_port != options_.identifier) {
    return ok();
  }
  e.kind = EchoEvent::Kind::error;
  e.sequence = quoted->dst_port;
  e.error = icmp_error_text(v6, f.icmp.type, f.icmp.code);
  pending_.push_back(e);
  return ok();
}

}  // namespace etherpath::ping
