// etherpath-pcp and pcp::Client against miniupnpd 2.3.1 as the gateway, from the client
// namespace's own stack (10.98.1.2); the namespaces and miniupnpd: miniupnpd_gateway.hpp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/udp_transport.hpp"
#include "pcp/client.hpp"
#include "tests/netns/pcp/miniupnpd_gateway.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::pcp {
namespace {

using namespace std::chrono_literals;
using etherpath::testing::NetNs;
using etherpath::testing::Process;
using test::kClient;
using test::kExternal;
using test::kGateway;
using test::wait_assigned;

// The last JSON line of `text` whose "event" is `event`.
std::optional<nlohmann::json> last_event(const std::string& text, const std::string& event) {
  std::optional<nlohmann::json> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("event", "") == event) {
      found = j;
    }
  }
  return found;
}

class MiniupnpdTest : public ::testing::Test, protected test::MiniupnpdGateway {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    set_up();
  }
  void TearDown() override { tear_down(); }

  // Runs etherpath-pcp in the client namespace; returns the exit code (-1 on a timeout).
  struct ToolRun {
    int code = -1;
    std::string out;
    std::string err;
  };
  ToolRun tool(std::vector<std::string> args) {
    args.insert(args.begin(), ETHERPATH_PCP_TOOL);
    auto p = Process::spawn(args, &*client_);
    if (!p) {
      ADD_FAILURE() << p.error();
      return {};
    }
    auto code = p->wait_for(15s);
    return ToolRun{code.value_or(-1), p->out(), p->err()};
  }
};

TEST_F(MiniupnpdTest, ToolMapsRenewsAndDeletesOnCtrlC) {
  auto keep =
      Process::spawn({ETHERPATH_PCP_TOOL, "map", "--server", "10.98.1.1", "--internal-port", "5000",
                      "--protocol", "tcp", "--lifetime", "600", "--keepalive", "--json"},
                     &*client_);
  ASSERT_TRUE(keep) << keep.error();
  auto out = keep->wait_for_output("\"assigned\"", 10s);
  ASSERT_TRUE(out) << out.error() << keep->err();
  const auto granted = last_event(*out, "assigned");
  ASSERT_TRUE(granted);
  EXPECT_EQ((*granted)["opcode"], "MAP");
  EXPECT_EQ((*granted)["external_address"], kExternal.to_string());
  EXPECT_EQ((*granted)["external_port"], 5000);
  EXPECT_EQ((*granted)["lifetime"], 600);
  EXPECT_TRUE(has_rule(5000)) << nat_rules();

  // Renew explicitly (min_lifetime clamps anything short, so no waiting for the timer): the
  // same nonce with a new lifetime.
  const std::string nonce = (*granted)["nonce"];
  auto renew = tool({"map", "--server", "10.98.1.1", "--internal-port", "5000", "--protocol", "tcp",
                     "--lifetime", "900", "--nonce", nonce, "--json"});
  ASSERT_EQ(renew.code, 0) << renew.err;
  const auto renewed = last_event(renew.out, "assigned");
  ASSERT_TRUE(renewed) << renew.out;
  EXPECT_EQ((*renewed)["lifetime"], 900);
  EXPECT_EQ((*renewed)["nonce"], nonce);
  EXPECT_TRUE(has_rule(5000)) << nat_rules();

  keep->signal(SIGINT);
  auto code = keep->wait_for(10s);
  ASSERT_TRUE(code) << code.error();
  EXPECT_EQ(*code, 0) << keep->err();
  EXPECT_TRUE(last_event(keep->out(), "deleted")) << keep->out();
  EXPECT_FALSE(has_rule(5000)) << nat_rules();
}

