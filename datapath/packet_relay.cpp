// PacketRelay: engine and steering set-up, poll threads, demultiplexing, promiscuous mode, stats.
#include "datapath/packet_relay.hpp"

#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "bpf/steering_program.hpp"
#include "conn/wire/ethernet.hpp"
#include "datapath/pcap/pcap_engine.hpp"

namespace etherpath::datapath {

namespace {

// bpf::SteeringProgram as the engine's XskProgram (attached per mode the engine tries) and as
// the relay's Steering (map updates and counters).
class SteeringAdapter final : public xdp::XskProgram, public Steering {
 public:
  explicit SteeringAdapter(bool replace_foreign) : replace_foreign_(replace_foreign) {}

  Result<int> attach(const std::string& ifname, bool generic) override {
    bpf::SteeringOptions o;
    o.mode = generic ? bpf::XdpMode::generic : bpf::XdpMode::native;
    o.replace_foreign = replace_foreign_;
    EP_TRY(auto p, bpf::SteeringProgram::attach(ifname, std::move(o)));
    program_.emplace(std::move(p));
    // A replaced stale or foreign program is reported by the attach that replaced it; when the
    // engine then falls back to another mode and attaches again, the report must not be lost.
    const std::string d = program_->describe_attach();
    if (const auto at = d.find("replaced"); at != std::string::npos && replaced_note_.empty()) {
      replaced_note_ = d.substr(at);
    }
    return program_->xsks_map_fd();
  }
  void detach() override { program_.reset(); }

  Status add_l2(const MacAddress& mac, const VlanStack& vlans, std::uint16_t et) override {
    EP_TRY_STATUS(present());
    return program_->add_l2(bpf::L2Key{mac, vlans, et});
  }
  Status remove_l2(const MacAddress& mac, const VlanStack& vlans, std::uint16_t et) override {
    EP_TRY_STATUS(present());
    return program_->remove_l2(bpf::L2Key{mac, vlans, et});
  }
  Status add_multicast(const VlanStack& vlans, std::uint16_t et) override {
    EP_TRY_STATUS(present());
    return program_->add_multicast(bpf::VlanEtherTypeKey{vlans, et});
  }
  Status remove_multicast(const VlanStack& vlans, std::uint16_t et) override {
    EP_TRY_STATUS(present());
    return program_->remove_multicast(bpf::VlanEtherTypeKey{vlans, et});
  }
  Status add_default(const VlanStack& vlans, std::uint16_t et) override {
    EP_TRY_STATUS(present());
    return program_->add_default(bpf::VlanEtherTypeKey{vlans, et});
  }
  Status remove_default(const VlanStack& vlans, std::uint16_t et) override {
    EP_TRY_STATUS(present());
    return program_->remove_default(bpf::VlanEtherTypeKey{vlans, et});
  }
  Status add_owned(const VlanStack& vlans, const IpAddress& ip) override {
    EP_TRY_STATUS(present());
    return program_->add_owned(bpf::OwnedKey{vlans, ip});
  }
  Status remove_owned(const VlanStack& vlans, const IpAddress& ip) override {
    EP_TRY_STATUS(present());
    return program_->remove_owned(bpf::OwnedKey{vlans, ip});
  }
  Status add_l4(const L4Endpoint& key) override {
    EP_TRY_STATUS(present());
    return program_->add_l4(bpf::L4Key{key.vlans, key.address, key.protocol, key.port});
  }
  Status remove_l4(const L4Endpoint& key) override {
    EP_TRY_STATUS(present());
    return program_->remove_l4(bpf::L4Key{key.vlans, key.address, key.protocol, key.port});
  }
  [[nodiscard]] std::map<std::string, std::uint64_t> counters() const override {
    std::map<std::string, std::uint64_t> out;
    if (!program_) {
      return out;
    }
    auto c = program_->read_counters();
    if (!c) {
      return out;
    }
    for (std::size_t i = 0; i < bpf::kCounterCount; ++i) {
      out[std::string(bpf::counter_name(bpf::Counters::counter_at(i)))] = c->values[i];
    }
    return out;
  }
  [[nodiscard]] std::string describe() const override {
    if (!program_) {
      return "not attached";
    }
    std::string d = program_->describe_attach();
    if (!replaced_note_.empty() && d.find("replaced") == std::string::npos) {
      d += "; " + replaced_note_;
    }
    return d;
  }

