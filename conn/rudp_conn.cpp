// RUDPConn: UDP over IPv4/IPv6 frames built with wire::FrameBuilder and parsed with FrameParser.
#include "conn/rudp_conn.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"

namespace etherpath::conn {

namespace {

std::chrono::milliseconds ceil_ms(std::chrono::nanoseconds d) {
  return std::chrono::ceil<std::chrono::milliseconds>(std::max(d, std::chrono::nanoseconds(0)));
}

}  // namespace

Result<std::unique_ptr<RUDPConn>> RUDPConn::open(EtherConn& conn, RUDPConnOptions options,
                                                 Neighbor* neighbor) {
  if (options.dscp > 63) {
    return fail(Errc::invalid_argument, "DSCP " + std::to_string(options.dscp) + " is over 63");
  }
  if (options.gateway && options.gateway->family() != options.local.address.family()) {
    return fail(Errc::invalid_argument, "gateway and local address of different families");
  }
  std::unique_ptr<RUDPConn> c(new RUDPConn(conn, std::move(options), neighbor));
  const Station self{conn.options().mac, conn.options().vlans};
  if (neighbor != nullptr && !c->options_.local.address.is_unspecified()) {
    EP_TRY_STATUS(neighbor->add_owned(self, c->options_.local.address));
    if (c->options_.announce) {
      EP_TRY_STATUS(neighbor->announce(self, c->options_.local.address));
    }
  }
  return c;
}

RUDPConn::~RUDPConn() {
  if (neighbor_ != nullptr && !options_.local.address.is_unspecified()) {
    neighbor_->remove_owned(Station{conn_.options().mac, conn_.options().vlans},
                            options_.local.address);
  }
}

Status RUDPConn::send_to(ConstBytes payload, const IpEndpoint& to) {
  return send_to_from(payload, options_.local, to);
}

Result<MacAddress> RUDPConn::next_hop_mac(const IpAddress& src, const IpAddress& dst) {
  if (dst.is_multicast() && dst.is_v6()) {
    return ipv6_multicast_mac(dst);
  }
  const IpAddress hop = options_.gateway ? *options_.gateway : dst;
  if (options_.resolver) {
    return options_.resolver(hop, options_.resolve_timeout);
  }
  if (neighbor_ == nullptr) {
    return MacAddress::broadcast();
  }
  const Station self{conn_.options().mac, conn_.options().vlans};
  if (auto mac = neighbor_->lookup(self.vlans, hop)) {
    return *mac;
  }
  // Read our conn while waiting, for the unicast reply; if a recv_from() holds it, that reader
  // hands the reply to the Neighbor and the Neighbor's wait sees it.
  const Neighbor::Pump pump = [this](std::chrono::milliseconds slice) {
    std::unique_lock lock(read_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      std::this_thread::sleep_for(std::min(slice, std::chrono::milliseconds(5)));
      return;
    }
    if (!stash_.empty() && stashed_) {
      (void)read_one({}, slice);  // the stash is full: later datagrams are counted as ignored
      return;
    }
    stash_.resize(kMaxFrame);
    auto got = read_one(stash_, slice);
    if (got && *got) {
      stashed_ = **got;
    }
  };
  return neighbor_->resolve(self, src, hop, options_.resolve_timeout, pump);
}

Status RUDPConn::send_to_from(ConstBytes payload, const IpEndpoint& from, const IpEndpoint& to) {
  if (from.address.family() != to.address.family()) {
    return fail(Errc::invalid_argument,
                "send from " + from.to_string() + " to " + to.to_string() + ": families differ");
  }
  MacAddress dst_mac;
  if (to.address.is_multicast() && to.address.is_v4()) {
    const auto b = to.address.bytes();
    dst_mac = MacAddress::from_u64(0x01005e000000ULL | (std::uint64_t{b[1] & 0x7fU} << 16U) |
                                   (std::uint64_t{b[2]} << 8U) | b[3]);
  } else {
    EP_TRY(dst_mac, next_hop_mac(from.address, to.address));
  }
  std::array<std::byte, 9216> buf{};
  wire::FrameBuilder b(buf);
  b.payload(payload).push_udp(from.port, to.port);
  const auto tos = static_cast<std::uint8_t>(options_.dscp << 2U);
  if (to.address.is_v4()) {
    b.push_ipv4({.src = from.address, .dst = to.address, .ttl = options_.ttl, .tos = tos});
  } else {
    b.push_ipv6(
        {.src = from.address, .dst = to.address, .hop_limit = options_.ttl, .traffic_class = tos});
  }
  auto packet = b.finish();
  if (!packet) {
    return fail(packet.error().wrap("UDP to " + to.to_string()));
  }
  return conn_.send_ip(*packet, dst_mac);
}

bool RUDPConn::matches(const IpAddress& dst, std::uint16_t port) const {
  if (options_.accept_any) {
    return true;
  }
  if (port != options_.local.port) {
    return false;
  }
  const IpAddress& local = options_.local.address;
  if (local.is_unspecified()) {
    return dst.family() == local.family();
  }
  return dst == local;
}

Result<std::optional<ReceivedDatagram>> RUDPConn::read_one(Bytes out,
                                                           std::chrono::milliseconds timeout) {
  const Bytes payload_room(rx_.data() + 14, kMaxFrame);
  EP_TRY(auto pkt, conn_.read(payload_room, timeout));
  if (pkt.truncated()) {
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<ReceivedDatagram>{};
  }
  // EtherConn hands over the L3 bytes; an untagged Ethernet header in front lets FrameParser
  // take the frame as a whole (the VLANs are put back from what the conn reported).
  const Bytes header(rx_.data(), 14);
  std::memcpy(header.data(), pkt.dst.octets().data(), 6);
  std::memcpy(header.data() + 6, pkt.src.octets().data(), 6);
  store_be16(header, 12, pkt.ether_type);
  const wire::FrameParser parser;
  auto parsed = parser.parse(ConstBytes(rx_.data(), 14 + pkt.size));
  if (!parsed) {
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<ReceivedDatagram>{};
  }
  wire::ParsedFrame& f = parsed.frame;
  f.vlans = pkt.vlans;
  if (neighbor_ != nullptr && neighbor_->handle(f, conn_.options().mac)) {
    return std::optional<ReceivedDatagram>{};
  }
  if (f.l4 != wire::L4Kind::udp || !matches(f.ip_dst(), f.udp.dst_port)) {
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<ReceivedDatagram>{};
  }
  ReceivedDatagram d;
  d.size = std::min(out.size(), f.payload.size());
  d.truncated = d.size < f.payload.size();
  d.from = IpEndpoint{f.ip_src(), f.udp.src_port};
  if (d.size > 0) {
    std::memcpy(out.data(), f.payload.data(), d.size);
  }
  return std::optional<ReceivedDatagram>{d};
}

Result<ReceivedDatagram> RUDPConn::recv_from(Bytes buffer, std::chrono::nanoseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::lock_guard lock(read_mutex_);
  if (stashed_) {
    ReceivedDatagram d = *stashed_;
    stashed_.reset();
    const std::size_t n = std::min(buffer.size(), d.size);
    std::memcpy(buffer.data(), stash_.data(), n);
    d.truncated = d.truncated || n < d.size;
    d.size = n;
    return d;
  }
  for (;;) {
    const auto left = ceil_ms(deadline - std::chrono::steady_clock::now());
    auto got = read_one(buffer, left);
    if (!got) {
      if (got.error().code() == make_error_code(Errc::timeout)) {
        return fail(Errc::timeout, "recv_from " + options_.local.to_string() + ": timeout");
      }
      return fail(got.error());
    }
    if (*got) {
      return **got;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::timeout, "recv_from " + options_.local.to_string() + ": timeout");
    }
  }
}

std::uint64_t RUDPConn::ignored() const {
  return ignored_.load(std::memory_order_relaxed);
}

}  // namespace etherpath::conn
