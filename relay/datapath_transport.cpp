// DatapathTransport: steering by L4 key, port reservations, the receive loop over the relays'
// queues, in-place header rewrite and same-frame transmit.
#include "relay/datapath_transport.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "conn/wire/icmp.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::relay {
namespace {

constexpr std::size_t kPortSpace = 65536;
constexpr std::uint32_t kStreak = 8;
// Frames of the shared UMEM a relay with an emulated host keeps for its own sends (ARP/NDP).
constexpr std::size_t kEmulatedReserve = 64;

std::size_t family_index(const IpAddress& a) {
  return a.is_v4() ? 0 : 1;
}

bool is_echo_request(std::uint8_t protocol, std::uint8_t type) {
  return protocol == kProtoIcmp ? type == wire::kIcmpv4EchoRequest
                                : type == wire::kIcmpv6EchoRequest;
}

bool is_echo_reply(std::uint8_t protocol, std::uint8_t type) {
  return protocol == kProtoIcmp ? type == wire::kIcmpv4EchoReply : type == wire::kIcmpv6EchoReply;
}

Result<IpEndpoint> local_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {  // NOLINT
    return fail_errno("getsockname");
  }
  return IpEndpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);  // NOLINT
}

// The source address the kernel's routes pick towards `remote` (a connected UDP socket sends
// nothing).
Result<IpAddress> route_source(const IpEndpoint& remote) {
  const UniqueFd fd(
      ::socket(remote.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket");
  }
  sockaddr_storage ss{};
  IpEndpoint to = remote;
  if (to.port == 0) {
    to.port = 9;  // any port: connect() only looks up the route
  }
  const socklen_t len = to.to_sockaddr(ss);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return fail_errno(fmt::format("no route to {}", remote.address.to_string()));
  }
  EP_TRY(auto local, local_endpoint(fd.get()));
  return local.address;
}

}  // namespace

DatapathTransport::DatapathTransport(DatapathTransportOptions options,
                                     datapath::PacketRelay& client_side,
                                     datapath::PacketRelay& upstream_side)
    : options_(std::move(options)),
      relays_{&client_side, &upstream_side},
      relay_count_(&client_side == &upstream_side ? 1 : 2),
      udp_ports_(kPortSpace, kNoPort),
      echo_ids_(kPortSpace, kNoPort) {
  const auto seed = static_cast<std::uint16_t>(::getpid());
  next_echo_id_ =
      options_.first_echo_id != 0 ? options_.first_echo_id : static_cast<std::uint16_t>(seed | 1U);
}

DatapathTransport::~DatapathTransport() {
  release_held();
  for (std::size_t id = 0; id < ports_.size(); ++id) {
    const bool emulated =
        id == kListenerPort ? options_.listen_mac.has_value() : options_.upstream_mac.has_value();
    if (ports_[id].open && !emulated) {
      (void)relays_[id == kListenerPort ? 0 : relay_count_ - 1]->remove_l4(
          id == kListenerPort ? listener_key() : upstream_key(ports_[id]));
    }
  }
}

Result<std::unique_ptr<DatapathTransport>> DatapathTransport::open(
    const DatapathTransportOptions& options, datapath::PacketRelay& client_side,
    datapath::PacketRelay& upstream_side) {
  if (options.listen.address.is_unspecified()) {
    return fail(Errc::invalid_argument,
                fmt::format("--here {}: the datapath engines need one of {}'s addresses",
                            options.listen.to_string(), client_side.ifname()));
  }
  std::unique_ptr<DatapathTransport> t(new DatapathTransport(options, client_side, upstream_side));
  if (options.upstream_mac && !options.upstream_local) {
    return fail(Errc::invalid_argument,
                "--there-mac: an emulated upstream-side host needs its address (--there-src)");
  }
  if (!t->options_.upstream_local) {
    EP_TRY(auto local, route_source(options.upstream));
    t->options_.upstream_local = local;
  }
  if (t->options_.upstream_local->family() != options.upstream.address.family()) {
    return fail(Errc::invalid_argument,
                "the upstream-side address and the upstream differ in family");
  }
  EP_TRY_STATUS(t->start());
  return t;
}