 private:
  [[nodiscard]] Status present() const {
    if (!program_) {
      return fail(Errc::closed, "steering program not attached");
    }
    return ok();
  }
  bool replace_foreign_;
  std::string replaced_note_;
  std::optional<bpf::SteeringProgram> program_;
};

// The interface's own MAC (SIOCGIFHWADDR).
Result<MacAddress> interface_mac(const std::string& ifname) {
  const UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket");
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), std::min(ifname.size(), std::size_t{IFNAMSIZ - 1}));
  if (::ioctl(fd.get(), SIOCGIFHWADDR, &ifr) != 0) {
    return fail_errno(ifname + ": reading the MAC address");
  }
  MacAddress::Octets o{};
  std::memcpy(o.data(), ifr.ifr_hwaddr.sa_data, o.size());
  return MacAddress(o);
}

}  // namespace

Result<std::unique_ptr<PacketRelay>> PacketRelay::open(const std::string& ifname,
                                                       RelayOptions options) {
  EP_TRY(const MacAddress mac, interface_mac(ifname));
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Steering> steering;
  if (options.engine == EngineKind::pcap) {
    pcap::PcapEngineOptions po;
    po.ifname = ifname;
    po.filter = options.pcap_filter;
    EP_TRY(engine, pcap::PcapEngine::create(po));
  } else {
    auto adapter = std::make_unique<SteeringAdapter>(options.replace_foreign);
    xdp::XdpEngineOptions xo;
    xo.ifname = ifname;
    xo.queues = options.queues;
    xo.mode = options.xdp_mode;
    xo.frames_per_queue = options.frames_per_queue;
    xo.frame_size = options.frame_size;
    xo.socket.busy_poll = options.busy_poll;
    xo.program = adapter.get();
    if (options.share_umem_with != nullptr) {
      auto* other = dynamic_cast<xdp::XdpEngine*>(options.share_umem_with->engine());
      if (other == nullptr) {
        return fail(Errc::invalid_argument, ifname + ": UMEM sharing needs an AF_XDP relay");
      }
      xo.shared_umem = other->umem();
      xo.mode = other->xdp_mode();
    }
    auto e = xdp::XdpEngine::create(xo);
    if (!e) {
      return fail(std::move(e).error());
    }
    engine = std::move(*e);
    steering = std::move(adapter);
  }
  EP_TRY(auto relay,
         open_with(std::move(engine), std::move(steering), ifname, mac, std::move(options)));
  EP_TRY_STATUS(relay->prepare_promiscuous());
  return relay;
}

Result<std::unique_ptr<PacketRelay>> PacketRelay::open_with(std::unique_ptr<Engine> engine,
                                                            std::unique_ptr<Steering> steering,
                                                            std::string ifname, MacAddress own_mac,
                                                            RelayOptions options) {
  std::unique_ptr<PacketRelay> r(new PacketRelay());
  r->ifname_ = std::move(ifname);
  r->own_mac_ = own_mac;
  r->options_ = std::move(options);
  r->engine_kind_ = std::string(engine->kind());
  r->mode_ = engine->mode();
  r->queue_count_ = engine->queue_count();
  r->steering_ = std::move(steering);
  r->engine_ = std::move(engine);
  for (std::size_t q = 0; q < r->queue_count_; ++q) {
    r->queues_.push_back(std::make_unique<QueueState>());
  }
  EP_TRY_STATUS(r->start());
  return r;
}

Status PacketRelay::start() {
  if (!options_.own_threads) {
    return ok();
  }
  for (std::size_t q = 0; q < queue_count_; ++q) {
    threads_.emplace_back([this, q] { poll_loop(q); });
  }
  return ok();
}

PacketRelay::~PacketRelay() {
  stop();
}

void PacketRelay::poll_loop(std::size_t q) {
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    const Status st = poll_once(q, options_.poll_timeout);
    if (!st) {
      {
        const std::lock_guard lock(error_mutex_);
        if (!error_) {
          error_ = st.error();
        }
      }
      stop_requested_ = true;
      // Readers learn now, not when someone calls stop().
      const std::shared_lock lock(registry_mutex_);
      notify_stopped();
      stopped_ = true;
      return;
    }
  }
}

