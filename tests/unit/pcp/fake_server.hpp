// Test doubles for the PCP client: a transport that records what the client sends, and a
// server that answers those requests by hand-made rules.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "base/datagram_transport.hpp"
#include "base/udp_transport.hpp"
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

inline const IpAddress kLoopback = IpAddress::v4(0x7f000001U);

// A PCP server on 127.0.0.1:<ephemeral>, on its own thread. By default it answers every request
// with SUCCESS and the asked lifetime; `reply` can answer anything (bytes as sent).
class LoopbackServer {
 public:
  using Reply = std::function<Message(const Request&)>;
  explicit LoopbackServer(Reply reply = {}, const IpAddress& at = kLoopback)
      : reply_(std::move(reply)), socket_(UdpTransport::open(IpEndpoint{at, 0}).value()) {
    thread_ = std::thread([this] { run(); });
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  LoopbackServer(LoopbackServer&&) = delete;
  LoopbackServer& operator=(LoopbackServer&&) = delete;
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return socket_.local_endpoint().port; }
  [[nodiscard]] int requests() const { return requests_; }
  Status announce_to(const IpEndpoint& to) {
    Response r;
    r.opcode = Opcode::announce;
    r.epoch = 1;
    auto bytes = encode(r).value();
    return socket_.send_to(as_bytes(std::span<const std::uint8_t>(bytes)), to);
  }

 private:
  void run() {
    std::array<std::uint8_t, 1200> buf{};
    while (!stop_) {
      auto got = socket_.recv_from(as_writable(std::span<std::uint8_t>(buf)),
                                   std::chrono::milliseconds(20));
      if (!got) {
        continue;
      }
      auto req = decode_request(std::span<const std::uint8_t>(buf.data(), got->size));
      if (!req) {
        continue;
      }
      ++requests_;
      const Message reply =
          reply_ ? reply_(*req)
                 : encode(answer(*req, ResultCode::success, req->lifetime, 1)).value();
      (void)socket_.send_to(as_bytes(std::span<const std::uint8_t>(reply)), got->from);
    }
  }

  Reply reply_;
  UdpTransport socket_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace etherpath::pcp::testing
