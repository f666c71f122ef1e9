// scapy as the second, independent peer, on AF_XDP and libpcap, untagged, 802.1Q and QinQ (outer
// 802.1ad, and outer 802.1Q):
// scapy_peer.py (run by Debian's /usr/bin/python3 in the peer namespace) sends ARP requests,
// neighbour solicitations, UDP datagrams and echo requests to four emulated hosts (a RUDPConn and
// an answering IcmpEchoConn per family, each with its own MAC) and checks every field of the
// answers, recomputing the checksums itself; a request on another VLAN stack must go unanswered.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;
using etherpath::testing::Process;
using etherpath::testing::run;

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, with python3-scapy

struct ScapyCase {
  const char* name;
  const char* vlans;
  std::uint16_t outer_tpid;
  const char* other_vlans;  // a stack no host is on, for the unanswered request
};

// Tags as the script takes them: [tpid, vid, pcp, dei], outer first.
nlohmann::json tags_json(const VlanStack& vlans) {
  auto out = nlohmann::json::array();
  for (const VlanTag& t : vlans) {
    out.push_back({t.tpid, t.id, t.pcp, t.dei ? 1 : 0});
  }
  return out;
}

// The same IDs and TPIDs with other priorities: the PCP and DEI of a request must not decide
// whether it reaches its host.
VlanStack with_priorities(VlanStack vlans, std::uint8_t outer_pcp, bool outer_dei,
                          std::uint8_t inner_pcp, bool inner_dei) {
  for (std::size_t i = 0; i < vlans.size(); ++i) {
    vlans[i].pcp = i == 0 ? outer_pcp : inner_pcp;
    vlans[i].dei = i == 0 ? outer_dei : inner_dei;
  }
  return vlans;
}

// Runs `fn` on a thread until destroyed (also when an assertion returns early).
class Loop {
 public:
  explicit Loop(std::function<void()> fn)
      : thread_([this, f = std::move(fn)] {
          while (!done_.load()) {
            f();
          }
        }) {}
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  Loop(Loop&&) = delete;
  Loop& operator=(Loop&&) = delete;
  ~Loop() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// What one run of the script saw and did.
struct Exchange {
  int code = -1;  // the script's exit status
  std::string out;
  std::size_t echoed = 0;                   // datagrams the RUDPConns echoed
  std::vector<std::uint64_t> echo_answers;  // requests each IcmpEchoConn answered
  std::uint64_t neighbor_answers = 0;
};

class ScapyPeerBase : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    if (!run(std::string(kPython) + " -c 'import scapy.all' 2>&1")) {
      GTEST_SKIP() << kPython << " cannot import scapy (apt-get install python3-scapy)";
    }
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override { net_.teardown(); }

  // Opens the four hosts on `engine` with the case's VLANs and runs the script against them,
  // its spec changed by `tweak` first (for the negative control). Nothing on a setup failure.
  std::optional<Exchange> exchange(Engine engine, const ScapyCase& sc,
                                   const std::function<void(nlohmann::json&)>& tweak = {});

  TwoNamespaces net_;
};

