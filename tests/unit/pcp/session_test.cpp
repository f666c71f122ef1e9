// The PCP state machine driven by a FakeClock and a hand-written server: retransmission within
// its jitter bounds, renewal timing, revoke, epoch and ANNOUNCE re-requests, nonce checks,
// error retries.
#include "pcp/session.hpp"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/pcp/fake_server.hpp"

namespace etherpath::pcp {
namespace {

using namespace std::chrono_literals;
using testing::answer;
using testing::RecordingTransport;

const IpEndpoint kServer{IpAddress::v4(0x0a620101U), kServerPort};  // 10.98.1.1:5351
const IpAddress kClient = IpAddress::v4(0x0a620102U);               // 10.98.1.2

double secs(Clock::Duration d) {
  return std::chrono::duration<double>(d).count();
}

class SessionTest : public ::testing::Test {
 protected:
  explicit SessionTest(Timers timers = {}, std::uint64_t seed = 7)
      : random_(seed),
        session_(SessionConfig{.client = kClient, .server = kServer, .timers = timers}, net_,
                 clock_, random_) {}

  // Moves the clock to the next deadline and runs it; returns how far the clock moved.
  Clock::Duration step() {
    const auto before = clock_.now();
    auto d = session_.next_deadline();
    EXPECT_TRUE(d.has_value());
    if (d) {
      clock_.set(*d);
    }
    session_.on_timer();
    return clock_.now() - before;
  }

  void deliver(const Response& r, const IpEndpoint& from = kServer) {
    auto bytes = encode(r);
    ASSERT_TRUE(bytes) << bytes.error();
    session_.on_datagram(*bytes, from);
  }

  MappingId map(RequestType type = RequestType::once, std::uint16_t port = 5000) {
    auto id = session_.request(InboundMap(port, 100s).protocol(Protocol::tcp), type);
    EXPECT_TRUE(id) << id.error();
    return *id;
  }

  // Grants the last request with `lifetime` and `epoch`.
  void grant(std::uint32_t lifetime, std::uint32_t epoch) {
    deliver(answer(net_.last(), ResultCode::success, lifetime, epoch));
  }