Status PacketRelay::poll_once(std::size_t q, std::chrono::milliseconds timeout) {
  if (stopped_.load(std::memory_order_relaxed) || !engine_) {
    return fail(Errc::relay_stopped, ifname_ + ": relay stopped");
  }
  QueueState& qs = *queues_[q];
  {
    const std::lock_guard lock(qs.mutex);
    engine_->receive(q, qs.rx);
    if (qs.rx.empty()) {
      engine_->flush(q);  // completions of other threads' sends go back to the pool too
    }
  }
  if (qs.rx.empty()) {
    auto ready = engine_->wait(q, timeout);
    if (!ready) {
      return fail(std::move(ready).error());
    }
    return ok();
  }
  demux(q, qs);
  {
    const std::lock_guard lock(qs.mutex);
    engine_->release(q, qs.rx);
    engine_->flush(q);
  }
  return ok();
}

bool PacketRelay::matches(const Subscription& s, const L2Header& h) {
  return s.ether_type == h.ether_type && s.outer == h.vlans.id_or_none(0) &&
         s.inner == h.vlans.id_or_none(1);
}

void PacketRelay::notify_stopped() {
  for (auto& [receiver, keys] : receiver_keys_) {
    receiver->relay_stopped();
  }
  for (auto& s : defaults_) {
    if (!receiver_keys_.contains(s.receiver)) {
      s.receiver->relay_stopped();
    }
  }
}

void PacketRelay::demux(std::size_t q, QueueState& qs) {
  RelayCounters& c = qs.counters;
  const std::shared_lock lock(registry_mutex_);  // once per batch
  const std::size_t offered = qs.rx.size();
  // In passes over the batch rather than frame by frame: with thousands of hosts each frame's
  // table slot and receiver are cache misses, and issuing the loads of the whole batch before
  // using any of them lets the misses overlap instead of queueing one after the other.
  for (std::size_t i = 0; i < offered; ++i) {
    __builtin_prefetch(qs.rx[i].data().data());  // written by the kernel on another CPU
  }
  for (std::size_t i = 0; i < offered; ++i) {
    qs.parsed[i] = parse_l2(qs.rx[i].data());
    if (qs.parsed[i]) {
      qs.hashes[i] = L2Table::hash(qs.parsed[i].header.key);
      endpoints_.prefetch(qs.hashes[i]);
    }
  }
  for (std::size_t i = 0; i < offered; ++i) {
    const L2ParseResult& p = qs.parsed[i];
    qs.targets[i] = p ? endpoints_.lookup(p.header.key, qs.hashes[i]) : L2Target{};
    if (qs.targets[i].receiver != nullptr) {
      __builtin_prefetch(qs.targets[i].receiver, 0);  // its vtable, for the call
      __builtin_prefetch(qs.targets[i].hot, 1);
    }
  }
  for (std::size_t i = 0; i < offered; ++i) {
    if (qs.targets[i].receiver != nullptr) {
      if (const void* slot = qs.targets[i].receiver->next_write(); slot != nullptr) {
        __builtin_prefetch(slot, 1);
      }
    }
  }
  bool staged_any = false;
  std::size_t keep = 0;  // frames the relay releases after the batch (all but fast-path ones)
  for (std::size_t i = 0; i < offered; ++i) {
    const Frame f = qs.rx[i];
    const L2ParseResult& parsed = qs.parsed[i];
    if (!parsed) {
      c.rx_invalid.add();
      (parsed.drop == L2Drop::truncated ? c.drop_truncated : c.drop_vlan_too_deep).add();
      qs.rx[keep++] = f;
      continue;
    }
    const L2Header& h = parsed.header;
    const L2Target target = qs.targets[i];
    if (target.fast_path >= 0) {
      qs.staged[static_cast<std::size_t>(target.fast_path)].push(f);  // the callback owns it
      staged_any = true;
      continue;
    }
    qs.rx[keep++] = f;
    if (target.receiver != nullptr && defaults_.empty()) {
      // The common case, without the default receiver's search.
      if (target.receiver->deliver(f, h)) {
        c.rx.add();
      } else {
        c.rx_buffer_full.add();
      }
      continue;
    }
    Receiver* default_receiver = nullptr;
    for (const auto& s : defaults_) {
      if (matches(s, h)) {
        default_receiver = s.receiver;
        break;
      }
    }
    auto to_default = [&] {
      if (default_receiver != nullptr && default_receiver->deliver(f, h)) {
        c.rx_default.add();
        return true;
      }
      return false;
    };
    if (target.receiver != nullptr) {
      if (target.receiver->deliver(f, h)) {
        c.rx.add();
      } else {
        c.rx_buffer_full.add();
      }
      if (options_.mirror_to_default) {
        to_default();
      }
      continue;
    }
    if (h.dst.is_multicast()) {
      bool any = false;
      for (const auto& s : multicast_) {
        if (matches(s, h)) {
          any = s.receiver->deliver(f, h) || any;
        }
      }
      if (any) {
        c.rx_non_hit_multicast.add();
      }
      if (!to_default() && !any) {
        c.rx_multicast_ignored.add();
      }
      continue;
    }
    if (!to_default()) {
      c.rx_miss.add();
    }
  }
  qs.rx.truncate(keep);
  // Counted last, so that a reader who sees rx_offered move also sees where the frames went.
  c.rx_offered.add(offered);
  if (!staged_any) {
    return;
  }
  for (std::size_t i = 0; i < fast_paths_.size(); ++i) {
    FrameBatch& b = qs.staged[i];
    if (b.empty()) {
      continue;
    }
    c.rx.add(b.size());
    fast_paths_[i](q, b);
    if (!b.empty()) {
      release(q, b);
    }
  }
}

