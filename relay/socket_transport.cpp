// SocketTransport: recvmmsg/sendmmsg over the listener and upstream sockets, multiplexed by epoll.
#include "relay/socket_transport.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <netinet/icmp6.h>

#include "relay/icmp_echo.hpp"

namespace etherpath::relay {
namespace {

constexpr int kIcmpFilter = 1;  // ICMP_FILTER from <linux/icmp.h> (that header clashes with libc's)
constexpr std::size_t kMaxEvents = 32;

int family_of(const IpEndpoint& e) {
  return e.address.is_v4() ? AF_INET : AF_INET6;
}
int icmp_protocol(IpFamily f) {
  return f == IpFamily::v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
}

Status set_int(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return fail_errno(what);
  }
  return ok();
}

// Large buffers so bursts survive between polls; forced past rmem_max when we may.
void set_buffers(int fd, int bytes) {
  if (!set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes, "SO_RCVBUFFORCE")) {
    (void)set_int(fd, SOL_SOCKET, SO_RCVBUF, bytes, "SO_RCVBUF");
  }
  if (!set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes, "SO_SNDBUFFORCE")) {
    (void)set_int(fd, SOL_SOCKET, SO_SNDBUF, bytes, "SO_SNDBUF");
  }
}

// Lets only one Echo type through a raw ICMP socket (requests to a listener, replies upstream):
// raw sockets otherwise see every ICMP message the host receives.
Status filter_echo(int fd, IpFamily family, EchoKind pass) {
  if (family == IpFamily::v4) {
    const std::uint32_t type = pass == EchoKind::request ? 8U : 0U;
    const std::uint32_t blocked = ~(1U << type);
    if (::setsockopt(fd, SOL_RAW, kIcmpFilter, &blocked, sizeof blocked) != 0) {
      return fail_errno("ICMP_FILTER");
    }
    return ok();
  }
  icmp6_filter filter{};
  std::memset(&filter, 0xff, sizeof filter);  // block all
  const unsigned type = pass == EchoKind::request ? 128U : 129U;
  filter.icmp6_filt[type >> 5U] &= ~(1U << (type & 31U));
  if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0) {
    return fail_errno("ICMP6_FILTER");
  }
  return ok();
}

Status bind_to(int fd, const IpEndpoint& local, const std::string& what) {
  sockaddr_storage ss{};
  const socklen_t len = local.to_sockaddr(ss);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return fail_errno(fmt::format("bind {} to {}", what, local.to_string()));
  }
  return ok();
}

Status connect_to(int fd, const IpEndpoint& remote, const std::string& what) {
  sockaddr_storage ss{};
  const socklen_t len = remote.to_sockaddr(ss);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return fail_errno(fmt::format("connect {} to {}", what, remote.to_string()));
  }
  return ok();
}

Result<IpEndpoint> local_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {  // NOLINT
    return fail_errno("getsockname");
  }
  return IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);  // NOLINT
}

// The groups a ping socket may be opened by, for the error text.
std::string ping_group_range() {
  std::string text = "unknown";
  if (auto* f = std::fopen("/proc/sys/net/ipv4/ping_group_range", "re")) {
    std::array<char, 64> buf{};
    if (std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) {
      text = buf.data();
      std::replace(text.begin(), text.end(), '\t', ' ');
      text.erase(text.find_last_not_of(" \n") + 1);
    }
    std::fclose(f);
  }
  return text;
}

}  // namespace

SocketTransport::SocketTransport(const SocketTransportOptions& options) : options_(options) {}

