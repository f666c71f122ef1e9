// Forwarder over FakeTransport and FakeClock: lock, relock, exit timeout, per-session timeouts,
// max payload, max sessions, ICMP bridging and checks, echo timeouts, stats arithmetic.
#include "relay/forwarder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "relay/icmp_echo.hpp"
#include "tests/unit/relay/fake_resolver.hpp"
#include "tests/unit/relay/fake_transport.hpp"

namespace etherpath::relay {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeResolver;
using testing::FakeTransport;
using testing::to_bytes;

IpEndpoint ep(const char* text) {
  return IpEndpoint::parse(text).value();
}

const IpEndpoint kListen = ep("127.0.0.1:5354");
const IpEndpoint kUpstream = ep("127.0.0.1:53");
const IpEndpoint kClientA = ep("127.0.0.1:40001");
const IpEndpoint kClientB = ep("127.0.0.1:40002");
const IpEndpoint kClientC = ep("127.0.0.1:40003");

std::vector<std::byte> echo_message(IpFamily family, EchoKind kind, std::uint16_t id,
                                    std::uint16_t seq, std::string_view data) {
  std::vector<std::byte> m(kIcmpEchoHeaderSize + data.size());
  std::memcpy(m.data() + kIcmpEchoHeaderSize, data.data(), data.size());
  write_echo(m, family, EchoHeader{kind, id, seq});
  return m;
}

struct Harness {
  explicit Harness(const ForwarderConfig& c) : config(c) {
    forwarder = std::make_unique<Forwarder>(
        config, transport, clock,
        [this](LogLevel, const std::string& line) { log.push_back(line); });
    EXPECT_TRUE(forwarder->start());
  }
  // NOLINTNEXTLINE(readability-make-member-function-const): it drives the forwarder
  Outcome poll() { return forwarder->poll(milliseconds(0)).value(); }
  // Moves time on and lets the timers run.
  Outcome idle(Clock::Duration d) {
    clock.advance(d);
    return poll();
  }
  [[nodiscard]] bool logged(std::string_view fragment) const {
    return std::any_of(log.begin(), log.end(),
                       [&](const std::string& l) { return l.find(fragment) != std::string::npos; });
  }