Status DatapathTransport::start() {
  for (std::size_t r = 0; r < relay_count_; ++r) {
    for (std::size_t q = 0; q < relays_[r]->queue_count(); ++q) {
      sources_.emplace_back(r, q);
    }
  }
  if (options_.upstream_mac) {
    const std::size_t up = relay_count_ - 1;
    const std::uint16_t ether_type = options_.upstream_local->is_v4() ? 0x0800 : 0x86dd;
    EP_TRY_STATUS(
        relays_[up]->on_batch(*options_.upstream_mac, options_.upstream_vlans, ether_type,
                              [this, up](std::size_t queue, datapath::FrameBatch& frames) {
                                on_frames(up, queue, frames);
                              }));
  }
  Port listener;
  listener.icmp = options_.listen_proto == Proto::icmp;
  if (options_.listen_mac) {
    if (!listener.icmp && options_.listen.port == 0) {
      return fail(
          Errc::invalid_argument,
          "--here: an emulated UDP listener needs a fixed port (no kernel socket picks one)");
    }
    listener.id = options_.listen.port;
    listener.open = true;
    ports_.push_back(std::move(listener));
    const std::uint16_t ether_type = options_.listen.address.is_v4() ? 0x0800 : 0x86dd;
    return relays_[0]->on_batch(
        *options_.listen_mac, options_.listen_vlans, ether_type,
        [this](std::size_t queue, datapath::FrameBatch& frames) { on_frames(0, queue, frames); });
  }
  if (!listener.icmp) {
    EP_TRY(listener.reservation, reserve_udp(options_.listen));
    EP_TRY(auto bound, local_endpoint(listener.reservation.get()));
    options_.listen.port = bound.port;
  }
  listener.id = options_.listen.port;
  listener.open = true;
  ports_.push_back(std::move(listener));
  if (auto st = steer(0, listener_key()); !st) {
    ports_[0].open = false;
    return st;
  }
  return ok();
}

