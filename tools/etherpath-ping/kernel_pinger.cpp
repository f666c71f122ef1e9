// KernelPinger: ping and raw ICMP sockets, with TTLs from control messages and ICMP errors from
// the error queue, as iputils reads them.
#include "tools/etherpath-ping/kernel_pinger.hpp"

#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <netinet/icmp6.h>

#include "conn/wire/checksum.hpp"

namespace etherpath::ping {

namespace {

constexpr std::uint8_t kEchoRequestV4 = 8;
constexpr std::uint8_t kEchoReplyV4 = 0;
constexpr std::uint8_t kEchoRequestV6 = 128;
constexpr std::uint8_t kEchoReplyV6 = 129;

template <typename T>
Status set_option(int fd, int level, int name, const T& value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return fail_errno(std::string("setsockopt ") + what);
  }
  return ok();
}

std::uint16_t be16_at(ConstBytes b, std::size_t offset) {
  return load_be16(b, offset);
}

}  // namespace

KernelPinger::KernelPinger(UniqueFd fd, const KernelPingerOptions& options, bool raw,
                           std::string why)
    : fd_(std::move(fd)),
      options_(options),
      raw_(raw),
      v6_(options.destination.is_v6()),
      why_(std::move(why)),
      buffer_(std::make_unique<std::array<std::byte, kMaxPacket>>()) {}

Result<std::unique_ptr<KernelPinger>> KernelPinger::open(const KernelPingerOptions& options) {
  const bool v6 = options.destination.is_v6();
  const int family = v6 ? AF_INET6 : AF_INET;
  const int proto = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  UniqueFd fd;
  bool raw = options.kind == SocketKind::raw;
  std::string why = raw ? "raw socket, as asked" : "ping socket";
  if (!raw) {
    fd = UniqueFd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto));
    if (!fd) {
      const int err = errno;
      // EACCES: our group is outside net.ipv4.ping_group_range (it is "1 0" by default).
      if (options.kind == SocketKind::ping ||
          (err != EACCES && err != EPERM && err != EPROTONOSUPPORT)) {
        return fail_errno("ping socket", err);
      }
      raw = true;
      why = "ping socket: " + std::error_code(err, std::generic_category()).message() +
            " (net.ipv4.ping_group_range)";
    }
  }
  if (raw) {
    fd = UniqueFd(::socket(family, SOCK_RAW | SOCK_CLOEXEC, proto));
    if (!fd) {
      return fail_errno(options.kind == SocketKind::raw
                            ? std::string("raw socket")
                            : "raw socket (ping sockets denied by net.ipv4.ping_group_range)");
    }
  }
  const int on = 1;
  if (v6) {
    EP_TRY_STATUS(set_option(fd.get(), SOL_IPV6, IPV6_RECVERR, on, "IPV6_RECVERR"));
    EP_TRY_STATUS(set_option(fd.get(), SOL_IPV6, IPV6_RECVHOPLIMIT, on, "IPV6_RECVHOPLIMIT"));
    if (raw) {
      // Echo replies only: errors come from the error queue, everything else is not ours.
      icmp6_filter filter{};
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(kEchoReplyV6, &filter);
      EP_TRY_STATUS(set_option(fd.get(), SOL_ICMPV6, ICMP6_FILTER, filter, "ICMP6_FILTER"));
    }
  } else {
    EP_TRY_STATUS(set_option(fd.get(), SOL_IP, IP_RECVERR, on, "IP_RECVERR"));
    if (raw) {
      icmp_filter filter{};
      filter.data = ~(1U << kEchoReplyV4);  // a set bit blocks that type
      EP_TRY_STATUS(set_option(fd.get(), SOL_RAW, ICMP_FILTER, filter, "ICMP_FILTER"));
    } else {
      EP_TRY_STATUS(set_option(fd.get(), SOL_IP, IP_RECVTTL, on, "IP_RECVTTL"));
    }
  }
  return std::unique_ptr<KernelPinger>(new KernelPinger(std::move(fd), options, raw, why));
}

std::string KernelPinger::describe() const {
  return raw_ ? "SOCK_RAW (raw socket; " + why_ + ")" : "SOCK_DGRAM (ping socket)";
}

Status KernelPinger::send(std::uint16_t sequence, ConstBytes data) {
  auto& b = *buffer_;
  if (data.size() + 8 > b.size()) {
    return fail(Errc::invalid_argument, "echo data too large");
  }
  const Bytes packet(b.data(), 8 + data.size());
  packet[0] = static_cast<std::byte>(v6_ ? kEchoRequestV6 : kEchoRequestV4);
  packet[1] = std::byte{0};
  store_be16(packet, 2, 0);
  store_be16(packet, 4, raw_ ? options_.identifier : 0);  // a ping socket sets its own
  store_be16(packet, 6, sequence);
  if (!data.empty()) {
    std::memcpy(packet.data() + 8, data.data(), data.size());
  }
  if (raw_ && !v6_) {
    // The kernel sums ping sockets' and every ICMPv6 message itself, raw ICMPv4 not.
    store_be16(packet, 2, wire::internet_checksum(packet));
  }
  sockaddr_storage to{};
  const socklen_t len = IpEndpoint{options_.destination, 0}.to_sockaddr(to);
  const ssize_t n = ::sendto(fd_.get(), packet.data(), packet.size(), 0,
                             reinterpret_cast<const sockaddr*>(&to), len);  // NOLINT
  if (n < 0) {
    return fail_errno("sendmsg");
  }
  return ok();
}