  ForwarderConfig config;
  FakeTransport transport;
  FakeClock clock;
  std::vector<std::string> log;
  std::unique_ptr<Forwarder> forwarder;
};

ForwarderConfig udp_config() {
  ForwarderConfig c;
  c.listen = kListen;
  c.upstream = kUpstream;
  c.log_drops = true;
  return c;
}

TEST(Forwarder, LocksToFirstClientAndDropsOthers) {
  Harness h(udp_config());
  h.transport.deliver(kListenerPort, kClientA, to_bytes("hello"));
  h.transport.deliver(kListenerPort, kClientB, to_bytes("intruder"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].port, 1U);
  EXPECT_EQ(h.transport.sent[0].peer, kUpstream);
  EXPECT_EQ(h.transport.sent[0].text(), "hello");
  EXPECT_TRUE(h.logged("Locked to single client 127.0.0.1:40001 (connected)"));
  EXPECT_TRUE(h.logged("dropping packet from unexpected client peer 127.0.0.1:40002"));
  ASSERT_EQ(h.transport.listener_connects.size(), 1U);
  EXPECT_EQ(h.transport.listener_connects[0], kClientA);

  // The reply leaves from the listener, to the locked client.
  h.transport.deliver(1, kUpstream, to_bytes("world"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);
  EXPECT_EQ(h.transport.sent[1].port, kListenerPort);
  EXPECT_EQ(h.transport.sent[1].peer, kClientA);
  EXPECT_EQ(h.transport.sent[1].text(), "world");

  const auto s = h.forwarder->snapshot();
  EXPECT_EQ(s.drops_of(DropReason::wrong_client), 1U);
  EXPECT_EQ(s.sessions, 1U);
  EXPECT_EQ(s.client, kClientA);
}

TEST(Forwarder, RelocksAfterDropTimeout) {
  Harness h(udp_config());
  h.transport.deliver(kListenerPort, kClientA, to_bytes("first-client"));
  h.poll();
  EXPECT_EQ(h.idle(seconds(9)), Outcome::running);
  EXPECT_EQ(h.forwarder->sessions().size(), 1U);
  EXPECT_EQ(h.idle(seconds(2)), Outcome::running);  // drop mode: never exits
  EXPECT_EQ(h.forwarder->sessions().size(), 0U);
  EXPECT_TRUE(h.logged("Idle timeout reached (10s): dropping locked client; waiting for a new"));
  ASSERT_EQ(h.transport.listener_connects.size(), 2U);
  EXPECT_FALSE(h.transport.listener_connects[1].has_value());

  h.transport.deliver(kListenerPort, kClientB, to_bytes("second-client"));
  h.poll();
  EXPECT_TRUE(h.logged("Locked to single client 127.0.0.1:40002"));
  ASSERT_EQ(h.transport.sent.size(), 2U);
  // The upstream port is kept across relocks, as pkthere keeps its socket.
  EXPECT_EQ(h.transport.sent[1].port, 1U);
  EXPECT_TRUE(h.transport.closed.empty());
  const auto s = h.forwarder->snapshot();
  EXPECT_EQ(s.client, kClientB);
  EXPECT_EQ(s.sessions_expired, 1U);
  EXPECT_EQ(s.sessions_opened, 2U);
}

TEST(Forwarder, ExitTimeoutAfterIdle) {
  auto c = udp_config();
  c.on_timeout = OnTimeout::exit;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("x"));
  h.poll();
  EXPECT_EQ(h.idle(seconds(5)), Outcome::running);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("y"));  // activity restarts the timer
  h.poll();
  EXPECT_EQ(h.idle(seconds(9)), Outcome::running);
  EXPECT_EQ(h.idle(seconds(1)), Outcome::timeout_exit);
  // The final stats still name the client that was served.
  EXPECT_EQ(h.forwarder->snapshot().client, kClientA);
}

TEST(Forwarder, ExitTimeoutWithoutAnyClient) {
  auto c = udp_config();
  c.on_timeout = OnTimeout::exit;
  c.timeout = seconds(2);
  Harness h(c);
  EXPECT_EQ(h.idle(seconds(1)), Outcome::running);
  EXPECT_EQ(h.idle(seconds(1)), Outcome::timeout_exit);
}

TEST(Forwarder, ZeroTimeoutNeverExpires) {
  auto c = udp_config();
  c.timeout = seconds(0);
  c.on_timeout = OnTimeout::exit;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("x"));
  h.poll();
  EXPECT_EQ(h.idle(std::chrono::hours(24)), Outcome::running);
  EXPECT_EQ(h.forwarder->sessions().size(), 1U);
}

TEST(Forwarder, PerSessionTimeouts) {
  auto c = udp_config();
  c.max_sessions = 3;
  c.on_timeout = OnTimeout::exit;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.poll();
  h.clock.advance(seconds(6));
  h.transport.deliver(kListenerPort, kClientB, to_bytes("b"));
  h.poll();
  EXPECT_EQ(h.forwarder->sessions().size(), 2U);
  // Each session has its own upstream port.
  ASSERT_EQ(h.transport.sent.size(), 2U);
  EXPECT_NE(h.transport.sent[0].port, h.transport.sent[1].port);
  EXPECT_EQ(h.idle(seconds(5)), Outcome::running);  // A idle 11 s, B 5 s
  EXPECT_EQ(h.forwarder->sessions().size(), 1U);
  EXPECT_TRUE(h.logged("dropping session for client 127.0.0.1:40001"));
  EXPECT_EQ(h.idle(seconds(4)), Outcome::running);
  EXPECT_EQ(h.idle(seconds(1)), Outcome::timeout_exit);  // B idle too, none left: exit
  // A's port became the spare for the next client; B's session stays for the final stats.
  EXPECT_TRUE(h.transport.closed.empty());
  EXPECT_EQ(h.forwarder->snapshot().client, kClientB);
}