Result<UniqueFd> DatapathTransport::reserve_udp(const IpEndpoint& local) {
  UniqueFd fd(::socket(local.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket");
  }
  // The socket only holds the port: with libpcap the kernel also delivers our datagrams to it,
  // and a tiny buffer drops them at once instead of holding memory.
  const int small = 1;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  if (local.address.is_v6()) {
    const int on = 1;
    (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  sockaddr_storage ss{};
  const socklen_t len = local.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return fail_errno(fmt::format("reserving UDP {}", local.to_string()));
  }
  return fd;
}

datapath::L4Endpoint DatapathTransport::listener_key() const {
  const bool icmp = options_.listen_proto == Proto::icmp;
  return datapath::L4Endpoint{{},
                              options_.listen.address,
                              icmp ? icmp_protocol(options_.listen.address) : kProtoUdp,
                              options_.listen.port};
}

datapath::L4Endpoint DatapathTransport::upstream_key(const Port& p) const {
  const IpAddress& local = *options_.upstream_local;
  return datapath::L4Endpoint{{}, local, p.icmp ? icmp_protocol(local) : kProtoUdp, p.id};
}

Status DatapathTransport::steer(std::size_t relay, const datapath::L4Endpoint& key) {
  bool& has = has_fn_[relay][family_index(key.address)];
  datapath::PacketRelay::BatchFn fn;
  if (!has) {
    fn = [this, relay](std::size_t queue, datapath::FrameBatch& frames) {
      on_frames(relay, queue, frames);
    };
  }
  EP_TRY_STATUS(relays_[relay]->on_l4_batch(key, std::move(fn)));
  has = true;
  return ok();
}

PortId DatapathTransport::match(std::size_t relay, const IpAddress& dst, std::uint8_t protocol,
                                std::uint16_t port, std::uint8_t icmp_type) const {
  if (relay == 0 && ports_[kListenerPort].open && same_address(dst, options_.listen.address)) {
    if (options_.listen_proto == Proto::udp) {
      if (protocol == kProtoUdp && port == options_.listen.port) {
        return kListenerPort;
      }
    } else if (protocol == icmp_protocol(dst) && is_echo_request(protocol, icmp_type) &&
               (options_.listen.port == 0 || port == options_.listen.port)) {
      return kListenerPort;
    }
  }
  if (relay == relay_count_ - 1 && same_address(dst, *options_.upstream_local)) {
    if (options_.upstream_proto == Proto::udp) {
      return protocol == kProtoUdp ? udp_ports_[port] : kNoPort;
    }
    if (protocol == icmp_protocol(dst) && is_echo_reply(protocol, icmp_type)) {
      return echo_ids_[port];
    }
  }
  return kNoPort;
}

void DatapathTransport::learn_client(const IpAddress& ip, const MacAddress& mac) {
  if (last_learned_ != nullptr && same_mac(last_learned_->mac, mac) &&
      same_address(last_learned_->ip, ip)) {
    return;  // the same client as the frame before: no hashing
  }
  ClientMac& slot = client_macs_[std::hash<IpAddress>{}(ip) % client_macs_.size()];
  if (!slot.valid || slot.ip != ip || slot.mac != mac) {
    slot = ClientMac{ip, mac, true};
  }
  last_learned_ = &slot;
}

std::optional<MacAddress> DatapathTransport::client_mac(const IpAddress& ip) const {
  const ClientMac& slot = client_macs_[std::hash<IpAddress>{}(ip) % client_macs_.size()];
  if (slot.valid && same_address(slot.ip, ip)) {
    return slot.mac;
  }
  return std::nullopt;
}

void DatapathTransport::on_frames(std::size_t relay, std::size_t /*queue*/,
                                  datapath::FrameBatch& frames) {
  std::size_t keep = 0;  // frames left for the relay to release
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const datapath::Frame f = frames[i];
    if (rx_batch_ == nullptr || rx_batch_->full() || held_count_ == held_.size()) {
      // Outside receive() (a next-hop resolve pumping the relay) ARP/NDP still reaches the
      // Neighbor: the answer to its own solicitation comes in on the emulated host's key.
      (void)offer_neighbor(relay, f.data());
      frames[keep++] = f;
      continue;
    }
    const RxParse p = parse_rx(f.data());
    if (!p) {
      // Broken beyond the key of one of our flows: counted by reason. Frames of other flows
      // (libpcap hands over all of the own MAC's traffic) are the kernel's business.
      const auto key = peek_key(f.data());
      if (key && match(relay, key->dst, key->protocol, key->port, key->icmp_type) != kNoPort) {
        counters_.malformed[static_cast<std::size_t>(p.drop)].add();
        if (p.checksum_offloaded) {
          counters_.checksum_offloaded.add();
        }
      } else if (!offer_neighbor(relay, f.data())) {
        counters_.not_ours.add();
      }
      frames[keep++] = f;
      continue;
    }
    const RxFrame& rx = p.frame;
    const bool udp = rx.protocol == kProtoUdp;
    const PortId id =
        match(relay, rx.dst, rx.protocol, udp ? rx.dst_port : rx.echo_id, rx.icmp_type);
    if (id == kNoPort) {
      if (!offer_neighbor(relay, f.data())) {
        counters_.not_ours.add();
      }
      frames[keep++] = f;
      continue;
    }
    if (id == kListenerPort) {
      if (udp && connected_client_ &&
          !same_endpoint(*connected_client_, IpEndpoint{rx.src, rx.src_port})) {
        counters_.filtered_connected.add();
        frames[keep++] = f;
        continue;
      }
      learn_client(rx.src, rx.src_mac);
    }
    Held& h = held_[held_count_];
    h.frame = f;
    h.rx = rx;
    h.rx_base = f.offset();
    h.relay = static_cast<std::uint8_t>(relay);
    h.taken = false;
    Datagram& d = rx_batch_->push_back();
    d.buffer = f.chunk();
    d.capacity = f.chunk_size();
    d.offset = f.offset() + rx.payload_offset;
    d.length = rx.payload_length;
    d.peer = IpEndpoint{rx.src, udp ? rx.src_port : std::uint16_t{0}};
    d.port = id;
    d.frame = held_count_++;
  }
  frames.truncate(keep);
}

void DatapathTransport::release_held() {
  for (std::size_t i = 0; i < held_count_; ++i) {
    if (!held_[i].taken) {
      release_[held_[i].relay].push(held_[i].frame);
    }
  }
  held_count_ = 0;
  for (std::size_t r = 0; r < relay_count_; ++r) {
    if (!release_[r].empty()) {
      relays_[r]->release(0, release_[r]);
      release_[r].clear();
    }
  }
}

void DatapathTransport::rebalance() {
  // XskSocket keeps completed TX frames in its own cache (up to fill + TX ring sizes) before it
  // gives any back to the shared pool; with a one-way flood from the client side to the upstream
  // side that cache would hoard the whole UMEM and the client side's fill ring run dry. Frames
  // are moved back explicitly: alloc on the side that sent, release on the side that received.
  // A side with an emulated host keeps a reserve of them: every other frame of the shared UMEM
  // sits on the two fill rings, and its relay sends the host's ARP/NDP answers from its cache.
  for (std::size_t r = 0; r < relay_count_ && relay_count_ == 2; ++r) {
    datapath::Engine* other = relays_[1 - r]->engine();
    auto* other_xdp = dynamic_cast<datapath::xdp::XdpEngine*>(other);
    const bool keep = other_xdp != nullptr && other_xdp->queue_count() != 0 &&
                      (r == 0 ? options_.upstream_mac : options_.listen_mac).has_value();
    while (owed_[r] > 0 && other != nullptr) {
      std::size_t want = std::min(owed_[r], datapath::FrameBatch::capacity());
      if (keep) {
        const std::size_t cached = other_xdp->socket(0).cached_frames();
        want = std::min(want, cached > kEmulatedReserve ? cached - kEmulatedReserve : 0);
        if (want == 0) {
          break;
        }
      }
      datapath::FrameBatch& b = release_[r];
      const std::size_t got = other->alloc(0, b, want);
      if (got == 0) {
        break;
      }
      owed_[r] -= std::min(owed_[r], got);
      relays_[r]->release(0, b);
      b.clear();
    }
  }
}

Status DatapathTransport::round(const DatagramBatch& batch) {
  // A queue yields at most one ring's batch, which always fits.
  const std::size_t n = sources_.size();
  for (std::size_t k = 0; k < n && batch.empty(); ++k) {
    const auto [r, q] = sources_[(next_source_ + k) % n];
    EP_TRY_STATUS(relays_[r]->poll_once(q, std::chrono::milliseconds(0)));
    if (!batch.empty()) {
      // A busy queue keeps the first turn for a few rounds: an idle queue polled first costs
      // three syscalls (poll and the link check) per batch. Then the others go first once.
      const std::size_t at = (next_source_ + k) % n;
      if (k == 0 && ++streak_ < kStreak) {
        next_source_ = at;
      } else {
        next_source_ = (at + 1) % n;
        streak_ = 0;
      }
    }
  }
  return ok();
}

std::size_t DatapathTransport::xdp_poll_fds(std::array<pollfd, 64>& fds) {
  std::size_t count = 0;
  for (const auto& [r, q] : sources_) {
    auto* x = dynamic_cast<datapath::xdp::XdpEngine*>(relays_[r]->engine());
    if (x == nullptr || count == fds.size()) {
      return 0;
    }
    fds[count++] = pollfd{x->socket(q).fd(), POLLIN, 0};
  }
  return count;
}

void DatapathTransport::drain_tx(std::size_t r) {
  auto* x = dynamic_cast<datapath::xdp::XdpEngine*>(relays_[r]->engine());
  if (x == nullptr || x->queue_count() == 0) {
    return;
  }
  // send() uses queue 0. An empty transmit() is the relay's locked flush: one kick while the TX
  // ring holds frames (copy mode sends up to 32 per sendto), then the completions are reaped.
  // The bound covers a full ring; a flush that finds the ring drained only reaps.
  const std::uint32_t limit = x->socket(0).outstanding_tx() / 32 + 2;
  for (std::uint32_t i = 0; i < limit && x->socket(0).outstanding_tx() > 0; ++i) {
    relays_[r]->transmit(0, tx_[r]);
  }
}

Result<std::size_t> DatapathTransport::receive(DatagramBatch& batch,
                                               std::chrono::milliseconds wait) {
  release_held();
  rebalance();
  batch.clear();
  rx_batch_ = &batch;
  struct Reset {
    DatagramBatch*& p;
    ~Reset() { p = nullptr; }
  } reset{rx_batch_};
  EP_TRY_STATUS(round(batch));
  if (!batch.empty() || wait.count() <= 0) {
    return batch.size();
  }
  // Nothing came. Whatever we sent must be out and its frames back on the fill rings before we
  // wait for more: a frame left in a TX ring or a completion cache cannot carry the next one in.
  for (std::size_t r = 0; r < relay_count_; ++r) {
    drain_tx(r);
  }
  rebalance();
  std::array<pollfd, 64> fds{};
  const std::size_t nfds = xdp_poll_fds(fds);
  if (nfds != 0) {
    if (options_.spin.count() > 0) {
      // A short bounded spin: a poll(2) without timeout per check, no sleep and no wake-up.
      const auto until = std::chrono::steady_clock::now() + options_.spin;
      do {
        if (::poll(fds.data(), nfds, 0) != 0) {  // frames, or an error the round reports
          EP_TRY_STATUS(round(batch));
          if (!batch.empty()) {
            return batch.size();
          }
        }
      } while (std::chrono::steady_clock::now() < until);
    }
    (void)::poll(fds.data(), nfds, static_cast<int>(wait.count()));
  } else if (sources_.size() == 1) {
    // poll_once waits on the ring and returns; the next round takes what arrived.
    EP_TRY_STATUS(relays_[0]->poll_once(0, wait));
  } else {
    // libpcap on two interfaces: short waits on each in turn.
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (batch.empty() && std::chrono::steady_clock::now() < deadline) {
      for (const auto& [r, q] : sources_) {
        EP_TRY_STATUS(relays_[r]->poll_once(q, std::chrono::milliseconds(1)));
        EP_TRY_STATUS(round(batch));
        if (!batch.empty()) {
          break;
        }
      }
    }
    return batch.size();
  }
  EP_TRY_STATUS(round(batch));
  return batch.size();
}

void DatapathTransport::send(DatagramBatch& batch) {
  const std::size_t upstream_relay = relay_count_ - 1;
  const TxSide client_side{options_.listen_mac.value_or(relays_[0]->own_mac()),
                           options_.listen_vlans, options_.listen.address};
  const TxSide upstream_side{options_.upstream_mac.value_or(relays_[upstream_relay]->own_mac()),
                             options_.upstream_vlans, *options_.upstream_local};
  std::array<const void*, 2> same_pool{};  // a pool each relay's engine sends without a copy
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Datagram& d = batch[i];
    if (d.verdict != Verdict::forward) {
      continue;
    }
    Held& h = held_[d.frame];
    const bool to_client = d.port == kListenerPort;
    const TxSide& side = to_client ? client_side : upstream_side;
    const Proto proto = to_client ? options_.listen_proto : options_.upstream_proto;
    TxTarget t;
    t.dst = d.peer.address;
    t.protocol = proto == Proto::udp ? kProtoUdp : icmp_protocol(t.dst);
    if (to_client) {
      const auto mac = client_mac(t.dst);
      if (!mac) {
        counters_.no_client_mac.add();
        d.verdict = Verdict::failed;
        continue;
      }
      t.dst_mac = *mac;
      t.src_port = options_.listen.port;
    } else {
      t.dst_mac = options_.next_hop_mac;
      t.src_port = d.port < ports_.size() ? ports_[d.port].id : 0;
    }
    t.dst_port = d.peer.port;
    t.ipv4_id = ipv4_id_++;
    const ConstBytes chunk(d.buffer, d.capacity);
    const std::uint64_t sum =
        t.protocol == kProtoIcmp ? 0 : payload_sum(chunk, d.offset, d.length, h.rx, h.rx_base);
    // A UDP flow's headers come from its template (made at its first frame); the rest are
    // written field by field.
    UdpHeaderTemplate& tpl = templates_[to_client ? 0 : 1];
    if (t.protocol == kProtoUdp && !tpl.is_for(side.address, t)) {
      (void)tpl.prepare(side, t);
    }
    const auto start =
        t.protocol == kProtoUdp && tpl.valid()
            ? tpl.write(Bytes(d.buffer, d.capacity), d.offset, d.length, sum, t.ipv4_id)
            : write_headers(Bytes(d.buffer, d.capacity), d.offset, d.length, sum, side, t);
    if (!start) {
      counters_.no_headroom.add();
      d.verdict = Verdict::failed;
      continue;
    }
    datapath::Frame f = h.frame;
    (void)f.reset(*start, d.offset + d.length - *start);
    const std::size_t out = to_client ? 0 : upstream_relay;
    // Frames of one batch come from one or two pools: ask the engine once per pool.
    if (f.pool() != same_pool[out]) {
      datapath::Engine* engine = relays_[out]->engine();
      if (engine == nullptr || engine->shares_pool(f.pool())) {
        same_pool[out] = f.pool();
      }
    }
    if (f.pool() != same_pool[out]) {
      // Two libpcap interfaces: no common pool, so the frame is copied (libpcap copies anyway).
      counters_.tx_copied.add();
      d.verdict = relays_[out]->send(f.data()) ? Verdict::sent : Verdict::failed;
      continue;
    }
    tx_items_[out][tx_[out].size()] = static_cast<std::uint8_t>(i);
    tx_[out].push(f);
    h.taken = true;
    d.verdict = Verdict::sent;
  }
  for (std::size_t r = 0; r < relay_count_; ++r) {
    datapath::FrameBatch& b = tx_[r];
    if (b.empty()) {
      continue;
    }
    const std::size_t staged = b.size();
    const std::size_t taken = relays_[r]->transmit(0, b);
    for (std::size_t k = 0; k < taken; ++k) {
      const std::uint8_t from = held_[batch[tx_items_[r][k]].frame].relay;
      if (from != r) {
        ++owed_[from];
      }
    }
    // What the ring did not take stays ours: released with the rest at the next receive().
    for (std::size_t k = taken; k < staged; ++k) {
      Datagram& d = batch[tx_items_[r][k]];
      d.verdict = Verdict::failed;
      held_[d.frame].taken = false;
      counters_.tx_refused.add();
    }
    b.clear();
    // Out now, not at the next batch's flush: the frames come back to the fill ring sooner, and
    // a reply does not wait in the ring for the next frame to push it.
    drain_tx(r);
  }
  rebalance();
}

