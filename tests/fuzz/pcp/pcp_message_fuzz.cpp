// Fuzzes the PCP decoders and the client's receive path: any datagram must decode or give a
// reason, never crash; what decodes must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <span>

#include "pcp/message.hpp"
#include "pcp/session.hpp"

namespace {

using namespace etherpath;

class NullTransport final : public DatagramTransport {
 public:
  Status send_to(ConstBytes /*payload*/, const IpEndpoint& /*to*/) override { return ok(); }
  Result<ReceivedDatagram> recv_from(Bytes /*buffer*/, std::chrono::nanoseconds /*t*/) override {
    return fail(Errc::timeout, "null transport");
  }
  [[nodiscard]] IpEndpoint local_endpoint() const override { return {}; }
};

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

void round_trip_response(std::span<const std::uint8_t> data) {
  auto r = pcp::decode_response(data);
  if (!r) {
    check(!r.error().context().empty());  // every refusal says why
    return;
  }
  auto bytes = pcp::encode(*r);
  check(bytes.has_value());
  auto again = pcp::decode_response(*bytes);
  check(again.has_value());
  pcp::Response want = *r;
  want.ignored_options = 0;  // unknown optional options are dropped on the way
  check(*again == want);
}

void round_trip_request(std::span<const std::uint8_t> data) {
  auto r = pcp::decode_request(data);
  if (!r) {
    check(!r.error().context().empty());
    return;
  }
  auto bytes = pcp::encode(*r);
  check(bytes.has_value());
  auto again = pcp::decode_request(*bytes);
  check(again.has_value() && *again == *r);
}

// The same bytes as an answer to a client with a MAP, a PEER and an ANNOUNCE in flight, whose
// nonces are known (seed 1) so the fuzzer can reach the matched paths.
void feed_session(std::span<const std::uint8_t> data) {
  using namespace std::chrono_literals;
  FakeClock clock;
  NullTransport net;
  pcp::SeededRandom random(1);
  const IpEndpoint server{IpAddress::v4(0x0a620101U), pcp::kServerPort};
  pcp::Session s(
      pcp::SessionConfig{.client = IpAddress::v4(0x0a620102U), .server = server, .timers = {}}, net,
      clock, random);
  (void)s.request(pcp::InboundMap(5000, 600s).protocol(pcp::Protocol::tcp),
                  pcp::RequestType::keep_alive);
  (void)s.request(pcp::OutboundMap(6000, IpEndpoint{IpAddress::v4(0x0b070707U), 7000}, 120s)
                      .protocol(pcp::Protocol::udp),
                  pcp::RequestType::once);
  (void)s.request(pcp::Announce{});
  s.on_datagram(data, server);
  clock.advance(700s);
  s.on_timer();
  s.on_datagram(data, server);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  round_trip_response(bytes);
  round_trip_request(bytes);
  feed_session(bytes);
  return 0;
}