Result<std::optional<EchoEvent>> KernelPinger::receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_.get(), POLLIN, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n < 0) {
    if (errno == EINTR) {
      return std::optional<EchoEvent>{};
    }
    return fail_errno("poll");
  }
  if (n == 0) {
    return std::optional<EchoEvent>{};
  }
  if ((p.revents & POLLERR) != 0) {
    return read_error_queue();
  }
  return read_packet();
}

Result<std::optional<EchoEvent>> KernelPinger::read_packet() {
  auto& b = *buffer_;
  sockaddr_storage from{};
  iovec iov{b.data(), b.size()};
  alignas(cmsghdr) std::array<char, 256> control{};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t got = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
  if (got < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      return std::optional<EchoEvent>{};
    }
    return fail_errno("recvmsg");
  }
  const auto received = std::chrono::steady_clock::now();
  ConstBytes data(b.data(), static_cast<std::size_t>(got));
  EchoEvent e;
  e.received = received;
  if (raw_ && !v6_) {
    // A raw IPv4 socket reads the IP header too.
    if (data.size() < 20) {
      return std::optional<EchoEvent>{};
    }
    const std::size_t ihl = (std::to_integer<std::size_t>(data[0]) & 0xfU) * 4;
    if (ihl < 20 || data.size() < ihl) {
      return std::optional<EchoEvent>{};
    }
    e.ttl = std::to_integer<int>(data[8]);
    data = data.subspan(ihl);
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    const bool ttl = c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL;
    const bool hops = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT;
    if (ttl || hops) {
      int v = 0;
      std::memcpy(&v, CMSG_DATA(c), sizeof v);
      e.ttl = v;
    }
  }
  if (data.size() < 8) {
    return std::optional<EchoEvent>{};
  }
  const auto type = std::to_integer<std::uint8_t>(data[0]);
  if (type != (v6_ ? kEchoReplyV6 : kEchoReplyV4)) {
    return std::optional<EchoEvent>{};
  }
  if (raw_ && be16_at(data, 4) != options_.identifier) {
    return std::optional<EchoEvent>{};  // another ping's reply: raw sockets see them all
  }
  auto source = IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from),
                                          msg.msg_namelen);  // NOLINT
  if (!source) {
    return std::optional<EchoEvent>{};
  }
  e.from = source->address;
  e.sequence = be16_at(data, 6);
  e.icmp_bytes = data.size();
  return std::optional<EchoEvent>{e};
}

Result<std::optional<EchoEvent>> KernelPinger::read_error_queue() {
  std::array<std::byte, 576> original{};
  iovec iov{original.data(), original.size()};
  alignas(cmsghdr) std::array<char, 512> control{};
  sockaddr_storage to{};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t got = ::recvmsg(fd_.get(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
  if (got < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      return std::optional<EchoEvent>{};
    }
    return fail_errno("recvmsg(MSG_ERRQUEUE)");
  }
  const auto received = std::chrono::steady_clock::now();
  const ConstBytes data(original.data(), static_cast<std::size_t>(got));
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    const bool v4_err = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    const bool v6_err = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4_err && !v6_err) {
      continue;
    }
    sock_extended_err ee{};
    std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
    if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) {
      return std::optional<EchoEvent>{};  // a local error (EMSGSIZE and the like)
    }
    if (data.size() < 8 || (raw_ && be16_at(data, 4) != options_.identifier)) {
      return std::optional<EchoEvent>{};
    }
    // SO_EE_OFFENDER: the sender of the ICMP error follows the structure.
    sockaddr_storage offender{};
    const std::size_t header = CMSG_LEN(sizeof ee);
    const std::size_t room = c->cmsg_len > header ? c->cmsg_len - header : 0;
    std::memcpy(&offender, CMSG_DATA(c) + sizeof ee, std::min(room, sizeof offender));
    auto who = IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&offender),  // NOLINT
                                         static_cast<socklen_t>(std::min(room, sizeof offender)));
    EchoEvent e;
    e.kind = EchoEvent::Kind::error;
    e.from = who ? who->address : options_.destination;
    e.sequence = be16_at(data, 6);
    e.error = icmp_error_text(v6_, ee.ee_type, ee.ee_code);
    e.received = received;
    return std::optional<EchoEvent>{e};
  }
  return std::optional<EchoEvent>{};
}

}  // namespace etherpath::ping