Result<std::unique_ptr<SocketTransport>> SocketTransport::open(
    const SocketTransportOptions& options) {
  std::unique_ptr<SocketTransport> t(new SocketTransport(options));
  t->epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!t->epoll_) {
    return fail_errno("epoll_create1");
  }
  // Room for the payload, an ICMP header and a full IPv4 header in front of it (raw sockets),
  // plus one byte so that anything over --max-payload shows up as longer than allowed.
  const std::uint32_t data = std::max<std::uint32_t>(options.max_payload + 8 + 60 + 1, 2048);
  t->slot_size_ = kMinHeadroom + data;
  t->buffers_.resize(std::size_t{t->slot_size_} * DatagramBatch::kMaxBatch);
  t->msgs_.resize(DatagramBatch::kMaxBatch);
  t->iovs_.resize(DatagramBatch::kMaxBatch);
  t->names_.resize(DatagramBatch::kMaxBatch);
  for (std::size_t slot = 0; slot < DatagramBatch::kMaxBatch; ++slot) {
    t->iovs_[slot].iov_base = t->buffers_.data() + slot * t->slot_size_ + kMinHeadroom;
    t->iovs_[slot].iov_len = t->slot_size_ - kMinHeadroom;
    msghdr& h = t->msgs_[slot].msg_hdr;
    h.msg_name = &t->names_[slot];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &t->iovs_[slot];
    h.msg_iovlen = 1;
  }
  t->send_msgs_.resize(DatagramBatch::kMaxBatch);
  t->send_iovs_.resize(DatagramBatch::kMaxBatch);
  t->send_names_.resize(DatagramBatch::kMaxBatch);
  t->send_control_.resize(DatagramBatch::kMaxBatch);
  t->events_.resize(kMaxEvents);
  EP_TRY(auto fd, t->open_listener_socket(options.listen));
  EP_TRY(auto id,
         t->add_port(std::move(fd), options.listen_proto == Proto::udp ? Kind::udp : Kind::icmp_raw,
                     options.listen.address.family(), false));
  if (id != kListenerPort) {
    return fail(Errc::invalid_argument, "listener must be the first port");
  }
  return t;
}