Result<UpstreamPort> DatapathTransport::open_upstream(const IpEndpoint& remote,
                                                      std::uint16_t wanted_echo_id) {
  const IpAddress& local = *options_.upstream_local;
  if (remote.address.family() != local.family()) {
    return fail(Errc::invalid_argument,
                fmt::format("upstream {} is not of the family of our address {} there",
                            remote.address.to_string(), local.to_string()));
  }
  if (!same_address(remote.address, options_.upstream.address)) {
    // The upstream moved (re-resolve): its next hop may be another host, as the socket engine's
    // kernel routing would find. The first port reopened looks it up; the others reuse it.
    if (options_.resolve_next_hop) {
      EP_TRY(options_.next_hop_mac, options_.resolve_next_hop(remote.address));
    }
    options_.upstream = remote;
  }
  Port p;
  p.icmp = options_.upstream_proto == Proto::icmp;
  if (p.icmp) {
    std::uint16_t id = wanted_echo_id;
    if (id == 0 || echo_ids_[id] != kNoPort) {
      for (std::size_t tries = 0; tries < kPortSpace; ++tries) {
        id = next_echo_id_++;
        if (id != 0 && echo_ids_[id] == kNoPort) {
          break;
        }
      }
      if (echo_ids_[id] != kNoPort) {
        return fail(Errc::no_space, "no free ICMP echo identifier");
      }
    }
    p.id = id;
  } else if (options_.upstream_mac) {
    // An emulated address: the kernel has no sockets there, the ports are all ours to pick.
    for (std::size_t tries = 0; tries < kPortSpace && p.id == 0; ++tries) {
      const std::uint16_t port = next_udp_port_;
      next_udp_port_ =
          next_udp_port_ == 65535 ? std::uint16_t{49152} : static_cast<std::uint16_t>(port + 1);
      if (udp_ports_[port] == kNoPort) {
        p.id = port;
      }
    }
    if (p.id == 0) {
      return fail(Errc::no_space, "no free UDP port on the emulated upstream-side address");
    }
  } else {
    // Binding port 0 on our upstream-side address reserves a port and picks it in one step.
    EP_TRY(p.reservation, reserve_udp(IpEndpoint{local, 0}));
    EP_TRY(auto bound, local_endpoint(p.reservation.get()));
    p.id = bound.port;
  }
  p.open = true;
  PortId id = kNoPort;
  for (PortId k = 1; k < ports_.size(); ++k) {
    if (!ports_[k].open) {
      id = k;
      break;
    }
  }
  if (id == kNoPort) {
    id = static_cast<PortId>(ports_.size());
    ports_.emplace_back();
  }
  if (!options_.upstream_mac) {
    EP_TRY_STATUS(steer(relay_count_ - 1, upstream_key(p)));
  }
  (p.icmp ? echo_ids_ : udp_ports_)[p.id] = id;
  const std::uint16_t echo_id = p.icmp ? p.id : std::uint16_t{0};
  ports_[id] = std::move(p);
  return UpstreamPort{id, echo_id};
}

