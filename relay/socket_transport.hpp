// SocketTransport: the relay Transport over kernel sockets. UDP sockets; a raw ICMP listener;
// an ICMP upstream on ping sockets (net.ipv4.ping_group_range) or, failing that, one shared raw
// socket. Batches with recvmmsg/sendmmsg into buffers allocated once.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "relay/config.hpp"
#include "relay/transport.hpp"

namespace etherpath::relay {

struct SocketTransportOptions {
  Proto listen_proto = Proto::udp;
  IpEndpoint listen;
  Proto upstream_proto = Proto::udp;
  bool connected = true;    // connect upstream sockets (and the listener to a locked client)
  bool reuse_port = false;  // --workers > 1: every worker binds the same listener address
  std::uint32_t max_payload = 1500;
  int socket_buffer = 4 << 20;  // SO_RCVBUF/SO_SNDBUF, forced when privileged
  // Echo identifiers a shared raw upstream hands out: offset + k * step, so that workers, whose
  // raw sockets all see every reply, never share one.
  std::uint16_t echo_id_offset = 0;
  std::uint16_t echo_id_step = 1;
  // Send runs of equal-size UDP datagrams as one UDP_SEGMENT (GSO) message each; the kernel
  // cuts them apart again, so sizes and boundaries are kept. Falls back by itself where the
  // route cannot do it.
  bool udp_gso = true;
};

class SocketTransport final : public Transport {
 public:
  // Opens and binds the listener (raw for ICMP: do this before dropping privileges).
  static Result<std::unique_ptr<SocketTransport>> open(const SocketTransportOptions& options);

  // The listener's bound address (the real port when asked for port 0).
  [[nodiscard]] IpEndpoint listen_address() const;
  // "ping" or "raw" once an ICMP upstream port is open; "udp" for UDP.
  [[nodiscard]] std::string upstream_kind() const;
  [[nodiscard]] std::uint64_t receive_errors() const { return receive_errors_; }
  // Times a GSO message was refused and sent again datagram by datagram.
  [[nodiscard]] std::uint64_t gso_fallbacks() const { return gso_fallbacks_; }
  // Datagrams that left inside GSO messages (the rest went one per message).
  [[nodiscard]] std::uint64_t gso_datagrams() const { return gso_datagrams_; }

  Result<std::size_t> receive(DatagramBatch& batch, std::chrono::milliseconds wait) override;
  void send(DatagramBatch& batch) override;
  Result<UpstreamPort> open_upstream(const IpEndpoint& remote,
                                     std::uint16_t wanted_echo_id) override;
  void close_upstream(PortId id) override;
  Status connect_listener(const std::optional<IpEndpoint>& client) override;
  Status rebind_listener(const IpEndpoint& listen) override;

 private:
  enum class Kind : std::uint8_t { closed, udp, icmp_raw, icmp_ping };
  struct Port {
    UniqueFd fd;
    Kind kind = Kind::closed;
    IpFamily family = IpFamily::v4;
    bool connected = false;
    std::uint32_t users = 0;      // sessions sharing a raw upstream
    std::uint32_t gso_below = 0;  // UDP GSO for datagrams shorter than this; 0 = never
  };
  static constexpr std::uint32_t kNoGsoLimit = 65536;
  // At most this many datagrams, and payload bytes, per GSO message (the kernel allows 64
  // segments since 4.18 and a 64 KiB IP datagram).
  static constexpr std::size_t kMaxGsoSegments = 64;
  static constexpr std::size_t kMaxGsoBytes = 60000;
  struct GsoControl {
    alignas(cmsghdr) std::array<std::byte, CMSG_SPACE(sizeof(std::uint16_t))> bytes{};
  };
  enum class IcmpUpstream : std::uint8_t { unknown, ping, raw };

  explicit SocketTransport(const SocketTransportOptions& options);
  [[nodiscard]] Result<UniqueFd> open_listener_socket(const IpEndpoint& listen) const;
  Result<PortId> add_port(UniqueFd fd, Kind kind, IpFamily family, bool connected);
  Result<UpstreamPort> open_udp_upstream(const IpEndpoint& remote);
  Result<UpstreamPort> open_ping_upstream(const IpEndpoint& remote, std::uint16_t wanted);
  Result<UpstreamPort> open_raw_upstream(const IpEndpoint& remote, std::uint16_t wanted);
  void receive_port(PortId id, DatagramBatch& batch, std::size_t at_most);
  // Sends the `count` items send_order_ lists, all on port `id`.
  void send_port(PortId id, DatagramBatch& batch, std::size_t count);
  // Fills send_msgs_ for send_order_[from, count), one message per GSO run; returns how many.
  std::size_t build_messages(const Port& p, DatagramBatch& batch, std::size_t from,
                             std::size_t count);

  SocketTransportOptions options_;
  UniqueFd epoll_;
  std::vector<Port> ports_;
  std::vector<std::uint8_t> echo_ids_used_;  // for the shared raw upstream
  std::uint32_t next_echo_slot_ = 0;
  std::array<PortId, 2> raw_upstream_{kNoPort, kNoPort};  // shared raw port per family
  IcmpUpstream icmp_upstream_ = IcmpUpstream::unknown;
  std::uint64_t receive_errors_ = 0;
  std::uint64_t gso_fallbacks_ = 0;
  std::uint64_t gso_datagrams_ = 0;

  // Buffers and message headers for one batch, allocated once.
  std::uint32_t slot_size_ = 0;
  std::vector<std::byte> buffers_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> names_;
  std::vector<epoll_event> events_;
  // The send side's own headers (receive's stay as recvmmsg left them), allocated once.
  std::vector<mmsghdr> send_msgs_;
  std::vector<iovec> send_iovs_;
  std::vector<sockaddr_storage> send_names_;
  std::vector<GsoControl> send_control_;
  std::array<std::uint8_t, DatagramBatch::kMaxBatch> send_order_{};    // batch indices, one port
  std::array<std::size_t, DatagramBatch::kMaxBatch> message_first_{};  // into send_order_
  std::array<std::size_t, DatagramBatch::kMaxBatch> message_count_{};
};

}  // namespace etherpath::relay
