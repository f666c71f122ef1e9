// Neighbor: owned addresses, the answering worker, resolution with retries.
#include "conn/neighbor.hpp"

#include <algorithm>

#include "base/byte_order.hpp"
#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/vlan.hpp"

namespace etherpath::conn {

namespace {

constexpr std::uint16_t kEtherTypeArp = wire::kEtherTypeArp;
constexpr std::uint16_t kEtherTypeIpv6 = wire::kEtherTypeIpv6;
constexpr std::uint8_t kNextHeaderIcmpv6 = 58;
constexpr std::size_t kIpv6HeaderSize = 40;

// The address a request or solicitation asks about, if the frame is one.
std::optional<IpAddress> requested_target(const wire::ParsedFrame& f) {
  if (f.l3 == wire::L3Kind::arp) {
    const wire::ArpFields a = f.arp();
    if (a.op == wire::kArpRequest) {
      return a.target_ip;
    }
    return std::nullopt;
  }
  if (f.l4 == wire::L4Kind::icmpv6 && f.icmp.type == wire::kIcmpv6NeighborSolicit) {
    if (auto n = f.ndp()) {
      return n->target;
    }
  }
  return std::nullopt;
}

}  // namespace

Neighbor::Neighbor(datapath::PacketRelay& relay, NeighborOptions options, Clock& clock)
    : relay_(relay), clock_(clock), cache_(options) {}

Result<std::unique_ptr<Neighbor>> Neighbor::open(datapath::PacketRelay& relay,
                                                 NeighborOptions options, Clock& clock) {
  std::unique_ptr<Neighbor> n(new Neighbor(relay, options, clock));
  n->ring_.resize(kRingSlots);  // 128 KiB once per relay, not per host
  n->worker_ = std::thread([p = n.get()] { p->run(); });
  return n;
}

Neighbor::~Neighbor() {
  relay_.deregister(this);
  {
    const std::lock_guard lock(ring_mutex_);
    stopping_ = true;
  }
  ring_ready_.notify_all();
  if (worker_.joinable()) {
    worker_.join();
  }
}

Status Neighbor::ensure_registered(const MacAddress& mac, const VlanStack& vlans,
                                   std::uint16_t type) {
  const auto key = wire::L2Key::make(mac, vlans, type);
  if (auto it = registered_.find(key); it != registered_.end()) {
    ++it->second;
    return ok();
  }
  datapath::Registration reg;
  reg.mac = mac;
  reg.vlans = vlans;
  reg.ether_types = {type};
  EP_TRY_STATUS(relay_.register_receiver(this, reg));
  registered_.emplace(key, 1U);
  return ok();
}

Status Neighbor::add_owned(const Station& station, const IpAddress& ip) {
  const std::lock_guard lock(mutex_);
  if (ip.is_unspecified()) {
    return ok();  // 0.0.0.0 / :: is nobody's address to answer for
  }
  const NeighborKey key = NeighborKey::make(station.vlans, ip);
  if (owned_.contains(key)) {
    owned_[key] = station.mac;
    return ok();
  }
  if (ip.is_v4()) {
    EP_TRY_STATUS(ensure_registered(MacAddress::broadcast(), station.vlans, kEtherTypeArp));
  } else {
    EP_TRY_STATUS(ensure_registered(ipv6_multicast_mac(solicited_node_multicast(ip)), station.vlans,
                                    kEtherTypeIpv6));
  }
  // On AF_XDP the kernel would otherwise get the requests for this address and stay silent.
  EP_TRY_STATUS(relay_.add_owned(station.vlans, ip));
  owned_.emplace(key, station.mac);
  return ok();
}

Status Neighbor::receive_unicast_arp(const Station& station) {
  if (station.mac == relay_.own_mac() && station.vlans.empty()) {
    return ok();  // the interface's own untagged ARP stays the kernel's (its replies, its cache)
  }
  const std::lock_guard lock(mutex_);
  return ensure_registered(station.mac, station.vlans, kEtherTypeArp);
}

void Neighbor::remove_owned(const Station& station, const IpAddress& ip) {
  const std::lock_guard lock(mutex_);
  // The relay key stays registered (the relay has no per-key removal); it costs one map entry.
  if (owned_.erase(NeighborKey::make(station.vlans, ip)) > 0) {
    (void)relay_.remove_owned(station.vlans, ip);  // a failure leaves one stale map entry
  }
}

std::optional<MacAddress> Neighbor::owner(const VlanStack& vlans, const IpAddress& ip) const {
  const std::lock_guard lock(mutex_);
  auto it = owned_.find(NeighborKey::make(vlans, ip));
  if (it == owned_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<MacAddress> Neighbor::lookup(const VlanStack& vlans, const IpAddress& ip) const {
  const std::lock_guard lock(mutex_);
  return cache_.lookup(NeighborKey::make(vlans, ip), clock_.now());
}

Status Neighbor::announce(const Station& station, const IpAddress& ip) {
  std::array<std::byte, 256> buf{};
  EP_TRY(auto frame, ip.is_v4() ? build_gratuitous_arp(buf, station, ip)
                                : build_unsolicited_advert(buf, station, ip));
  return relay_.send(frame);
}

bool Neighbor::handle(const wire::ParsedFrame& frame, const std::optional<MacAddress>& self_mac) {
  const bool is_neighbor_frame =
      frame.l3 == wire::L3Kind::arp ||
      (frame.l4 == wire::L4Kind::icmpv6 && (frame.icmp.type == wire::kIcmpv6NeighborSolicit ||
                                            frame.icmp.type == wire::kIcmpv6NeighborAdvert));
  if (!is_neighbor_frame) {
    return false;
  }
  std::optional<MacAddress> answer_as;
  {
    const std::lock_guard lock(mutex_);
    if (auto learnt = learn_from(frame); learnt && !learnt->ip.is_unspecified()) {
      cache_.learn(NeighborKey::make(frame.vlans, learnt->ip), learnt->mac, clock_.now());
      learnt_.notify_all();
    }
    if (auto target = requested_target(frame)) {
      auto it = owned_.find(NeighborKey::make(frame.vlans, *target));
      if (it != owned_.end() && (!self_mac || *self_mac == it->second)) {
        answer_as = it->second;
      }
    }
  }
  if (answer_as) {
    std::array<std::byte, 256> buf{};
    auto reply = answer_neighbor_request(
        frame, *answer_as, [](const IpAddress&) { return true; }, buf);
    if (reply && *reply && relay_.send(**reply)) {
      const std::lock_guard lock(mutex_);
      ++answered_;
    }
  }
  return true;
}

Status Neighbor::send_request(const Station& self, const IpAddress& src_ip,
                              const IpAddress& target) {
  std::array<std::byte, 256> buf{};
  EP_TRY(auto frame, target.is_v4() ? build_arp_request(buf, self, src_ip, target)
                                    : build_neighbor_solicit(buf, self, src_ip, target));
  EP_TRY_STATUS(relay_.send(frame));
  const std::lock_guard lock(mutex_);
  ++requests_sent_;
  return ok();
}

Result<MacAddress> Neighbor::resolve(const Station& self, const IpAddress& src_ip,
                                     const IpAddress& target, std::chrono::milliseconds timeout,
                                     const Pump& pump) {
  using std::chrono::milliseconds;
  const NeighborKey key = NeighborKey::make(self.vlans, target);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // An NS from :: would be a DAD probe; use the link-local address of the MAC instead.
  const IpAddress from =
      target.is_v6() && src_ip.is_unspecified() ? link_local_from_mac(self.mac) : src_ip;
  for (;;) {
    ResolveStep step{};
    std::optional<Clock::TimePoint> next;
    {
      const std::lock_guard lock(mutex_);
      if (auto mac = cache_.lookup(key, clock_.now())) {
        return *mac;
      }
      step = cache_.step(key, clock_.now());
      next = cache_.next_attempt(key);
    }
    if (step == ResolveStep::have_mac) {
      continue;
    }
    if (step == ResolveStep::failed) {
      return fail(Errc::not_found, "no ARP/NDP answer for " + target.to_string());
    }
    if (step == ResolveStep::send_request) {
      EP_TRY_STATUS(send_request(self, from, target));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return fail(Errc::timeout, "resolving " + target.to_string() + ": timeout");
    }
    // Wait in short slices: the reply may come through the pump or another reader.
    auto slice =
        std::min(milliseconds(20),
                 std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1));
    if (next) {
      const auto until = std::chrono::duration_cast<milliseconds>(*next - clock_.now());
      slice = std::clamp(until, milliseconds(1), slice);
    }
    if (pump) {
      pump(slice);
    } else {
      std::unique_lock lock(mutex_);
      learnt_.wait_for(lock, slice);
    }
  }
}

std::uint64_t Neighbor::answered() const {
  const std::lock_guard lock(mutex_);
  return answered_;
}

std::uint64_t Neighbor::requests_sent() const {
  const std::lock_guard lock(mutex_);
  return requests_sent_;
}

std::size_t Neighbor::owned_count() const {
  const std::lock_guard lock(mutex_);
  return owned_.size();
}

bool Neighbor::is_neighbor_frame(ConstBytes frame) {
  std::size_t at = 12;  // the EtherType, or the first tag's TPID
  if (frame.size() < at + 2) {
    return false;
  }
  std::uint16_t type = load_be16(frame, at);
  for (std::size_t i = 0; i < kMaxVlanDepth && wire::is_vlan_tpid(type); ++i) {
    at += wire::VlanTagView::kSize;
    if (frame.size() < at + 2) {
      return false;
    }
    type = load_be16(frame, at);
  }
  at += 2;
  if (type == kEtherTypeArp) {
    return true;
  }
  if (type != kEtherTypeIpv6 || frame.size() <= at + kIpv6HeaderSize) {
    return false;
  }
  const std::uint8_t icmp_type = load_u8(frame, at + kIpv6HeaderSize);
  return load_u8(frame, at + 6) == kNextHeaderIcmpv6 &&
         (icmp_type == wire::kIcmpv6NeighborSolicit || icmp_type == wire::kIcmpv6NeighborAdvert);
}

bool Neighbor::offer(ConstBytes frame) {
  return is_neighbor_frame(frame) && enqueue(frame);
}

bool Neighbor::deliver(const datapath::Frame& frame, const datapath::L2Header& /*header*/) {
  return enqueue(frame.data());
}

bool Neighbor::enqueue(ConstBytes data) {
  const std::lock_guard lock(ring_mutex_);
  if (ring_count_ == kRingSlots || data.size() > kSlotBytes) {
    return false;
  }
  const std::size_t i = (ring_head_ + ring_count_) % kRingSlots;
  std::copy(data.begin(), data.end(), ring_[i].begin());
  ring_sizes_[i] = data.size();
  ++ring_count_;
  ring_ready_.notify_one();
  return true;
}

void Neighbor::relay_stopped() {
  {
    const std::lock_guard lock(ring_mutex_);
    stopping_ = true;
  }
  ring_ready_.notify_all();
}

void Neighbor::run() {
  std::array<std::byte, kSlotBytes> frame{};
  const wire::FrameParser parser;
  for (;;) {
    std::size_t size = 0;
    {
      std::unique_lock lock(ring_mutex_);
      ring_ready_.wait(lock, [&] { return ring_count_ > 0 || stopping_; });
      if (ring_count_ == 0) {
        return;
      }
      size = ring_sizes_[ring_head_];
      std::copy_n(ring_[ring_head_].begin(), size, frame.begin());
      ring_head_ = (ring_head_ + 1) % kRingSlots;
      --ring_count_;
    }
    auto parsed = parser.parse(ConstBytes(frame.data(), size));
    if (parsed) {
      handle(parsed.frame, std::nullopt);
    }
  }
}

}  // namespace etherpath::conn