TEST(Forwarder, MaxPayloadEdges) {
  auto c = udp_config();
  c.max_payload = 548;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, std::vector<std::byte>(548));
  h.transport.deliver(kListenerPort, kClientA, std::vector<std::byte>(549));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].bytes.size(), 548U);
  h.transport.deliver(1, kUpstream, std::vector<std::byte>(549));
  h.transport.deliver(1, kUpstream, std::vector<std::byte>(548));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);
  const auto s = h.forwarder->snapshot();
  EXPECT_EQ(s.c2u.drops_oversize, 1U);
  EXPECT_EQ(s.u2c.drops_oversize, 1U);
  EXPECT_EQ(s.c2u.pkts, 1U);
  EXPECT_EQ(s.u2c.pkts, 1U);
}

TEST(Forwarder, OversizeFirstPacketDoesNotLock) {
  auto c = udp_config();
  c.max_payload = 0;  // only empty datagrams pass
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, std::vector<std::byte>(1));
  h.transport.deliver(kListenerPort, kClientB, std::vector<std::byte>{});
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.forwarder->snapshot().client, kClientB);
}

TEST(Forwarder, MaxSessionsLimit) {
  auto c = udp_config();
  c.max_sessions = 2;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.transport.deliver(kListenerPort, kClientB, to_bytes("b"));
  h.transport.deliver(kListenerPort, kClientC, to_bytes("c"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);
  EXPECT_TRUE(h.logged("session limit reached (2): new client 127.0.0.1:40003 refused"));
  EXPECT_TRUE(h.transport.listener_connects.empty());  // a relay never connects its listener
  const PortId port_b = h.transport.sent[1].port;
  h.transport.deliver(port_b, kUpstream, to_bytes("to-b"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 3U);
  EXPECT_EQ(h.transport.sent[2].peer, kClientB);
  EXPECT_EQ(h.forwarder->snapshot().drops_of(DropReason::session_limit), 1U);

  // Once A and B time out, C is served.
  h.idle(seconds(11));
  h.transport.deliver(kListenerPort, kClientC, to_bytes("c"));
  h.poll();
  EXPECT_EQ(h.transport.sent.back().text(), "c");
  EXPECT_EQ(h.forwarder->sessions().size(), 1U);
}

TEST(Forwarder, UnconnectedModeDropsWrongUpstreamPeer) {
  auto c = udp_config();
  c.connected = false;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.poll();
  EXPECT_TRUE(h.logged("(not connected)"));
  EXPECT_TRUE(h.transport.listener_connects.empty());
  h.transport.deliver(1, ep("127.0.0.1:9999"), to_bytes("stray"));
  h.transport.deliver(1, kUpstream, to_bytes("real"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);
  EXPECT_EQ(h.transport.sent[1].text(), "real");
  EXPECT_TRUE(h.logged("dropping packet from unexpected upstream peer 127.0.0.1:9999"));
  EXPECT_EQ(h.forwarder->snapshot().drops_of(DropReason::wrong_upstream), 1U);
}

TEST(Forwarder, StatsArithmetic) {
  Harness h(udp_config());
  const std::string msg = "hello-through-forwarder";
  for (int i = 0; i < 5; ++i) {
    h.transport.deliver(kListenerPort, kClientA, to_bytes(msg));
    h.poll();
    h.transport.deliver(1, kUpstream, to_bytes(msg));
    h.poll();
  }
  h.transport.deliver(kListenerPort, kClientA, to_bytes("xy"));
  h.poll();
  h.transport.fail_sends = true;
  h.transport.deliver(kListenerPort, kClientA, to_bytes("lost"));
  h.transport.deliver(1, kUpstream, to_bytes("lost"));
  h.poll();
  const auto s = h.forwarder->snapshot();
  EXPECT_EQ(s.c2u.pkts, 6U);
  EXPECT_EQ(s.u2c.pkts, 5U);
  EXPECT_EQ(s.c2u.bytes, 5 * msg.size() + 2);
  EXPECT_EQ(s.u2c.bytes, 5 * msg.size());
  EXPECT_EQ(s.c2u.bytes_max, msg.size());
  EXPECT_EQ(s.c2u.errs, 1U);
  EXPECT_EQ(s.u2c.errs, 1U);
  EXPECT_GE(s.c2u.us_max, s.c2u.us_avg());
  EXPECT_GE(s.c2u.us_max, s.c2u.us_ewma);

  StatsSnapshot merged = s;
  merged.merge(s);
  EXPECT_EQ(merged.c2u.pkts, 12U);
  EXPECT_EQ(merged.c2u.bytes, 2 * s.c2u.bytes);
  EXPECT_EQ(merged.c2u.bytes_max, s.c2u.bytes_max);
  EXPECT_DOUBLE_EQ(merged.c2u.us_avg(), s.c2u.us_avg());
}

TEST(Forwarder, UdpClientToIcmpUpstreamWithEchoTimeouts) {
  auto c = udp_config();
  c.upstream_proto = Proto::icmp;
  c.upstream = ep("127.0.0.1:4321");
  c.echo_timeout = milliseconds(500);
  Harness h(c);
  for (int i = 0; i < 3; ++i) {
    h.transport.deliver(kListenerPort, kClientA, to_bytes("ping" + std::to_string(i)));
  }
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 3U);
  for (std::uint16_t i = 0; i < 3; ++i) {
    const auto& w = h.transport.sent[i];
    EXPECT_EQ(w.peer, ep("127.0.0.1:0"));
    const auto parsed = parse_echo(w.bytes, IpFamily::v4);
    ASSERT_TRUE(parsed.header);
    EXPECT_EQ(parsed.header->kind, EchoKind::request);
    EXPECT_EQ(parsed.header->id, 4321);  // the first session asks for --there's id
    EXPECT_EQ(parsed.header->seq, i);
    EXPECT_EQ(internet_checksum(w.bytes), 0);  // a valid ICMPv4 checksum sums to zero
  }
  // A reply to seq 1 comes back as the bare payload to the UDP client.
  h.transport.deliver(1, ep("127.0.0.1:0"),
                      echo_message(IpFamily::v4, EchoKind::reply, 4321, 1, "ping1"));
  // A request (wrong direction), a foreign id, a truncated header.
  h.transport.deliver(1, ep("127.0.0.1:0"),
                      echo_message(IpFamily::v4, EchoKind::request, 4321, 9, "x"));
  h.transport.deliver(1, ep("127.0.0.1:0"),
                      echo_message(IpFamily::v4, EchoKind::reply, 999, 1, "x"));
  h.transport.deliver(1, ep("127.0.0.1:0"), std::vector<std::byte>(5));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 4U);
  EXPECT_EQ(h.transport.sent[3].text(), "ping1");
  EXPECT_EQ(h.transport.sent[3].peer, kClientA);
  auto s = h.forwarder->snapshot();
  EXPECT_EQ(s.drops_of(DropReason::mismatch), 1U);
  EXPECT_EQ(s.drops_of(DropReason::no_session), 1U);
  EXPECT_EQ(s.drops_of(DropReason::malformed), 1U);
  EXPECT_TRUE(h.logged("ICMP Echo direction or identity mismatch"));
  EXPECT_TRUE(h.logged("invalid ICMP Echo header (missing or truncated)"));
  EXPECT_EQ(s.echo_timeouts, 0U);
  h.idle(milliseconds(600));
  s = h.forwarder->snapshot();
  EXPECT_EQ(s.echo_timeouts, 2U);  // seq 0 and 2 never answered
  EXPECT_EQ(s.c2u.bytes, 15U);     // payload bytes, without the Echo header
}

TEST(Forwarder, IcmpListenerAnyIdKeepsClientIdAndSeq) {
  ForwarderConfig c;
  c.listen_proto = Proto::icmp;
  c.listen = ep("10.0.0.1:0");
  c.upstream_proto = Proto::icmp;
  c.upstream = ep("10.0.1.2:0");
  c.max_sessions = 2;
  c.log_drops = true;
  Harness h(c);
  const IpEndpoint client = ep("10.0.0.2:0");
  h.transport.deliver(kListenerPort, client,
                      echo_message(IpFamily::v4, EchoKind::request, 111, 1, "abc"));
  h.transport.deliver(kListenerPort, client,
                      echo_message(IpFamily::v4, EchoKind::request, 222, 7, "def"));
  h.transport.deliver(kListenerPort, client,
                      echo_message(IpFamily::v4, EchoKind::request, 333, 1, "ghi"));
  h.transport.deliver(kListenerPort, client,
                      echo_message(IpFamily::v4, EchoKind::reply, 111, 2, "wrong way"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);  // (client, 333) is the third session: refused
  EXPECT_EQ(h.forwarder->sessions().size(), 2U);
  const auto up0 = parse_echo(h.transport.sent[0].bytes, IpFamily::v4).header.value();
  const auto up1 = parse_echo(h.transport.sent[1].bytes, IpFamily::v4).header.value();
  EXPECT_NE(up0.id, up1.id);  // each session its own echo identifier
  EXPECT_EQ(up0.seq, 1);      // the client's seq travels on
  EXPECT_EQ(up1.seq, 7);
  EXPECT_EQ(h.forwarder->snapshot().drops_of(DropReason::mismatch), 1U);

  // Replies come back with the client's own id and seq, payload intact.
  h.transport.deliver(h.transport.sent[1].port, ep("10.0.1.2:0"),
                      echo_message(IpFamily::v4, EchoKind::reply, up1.id, 7, "def"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 3U);
  const auto& back = h.transport.sent[2];
  EXPECT_EQ(back.port, kListenerPort);
  EXPECT_EQ(back.peer, client);
  const auto hdr = parse_echo(back.bytes, IpFamily::v4).header.value();
  EXPECT_EQ(hdr.kind, EchoKind::reply);
  EXPECT_EQ(hdr.id, 222);
  EXPECT_EQ(hdr.seq, 7);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(back.bytes.data()) + 8, 3),
            "def");  // NOLINT
  EXPECT_EQ(internet_checksum(back.bytes), 0);
}

TEST(Forwarder, IcmpListenerFixedIdRejectsOthers) {
  ForwarderConfig c;
  c.listen_proto = Proto::icmp;
  c.listen = ep("[::1]:77");
  c.upstream = ep("[::1]:53");
  Harness h(c);
  const IpEndpoint client = ep("[::1]:0");
  h.transport.deliver(kListenerPort, client,
                      echo_message(IpFamily::v6, EchoKind::request, 78, 1, "no"));
  h.transport.deliver(kListenerPort, client,
                      echo_message(IpFamily::v6, EchoKind::request, 77, 5, "yes"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].text(), "yes");  // ICMP -> UDP: the bare payload
  // The UDP reply goes back as an Echo reply with the client's id and its last seq.
  h.transport.deliver(1, ep("[::1]:53"), to_bytes("answer"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);
  const auto hdr = parse_echo(h.transport.sent[1].bytes, IpFamily::v6).header.value();
  EXPECT_EQ(hdr.kind, EchoKind::reply);
  EXPECT_EQ(hdr.id, 77);
  EXPECT_EQ(hdr.seq, 5);
  EXPECT_EQ(h.forwarder->snapshot().drops_of(DropReason::mismatch), 1U);
}

TEST(Forwarder, UpstreamOpenFailureIsCountedNotFatal) {
  auto c = udp_config();
  c.max_sessions = 2;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));  // takes the spare port
  h.poll();
  h.transport.fail_opens = true;
  h.transport.deliver(kListenerPort, kClientB, to_bytes("b"));
  h.poll();
  EXPECT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.forwarder->snapshot().drops_of(DropReason::upstream_open), 1U);
  EXPECT_EQ(h.forwarder->sessions().size(), 1U);
}

