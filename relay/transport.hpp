// Transport: where the Forwarder's datagrams come from and go to, in batches of borrowed items.
// Two implementations: kernel sockets (SocketTransport: recvmmsg/sendmmsg, copies) and, later, the
// AF_XDP datapath (frames rewritten and sent in place). relay/ logic never makes a socket call.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "base/ip_address.hpp"
#include "base/result.hpp"
#include "relay/datagram.hpp"

namespace etherpath::relay {

// Bytes every received item has free before its payload, so the forwarder can prepend an ICMP
// Echo header (8 bytes) and still leave room for a transport that prepends L2-L4 headers.
inline constexpr std::uint32_t kMinHeadroom = 64;

// An upstream port and the ICMP Echo identifier it really uses (ping sockets may be given
// another one than asked for; 0 for UDP).
struct UpstreamPort {
  PortId port = kNoPort;
  std::uint16_t echo_id = 0;
};

class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  Transport(Transport&&) = delete;
  Transport& operator=(Transport&&) = delete;
  virtual ~Transport() = default;

  // Clears `batch` and fills it with what arrived on any port, waiting at most `wait` when
  // nothing is pending. Items are borrowed until the next receive(). ICMP items start at the
  // ICMP header (any IP header stripped); peer.port is 0 for ICMP.
  virtual Result<std::size_t> receive(DatagramBatch& batch, std::chrono::milliseconds wait) = 0;

  // Sends every item marked Verdict::forward on its port to its peer and marks it sent or
  // failed. ICMPv4 checksums are the caller's; ICMPv6 checksums the transport's (the kernel
  // fills them on sockets, the datapath from its pseudo-header).
  virtual void send(DatagramBatch& batch) = 0;

  // Opens a port towards the upstream `remote` (connected to it when the transport is in
  // connected mode). For ICMP, `wanted_echo_id` is the identifier asked for (0 = any).
  virtual Result<UpstreamPort> open_upstream(const IpEndpoint& remote,
                                             std::uint16_t wanted_echo_id) = 0;
  // Closes a port from open_upstream(); a port shared by several sessions closes with its last.
  virtual void close_upstream(PortId port) = 0;

  // Connected mode on the listener: with a client, the kernel drops every other sender;
  // nullopt unties it again. Transports without such a filter accept and do nothing.
  virtual Status connect_listener(const std::optional<IpEndpoint>& client) = 0;

  // Moves the listener to a new local address (re-resolve of --here); the old one closes.
  virtual Status rebind_listener(const IpEndpoint& listen) = 0;
};

}  // namespace etherpath::relay
