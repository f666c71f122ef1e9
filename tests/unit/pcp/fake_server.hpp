// Test doubles for the PCP client: a transport that records what the client sends, and a
// server that answers those requests by hand-made rules.
#pragma once

#include <vector>

#include "base/datagram_transport.hpp"
#include "pcp/message.hpp"

namespace etherpath::pcp::testing {

struct Sent {
  Message bytes;
  IpEndpoint to;
};

class RecordingTransport final : public DatagramTransport {
 public:
  Status send_to(ConstBytes payload, const IpEndpoint& to) override {
    const auto* p = reinterpret_cast<const std::uint8_t*>(payload.data());  // NOLINT
    sent.push_back(Sent{Message(p, p + payload.size()), to});
    return ok();
  }
  Result<ReceivedDatagram> recv_from(Bytes /*buffer*/, std::chrono::nanoseconds /*t*/) override {
    return fail(Errc::timeout, "recording transport never receives");
  }
  [[nodiscard]] IpEndpoint local_endpoint() const override { return {}; }

  [[nodiscard]] Request last() const { return decode_request(sent.back().bytes).value(); }
  std::vector<Sent> sent;
};

// The answer a PCP server gives to `request`: its fields echoed, the assignment filled in.
inline Response answer(const Request& request, ResultCode result, std::uint32_t lifetime,
                       std::uint32_t epoch) {
  Response r;
  r.opcode = request.opcode;
  r.result = result;
  r.lifetime = lifetime;
  r.epoch = epoch;
  r.info = request.info;
  r.info.external_address = IpAddress::parse("11.98.2.1").value();
  r.info.external_port = request.info.internal_port;
  r.options = request.options;
  return r;
}

}  // namespace etherpath::pcp::testing