TEST(Forwarder, ReresolveMovesUpstream) {
  auto c = udp_config();
  c.max_sessions = 2;
  Harness h(c);
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.poll();
  h.forwarder->request_upstream(ep("127.0.0.2:53"));
  h.idle(milliseconds(200));
  h.transport.deliver(kListenerPort, kClientA, to_bytes("again"));
  h.poll();
  EXPECT_EQ(h.transport.sent.back().peer, ep("127.0.0.2:53"));
  EXPECT_EQ(h.transport.open_ports.at(h.transport.sent.back().port), ep("127.0.0.2:53"));
}

// pkthere re-resolves --there when a client locks (seed-systems.md §2.2), before forwarding the
// client's first datagram; not on later datagrams of the same lock.
TEST(Forwarder, ReresolvesUpstreamOnLock) {
  auto c = udp_config();
  c.connected = false;  // so that the old upstream's late replies reach the address check
  Harness h(c);
  FakeResolver resolver;
  resolver.names["dns.test"] = IpAddress::parse("127.0.0.2").value();
  h.forwarder->reresolve_upstream_on_lock(resolver, "dns.test");
  ASSERT_EQ(h.transport.open_ports.size(), 1U);  // start() opened towards the first address
  EXPECT_EQ(h.transport.open_ports.begin()->second, kUpstream);
  EXPECT_TRUE(resolver.queries.empty());  // nothing is resolved before a client locks

  h.transport.deliver(kListenerPort, kClientA, to_bytes("first"));
  h.transport.deliver(kListenerPort, kClientA, to_bytes("second"));
  h.poll();
  EXPECT_EQ(resolver.queries, std::vector<std::string>{"dns.test"});
  EXPECT_TRUE(h.logged("Re-resolved: upstream 127.0.0.1:53 -> 127.0.0.2:53"));
  ASSERT_EQ(h.transport.sent.size(), 2U);
  for (const auto& w : h.transport.sent) {
    EXPECT_EQ(w.peer, ep("127.0.0.2:53"));
    EXPECT_EQ(h.transport.open_ports.at(w.port), ep("127.0.0.2:53"));
  }
  EXPECT_EQ(h.transport.closed, std::vector<PortId>{1});  // the port towards the old address
  EXPECT_EQ(h.transport.open_ports.size(), 1U);
  EXPECT_EQ(h.forwarder->snapshot().upstream, ep("127.0.0.2:53"));

  // Replies: from the new address they pass; a late one from the old address is a wrong peer.
  const PortId port = h.transport.sent[0].port;
  h.transport.deliver(port, ep("127.0.0.2:53"), to_bytes("reply"));
  h.transport.deliver(port, kUpstream, to_bytes("stale"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 3U);
  EXPECT_EQ(h.transport.sent[2].text(), "reply");
  EXPECT_EQ(h.transport.sent[2].peer, kClientA);
  EXPECT_EQ(h.forwarder->snapshot().drops_of(DropReason::wrong_upstream), 1U);

  // More datagrams of the same lock: no lookup.
  h.transport.deliver(kListenerPort, kClientA, to_bytes("third"));
  h.poll();
  EXPECT_EQ(resolver.queries.size(), 1U);

  // The name moves while the client idles out; the next lock follows it.
  resolver.names["dns.test"] = IpAddress::parse("127.0.0.3").value();
  h.idle(seconds(11));
  ASSERT_TRUE(h.forwarder->sessions().empty());
  EXPECT_EQ(resolver.queries.size(), 1U);  // a drop timeout does not resolve
  h.transport.deliver(kListenerPort, kClientB, to_bytes("relock"));
  h.poll();
  EXPECT_EQ(resolver.queries.size(), 2U);
  EXPECT_TRUE(h.logged("Re-resolved: upstream 127.0.0.2:53 -> 127.0.0.3:53"));
  EXPECT_EQ(h.transport.sent.back().text(), "relock");
  EXPECT_EQ(h.transport.sent.back().peer, ep("127.0.0.3:53"));
  EXPECT_EQ(h.transport.open_ports.at(h.transport.sent.back().port), ep("127.0.0.3:53"));
  EXPECT_EQ(h.transport.open_ports.size(), 1U);
}

TEST(Forwarder, LockReresolveToSameAddressKeepsThePort) {
  Harness h(udp_config());
  FakeResolver resolver;
  resolver.names["dns.test"] = kUpstream.address;
  h.forwarder->reresolve_upstream_on_lock(resolver, "dns.test");
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.poll();
  EXPECT_EQ(resolver.queries.size(), 1U);
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].port, 1U);
  EXPECT_EQ(h.transport.sent[0].peer, kUpstream);
  EXPECT_TRUE(h.transport.closed.empty());
  EXPECT_FALSE(h.logged("Re-resolved"));
}