Result<UniqueFd> SocketTransport::open_listener_socket(const IpEndpoint& listen) const {
  const IpFamily family = listen.address.family();
  if (options_.listen_proto == Proto::udp) {
    const auto open_bound = [&](const IpEndpoint& local) -> Result<UniqueFd> {
      UniqueFd fd(::socket(family_of(local), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!fd) {
        return fail_errno("listener UDP socket");
      }
      if (options_.reuse_port) {
        EP_TRY_STATUS(set_int(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"));
        EP_TRY_STATUS(set_int(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"));
      }
      set_buffers(fd.get(), options_.socket_buffer);
      EP_TRY_STATUS(bind_to(fd.get(), local, "listener"));
      return fd;
    };
    if (listen.port != 0) {
      return open_bound(listen);
    }
    // A socket bound to port 0 loses its port when it is disconnected again (AF_UNSPEC unhashes
    // it unless the port was bound explicitly), which would end the listener at the first
    // relock. So learn a free port, then bind a fresh socket to it by number.
    EP_TRY(auto probe, open_bound(listen));
    EP_TRY(auto chosen, local_of(probe.get()));
    probe.reset();
    return open_bound(IpEndpoint{listen.address, chosen.port});
  }
  // Ping sockets never receive Echo requests, so an ICMP listener must be raw (CAP_NET_RAW).
  UniqueFd fd(
      ::socket(family_of(listen), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, icmp_protocol(family)));
  if (!fd) {
    return fail_errno("ICMP listener needs a raw socket (CAP_NET_RAW)");
  }
  EP_TRY_STATUS(filter_echo(fd.get(), family, EchoKind::request));
  set_buffers(fd.get(), options_.socket_buffer);
  if (!listen.address.is_unspecified()) {
    EP_TRY_STATUS(bind_to(fd.get(), IpEndpoint{listen.address, 0}, "ICMP listener"));
  }
  return fd;
}

Result<PortId> SocketTransport::add_port(UniqueFd fd, Kind kind, IpFamily family, bool connected) {
  PortId id = 0;
  while (id < ports_.size() && ports_[id].kind != Kind::closed) {
    ++id;
  }
  if (id == ports_.size()) {
    ports_.emplace_back();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
    return fail_errno("epoll_ctl add");
  }
  Port& p = ports_[id];
  p.fd = std::move(fd);
  p.kind = kind;
  p.family = family;
  p.connected = connected;
  p.users = 1;
  p.gso_below = kind == Kind::udp && options_.udp_gso ? kNoGsoLimit : 0;
  return id;
}

IpEndpoint SocketTransport::listen_address() const {
  if (options_.listen_proto == Proto::udp) {
    if (auto local = local_of(ports_[kListenerPort].fd.get())) {
      return *local;
    }
  }
  return options_.listen;
}

std::string SocketTransport::upstream_kind() const {
  if (options_.upstream_proto == Proto::udp) {
    return "udp";
  }
  switch (icmp_upstream_) {
    case IcmpUpstream::ping: return "ping";
    case IcmpUpstream::raw: return "raw";
    case IcmpUpstream::unknown: break;
  }
  return "none";
}

Result<UpstreamPort> SocketTransport::open_upstream(const IpEndpoint& remote,
                                                    std::uint16_t wanted_echo_id) {
  if (options_.upstream_proto == Proto::udp) {
    return open_udp_upstream(remote);
  }
  if (icmp_upstream_ != IcmpUpstream::raw) {
    auto ping = open_ping_upstream(remote, wanted_echo_id);
    if (ping || icmp_upstream_ == IcmpUpstream::ping) {
      if (ping) {
        icmp_upstream_ = IcmpUpstream::ping;
      }
      return ping;
    }
    auto raw = open_raw_upstream(remote, wanted_echo_id);
    if (!raw) {
      return fail(Errc::unsupported,
                  fmt::format("ICMP upstream: no ping socket ({}; gid {} is outside "
                              "net.ipv4.ping_group_range = '{}', set it with sysctl -w "
                              "net.ipv4.ping_group_range='0 2147483647') and no raw socket ({})",
                              ping.error().message(), ::getgid(), ping_group_range(),
                              raw.error().message()));
    }
    icmp_upstream_ = IcmpUpstream::raw;
    return raw;
  }
  return open_raw_upstream(remote, wanted_echo_id);
}

Result<UpstreamPort> SocketTransport::open_udp_upstream(const IpEndpoint& remote) {
  UniqueFd fd(::socket(family_of(remote), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("upstream UDP socket");
  }
  set_buffers(fd.get(), options_.socket_buffer);
  if (options_.connected) {
    EP_TRY_STATUS(connect_to(fd.get(), remote, "upstream"));
  } else {
    EP_TRY_STATUS(
        bind_to(fd.get(), IpEndpoint{IpAddress::any(remote.address.family()), 0}, "upstream"));
  }
  EP_TRY(auto id, add_port(std::move(fd), Kind::udp, remote.address.family(), options_.connected));
  return UpstreamPort{id, 0};
}

Result<UpstreamPort> SocketTransport::open_ping_upstream(const IpEndpoint& remote,
                                                         std::uint16_t wanted) {
  const IpFamily family = remote.address.family();
  UniqueFd fd(::socket(family_of(remote), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       icmp_protocol(family)));
  if (!fd) {
    return fail_errno("ping socket");
  }
  // A ping socket's "port" is its Echo identifier: the kernel writes it into every request.
  auto bound = bind_to(fd.get(), IpEndpoint{IpAddress::any(family), wanted}, "ping socket");
  if (!bound && wanted != 0) {
    EP_TRY_STATUS(bind_to(fd.get(), IpEndpoint{IpAddress::any(family), 0}, "ping socket"));
  } else if (!bound) {
    return fail(std::move(bound).error());
  }
  set_buffers(fd.get(), options_.socket_buffer);
  if (options_.connected) {
    EP_TRY_STATUS(connect_to(fd.get(), IpEndpoint{remote.address, 0}, "ping socket"));
  }
  EP_TRY(auto local, local_of(fd.get()));
  EP_TRY(auto id, add_port(std::move(fd), Kind::icmp_ping, family, options_.connected));
  return UpstreamPort{id, local.port};
}

Result<UpstreamPort> SocketTransport::open_raw_upstream(const IpEndpoint& remote,
                                                        std::uint16_t wanted) {
  const IpFamily family = remote.address.family();
  const std::size_t fi = family == IpFamily::v4 ? 0 : 1;
  if (echo_ids_used_.empty()) {
    echo_ids_used_.assign(65536, 0);
  }
  // One raw socket per family serves every session: each would see every reply anyway.
  if (raw_upstream_[fi] == kNoPort) {
    UniqueFd fd(::socket(family_of(remote), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         icmp_protocol(family)));
    if (!fd) {
      return fail_errno("raw ICMP socket (CAP_NET_RAW)");
    }
    EP_TRY_STATUS(filter_echo(fd.get(), family, EchoKind::reply));
    set_buffers(fd.get(), options_.socket_buffer);
    EP_TRY(auto id, add_port(std::move(fd), Kind::icmp_raw, family, false));
    ports_[id].users = 0;
    raw_upstream_[fi] = id;
  }
  std::uint16_t echo_id = wanted;
  if (wanted == 0 || echo_ids_used_[wanted] != 0) {
    bool found = false;
    for (std::uint32_t tries = 0; tries < 65536 && !found; ++tries) {
      const auto candidate = static_cast<std::uint16_t>(
          options_.echo_id_offset + options_.echo_id_step * (next_echo_slot_++ % 65536U) + 1U);
      if (candidate != 0 && echo_ids_used_[candidate] == 0) {
        echo_id = candidate;
        found = true;
      }
    }
    if (!found) {
      return fail(Errc::no_space, "raw ICMP upstream: every echo identifier is in use");
    }
  }
  echo_ids_used_[echo_id] = 1;
  ++ports_[raw_upstream_[fi]].users;
  return UpstreamPort{raw_upstream_[fi], echo_id};
}

void SocketTransport::close_upstream(PortId id) {
  if (id == kListenerPort || id >= ports_.size() || ports_[id].kind == Kind::closed) {
    return;
  }
  Port& p = ports_[id];
  if (p.kind == Kind::icmp_raw) {
    // Shared: the echo ids stay reserved until the socket closes with its last session.
    if (p.users > 0) {
      --p.users;
    }
    if (p.users > 0) {
      return;
    }
    raw_upstream_[p.family == IpFamily::v4 ? 0 : 1] = kNoPort;
    std::fill(echo_ids_used_.begin(), echo_ids_used_.end(), 0);
  }
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.fd.get(), nullptr);
  p = Port{};
}

Status SocketTransport::connect_listener(const std::optional<IpEndpoint>& client) {
  Port& p = ports_[kListenerPort];
  if (p.kind != Kind::udp) {
    return ok();
  }
  if (client) {
    EP_TRY_STATUS(connect_to(p.fd.get(), *client, "listener"));
    p.connected = true;
    return ok();
  }
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  p.connected = false;
  if (::connect(p.fd.get(), &unspec, sizeof unspec) != 0) {
    return fail_errno("disconnect listener");
  }
  return ok();
}

Status SocketTransport::rebind_listener(const IpEndpoint& listen) {
  EP_TRY(auto fd, open_listener_socket(listen));
  Port& p = ports_[kListenerPort];
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.fd.get(), nullptr);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = kListenerPort;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
    return fail_errno("epoll_ctl add");
  }
  p.fd = std::move(fd);
  p.connected = false;
  p.family = listen.address.family();
  options_.listen = listen;
  return ok();
}

Result<std::size_t> SocketTransport::receive(DatagramBatch& batch, std::chrono::milliseconds wait) {
  batch.clear();
  const int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                             static_cast<int>(wait.count()));
  if (n < 0) {
    if (errno == EINTR) {
      return std::size_t{0};
    }
    return fail_errno("epoll_wait");
  }
  // Replies first, then new requests, each ready port at most a fair share of the batch on the
  // first pass: a busy listener must not starve the upstream sockets (their datagrams are work
  // already half done, and their kernel buffers overflow first).
  std::array<PortId, kMaxEvents> ready{};
  std::size_t count = 0;
  bool listener_ready = false;
  for (int i = 0; i < n; ++i) {
    const PortId id = events_[static_cast<std::size_t>(i)].data.u32;
    if (id == kListenerPort) {
      listener_ready = true;
    } else if (id < ports_.size() && ports_[id].kind != Kind::closed) {
      ready[count++] = id;
    }
  }
  if (listener_ready) {
    ready[count++] = kListenerPort;
  }
  const std::size_t share =
      std::max<std::size_t>(DatagramBatch::kMaxBatch / std::max<std::size_t>(count, 1), 8);
  for (std::size_t pass = 0; pass < 2 && !batch.full(); ++pass) {
    for (std::size_t i = 0; i < count && !batch.full(); ++i) {
      const std::size_t before = batch.size();
      receive_port(ready[i], batch, pass == 0 ? share : DatagramBatch::kMaxBatch);
      if (pass == 0 && batch.size() - before < share) {
        ready[i] = kNoPort;  // drained
      }
    }
    // Drop drained ports from the second pass.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (ready[i] != kNoPort) {
        ready[kept++] = ready[i];
      }
    }
    count = kept;
  }
  return batch.size();
}

