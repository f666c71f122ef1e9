// Kernel UDP sockets behind DatagramTransport: bind, sendto, poll + recvmsg with a timeout.
#include "base/udp_transport.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

namespace etherpath {
namespace {

// The index of the interface that holds `address` (for IPv6 multicast joins), 0 when none does.
unsigned interface_index_of(const IpAddress& address) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return 0;
  }
  unsigned index = 0;
  for (const ifaddrs* it = list; it != nullptr && index == 0; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) {
      continue;
    }
    const socklen_t len =
        it->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    auto ep = IpEndpoint::from_sockaddr(it->ifa_addr, len);
    if (ep && ep->address == address) {
      index = ::if_nametoindex(it->ifa_name);
    }
  }
  ::freeifaddrs(list);
  return index;
}

Status join_group(int fd, const IpAddress& group, const std::optional<IpAddress>& on) {
  if (group.is_v4()) {
    ip_mreqn req{};
    std::memcpy(&req.imr_multiaddr, group.bytes().data(), 4);
    if (on && on->is_v4()) {
      std::memcpy(&req.imr_address, on->bytes().data(), 4);
    }
    if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) != 0) {
      return fail_errno(fmt::format("join multicast group {}", group.to_string()));
    }
    return ok();
  }
  ipv6_mreq req{};
  std::memcpy(&req.ipv6mr_multiaddr, group.bytes().data(), 16);
  req.ipv6mr_interface = on ? interface_index_of(*on) : 0;
  if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &req, sizeof req) != 0) {
    return fail_errno(fmt::format("join multicast group {}", group.to_string()));
  }
  return ok();
}

}  // namespace

Result<UdpTransport> UdpTransport::open(const IpEndpoint& local,
                                        const UdpTransportOptions& options) {
  const int family = local.address.is_v4() ? AF_INET : AF_INET6;
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket(UDP)");
  }
  if (options.reuse_address) {
    const int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
      return fail_errno("setsockopt(SO_REUSEADDR)");
    }
  }
  if (family == AF_INET6) {
    const int one = 1;  // an IPv6 socket speaks IPv6 only; IPv4 has its own transport
    (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  sockaddr_storage ss{};
  const socklen_t len = local.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return fail_errno(fmt::format("bind {}", local.to_string()));
  }
  if (options.multicast_group) {
    EP_TRY_STATUS(join_group(fd.get(), *options.multicast_group, options.multicast_interface));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {  // NOLINT
    return fail_errno("getsockname");
  }
  EP_TRY(auto bound_ep,
         IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&bound),  // NOLINT
                                   bound_len));
  return UdpTransport(std::move(fd), bound_ep);
}

Result<IpAddress> UdpTransport::route_source(const IpAddress& destination) {
  UniqueFd fd(::socket(destination.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket(UDP)");
  }
  sockaddr_storage ss{};
  const socklen_t len = IpEndpoint{destination, 9}.to_sockaddr(ss);
  // connect() on UDP only looks the route up; nothing goes on the wire.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return fail_errno(fmt::format("no route to {}", destination.to_string()));
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {  // NOLINT
    return fail_errno("getsockname");
  }
  EP_TRY(auto ep, IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&local),  // NOLINT
                                            local_len));
  return ep.address;
}

Status UdpTransport::send_to(ConstBytes payload, const IpEndpoint& to) {
  sockaddr_storage ss{};
  const socklen_t len = to.to_sockaddr(ss);
  const ssize_t n = ::sendto(fd_.get(), payload.data(), payload.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&ss), len);  // NOLINT
  if (n < 0) {
    return fail_errno(fmt::format("sendto {}", to.to_string()));
  }
  return ok();
}

Result<ReceivedDatagram> UdpTransport::recv_from(Bytes buffer, std::chrono::nanoseconds timeout) {
  if (timeout < std::chrono::nanoseconds::zero()) {
    timeout = std::chrono::nanoseconds::zero();
  }
  pollfd pfd{.fd = fd_.get(), .events = POLLIN, .revents = 0};
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec ts{.tv_sec = secs.count(), .tv_nsec = (timeout - secs).count()};
  const int ready = ::ppoll(&pfd, 1, &ts, nullptr);
  if (ready < 0) {
    return fail_errno("poll");
  }
  if (ready == 0) {
    return fail(Errc::timeout, "recv_from");
  }
  sockaddr_storage from{};
  iovec iov{.iov_base = buffer.data(), .iov_len = buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN) {
      return fail(Errc::timeout, "recv_from");
    }
    return fail_errno("recvmsg");
  }
  EP_TRY(auto from_ep,
         IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from),  // NOLINT
                                   msg.msg_namelen));
  return ReceivedDatagram{.size = static_cast<std::size_t>(n),
                          .from = from_ep,
                          .truncated = (msg.msg_flags & MSG_TRUNC) != 0};
}

}  // namespace etherpath
