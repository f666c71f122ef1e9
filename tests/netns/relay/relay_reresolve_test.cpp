// The Forwarder's re-resolve on lock over the real SocketTransport on loopback: a fake resolver
// moves --there's name (127.0.0.2 -> 127.0.0.3 -> ::1, same port) and each lock's first datagram
// reaches the address the name points to then, and its reply comes back through the listener.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "relay/forwarder.hpp"
#include "relay/socket_transport.hpp"
#include "tests/netns/relay/relay_harness.hpp"
#include "tests/unit/relay/fake_resolver.hpp"

namespace etherpath::relay {
namespace {

using std::chrono::milliseconds;
using testing::FakeResolver;
using testing::Received;

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

// Polls the forwarder until `fd` has a datagram (at most ~2 s).
std::optional<Received> pump_until(Forwarder& forwarder, int fd) {
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(forwarder.poll(milliseconds(10)));
    if (auto got = testing::receive(fd, milliseconds(0))) {
      return got;
    }
  }
  return std::nullopt;
}

TEST(RelayReresolve, EachLockFollowsTheName) {
  // Three upstreams on one port: the old address, the new one, and a new one in another family.
  const UniqueFd new_v4 = testing::udp_socket(IpEndpoint{ip("127.0.0.3"), 0});
  ASSERT_TRUE(new_v4);
  const std::uint16_t port = testing::local_endpoint(new_v4.get()).port;
  const UniqueFd old_v4 = testing::udp_socket(IpEndpoint{ip("127.0.0.2"), port});
  const UniqueFd new_v6 = testing::udp_socket(IpEndpoint{ip("::1"), port});
  ASSERT_TRUE(old_v4) << "127.0.0.2:" << port << " is taken";
  ASSERT_TRUE(new_v6) << "[::1]:" << port << " is taken";

  SocketTransportOptions so;
  so.listen = IpEndpoint{ip("127.0.0.1"), 0};
  auto transport = SocketTransport::open(so);
  ASSERT_TRUE(transport) << transport.error().message();
  const IpEndpoint listen = (*transport)->listen_address();

  ForwarderConfig fc;
  fc.listen = listen;
  fc.upstream = IpEndpoint{ip("127.0.0.2"), port};  // what --there resolved to at start-up
  FakeClock clock;
  std::vector<std::string> log;
  Forwarder forwarder(fc, **transport, clock,
                      [&log](LogLevel, const std::string& line) { log.push_back(line); });
  ASSERT_TRUE(forwarder.start());
  FakeResolver resolver;
  resolver.names["upstream.test"] = ip("127.0.0.3");
  forwarder.reresolve_upstream_on_lock(resolver, "upstream.test");

  // First lock: the name now points to 127.0.0.3.
  const UniqueFd client_a = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0});
  ASSERT_TRUE(testing::send_to(client_a.get(), listen, "one"));
  auto up = pump_until(forwarder, new_v4.get());
  ASSERT_TRUE(up) << "the first datagram did not reach the re-resolved upstream";
  EXPECT_EQ(up->data, "one");
  ASSERT_TRUE(testing::send_to(new_v4.get(), up->from, "reply-one"));
  auto back = pump_until(forwarder, client_a.get());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->data, "reply-one");
  EXPECT_EQ(back->from, listen);

  // The client idles out (drop), the name moves to ::1, a new client locks.
  clock.advance(std::chrono::seconds(11));
  ASSERT_TRUE(forwarder.poll(milliseconds(0)));
  ASSERT_TRUE(forwarder.sessions().empty());
  resolver.names["upstream.test"] = ip("::1");
  const UniqueFd client_b = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0});
  ASSERT_TRUE(testing::send_to(client_b.get(), listen, "two"));
  up = pump_until(forwarder, new_v6.get());
  ASSERT_TRUE(up) << "the relock's datagram did not reach the IPv6 upstream";
  EXPECT_EQ(up->data, "two");
  ASSERT_TRUE(testing::send_to(new_v6.get(), up->from, "reply-two"));
  back = pump_until(forwarder, client_b.get());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->data, "reply-two");
  EXPECT_EQ(back->from, listen);

  EXPECT_FALSE(testing::receive(old_v4.get(), milliseconds(0))) << "the old address got traffic";
  EXPECT_EQ(resolver.queries.size(), 2U);
  const auto logged = [&log](std::string_view s) {
    return std::any_of(log.begin(), log.end(),
                       [&](const std::string& l) { return l.find(s) != std::string::npos; });
  };
  EXPECT_TRUE(logged("Re-resolved: upstream 127.0.0.2:"));
  EXPECT_TRUE(logged("(family changed; upstream socket swapped)"));
  const auto stats = forwarder.snapshot();
  EXPECT_EQ(stats.c2u.pkts, 2U);
  EXPECT_EQ(stats.u2c.pkts, 2U);
  EXPECT_EQ(stats.c2u.errs, 0U);
}

}  // namespace
}  // namespace etherpath::relay