  FakeClock clock_;
  RecordingTransport net_;
  SeededRandom random_;
  Session session_;
};

TEST_F(SessionTest, FirstRequestGoesOutAtOnceWithARandom96BitNonce) {
  const auto a = map();
  const auto b = map(RequestType::once, 5001);
  ASSERT_EQ(net_.sent.size(), 2U);
  EXPECT_EQ(net_.sent[0].to, kServer);
  const Request first = decode_request(net_.sent[0].bytes).value();
  EXPECT_EQ(first.opcode, Opcode::map);
  EXPECT_EQ(first.lifetime, 100U);
  EXPECT_EQ(first.client_address, kClient);
  EXPECT_EQ(first.info.internal_port, 5000);
  EXPECT_EQ(first.info.nonce, session_.nonce(a));
  EXPECT_NE(session_.nonce(a), session_.nonce(b));
  // Every one of the 12 bytes comes from the random source (none left at a fixed value).
  EXPECT_NE(session_.nonce(a)[0], session_.nonce(b)[0]);
  EXPECT_NE(session_.nonce(a)[11], session_.nonce(b)[11]);
  EXPECT_EQ(session_.state(a), State::starting);
}

class RetransmissionTest : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(RetransmissionTest, ScheduleStaysWithinJitterBounds) {
  FakeClock clock;
  RecordingTransport net;
  SeededRandom random(GetParam());
  Timers timers;
  timers.mrt = 100s;  // reached after a few doublings, so the cap is tested too
  Session s(SessionConfig{.client = kClient, .server = kServer, .timers = timers}, net, clock,
            random);
  ASSERT_TRUE(s.request(InboundMap(5000, 120s).protocol(Protocol::udp), RequestType::once));
  double prev = 0;
  for (int i = 0; i < 10; ++i) {
    const auto before = clock.now();
    clock.set(*s.next_deadline());
    s.on_timer();
    const double rt = secs(clock.now() - before);
    // RT = (1 + RAND) * IRT, then (1 + RAND) * MIN(2 * RTprev, MRT), RAND in [-0.1, 0.1].
    const double base = i == 0 ? 3.0 : std::min(2 * prev, 100.0);
    EXPECT_GE(rt, 0.9 * base - 1e-6) << "transmission " << i + 2;
    EXPECT_LE(rt, 1.1 * base + 1e-6) << "transmission " << i + 2;
    prev = rt;
  }
  EXPECT_EQ(net.sent.size(), 11U);
  // Every retransmission is the same request, nonce and all.
  for (const auto& sent : net.sent) {
    EXPECT_EQ(sent.bytes, net.sent[0].bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RetransmissionTest, ::testing::Values(1U, 2U, 3U, 99U, 12345U));

TEST(SessionLimits, GivesUpAfterMrcTransmissionsAndAfterMrd) {
  FakeClock clock;
  RecordingTransport net;
  SeededRandom random(3);
  Timers timers;
  timers.mrc = 3;
  Session s(SessionConfig{.client = kClient, .server = kServer, .timers = timers}, net, clock,
            random);
  const auto id = s.request(InboundMap(5000, 120s), RequestType::once).value();
  while (s.next_deadline()) {
    clock.set(*s.next_deadline());
    s.on_timer();
  }
  EXPECT_EQ(net.sent.size(), 3U);
  EXPECT_EQ(s.state(id), State::failed);
  EXPECT_NE(s.failure(id)->reason.find("no answer"), std::string::npos) << s.failure(id)->reason;

  timers.mrc = 0;
  timers.mrd = 10s;
  Session t(SessionConfig{.client = kClient, .server = kServer, .timers = timers}, net, clock,
            random);
  const auto start = clock.now();
  const auto id2 = t.request(InboundMap(5000, 120s), RequestType::once).value();
  while (t.next_deadline()) {
    clock.set(*t.next_deadline());
    t.on_timer();
  }
  EXPECT_EQ(t.state(id2), State::failed);
  EXPECT_EQ(clock.now() - start, 10s);  // 3 + 6 = 9 s, then the MRD cuts the 12 s wait short
}

TEST_F(SessionTest, SuccessReportsTheAssignmentForMapAndPeer) {
  const auto id = map();
  grant(600, 1000);
  EXPECT_EQ(session_.state(id), State::running);
  auto alerts = session_.take_alerts(id);
  ASSERT_EQ(alerts.size(), 2U);
  EXPECT_EQ(alerts[0].state, State::starting);
  EXPECT_EQ(alerts[1].kind, Alert::Kind::assigned);
  EXPECT_EQ(alerts[1].assignment->external_address, IpAddress::v4(0x0b620201U));
  EXPECT_EQ(alerts[1].assignment->external_port, 5000);
  EXPECT_EQ(alerts[1].assignment->lifetime, 600s);
  EXPECT_EQ(alerts[1].assignment->epoch, 1000U);

  auto peer = session_.request(
      OutboundMap(6000, IpEndpoint::parse("11.7.7.7:7000").value(), 120s).protocol(Protocol::udp),
      RequestType::once);
  ASSERT_TRUE(peer) << peer.error();
  EXPECT_EQ(net_.last().opcode, Opcode::peer);
  grant(120, 1000);
  auto peer_alerts = session_.take_alerts(*peer);
  ASSERT_EQ(peer_alerts.size(), 2U);
  ASSERT_TRUE(peer_alerts[1].assignment);
  EXPECT_EQ(peer_alerts[1].assignment->opcode, Opcode::peer);
  EXPECT_EQ(peer_alerts[1].assignment->external_port, 6000);
}

TEST_F(SessionTest, OnceExpiresAtTheEndOfItsLifetimeWithoutRenewing) {
  const auto id = map();
  grant(100, 1000);
  EXPECT_EQ(step(), 100s);
  EXPECT_EQ(session_.state(id), State::expired);
  EXPECT_EQ(net_.sent.size(), 1U);
  EXPECT_FALSE(session_.next_deadline());
}

TEST_F(SessionTest, KeepAliveRenewsBetweenHalfAndFiveEighthsOfTheLifetime) {
  const auto id = map(RequestType::keep_alive);
  for (int round = 0; round < 3; ++round) {
    grant(100, 1000 + static_cast<std::uint32_t>(round) * 60);
    const double at = secs(step());
    EXPECT_GE(at, 50.0);
    EXPECT_LE(at, 62.5);
    EXPECT_EQ(session_.state(id), State::renewing);
    const Request renewal = net_.last();
    EXPECT_EQ(renewal.lifetime, 100U);
    EXPECT_EQ(renewal.info.nonce, session_.nonce(id));
  }
}

TEST_F(SessionTest, UnansweredRenewalsBackOffTowardsTheExpiry) {
  const auto id = map(RequestType::keep_alive);
  grant(1000, 1000);
  const auto granted_at = clock_.now();
  const std::vector<std::pair<double, double>> windows = {
      {500, 625}, {750, 875}, {875, 937.5}, {937.5, 968.75}, {968.75, 984.375}};
  for (const auto& [lo, hi] : windows) {
    step();
    const double at = secs(clock_.now() - granted_at);
    EXPECT_GE(at, lo);
    EXPECT_LE(at, hi);
    EXPECT_EQ(session_.state(id), State::renewing);
  }
  // Each next window is narrower; once the next try would be under 4 s after the last or past
  // the expiry, the mapping simply expires at 1000 s.
  int guard = 0;
  while (session_.state(id) == State::renewing && guard++ < 20) {
    const auto last = clock_.now();
    step();
    if (session_.state(id) == State::renewing) {
      EXPECT_GE(clock_.now() - last, 4s);
    }
  }
  EXPECT_EQ(session_.state(id), State::expired);
  EXPECT_EQ(clock_.now() - granted_at, 1000s);
}

TEST_F(SessionTest, RepeatRenewsNTimesThenExpires) {
  const auto id = map(RequestType::repeat(2));
  for (int i = 0; i < 2; ++i) {
    grant(100, 1000);
    step();
    EXPECT_EQ(session_.state(id), State::renewing);
  }
  grant(100, 1000);
  EXPECT_EQ(step(), 100s);
  EXPECT_EQ(session_.state(id), State::expired);
  EXPECT_EQ(net_.sent.size(), 3U);
}

TEST_F(SessionTest, RevokeSendsLifetimeZeroAndWaitsForTheConfirmation) {
  const auto id = map(RequestType::keep_alive);
  grant(100, 1000);
  ASSERT_TRUE(session_.revoke(id));
  const Request del = net_.last();
  EXPECT_EQ(del.lifetime, 0U);
  EXPECT_EQ(del.info.nonce, session_.nonce(id));
  EXPECT_EQ(session_.state(id), State::revoking);
  deliver(answer(del, ResultCode::success, 0, 1000));
  EXPECT_EQ(session_.state(id), State::revoked);
  EXPECT_FALSE(session_.next_deadline());
}

TEST_F(SessionTest, RefusedDeleteIsReportedWithItsResultCode) {
  const auto id = map(RequestType::keep_alive);
  grant(100, 1000);
  ASSERT_TRUE(session_.revoke(id));
  deliver(answer(net_.last(), ResultCode::not_authorized, 0, 1000));
  EXPECT_EQ(session_.state(id), State::failed);
  ASSERT_TRUE(session_.failure(id));
  EXPECT_EQ(session_.failure(id)->code, ResultCode::not_authorized);
  EXPECT_NE(session_.failure(id)->reason.find("NOT_AUTHORIZED"), std::string::npos);
}

TEST_F(SessionTest, RenewChangesTheLifetimeAndKeepsTheNonce) {
  const auto id = map();
  grant(100, 1000);
  ASSERT_TRUE(session_.renew(id, 300s));
  EXPECT_EQ(net_.last().lifetime, 300U);
  EXPECT_EQ(net_.last().info.nonce, session_.nonce(id));
  EXPECT_EQ(session_.state(id), State::starting);
  grant(300, 1000);
  EXPECT_EQ(session_.assignment(id)->lifetime, 300s);
}

TEST_F(SessionTest, NonceMismatchIsIgnored) {
  const auto id = map();
  Response r = answer(net_.last(), ResultCode::success, 100, 1000);
  r.info.nonce[11] ^= 1U;  // one bit of 96 off
  deliver(r);
  EXPECT_EQ(session_.state(id), State::starting);
  EXPECT_EQ(session_.stats().nonce_mismatch, 1U);
  step();  // still retransmitting
  EXPECT_EQ(net_.sent.size(), 2U);
  Response from_elsewhere = answer(net_.last(), ResultCode::success, 100, 1000);
  deliver(from_elsewhere, IpEndpoint{kServer.address, 5352});
  EXPECT_EQ(session_.stats().wrong_source, 1U);
  EXPECT_EQ(session_.state(id), State::starting);
  deliver(from_elsewhere);
  EXPECT_EQ(session_.state(id), State::running);
}

TEST_F(SessionTest, EpochJumpReRequestsEveryOtherMapping) {
  const auto a = map(RequestType::keep_alive, 5000);
  grant(1000, 5000);
  const auto b = map(RequestType::keep_alive, 5001);
  grant(1000, 5000);
  clock_.advance(100s);
  // A consistent epoch (+100 s) changes nothing.
  ASSERT_TRUE(session_.renew(a, 1000s));
  grant(1000, 5100);
  EXPECT_EQ(session_.stats().epoch_resets, 0U);
  EXPECT_EQ(session_.state(b), State::running);
  clock_.advance(100s);
  // The server restarted: its epoch went back. b is asked for again at once.
  ASSERT_TRUE(session_.renew(a, 1000s));
  const auto before = net_.sent.size();
  grant(1000, 3);
  EXPECT_EQ(session_.stats().epoch_resets, 1U);
  EXPECT_EQ(session_.state(a), State::running);
  EXPECT_EQ(session_.state(b), State::starting);
  ASSERT_EQ(net_.sent.size(), before + 1);
  EXPECT_EQ(net_.last().info.internal_port, 5001);
  EXPECT_EQ(net_.last().lifetime, 100U);  // the lifetime b asked for, not what it was granted
  grant(1000, 3);
  EXPECT_EQ(session_.state(b), State::running);
}

TEST_F(SessionTest, EpochRunningTooFastIsInvalidToo) {
  const auto a = map(RequestType::keep_alive, 5000);
  grant(1000, 100);
  const auto b = map(RequestType::keep_alive, 5001);
  clock_.advance(10s);
  grant(1000, 100 + 10 + 1);  // within 2 s + 1/16: fine
  EXPECT_EQ(session_.stats().epoch_resets, 0U);
  clock_.advance(10s);
  ASSERT_TRUE(session_.renew(a, 1000s));
  grant(1000, 111 + 100);  // 100 s of server time in 10 s of ours
  EXPECT_EQ(session_.stats().epoch_resets, 1U);
  EXPECT_EQ(session_.state(b), State::starting);
}

TEST_F(SessionTest, AnnounceReRequestsEveryMappingWithinFiveSeconds) {
  const auto a = map(RequestType::keep_alive, 5000);
  grant(1000, 5000);
  const auto b = map(RequestType::once, 5001);
  grant(1000, 5000);
  const auto sent = net_.sent.size();
  Response announce;
  announce.opcode = Opcode::announce;
  announce.epoch = 5001;  // even with a valid epoch
  clock_.advance(1s);
  const auto at = clock_.now();
  deliver(announce);
  EXPECT_EQ(session_.stats().announces, 1U);
  EXPECT_EQ(session_.state(a), State::starting);
  EXPECT_EQ(session_.state(b), State::starting);
  EXPECT_EQ(net_.sent.size(), sent);  // spread out, not at once
  // Run every timer within the 5 s window: each mapping goes out once in it.
  while (session_.next_deadline() && *session_.next_deadline() <= at + 5s) {
    step();
  }
  std::set<std::uint16_t> ports;
  for (std::size_t i = sent; i < net_.sent.size(); ++i) {
    ports.insert(decode_request(net_.sent[i].bytes)->info.internal_port);
  }
  EXPECT_EQ(ports, (std::set<std::uint16_t>{5000, 5001}));
}

TEST_F(SessionTest, ShortLifetimeErrorsAreRetriedAfterTheirLifetime) {
  for (const auto code : {ResultCode::no_resources, ResultCode::network_failure}) {
    const auto id = map(RequestType::once, code == ResultCode::no_resources ? 5000 : 5001);
    deliver(answer(net_.last(), code, 30, 1000));
    EXPECT_EQ(session_.state(id), State::backoff);
    EXPECT_EQ(session_.failure(id)->code, code);
    const auto sent = net_.sent.size();
    EXPECT_EQ(step(), 30s);
    EXPECT_EQ(net_.sent.size(), sent + 1);
    EXPECT_EQ(session_.state(id), State::starting);
    grant(100, 1030);
    EXPECT_EQ(session_.state(id), State::running);
    session_.forget(id);
  }
}

TEST_F(SessionTest, LongLifetimeErrorsAreFinal) {
  const auto id = map();
  deliver(answer(net_.last(), ResultCode::unsupp_protocol, 1800, 1000));
  EXPECT_EQ(session_.state(id), State::failed);
  EXPECT_FALSE(session_.next_deadline());
  auto alerts = session_.take_alerts(id);
  ASSERT_FALSE(alerts.empty());
  ASSERT_TRUE(alerts.back().failure);
  EXPECT_EQ(alerts.back().failure->code, ResultCode::unsupp_protocol);
}

TEST_F(SessionTest, NatPmpAnswerIsReportedClearly) {
  const auto id = map();
  const std::vector<std::uint8_t> natpmp = {0x00, 0x81, 0x00, 0x01, 0, 0, 0, 5};
  session_.on_datagram(natpmp, kServer);
  EXPECT_EQ(session_.state(id), State::failed);
  EXPECT_NE(session_.failure(id)->reason.find("NAT-PMP"), std::string::npos);
  EXPECT_FALSE(session_.failure(id)->code);
}

TEST_F(SessionTest, AnnounceRequestReportsTheEpoch) {
  const auto id = session_.request(Announce{}).value();
  EXPECT_EQ(net_.last().opcode, Opcode::announce);
  EXPECT_EQ(net_.sent.back().bytes.size(), kHeaderSize);
  Response r;
  r.opcode = Opcode::announce;
  r.epoch = 4242;
  deliver(r);
  EXPECT_EQ(session_.state(id), State::running);
  EXPECT_EQ(session_.assignment(id)->epoch, 4242U);
  EXPECT_EQ(session_.stats().announces, 0U);  // solicited, not a restart signal
}

TEST_F(SessionTest, MalformedAndUnknownOptionalOptionsDoNotDisturb) {
  const auto id = map();
  const std::vector<std::uint8_t> junk = {0x02, 0x81, 0x00};
  session_.on_datagram(junk, kServer);
  EXPECT_EQ(session_.stats().malformed, 1U);
  EXPECT_FALSE(session_.stats().last_error.empty());
  auto bytes = encode(answer(net_.last(), ResultCode::success, 100, 1000)).value();
  bytes.insert(bytes.end(), {0xc8, 0x00, 0x00, 0x00});  // optional option 200, empty
  session_.on_datagram(bytes, kServer);
  EXPECT_EQ(session_.state(id), State::running);
  EXPECT_EQ(session_.stats().ignored_options, 1U);
}

TEST_F(SessionTest, BadRequestsAreRefusedUpFront) {
  EXPECT_FALSE(session_.request(InboundMap(0, 120s).protocol(Protocol::tcp), RequestType::once));
  EXPECT_FALSE(session_.request(OutboundMap(1, IpEndpoint{}, 120s), RequestType::once));
  EXPECT_FALSE(session_.request(InboundMap(1, -1s), RequestType::once));
  EXPECT_TRUE(net_.sent.empty());
}

}  // namespace
}  // namespace etherpath::pcp