Status PacketRelay::prepare_promiscuous() {
  ifindex_ = ::if_nametoindex(ifname_.c_str());
  // protocol 0: the socket receives nothing, it only carries the membership.
  promisc_fd_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!promisc_fd_ || ifindex_ == 0) {
    return fail_errno(ifname_ + ": packet socket for promiscuous mode");
  }
  return ok();
}

Status PacketRelay::ensure_promiscuous(const MacAddress& mac) {
  if (mac == own_mac_ || mac.is_multicast() || promiscuous_.load() || !promisc_fd_) {
    return ok();
  }
  const std::lock_guard lock(promisc_mutex_);
  if (promiscuous_.load()) {
    return ok();
  }
  // The kernel drops a packet socket's membership when the socket closes, also when the process
  // is killed: the interface's promiscuity count goes back to what it was.
  packet_mreq mreq{};
  mreq.mr_ifindex = static_cast<int>(ifindex_);
  mreq.mr_type = PACKET_MR_PROMISC;
  if (::setsockopt(promisc_fd_.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
    return fail_errno(ifname_ + ": turning promiscuous mode on");
  }
  promiscuous_ = true;
  return ok();
}

Status PacketRelay::register_receiver(Receiver* receiver, const Registration& reg) {
  if (stopped()) {
    return fail(Errc::relay_stopped, ifname_ + ": relay stopped");
  }
  if (reg.ether_types.empty()) {
    return fail(Errc::invalid_argument, "registration without EtherTypes");
  }
  EP_TRY_STATUS(ensure_promiscuous(reg.mac));
  const std::unique_lock lock(registry_mutex_);
  for (const std::uint16_t et : reg.ether_types) {
    const auto key = wire::L2Key::make(reg.mac, reg.vlans, et);
    if (steering_) {
      EP_TRY_STATUS(steering_->add_l2(reg.mac, reg.vlans, et));
    }
    endpoints_.insert_or_assign(key, L2Target{receiver, receiver->hot_line(), -1});
    receiver_keys_[receiver].push_back(key);
    const Subscription sub{receiver, reg.vlans.id_or_none(0), reg.vlans.id_or_none(1), et};
    if (reg.receive_multicast) {
      if (steering_) {
        EP_TRY_STATUS(steering_->add_multicast(reg.vlans, et));
      }
      multicast_.push_back(sub);
    }
    if (reg.is_default) {
      if (steering_) {
        EP_TRY_STATUS(steering_->add_default(reg.vlans, et));
      }
      // The newest default for a VLAN stack + EtherType wins, as a re-registered key does.
      std::erase_if(defaults_, [&](const Subscription& s) {
        return s.outer == sub.outer && s.inner == sub.inner && s.ether_type == et;
      });
      defaults_.push_back(sub);
    }
  }
  return ok();
}

namespace {

// The VLAN stack of a key's IDs: what the steering maps are keyed by (they hold no TPIDs).
VlanStack vlans_of(std::uint16_t outer, std::uint16_t inner) {
  VlanStack v;
  if (outer != VlanStack::kNoVlan) {
    v.push_back({.id = outer});
  }
  if (inner != VlanStack::kNoVlan) {
    v.push_back({.id = inner});
  }
  return v;
}

}  // namespace

void PacketRelay::deregister(Receiver* receiver) {
  const std::unique_lock lock(registry_mutex_);
  if (auto keys = receiver_keys_.find(receiver); keys != receiver_keys_.end()) {
    for (const wire::L2Key& key : keys->second) {
      // A key another receiver registered since (etherconn's override) is that one's now.
      const auto t = endpoints_.find(key);
      if (!t || t->receiver != receiver) {
        continue;
      }
      endpoints_.erase(key);
      if (steering_ && !stopped()) {
        (void)steering_->remove_l2(key.mac_address(), vlans_of(key.outer_vlan, key.inner_vlan),
                                   key.ether_type);
      }
    }
    receiver_keys_.erase(keys);
  }
  auto drop = [&](std::vector<Subscription>& subs, bool multicast) {
    for (const auto& s : subs) {
      if (s.receiver != receiver || !steering_ || stopped()) {
        continue;
      }
      const VlanStack v = vlans_of(s.outer, s.inner);
      // Still wanted by another receiver? Then the map entry stays.
      const bool shared = std::any_of(subs.begin(), subs.end(), [&](const Subscription& o) {
        return o.receiver != receiver && o.outer == s.outer && o.inner == s.inner &&
               o.ether_type == s.ether_type;
      });
      if (!shared) {
        (void)(multicast ? steering_->remove_multicast(v, s.ether_type)
                         : steering_->remove_default(v, s.ether_type));
      }
    }
    std::erase_if(subs, [&](const Subscription& s) { return s.receiver == receiver; });
  };
  drop(multicast_, true);
  drop(defaults_, false);
}

Status PacketRelay::add_owned(const VlanStack& vlans, const IpAddress& ip) {
  const std::unique_lock lock(registry_mutex_);
  return steering_ ? steering_->add_owned(vlans, ip) : ok();
}

Status PacketRelay::remove_owned(const VlanStack& vlans, const IpAddress& ip) {
  const std::unique_lock lock(registry_mutex_);
  if (!steering_ || stopped()) {
    return ok();
  }
  return steering_->remove_owned(vlans, ip);
}

Status PacketRelay::on_batch(const MacAddress& mac, const VlanStack& vlans,
                             std::uint16_t ether_type, BatchFn fn) {
  EP_TRY_STATUS(ensure_promiscuous(mac));
  const std::unique_lock lock(registry_mutex_);
  if (steering_) {
    EP_TRY_STATUS(steering_->add_l2(mac, vlans, ether_type));
  }
  fast_paths_.push_back(std::move(fn));
  for (auto& qs : queues_) {
    qs->staged.resize(fast_paths_.size());
  }
  endpoints_.insert_or_assign(
      wire::L2Key::make(mac, vlans, ether_type),
      L2Target{nullptr, nullptr, static_cast<std::int32_t>(fast_paths_.size() - 1)});
  return ok();
}

Status PacketRelay::on_l4_batch(const L4Endpoint& key, BatchFn fn) {
  const std::uint16_t ether_type =
      key.address.is_v4() ? wire::kEtherTypeIpv4 : wire::kEtherTypeIpv6;
  const wire::L2Key l2 = wire::L2Key::make(own_mac_, key.vlans, ether_type);
  const std::unique_lock lock(registry_mutex_);
  const auto existing = endpoints_.find(l2);
  const bool has_fast_path = existing && existing->fast_path >= 0;
  if (fn && has_fast_path) {
    return fail(Errc::already_exists,
                fmt::format("{}: {} on {} already has a fast path (pass an empty function to add "
                            "another flow to it)",
                            ifname_, key.address.is_v4() ? "IPv4" : "IPv6", key.vlans.to_string()));
  }
  if (!fn && !has_fast_path) {
    return fail(Errc::invalid_argument,
                fmt::format("{}: no fast path for {} on {} to add a flow to", ifname_,
                            key.address.is_v4() ? "IPv4" : "IPv6", key.vlans.to_string()));
  }
  if (std::find(l4_endpoints_.begin(), l4_endpoints_.end(), key) != l4_endpoints_.end()) {
    return fail(Errc::already_exists,
                fmt::format("{}: flow {} proto {} port {} is registered already", ifname_,
                            key.address.to_string(), key.protocol, key.port));
  }
  if (steering_) {
    EP_TRY_STATUS(steering_->add_l4(key));
  }
  l4_endpoints_.push_back(key);
  if (fn) {
    fast_paths_.push_back(std::move(fn));
    for (auto& qs : queues_) {
      qs->staged.resize(fast_paths_.size());
    }
    endpoints_.insert_or_assign(
        l2, L2Target{nullptr, nullptr, static_cast<std::int32_t>(fast_paths_.size() - 1)});
  }
  return ok();
}

Status PacketRelay::remove_l4(const L4Endpoint& key) {
  const std::unique_lock lock(registry_mutex_);
  auto it = std::find(l4_endpoints_.begin(), l4_endpoints_.end(), key);
  if (it == l4_endpoints_.end()) {
    return ok();
  }
  l4_endpoints_.erase(it);
  if (!steering_ || stopped()) {
    return ok();
  }
  return steering_->remove_l4(key);
}

std::size_t PacketRelay::send_queue() const {
  if (queue_count_ <= 1) {
    return 0;
  }
  // One queue per sending thread, picked once: threads spread over the queues' locks and TX
  // rings, and each thread's frames keep their order on its queue.
  static std::atomic<std::size_t> next_thread{0};
  thread_local const std::size_t thread_slot = next_thread.fetch_add(1);
  return thread_slot % queue_count_;
}

Status PacketRelay::send(ConstBytes frame) {
  if (stopped() || !engine_) {
    return fail(Errc::relay_stopped, ifname_ + ": relay stopped");
  }
  const std::size_t q = send_queue();
  QueueState& qs = *queues_[q];
  const std::lock_guard lock(qs.mutex);
  FrameBatch b;
  if (engine_->alloc(q, b, 1) != 1) {
    engine_->flush(q);  // completions may free some
    if (engine_->alloc(q, b, 1) != 1) {
      qs.counters.tx_no_frame.add();
      return fail(Errc::no_space, ifname_ + ": no free frame to send");
    }
  }
  if (!b[0].resize(static_cast<std::uint32_t>(frame.size()))) {
    engine_->release(q, b);
    return fail(Errc::invalid_argument, ifname_ + ": frame of " + std::to_string(frame.size()) +
                                            " bytes does not fit a buffer");
  }
  std::memcpy(b[0].data().data(), frame.data(), frame.size());
  if (engine_->transmit(q, b) != 1) {
    engine_->flush(q);
    if (engine_->transmit(q, b) != 1) {
      engine_->release(q, b);
      return fail(Errc::no_space, ifname_ + ": TX ring full");
    }
  }
  engine_->flush(q);
  qs.counters.tx.add();
  return ok();
}

std::size_t PacketRelay::transmit(std::size_t q, FrameBatch& batch) {
  if (stopped() || !engine_) {
    return 0;
  }
  QueueState& qs = *queues_[q];
  const std::lock_guard lock(qs.mutex);
  const std::size_t n = engine_->transmit(q, batch);
  engine_->flush(q);
  qs.counters.tx.add(n);
  return n;
}

void PacketRelay::release(std::size_t q, FrameBatch& batch) {
  if (!engine_) {
    batch.clear();
    return;
  }
  const std::lock_guard lock(queues_[q]->mutex);
  engine_->release(q, batch);
}

void PacketRelay::stop() {
  stop_requested_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
  if (!stopped_.exchange(true) || engine_) {
    const std::shared_lock lock(registry_mutex_);
    notify_stopped();
  }
  {
    // A send() on another thread holds its queue's lock while it uses the engine.
    std::vector<std::unique_lock<std::mutex>> locks;
    for (auto& qs : queues_) {
      locks.emplace_back(qs->mutex);
    }
    engine_.reset();  // closes the sockets, then detaches the program (through steering_)
  }
  steering_.reset();  // frees the program and its maps
  promisc_fd_.reset();
  promiscuous_ = false;
}

std::optional<Error> PacketRelay::error() const {
  const std::lock_guard lock(error_mutex_);
  return error_;
}

std::string PacketRelay::steering_description() const {
  return steering_ ? steering_->describe() : std::string("none");
}

RelayStats PacketRelay::stats() const {
  RelayStats s;
  for (const auto& qs : queues_) {
    const RelayCounters& c = qs->counters;
    s.tx += c.tx.get();
    s.rx_offered += c.rx_offered.get();
    s.rx_invalid += c.rx_invalid.get();
    s.rx_buffer_full += c.rx_buffer_full.get();
    s.rx_miss += c.rx_miss.get();
    s.rx += c.rx.get();
    s.rx_default += c.rx_default.get();
    s.rx_non_hit_multicast += c.rx_non_hit_multicast.get();
    s.rx_multicast_ignored += c.rx_multicast_ignored.get();
    s.drop_truncated += c.drop_truncated.get();
    s.drop_vlan_too_deep += c.drop_vlan_too_deep.get();
    s.tx_no_frame += c.tx_no_frame.get();
  }
  return s;
}

nlohmann::json PacketRelay::stats_json() const {
  const RelayStats s = stats();
  nlohmann::json j;
  j["interface"] = ifname_;
  j["engine"] = engine_kind_;
  j["mode"] = mode_;
  j["promiscuous"] = promiscuous();
  j["tx"] = s.tx;
  j["rx_offered"] = s.rx_offered;
  j["rx_invalid"] = s.rx_invalid;
  j["rx_buffer_full"] = s.rx_buffer_full;
  j["rx_miss"] = s.rx_miss;
  j["rx"] = s.rx;
  j["rx_default"] = s.rx_default;
  j["rx_non_hit_multicast"] = s.rx_non_hit_multicast;
  j["rx_multicast_ignored"] = s.rx_multicast_ignored;
  j["drops"] = {{"truncated", s.drop_truncated},
                {"vlan_too_deep", s.drop_vlan_too_deep},
                {"buffer_full", s.rx_buffer_full},
                {"tx_no_frame", s.tx_no_frame}};
  if (steering_) {
    j["steering"] = steering_->counters();
    j["steering_attach"] = steering_->describe();
  }
  if (const auto* x = dynamic_cast<const xdp::XdpEngine*>(engine_.get()); x != nullptr) {
    j["xdp_fallback"] = x->fallback_log();  // why the faster modes were not used
  }
  nlohmann::json queues = nlohmann::json::array();
  if (engine_) {
    for (std::size_t q = 0; q < engine_->queue_count(); ++q) {
      const QueueStats qs = engine_->stats(q);
      queues.push_back({{"queue", engine_->queue_id(q)},
                        {"rx_packets", qs.rx_packets},
                        {"tx_packets", qs.tx_packets},
                        {"tx_completed", qs.tx_completed},
                        {"tx_kicks", qs.tx_kicks},
                        {"rx_dropped", qs.kernel_rx_dropped},
                        {"rx_invalid_descs", qs.kernel_rx_invalid_descs},
                        {"tx_invalid_descs", qs.kernel_tx_invalid_descs},
                        {"rx_ring_full", qs.kernel_rx_ring_full},
                        {"rx_fill_ring_empty_descs", qs.kernel_rx_fill_ring_empty_descs},
                        {"tx_ring_empty_descs", qs.kernel_tx_ring_empty_descs}});
    }
  }
  j["queues"] = queues;
  return j;
}

}  // namespace etherpath::datapath