std::optional<Exchange> ScapyPeerBase::exchange(Engine engine, const ScapyCase& sc,
                                                const std::function<void(nlohmann::json&)>& tweak) {
  // Our hosts' tags carry a priority and DEI of their own; scapy's requests other ones.
  const VlanStack vlans =
      with_priorities(VlanStack::parse(sc.vlans, sc.outer_tpid).value(), 5, true, 2, false);
  const VlanStack request_vlans = with_priorities(vlans, 3, false, 6, true);
  const VlanStack other_vlans = VlanStack::parse(sc.other_vlans, sc.outer_tpid).value();

  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), engine);
  if (!net_.relay_a) {
    return std::nullopt;
  }
  auto neighbor = Neighbor::open(*net_.relay_a);
  if (!neighbor) {
    ADD_FAILURE() << neighbor.error();
    return std::nullopt;
  }
  net_.neighbors.push_back(std::move(*neighbor));
  Neighbor& nb = *net_.neighbors.back();

  struct UdpHost {
    const char* mac;
    const char* local;
    std::uint8_t ttl;
    std::uint8_t dscp;
  };
  struct EchoHost {
    const char* mac;
    const char* local;
    std::uint8_t ttl;
  };
  const UdpHost udp_hosts[] = {{"02:00:00:5c:00:01", "10.92.0.2:5001", 77, 10},
                               {"02:00:00:5c:00:02", "[2001:db8:92::2]:5002", 66, 46}};
  const EchoHost echo_hosts[] = {{"02:00:00:5c:00:03", "10.92.0.3", 55},
                                 {"02:00:00:5c:00:04", "2001:db8:92::3", 44}};
  auto open_conn = [&](const char* mac) -> EtherConn* {
    auto c =
        EtherConn::open(*net_.relay_a, {.mac = MacAddress::parse(mac).value(), .vlans = vlans});
    if (!c) {
      ADD_FAILURE() << c.error();
      return nullptr;
    }
    net_.conns.push_back(std::move(*c));
    return net_.conns.back().get();
  };

  nlohmann::json spec = {
      {"iface", net_.veth->b()},
      {"peer_mac", "02:00:00:5c:a9:01"},
      {"peer_v4", "10.92.0.1"},
      {"peer_v6", "2001:db8:92::1"},
      {"request_tags", tags_json(request_vlans)},
      {"reply_tags", tags_json(vlans)},
      // Neighbor answers "with the requester's VLANs" (neighbor.hpp): the IDs are the host's, the
      // PCP and DEI the request's. The host's own traffic carries its configured PCP and DEI.
      {"neighbor_reply_tags", tags_json(request_vlans)},
      {"other_tags", tags_json(other_vlans)},
      {"udp", nlohmann::json::array()},
      {"echo", nlohmann::json::array()},
      {"timeout", 2.0},
      {"negative_wait", 1.0},
  };
  for (const UdpHost& h : udp_hosts) {
    EtherConn* conn = open_conn(h.mac);
    if (conn == nullptr) {
      return std::nullopt;
    }
    const IpEndpoint local = ep(h.local);
    auto u = RUDPConn::open(*conn, {.local = local, .ttl = h.ttl, .dscp = h.dscp}, &nb);
    if (!u) {
      ADD_FAILURE() << u.error();
      return std::nullopt;
    }
    net_.udp.push_back(std::move(*u));
    spec["udp"].push_back({{"mac", h.mac},
                           {"ip", local.address.to_string()},
                           {"port", local.port},
                           {"ttl", h.ttl},
                           {"dscp", h.dscp}});
  }
  for (const EchoHost& h : echo_hosts) {
    EtherConn* conn = open_conn(h.mac);
    if (conn == nullptr) {
      return std::nullopt;
    }
    const IpAddress local = IpAddress::parse(h.local).value();
    auto e = IcmpEchoConn::open(
        *conn, {.local = local, .identifier = 0x4343, .answer_requests = true, .ttl = h.ttl}, nb);
    if (!e) {
      ADD_FAILURE() << e.error();
      return std::nullopt;
    }
    net_.icmp.push_back(std::move(*e));
    spec["echo"].push_back({{"mac", h.mac}, {"ip", h.local}, {"ttl", h.ttl}});
  }
  if (tweak) {
    tweak(spec);
  }

  // Each RUDPConn echoes what it gets; each IcmpEchoConn answers requests.
  std::atomic<std::size_t> echoed{0};
  std::vector<std::unique_ptr<Loop>> loops;
  for (auto& u : net_.udp) {
    RUDPConn* conn = u.get();
    loops.push_back(std::make_unique<Loop>([conn, &echoed] {
      std::array<std::byte, 2048> buf{};
      auto got = conn->recv_from(buf, 100ms);
      if (got && conn->send_to(ConstBytes(buf.data(), got->size), got->from)) {
        ++echoed;
      }
    }));
  }
  for (auto& e : net_.icmp) {
    IcmpEchoConn* conn = e.get();
    loops.push_back(std::make_unique<Loop>([conn] { conn->serve(100ms); }));
  }

  auto script = Process::spawn({kPython, ETHERPATH_SCAPY_PEER, spec.dump()}, &*net_.ns_b);
  if (!script) {
    ADD_FAILURE() << script.error();
    return std::nullopt;
  }
  // scapy starts in about a second; 10 answers of at most 2 s each and 1 s of silence follow.
  auto code = script->wait_for(60s);
  loops.clear();
  if (!code) {
    ADD_FAILURE() << code.error() << "\n" << script->out() << script->err();
    return std::nullopt;
  }
  std::vector<std::uint64_t> answers;
  for (auto& e : net_.icmp) {
    answers.push_back(e->requests_answered());
  }
  return Exchange{.code = *code,
                  .out = script->out() + script->err(),
                  .echoed = echoed.load(),
                  .echo_answers = std::move(answers),
                  .neighbor_answers = nb.answered()};
}

