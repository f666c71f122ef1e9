// UdpTransport: the kernel-socket DatagramTransport (one UDP socket, IPv4 or IPv6).
#pragma once

#include <optional>

#include "base/datagram_transport.hpp"
#include "base/unique_fd.hpp"

namespace etherpath {

struct UdpTransportOptions {
  // SO_REUSEADDR: several sockets may share a multicast listening port (PCP's 5350).
  bool reuse_address = false;
  // Joins this multicast group on the interface that owns `multicast_interface` (or any).
  std::optional<IpAddress> multicast_group;
  std::optional<IpAddress> multicast_interface;
};

class UdpTransport final : public DatagramTransport {
 public:
  // Binds a UDP socket to `local` (port 0 = an ephemeral port).
  static Result<UdpTransport> open(const IpEndpoint& local,
                                   const UdpTransportOptions& options = {});
  // The source address the kernel's routing picks for reaching `destination` (no packet is sent).
  static Result<IpAddress> route_source(const IpAddress& destination);

  UdpTransport(UdpTransport&& other) noexcept : fd_(std::move(other.fd_)), local_(other.local_) {}
  UdpTransport& operator=(UdpTransport&&) = delete;
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;
  ~UdpTransport() override = default;

  Status send_to(ConstBytes payload, const IpEndpoint& to) override;
  Result<ReceivedDatagram> recv_from(Bytes buffer, std::chrono::nanoseconds timeout) override;
  [[nodiscard]] IpEndpoint local_endpoint() const override { return local_; }
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  UdpTransport(UniqueFd fd, IpEndpoint local) : fd_(std::move(fd)), local_(local) {}
  UniqueFd fd_;
  IpEndpoint local_;
};

}  // namespace etherpath
