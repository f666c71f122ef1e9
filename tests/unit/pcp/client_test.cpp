// The threaded Client over loopback UDP against a small PCP server thread: request, assignment
// alert, ANNOUNCE through the listener, revoke.
#include "pcp/client.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "base/udp_transport.hpp"
#include "tests/unit/pcp/fake_server.hpp"

namespace etherpath::pcp {
namespace {

using namespace std::chrono_literals;

using testing::kLoopback;
using testing::LoopbackServer;

TEST(PcpClient, MapsAnnouncesAndRevokesOverUdp) {
  LoopbackServer server;
  auto listener = UdpTransport::open(IpEndpoint{kLoopback, 0});
  ASSERT_TRUE(listener) << listener.error();
  const auto listener_ep = listener->local_endpoint();
  ClientOptions options;
  options.server_port = server.port();
  options.timers.announce_delay_max = 10ms;
  options.announce_transport = std::make_unique<UdpTransport>(std::move(*listener));
  auto client = Client::start(kLoopback, kLoopback, std::move(options));
  ASSERT_TRUE(client) << client.error();

  auto map =
      client->request(InboundMap(6000, 60s).protocol(Protocol::udp), RequestType::keep_alive);
  ASSERT_TRUE(map) << map.error();
  std::optional<Assignment> assigned;
  for (int i = 0; i < 10 && !assigned; ++i) {
    auto alert = map->wait_alert(1s);
    if (alert && alert->kind == Alert::Kind::assigned) {
      assigned = alert->assignment;
    }
  }
  ASSERT_TRUE(assigned);
  EXPECT_EQ(assigned->external_port, 6000);
  EXPECT_EQ(assigned->lifetime, 60s);
  EXPECT_EQ(map->state(), State::running);

  // An unsolicited ANNOUNCE on the listener: the mapping is asked for again.
  ASSERT_TRUE(server.announce_to(listener_ep));
  bool restarted = false;
  bool regranted = false;
  for (int i = 0; i < 20 && !regranted; ++i) {
    auto alert = map->wait_alert(500ms);
    if (!alert) {
      continue;
    }
    restarted = restarted || alert->state == State::starting;
    regranted = restarted && alert->kind == Alert::Kind::assigned;
  }
  EXPECT_TRUE(regranted);
  EXPECT_EQ(client->stats().announces, 1U);
  EXPECT_EQ(server.requests(), 2);

  ASSERT_TRUE(map->revoke());
  for (int i = 0; i < 20 && map->state() != State::revoked; ++i) {
    (void)map->wait_alert(200ms);
  }
  EXPECT_EQ(map->state(), State::revoked);
  client->shutdown();
}

TEST(PcpClient, NoServerMeansNoAnswerWithinMrd) {
  auto silent = UdpTransport::open(IpEndpoint{kLoopback, 0});  // bound, never answers
  ASSERT_TRUE(silent) << silent.error();
  ClientOptions options;
  options.server_port = silent->local_endpoint().port;
  options.listen_announce = false;
  options.timers.irt = 100ms;
  options.timers.mrd = 500ms;
  auto client = Client::start(kLoopback, kLoopback, std::move(options));
  ASSERT_TRUE(client) << client.error();
  auto map = client->request(InboundMap(6000, 120s).protocol(Protocol::udp), RequestType::once);
  ASSERT_TRUE(map);
  for (int i = 0; i < 30 && map->state() != State::failed; ++i) {
    (void)map->wait_alert(100ms);
  }
  EXPECT_EQ(map->state(), State::failed);
  EXPECT_NE(map->failure()->reason.find("no answer"), std::string::npos);
}

TEST(PcpClient, SpeaksIpv6) {
  const IpAddress v6_loopback = IpAddress::parse("::1").value();
  if (!UdpTransport::open(IpEndpoint{v6_loopback, 0})) {
    GTEST_SKIP() << "no IPv6 loopback (::1) here";
  }
  std::atomic<bool> saw_v6_client{false};
  LoopbackServer server(
      [&](const Request& req) {
        saw_v6_client = req.client_address == v6_loopback;
        Response r = testing::answer(req, ResultCode::success, req.lifetime, 1);
        r.info.external_address = IpAddress::parse("2001:db8::1").value();
        return encode(r).value();
      },
      v6_loopback);
  ClientOptions options;
  options.server_port = server.port();
  options.listen_announce = false;
  auto client = Client::start(v6_loopback, v6_loopback, std::move(options));
  ASSERT_TRUE(client) << client.error();
  auto map = client->request(InboundMap(6000, 60s).protocol(Protocol::udp), RequestType::once);
  ASSERT_TRUE(map) << map.error();
  std::optional<Assignment> assigned;
  for (int i = 0; i < 20 && !assigned; ++i) {
    auto alert = map->wait_alert(100ms);
    if (alert && alert->kind == Alert::Kind::assigned) {
      assigned = alert->assignment;
    }
  }
  ASSERT_TRUE(assigned);
  EXPECT_TRUE(saw_v6_client);
  EXPECT_EQ(assigned->external_address, IpAddress::parse("2001:db8::1").value());
}

}  // namespace
}  // namespace etherpath::pcp