class ScapyPeer : public ScapyPeerBase,
                  public ::testing::WithParamInterface<std::tuple<Engine, ScapyCase>> {};

TEST_P(ScapyPeer, AnswersAreRightFieldByField) {
  const auto [engine, sc] = GetParam();
  const auto x = exchange(engine, sc);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->code, 0) << x->out;
  EXPECT_NE(x->out.find("RESULT checks="), std::string::npos) << x->out;
  EXPECT_EQ(x->echoed, 2U);
  EXPECT_EQ(x->echo_answers, (std::vector<std::uint64_t>{1, 1}));
  // 2 ARP requests, 2 multicast and 2 unicast (NUD probe) solicitations.
  EXPECT_GE(x->neighbor_answers, 6U) << "ARP requests and solicitations answered";
}

// The negative control: told to expect other values than the right ones, the script must fail,
// naming exactly those fields, and pass the rest.
using ScapyCheckerControl = ScapyPeerBase;

TEST_F(ScapyCheckerControl, WrongExpectationsFailByName) {
  const auto x = exchange(Engine::xdp, {"dot1q", "100", 0x8100, "101"}, [](nlohmann::json& spec) {
    spec["reply_tags"][0][2] = 4;  // PCP 5 is right
    spec["udp"][0]["ttl"] = 78;    // 77 is right
    spec["echo"][1]["ttl"] = 45;   // 44 is right
  });
  ASSERT_TRUE(x);
  EXPECT_EQ(x->code, 1) << x->out;
  for (const char* line : {"FAIL udp 10.92.0.2:5001: tag[0].pcp: got 5, want 4",
                           "FAIL udp 10.92.0.2:5001: ip.ttl: got 77, want 78",
                           "FAIL echo 2001:db8:92::3: ipv6.hlim: got 44, want 45",
                           "ok arp 10.92.0.2\n", "ok ns 2001:db8:92::2\n"}) {
    EXPECT_NE(x->out.find(line), std::string::npos) << line << " is missing from\n" << x->out;
  }
  // Four answers carry the conns' tags: each fails on the PCP, and only two on anything else.
  std::size_t fails = 0;
  for (std::size_t at = x->out.find("FAIL "); at != std::string::npos;
       at = x->out.find("FAIL ", at + 1)) {
    ++fails;
  }
  EXPECT_EQ(fails, 6U) << x->out;
}

const ScapyCase kScapyCases[] = {
    {"untagged", "", 0x8100, "100"},
    {"dot1q", "100", 0x8100, "101"},
    {"qinq", "100.20", 0x88a8, "100.21"},
    {"qinq_8100_outer", "200.30", 0x8100, "201.30"},  // --tpid 8100
};

INSTANTIATE_TEST_SUITE_P(Peers, ScapyPeer,
                         ::testing::Combine(::testing::Values(Engine::xdp, Engine::pcap),
                                            ::testing::ValuesIn(kScapyCases)),
                         [](const auto& p) {
                           return engine_name(std::get<0>(p.param)) + "_" +
                                  std::get<1>(p.param).name;
                         });

}  // namespace
}  // namespace etherpath::conn