void SocketTransport::receive_port(PortId id, DatagramBatch& batch, std::size_t at_most) {
  const Port& p = ports_[id];
  const std::size_t first = batch.size();
  const std::size_t room = std::min(DatagramBatch::kMaxBatch - first, at_most);
  // The headers were set up once (open()); recvmmsg changes only the name lengths of the
  // messages it fills, reset below, so a call costs nothing per empty slot.
  const int got =
      ::recvmmsg(p.fd.get(), &msgs_[first], static_cast<unsigned>(room), MSG_DONTWAIT, nullptr);
  if (got <= 0) {
    // EAGAIN, or an ICMP error queued on a connected socket (ECONNREFUSED): nothing to forward.
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      ++receive_errors_;
    }
    return;
  }
  const bool icmp = p.kind != Kind::udp;
  const bool strip_ipv4 = p.kind == Kind::icmp_raw && p.family == IpFamily::v4;
  for (std::size_t k = 0; k < static_cast<std::size_t>(got); ++k) {
    const std::size_t slot = first + k;
    Datagram& d = batch.push_back();
    d.buffer = buffers_.data() + slot * slot_size_;
    d.capacity = slot_size_;
    d.offset = kMinHeadroom;
    d.length = msgs_[slot].msg_len;
    d.port = id;
    d.frame = slot;
    auto peer =
        IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&names_[slot]),  // NOLINT
                                  msgs_[slot].msg_hdr.msg_namelen);
    if (peer) {
      d.peer = *peer;
    }
    msgs_[slot].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    if (icmp) {
      d.peer.port = 0;
    }
    if (strip_ipv4 && d.length > 0) {
      // Raw IPv4 sockets deliver the IP header too; IPv6 raw and ping sockets do not.
      const std::uint32_t ihl = (static_cast<std::uint32_t>(d.buffer[d.offset]) & 0x0fU) * 4U;
      if (ihl < 20 || ihl > d.length) {
        d.length = 0;
      } else {
        d.pull_front(ihl);
      }
    }
  }
}