TEST_F(MiniupnpdTest, DeleteWithAWrongNonceIsRefusedAndReported) {
  auto made = tool({"map", "--server", "10.98.1.1", "--internal-port", "5002", "--protocol", "udp",
                    "--lifetime", "600", "--json"});
  ASSERT_EQ(made.code, 0) << made.err;
  const auto granted = last_event(made.out, "assigned");
  ASSERT_TRUE(granted) << made.out;
  ASSERT_TRUE(has_rule(5002)) << nat_rules();

  auto refused = tool({"map", "--server", "10.98.1.1", "--internal-port", "5002", "--protocol",
                       "udp", "--lifetime", "0", "--nonce", "000000000000000000000001", "--json"});
  EXPECT_EQ(refused.code, 1);
  const auto error = last_event(refused.out, "error");
  ASSERT_TRUE(error) << refused.out;
  EXPECT_EQ((*error)["result"], "NOT_AUTHORIZED");
  EXPECT_EQ((*error)["result_code"], 2);
  EXPECT_NE(refused.err.find("NOT_AUTHORIZED"), std::string::npos) << refused.err;
  EXPECT_TRUE(has_rule(5002)) << nat_rules();

  auto deleted = tool({"map", "--server", "10.98.1.1", "--internal-port", "5002", "--protocol",
                       "udp", "--lifetime", "0", "--nonce", (*granted)["nonce"], "--json"});
  EXPECT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_TRUE(last_event(deleted.out, "deleted")) << deleted.out;
  EXPECT_FALSE(has_rule(5002)) << nat_rules();
}

// Sends one hand-built datagram from the client namespace and returns the answer's bytes.
std::vector<std::uint8_t> ask_by_hand(const NetNs& ns, const std::vector<std::uint8_t>& request) {
  return etherpath::testing::in_netns(ns, [&]() -> std::vector<std::uint8_t> {
    auto sock = UdpTransport::open(IpEndpoint{kClient, 0});
    if (!sock) {
      ADD_FAILURE() << sock.error();
      return {};
    }
    EXPECT_TRUE(sock->send_to(as_bytes(std::span<const std::uint8_t>(request)),
                              IpEndpoint{kGateway, kServerPort}));
    std::array<std::uint8_t, 1200> buf{};
    auto got = sock->recv_from(as_writable(std::span<std::uint8_t>(buf)), 3s);
    if (!got) {
      ADD_FAILURE() << got.error();
      return {};
    }
    return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got->size)};
  });
}

TEST_F(MiniupnpdTest, ToolReportsExactlyWhatMiniupnpdAnswersToPeer) {
  // PEER udp 10.98.1.2:6000 -> 10.98.2.2:7000, lifetime 120, written out by hand (§7.1, §12.1).
  const std::vector<std::uint8_t> peer = {
      0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78,  // v2 PEER, 120 s
      0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff,
      10,   98,   1,    2,                                                     // client
      0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0,  // nonce
      0x11, 0x00, 0x00, 0x00, 0x17, 0x70, 0x00, 0x00,                          // udp, 6000, 0
      0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff,
      0,    0,    0,    0,     // no suggestion
      0x1b, 0x58, 0x00, 0x00,  // remote 7000
      0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff,
      10,   98,   2,    2};  // 10.98.2.2
  ASSERT_EQ(peer.size(), 80U);
  const auto recorded = ask_by_hand(*client_, peer);
  ASSERT_GE(recorded.size(), 24U);
  // What miniupnpd 2.3.1 answered, by hand: version, R|opcode, result, lifetime, ports, address.
  const unsigned result = recorded[3];
  const unsigned lifetime = (unsigned{recorded[4]} << 24U) | (unsigned{recorded[5]} << 16U) |
                            (unsigned{recorded[6]} << 8U) | recorded[7];
  EXPECT_EQ(recorded[0], 2);
  EXPECT_EQ(recorded[1], 0x82);
  ASSERT_EQ(recorded.size(), 80U);
  const unsigned ext_port = (unsigned{recorded[42]} << 8U) | recorded[43];
  const std::string ext_addr =
      fmt::format("{}.{}.{}.{}", recorded[56], recorded[57], recorded[58], recorded[59]);
  // Recorded with Debian 12's miniupnpd 2.3.1: 80 bytes, SUCCESS, lifetime 120, 11.98.2.1:6000.
  std::cout << fmt::format("miniupnpd PEER answer: {} bytes, result {}, lifetime {}, {}:{}\n",
                           recorded.size(), result, lifetime, ext_addr, ext_port);
  // Delete it (same nonce, lifetime 0) so the tool's request meets the same state.
  auto del = peer;
  del[4] = del[5] = del[6] = del[7] = 0;
  const auto gone = ask_by_hand(*client_, del);
  ASSERT_GE(gone.size(), 24U);

  auto run = tool({"peer", "--server", "10.98.1.1", "--internal-port", "6000", "--protocol", "udp",
                   "--remote", "10.98.2.2:7000", "--lifetime", "120", "--json"});
  if (result == 0) {
    ASSERT_EQ(run.code, 0) << run.err;
    const auto got = last_event(run.out, "assigned");
    ASSERT_TRUE(got) << run.out;
    EXPECT_EQ((*got)["opcode"], "PEER");
    EXPECT_EQ((*got)["result"], "SUCCESS");
    EXPECT_EQ((*got)["lifetime"], lifetime);
    EXPECT_EQ((*got)["external_port"], ext_port);
    EXPECT_EQ((*got)["external_address"], ext_addr);
    EXPECT_EQ((*got)["remote"], "10.98.2.2:7000");
  } else {
    EXPECT_EQ(run.code, 1);
    const auto got = last_event(run.out, "error");
    ASSERT_TRUE(got) << run.out;
    EXPECT_EQ((*got)["result_code"], result);
  }
}

