// DatagramTransport: send and receive whole datagrams to and from IP endpoints. Kernel UDP
// (UdpTransport) implements it; so can conn's RUDPConn, so a protocol client (PCP) runs from the
// host's own stack or from an emulated host alike, and tests can put a fake behind it.
#pragma once

#include <chrono>
#include <cstddef>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/result.hpp"

namespace etherpath {

// One received datagram: how many bytes went into the caller's buffer and who sent them.
struct ReceivedDatagram {
  std::size_t size = 0;
  IpEndpoint from;
  bool truncated = false;  // the datagram was larger than the buffer; only `size` bytes were kept
};

class DatagramTransport {
 public:
  DatagramTransport() = default;
  DatagramTransport(const DatagramTransport&) = delete;
  DatagramTransport& operator=(const DatagramTransport&) = delete;
  DatagramTransport(DatagramTransport&&) = delete;
  DatagramTransport& operator=(DatagramTransport&&) = delete;
  virtual ~DatagramTransport() = default;

  // Sends one datagram; it is either handed on whole or an error comes back.
  virtual Status send_to(ConstBytes payload, const IpEndpoint& to) = 0;
  // Waits up to `timeout` (0 = only what is already queued) for one datagram and copies it into
  // `buffer`. Errc::timeout when none came.
  virtual Result<ReceivedDatagram> recv_from(Bytes buffer, std::chrono::nanoseconds timeout) = 0;
  // The address and port this transport sends from.
  [[nodiscard]] virtual IpEndpoint local_endpoint() const = 0;
};

}  // namespace etherpath