void SocketTransport::send(DatagramBatch& batch) {
  // One sendmmsg per port and batch: the forward items of each port, in their batch order
  // (a multi-session batch interleaves ports; grouping only neighbours would split it up).
  std::array<PortId, DatagramBatch::kMaxBatch> ports{};
  std::size_t port_count = 0;
  for (const Datagram& d : batch.items()) {
    if (d.verdict == Verdict::forward &&
        std::find(ports.begin(), ports.begin() + static_cast<std::ptrdiff_t>(port_count), d.port) ==
            ports.begin() + static_cast<std::ptrdiff_t>(port_count)) {
      ports[port_count++] = d.port;
    }
  }
  for (std::size_t k = 0; k < port_count; ++k) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].verdict == Verdict::forward && batch[i].port == ports[k]) {
        send_order_[count++] = static_cast<std::uint8_t>(i);
      }
    }
    send_port(ports[k], batch, count);
  }
}

std::size_t SocketTransport::build_messages(const Port& p, DatagramBatch& batch, std::size_t from,
                                            std::size_t count) {
  const bool gso = p.kind == Kind::udp && p.gso_below > 0;
  std::size_t messages = 0;
  std::size_t k = from;
  while (k < count) {
    const Datagram& d = batch[send_order_[k]];
    // UDP GSO: a run of datagrams of one size to one peer leaves as one message that the kernel
    // cuts into datagrams of exactly that size (the last may be shorter), so every datagram
    // keeps its size and boundaries on the wire and the stack is walked once per run.
    std::size_t run = 1;
    if (gso && d.length > 0 && d.length < p.gso_below) {
      std::size_t bytes = d.length;
      while (k + run < count && run < kMaxGsoSegments) {
        const Datagram& e = batch[send_order_[k + run]];
        if (e.length == 0 || e.length > d.length || bytes + e.length > kMaxGsoBytes ||
            (!p.connected && e.peer != d.peer)) {
          break;
        }
        bytes += e.length;
        ++run;
        if (e.length < d.length) {
          break;  // only the last segment may be shorter
        }
      }
    }
    for (std::size_t j = 0; j < run; ++j) {
      const Datagram& e = batch[send_order_[k + j]];
      // The same buffer the datagram arrived in: sendmmsg reads it where recvmmsg wrote it.
      send_iovs_[k + j].iov_base = e.buffer + e.offset;
      send_iovs_[k + j].iov_len = e.length;
    }
    msghdr& h = send_msgs_[messages].msg_hdr;
    h = msghdr{};
    h.msg_iov = &send_iovs_[k];
    h.msg_iovlen = run;
    if (!p.connected) {
      h.msg_name = &send_names_[messages];
      h.msg_namelen = d.peer.to_sockaddr(send_names_[messages]);
    }
    if (run > 1) {
      GsoControl& c = send_control_[messages];
      h.msg_control = c.bytes.data();
      h.msg_controllen = c.bytes.size();
      cmsghdr* cm = CMSG_FIRSTHDR(&h);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto segment = static_cast<std::uint16_t>(d.length);
      std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);
    }
    message_first_[messages] = k;
    message_count_[messages] = run;
    ++messages;
    k += run;
  }
  return messages;
}