TEST_F(MiniupnpdTest, RestartLowersTheEpochAndTheClientAsksAgain) {
  auto client = etherpath::testing::in_netns(*client_, [&] {
    ClientOptions options;
    options.timers.announce_delay_max = 1s;
    options.timers.mrd = 10s;
    return Client::start(kClient, kGateway, std::move(options));
  });
  ASSERT_TRUE(client) << client.error();
  auto a = client->request(InboundMap(5010, 600s).protocol(Protocol::tcp), RequestType::keep_alive);
  auto b = client->request(InboundMap(5011, 600s).protocol(Protocol::tcp), RequestType::keep_alive);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(wait_assigned(*a, 5s));
  ASSERT_TRUE(wait_assigned(*b, 5s));
  EXPECT_TRUE(has_rule(5010) && has_rule(5011)) << nat_rules();

  // Let the epoch grow to 2 s or more, so that after the restart (epoch 0) it has gone back by
  // more than the 1 s §8.5 forgives; renew so the client sees it.
  std::this_thread::sleep_until(started_at_ + 2500ms);
  ASSERT_TRUE(a->renew(900s));
  const auto before = wait_assigned(*a, 5s);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->lifetime, 900s);
  EXPECT_GE(before->epoch, 2U);

  stop_daemon();
  ASSERT_FALSE(HasFatalFailure());
  start_daemon();
  ASSERT_FALSE(HasFatalFailure());
  // miniupnpd announces its restart (multicast ANNOUNCE to 224.0.0.1:5350), and in any case the
  // next answer carries the fallen epoch: either way b is asked for again.
  ASSERT_TRUE(a->renew(900s));
  const auto after_a = wait_assigned(*a, 5s);
  ASSERT_TRUE(after_a);
  EXPECT_LT(after_a->epoch, before->epoch);
  const auto after_b = wait_assigned(*b, 5s);
  ASSERT_TRUE(after_b) << "b was not asked for again after the restart";
  EXPECT_LT(after_b->epoch, before->epoch);
  const auto stats = client->stats();
  EXPECT_GE(stats.announces + stats.epoch_resets, 1U);
  std::cout << fmt::format("after restart: announces {}, epoch resets {}\n", stats.announces,
                           stats.epoch_resets);

  ASSERT_TRUE(a->revoke());
  ASSERT_TRUE(b->revoke());
  for (int i = 0; i < 50 && (a->state() != State::revoked || b->state() != State::revoked); ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(a->state(), State::revoked);
  EXPECT_EQ(b->state(), State::revoked);
  EXPECT_FALSE(has_rule(5010) || has_rule(5011)) << nat_rules();
}

}  // namespace
}  // namespace etherpath::pcp
