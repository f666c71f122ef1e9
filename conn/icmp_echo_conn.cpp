// IcmpEchoConn: echo requests and replies built with wire::FrameBuilder, read through the conn.
#include "conn/icmp_echo_conn.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"

namespace etherpath::conn {

Result<std::unique_ptr<IcmpEchoConn>> IcmpEchoConn::open(EtherConn& conn, IcmpEchoOptions options,
                                                         Neighbor& neighbor) {
  if (options.local.is_unspecified()) {
    return fail(Errc::invalid_argument, "IcmpEchoConn needs a local address");
  }
  std::unique_ptr<IcmpEchoConn> c(new IcmpEchoConn(conn, options, neighbor));
  EP_TRY_STATUS(
      neighbor.add_owned(Station{conn.options().mac, conn.options().vlans}, options.local));
  return c;
}

IcmpEchoConn::~IcmpEchoConn() {
  neighbor_.remove_owned(Station{conn_.options().mac, conn_.options().vlans}, options_.local);
}

Status IcmpEchoConn::send_icmp(const IpAddress& to, const MacAddress& dst_mac, std::uint8_t type,
                               std::uint16_t id, std::uint16_t seq, ConstBytes payload) {
  std::array<std::byte, 9216> buf{};
  wire::FrameBuilder b(buf);
  b.payload(payload).push_icmp_echo(type, id, seq);
  if (to.is_v4()) {
    b.push_ipv4({.src = options_.local, .dst = to, .ttl = options_.ttl});
  } else {
    b.push_ipv6({.src = options_.local, .dst = to, .hop_limit = options_.ttl});
  }
  auto packet = b.finish();
  if (!packet) {
    return fail(packet.error().wrap("echo to " + to.to_string()));
  }
  return conn_.send_ip(*packet, dst_mac);
}

Status IcmpEchoConn::send_request(const IpAddress& to, std::uint16_t sequence, ConstBytes payload) {
  if (to.family() != options_.local.family()) {
    return fail(Errc::invalid_argument, "echo to " + to.to_string() + " from another family");
  }
  const Station self{conn_.options().mac, conn_.options().vlans};
  const Neighbor::Pump pump = [this](std::chrono::milliseconds slice) {
    std::unique_lock lock(read_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      std::this_thread::sleep_for(std::min(slice, std::chrono::milliseconds(5)));
      return;
    }
    (void)read_one({}, slice);
  };
  EP_TRY(auto mac, neighbor_.resolve(self, options_.local, to, options_.resolve_timeout, pump));
  const std::uint8_t type = to.is_v4() ? wire::kIcmpv4EchoRequest : wire::kIcmpv6EchoRequest;
  return send_icmp(to, mac, type, options_.identifier, sequence, payload);
}

Result<std::optional<EchoReply>> IcmpEchoConn::read_one(Bytes out,
                                                        std::chrono::milliseconds timeout) {
  const Bytes payload_room(rx_.data() + 14, kMaxFrame);
  EP_TRY(auto pkt, conn_.read(payload_room, timeout));
  if (pkt.truncated()) {
    ignored_.fetch_add(1);
    return std::optional<EchoReply>{};
  }
  const Bytes header(rx_.data(), 14);
  std::memcpy(header.data(), pkt.dst.octets().data(), 6);
  std::memcpy(header.data() + 6, pkt.src.octets().data(), 6);
  store_be16(header, 12, pkt.ether_type);
  const wire::FrameParser parser;
  auto parsed = parser.parse(ConstBytes(rx_.data(), 14 + pkt.size));
  if (!parsed) {
    ignored_.fetch_add(1);
    return std::optional<EchoReply>{};
  }
  wire::ParsedFrame& f = parsed.frame;
  f.vlans = pkt.vlans;
  if (neighbor_.handle(f, conn_.options().mac)) {
    return std::optional<EchoReply>{};
  }
  const bool v4 = f.l4 == wire::L4Kind::icmpv4;
  const bool v6 = f.l4 == wire::L4Kind::icmpv6;
  if (!v4 && !v6) {
    ignored_.fetch_add(1);
    return std::optional<EchoReply>{};
  }
  const std::uint8_t request = v4 ? wire::kIcmpv4EchoRequest : wire::kIcmpv6EchoRequest;
  const std::uint8_t reply = v4 ? wire::kIcmpv4EchoReply : wire::kIcmpv6EchoReply;
  const IpAddress dst = f.ip_dst();
  if (dst != options_.local) {
    ignored_.fetch_add(1);
    return std::optional<EchoReply>{};
  }
  if (f.icmp.type == request && f.icmp.code == 0) {
    if (options_.answer_requests &&
        send_icmp(f.ip_src(), pkt.src, reply, f.icmp.echo_id(), f.icmp.echo_seq(), f.payload)) {
      answered_.fetch_add(1);
    }
    return std::optional<EchoReply>{};
  }
  if (f.icmp.type != reply || f.icmp.echo_id() != options_.identifier) {
    ignored_.fetch_add(1);
    return std::optional<EchoReply>{};
  }
  EchoReply r;
  r.from = f.ip_src();
  r.identifier = f.icmp.echo_id();
  r.sequence = f.icmp.echo_seq();
  r.size = std::min(out.size(), f.payload.size());
  if (r.size > 0) {
    std::memcpy(out.data(), f.payload.data(), r.size);
  }
  return std::optional<EchoReply>{r};
}

Result<EchoReply> IcmpEchoConn::recv_reply(Bytes buffer, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::lock_guard lock(read_mutex_);
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(std::max(
        deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}));
    EP_TRY(auto got, read_one(buffer, left));
    if (got) {
      return *got;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::timeout, "echo reply to " + options_.local.to_string() + ": timeout");
    }
  }
}

Result<std::chrono::nanoseconds> IcmpEchoConn::ping(const IpAddress& to, std::uint16_t sequence,
                                                    ConstBytes payload,
                                                    std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  EP_TRY_STATUS(send_request(to, sequence, payload));
  std::array<std::byte, kMaxFrame> buf{};
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(std::max(
        deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}));
    EP_TRY(auto r, recv_reply(buf, left));
    if (r.sequence == sequence && r.from == to) {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                  start);
    }
  }
}

void IcmpEchoConn::serve(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  const std::lock_guard lock(read_mutex_);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(std::max(
        deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}));
    auto got = read_one({}, std::min(left, std::chrono::milliseconds(50)));
    if (!got && got.error().code() != make_error_code(Errc::timeout)) {
      return;  // the relay stopped
    }
  }
}

}  // namespace etherpath::conn