void SocketTransport::send_port(PortId id, DatagramBatch& batch, std::size_t count) {
  const auto mark = [&](std::size_t first, std::size_t n, Verdict v) {
    for (std::size_t j = first; j < first + n; ++j) {
      batch[send_order_[j]].verdict = v;
    }
  };
  if (id >= ports_.size() || ports_[id].kind == Kind::closed) {
    mark(0, count, Verdict::failed);
    return;
  }
  Port& p = ports_[id];
  std::size_t from = 0;
  while (from < count) {
    const std::size_t messages = build_messages(p, batch, from, count);
    std::size_t done = 0;
    bool rebuild = false;
    while (done < messages && !rebuild) {
      const int sent = ::sendmmsg(p.fd.get(), &send_msgs_[done],
                                  static_cast<unsigned>(messages - done), MSG_DONTWAIT);
      if (sent >= 0) {
        for (std::size_t m = done; m < done + static_cast<std::size_t>(sent); ++m) {
          mark(message_first_[m], message_count_[m], Verdict::sent);
          if (message_count_[m] > 1) {
            gso_datagrams_ += message_count_[m];
          }
        }
        done += static_cast<std::size_t>(sent);
        continue;
      }
      const int err = errno;
      if (message_count_[done] > 1 && (err == EINVAL || err == EMSGSIZE || err == EIO ||
                                       err == ENOPROTOOPT || err == EOPNOTSUPP)) {
        // The kernel refused the segmentation itself: EINVAL/EMSGSIZE when a segment does not
        // fit the path MTU (no GSO from this size up), EIO and the rest when the route has no
        // checksum offload or the kernel no UDP GSO (none at all on this port). The message's
        // datagrams go again, one by one.
        const bool size_bound = err == EINVAL || err == EMSGSIZE;
        const auto segment =
            static_cast<std::uint32_t>(batch[send_order_[message_first_[done]]].length);
        p.gso_below = size_bound ? std::min(p.gso_below, segment) : 0;
        ++gso_fallbacks_;
        from = message_first_[done];
        rebuild = true;
        continue;
      }
      // Refused (full buffer, a pending ICMP error such as ECONNREFUSED, unreachable, ...): as
      // with one datagram per call, the refusal costs one datagram, the message's first; the
      // rest of a GSO run goes again (a pending error is consumed by the call that reports it).
      mark(message_first_[done], 1, Verdict::failed);
      if (message_count_[done] > 1) {
        from = message_first_[done] + 1;
        rebuild = true;
        continue;
      }
      ++done;
    }
    if (!rebuild) {
      return;
    }
  }
}

}  // namespace etherpath::relay