TEST(Forwarder, LockReresolveFailureKeepsTheOldAddress) {
  Harness h(udp_config());
  FakeResolver resolver;  // knows no names
  h.forwarder->reresolve_upstream_on_lock(resolver, "gone.test");
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].peer, kUpstream);
  EXPECT_EQ(h.forwarder->sessions().size(), 1U);
  EXPECT_TRUE(h.logged("Re-resolve on lock: --there: failed to parse and resolve 'gone.test'"));
}

TEST(Forwarder, LockReresolveAcrossFamilies) {
  Harness h(udp_config());
  FakeResolver resolver;
  resolver.names["dns.test"] = IpAddress::parse("::1").value();
  h.forwarder->reresolve_upstream_on_lock(resolver, "dns.test");
  h.transport.deliver(kListenerPort, kClientA, to_bytes("to-v6"));
  h.poll();
  EXPECT_TRUE(h.logged(
      "Re-resolved: upstream 127.0.0.1:53 -> [::1]:53 (family changed; upstream socket swapped)"));
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].peer, ep("[::1]:53"));
  EXPECT_EQ(h.transport.open_ports.at(h.transport.sent[0].port), ep("[::1]:53"));
  // The reply comes back over v6 and leaves to the v4 client.
  h.transport.deliver(h.transport.sent[0].port, ep("[::1]:53"), to_bytes("from-v6"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 2U);
  EXPECT_EQ(h.transport.sent[1].peer, kClientA);
}