void DatapathTransport::close_upstream(PortId id) {
  if (id == kListenerPort || id >= ports_.size() || !ports_[id].open) {
    return;
  }
  Port& p = ports_[id];
  if (!options_.upstream_mac) {
    (void)relays_[relay_count_ - 1]->remove_l4(upstream_key(p));
  }
  (p.icmp ? echo_ids_ : udp_ports_)[p.id] = kNoPort;
  p = Port{};
}

Status DatapathTransport::connect_listener(const std::optional<IpEndpoint>& client) {
  connected_client_ = client;
  return ok();
}

Status DatapathTransport::rebind_listener(const IpEndpoint& listen) {
  if (options_.listen_mac) {
    return fail(Errc::unsupported, "an emulated listener does not move (re-resolve listen)");
  }
  if (listen.address.is_unspecified()) {
    return fail(Errc::invalid_argument, "the datapath listener needs a concrete address");
  }
  Port moved;
  moved.icmp = ports_[kListenerPort].icmp;
  moved.id = listen.port;
  if (!moved.icmp) {
    EP_TRY(moved.reservation, reserve_udp(listen));
  }
  const datapath::L4Endpoint old_key = listener_key();
  const IpEndpoint old_listen = options_.listen;
  options_.listen = listen;
  if (auto st = steer(0, listener_key()); !st) {
    options_.listen = old_listen;
    return st;
  }
  (void)relays_[0]->remove_l4(old_key);
  moved.open = true;
  ports_[kListenerPort] = std::move(moved);
  connected_client_.reset();
  return ok();
}

std::uint64_t DatapathTransport::malformed_total() const {
  std::uint64_t total = 0;
  for (const auto& c : counters_.malformed) {
    total += c.get();
  }
  return total;
}

nlohmann::json DatapathTransport::stats_json() const {
  nlohmann::json by_reason = nlohmann::json::object();
  for (std::size_t i = 0; i < counters_.malformed.size(); ++i) {
    if (const std::uint64_t n = counters_.malformed[i].get(); n != 0) {
      by_reason[std::string(wire::to_string(static_cast<wire::DropReason>(i)))] = n;
    }
  }
  nlohmann::json j;
  j["malformed"] = by_reason;
  j["malformed_total"] = malformed_total();
  j["udp_checksum_offloaded"] = counters_.checksum_offloaded.get();
  j["not_ours"] = counters_.not_ours.get();
  j["filtered_connected"] = counters_.filtered_connected.get();
  j["no_client_mac"] = counters_.no_client_mac.get();
  j["no_headroom"] = counters_.no_headroom.get();
  j["tx_refused"] = counters_.tx_refused.get();
  j["tx_copied"] = counters_.tx_copied.get();
  return j;
}

}  // namespace etherpath::relay
