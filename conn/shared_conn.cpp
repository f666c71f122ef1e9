// SharedEtherConn: parse once on the poll thread, hand UDP to the endpoint by L4 key and
// ARP/NDP to the Neighbor; SharingRUDPConn: the endpoint's bounded queue and its sends.
#include "conn/shared_conn.hpp"

#include <algorithm>
#include <cstring>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"

namespace etherpath::conn {

std::string L4RecvKey::to_string() const {
  return ip.to_string() + "#" + std::to_string(protocol) + "#" + std::to_string(port);
}

Result<std::unique_ptr<SharedEtherConn>> SharedEtherConn::open(datapath::PacketRelay& relay,
                                                               SharedEtherConnOptions options,
                                                               Neighbor& neighbor) {
  if (options.per_endpoint_depth == 0) {
    return fail(Errc::invalid_argument, "SharedEtherConn per-endpoint depth 0");
  }
  std::unique_ptr<SharedEtherConn> c(new SharedEtherConn(relay, options, neighbor));
  datapath::Registration reg;
  reg.mac = c->options_.mac;
  reg.vlans = c->options_.vlans;
  reg.ether_types = {0x0806, 0x0800, 0x86dd};
  reg.receive_multicast = c->options_.receive_multicast;
  reg.is_default = c->options_.is_default;
  const Status st = relay.register_receiver(c.get(), reg);
  if (!st) {
    relay.deregister(c.get());
    return fail(st.error().wrap("SharedEtherConn " + c->options_.mac.to_string()));
  }
  return c;
}

SharedEtherConn::~SharedEtherConn() {
  relay_.deregister(this);
}

Status SharedEtherConn::add(const L4RecvKey& key, SharingRUDPConn* conn) {
  const std::unique_lock lock(endpoints_mutex_);
  if (!endpoints_.emplace(key, conn).second) {
    return fail(Errc::already_exists, "L4 key " + key.to_string() + " is registered already");
  }
  return ok();
}

void SharedEtherConn::remove(const L4RecvKey& key, SharingRUDPConn* conn) {
  const std::unique_lock lock(endpoints_mutex_);
  if (auto it = endpoints_.find(key); it != endpoints_.end() && it->second == conn) {
    endpoints_.erase(it);
  }
}

bool SharedEtherConn::deliver(const datapath::Frame& frame, const datapath::L2Header& header) {
  const wire::FrameParser parser;
  const auto parsed = parser.parse(frame.data());
  if (!parsed) {
    return true;  // malformed: nothing to deliver (the relay counted it as received)
  }
  const wire::ParsedFrame& f = parsed.frame;
  const bool neighbor_frame =
      f.l3 == wire::L3Kind::arp ||
      (f.l4 == wire::L4Kind::icmpv6 &&
       (f.icmp.type == wire::kIcmpv6NeighborSolicit || f.icmp.type == wire::kIcmpv6NeighborAdvert));
  if (neighbor_frame) {
    return neighbor_.deliver(frame, header);  // copied; answered on the Neighbor's thread
  }
  if (f.l4 != wire::L4Kind::udp) {
    unregistered_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const IpAddress dst = f.ip_dst();
  const IpEndpoint from{f.ip_src(), f.udp.src_port};
  const std::shared_lock lock(endpoints_mutex_);
  auto it = endpoints_.find(L4RecvKey{dst, 17, f.udp.dst_port});
  if (it == endpoints_.end()) {
    it = endpoints_.find(L4RecvKey{IpAddress::any(dst.family()), 17, f.udp.dst_port});
  }
  if (it == endpoints_.end()) {
    unregistered_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return it->second->push(f.payload, from);
}

void SharedEtherConn::relay_stopped() {
  stopped_ = true;
  const std::shared_lock lock(endpoints_mutex_);
  for (auto& [key, conn] : endpoints_) {
    conn->stop();
  }
}

Result<std::unique_ptr<SharingRUDPConn>> SharingRUDPConn::open(SharedEtherConn& shared,
                                                               SharingRUDPConnOptions options) {
  if (options.dscp > 63) {
    return fail(Errc::invalid_argument, "DSCP " + std::to_string(options.dscp) + " is over 63");
  }
  std::unique_ptr<SharingRUDPConn> c(new SharingRUDPConn(shared, std::move(options)));
  EP_TRY_STATUS(shared.add(c->key(), c.get()));
  if (!c->options_.local.address.is_unspecified()) {
    const Status st = shared.neighbor().add_owned(shared.station(), c->options_.local.address);
    if (!st) {
      shared.remove(c->key(), c.get());
      return fail(st.error());
    }
  }
  return c;
}

SharingRUDPConn::~SharingRUDPConn() {
  shared_.remove(key(), this);
  if (!options_.local.address.is_unspecified()) {
    shared_.neighbor().remove_owned(shared_.station(), options_.local.address);
  }
}

bool SharingRUDPConn::push(ConstBytes payload, const IpEndpoint& from) {
  const std::lock_guard lock(mutex_);
  if (slots_.empty()) {
    slots_.resize(shared_.options().per_endpoint_depth);  // once, on the first datagram
  }
  if (count_ == slots_.size()) {
    ++overflows_;
    return false;
  }
  Slot& s = slots_[(head_ + count_) % slots_.size()];
  s.size = std::min(payload.size(), kMaxPayload);
  s.truncated = s.size < payload.size();
  std::memcpy(s.bytes.data(), payload.data(), s.size);
  s.from = from;
  ++count_;
  readable_.notify_one();
  return true;
}

void SharingRUDPConn::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  readable_.notify_all();
}

Result<ReceivedDatagram> SharingRUDPConn::recv_from(Bytes buffer,
                                                    std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!readable_.wait_for(lock, timeout, [&] { return count_ > 0 || stopped_; })) {
    return fail(Errc::timeout, "recv_from " + options_.local.to_string() + ": timeout");
  }
  if (count_ == 0) {
    return fail(Errc::relay_stopped, "recv_from " + options_.local.to_string() + ": relay stopped");
  }
  const Slot& s = slots_[head_];
  ReceivedDatagram d;
  d.size = std::min(buffer.size(), s.size);
  d.truncated = s.truncated || d.size < s.size;
  d.from = s.from;
  std::memcpy(buffer.data(), s.bytes.data(), d.size);
  head_ = (head_ + 1) % slots_.size();
  --count_;
  return d;
}

Status SharingRUDPConn::send_to(ConstBytes payload, const IpEndpoint& to) {
  const IpEndpoint& from = options_.local;
  if (from.address.family() != to.address.family()) {
    return fail(Errc::invalid_argument,
                "send from " + from.to_string() + " to " + to.to_string() + ": families differ");
  }
  const Station self = shared_.station();
  MacAddress dst_mac;
  if (to.address.is_multicast() && to.address.is_v6()) {
    dst_mac = ipv6_multicast_mac(to.address);
  } else if (options_.resolver) {
    EP_TRY(dst_mac, options_.resolver(to.address, options_.resolve_timeout));
  } else {
    EP_TRY(dst_mac,
           shared_.neighbor().resolve(self, from.address, to.address, options_.resolve_timeout));
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
  b.push_vlans(self.vlans).push_ethernet(dst_mac, self.mac);
  auto frame = b.finish();
  if (!frame) {
    return fail(frame.error().wrap("UDP to " + to.to_string()));
  }
  // Short frames are padded to the Ethernet minimum (60 bytes without FCS).
  const std::size_t len = std::max<std::size_t>(frame->size(), 60);
  return shared_.relay().send(ConstBytes(frame->data(), len));
}

std::uint64_t SharingRUDPConn::overflows() const {
  const std::lock_guard lock(mutex_);
  return overflows_;
}

std::size_t SharingRUDPConn::memory_bytes() const {
  const std::lock_guard lock(mutex_);
  return sizeof(*this) + slots_.capacity() * sizeof(Slot);
}

}  // namespace etherpath::conn