TEST(Forwarder, LockReresolveKeepsTheIcmpEchoId) {
  auto c = udp_config();
  c.upstream_proto = Proto::icmp;
  c.upstream = ep("127.0.0.1:4321");
  Harness h(c);
  FakeResolver resolver;
  resolver.names["ping.test"] = IpAddress::parse("127.0.0.9").value();
  h.forwarder->reresolve_upstream_on_lock(resolver, "ping.test");
  h.transport.deliver(kListenerPort, kClientA, to_bytes("ping"));
  h.poll();
  ASSERT_EQ(h.transport.sent.size(), 1U);
  EXPECT_EQ(h.transport.sent[0].peer, ep("127.0.0.9:0"));
  const auto parsed = parse_echo(h.transport.sent[0].bytes, IpFamily::v4);
  ASSERT_TRUE(parsed.header);
  EXPECT_EQ(parsed.header->id, 4321);  // --there's echo id is asked for again
}

// With N sessions the lookup happens when a session opens in an empty table, not per session.
TEST(Forwarder, MultiSessionReresolvesOnlyWhenIdle) {
  auto c = udp_config();
  c.max_sessions = 4;
  Harness h(c);
  FakeResolver resolver;
  resolver.names["dns.test"] = IpAddress::parse("127.0.0.2").value();
  h.forwarder->reresolve_upstream_on_lock(resolver, "dns.test");
  h.transport.deliver(kListenerPort, kClientA, to_bytes("a"));
  h.poll();
  resolver.names["dns.test"] = IpAddress::parse("127.0.0.3").value();
  h.transport.deliver(kListenerPort, kClientB, to_bytes("b"));
  h.poll();
  EXPECT_EQ(resolver.queries.size(), 1U);
  ASSERT_EQ(h.transport.sent.size(), 2U);
  EXPECT_EQ(h.transport.sent[0].peer, ep("127.0.0.2:53"));
  EXPECT_EQ(h.transport.sent[1].peer, ep("127.0.0.2:53"));
  h.idle(seconds(11));
  ASSERT_TRUE(h.forwarder->sessions().empty());
  h.transport.deliver(kListenerPort, kClientC, to_bytes("c"));
  h.poll();
  EXPECT_EQ(resolver.queries.size(), 2U);
  EXPECT_EQ(h.transport.sent.back().peer, ep("127.0.0.3:53"));
}

}  // namespace
}  // namespace etherpath::relay
