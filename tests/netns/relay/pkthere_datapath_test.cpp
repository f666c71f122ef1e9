// pkthere on the datapath engines between real peers (client <-> relay <-> upstream namespaces):
// dig -> pkthere (xdp, pcap) -> dnsmasq while the relay's kernel keeps its own TCP and ping;
// malformed frames sent with scapy are counted by reason (in pkthere's stats or, truncated before
// the key, in the steering program's) while forwarding goes on; the upstream veth deleted
// mid-run stops pkthere with its name and leaves no XDP program behind.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/netns/relay/datapath_peers.hpp"
#include "tests/netns/relay/relay_harness.hpp"
#include "tests/netns/relay/three_namespaces.hpp"

namespace etherpath::relay {
namespace {

using etherpath::testing::Process;
using std::chrono::milliseconds;
using testing::PkthereRun;
using testing::ThreeNamespaces;

class PkthereDatapath : public ::testing::TestWithParam<std::string> {};

TEST_P(PkthereDatapath, DigToDnsmasqWhileTheKernelKeepsTcpAndPing) {
  EP_SKIP_UNLESS_ROOT();
  const std::string engine = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  auto dnsmasq = testing::start_dnsmasq(*t);
  ASSERT_TRUE(dnsmasq);
  // The relay's upstream-side address is pinged through its client side.
  ASSERT_TRUE(t->client->exec(
      fmt::format("ip route add 10.77.2.0/24 via {}", ThreeNamespaces::kRelayClientSide4)));
  // A kernel TCP echo on the relay's client-side address, the port pkthere does not own.
  auto tcp = Process::spawn(
      {"socat",
       fmt::format("TCP-LISTEN:7777,bind={},reuseaddr", ThreeNamespaces::kRelayClientSide4),
       "PIPE"},
      &*t->relay);
  ASSERT_TRUE(tcp) << tcp.error();
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, engine,
          {"--here", fmt::format("UDP:{}:5354", ThreeNamespaces::kRelayClientSide4), "--there",
           fmt::format("UDP:{}:53", ThreeNamespaces::kUpstream4), "--timeout-secs", "5"},
          /*give_next_hop=*/false),
      &*t->relay);
  ASSERT_TRUE(run);
  EXPECT_NE(run->process.out().find(fmt::format("Engine: {} on {}", engine, t->client_relay->b())),
            std::string::npos)
      << run->process.out();
  if (engine == "xdp") {
    // --user nobody (PkthereRun adds it as root): only what detaching the program at exit needs.
    auto status = etherpath::testing::run(
        fmt::format("grep -E '^(Uid|CapEff)' /proc/{}/status", run->process.pid()));
    ASSERT_TRUE(status);
    EXPECT_NE(status->find("65534"), std::string::npos) << *status;
    EXPECT_NE(status->find("CapEff:\t0000000000201000"), std::string::npos)
        << "expected CAP_NET_ADMIN and CAP_SYS_ADMIN only: " << *status;
  }
  const testing::TempDir dir;
  const std::string file = testing::query_file(dir.path(), "q1000", 1000);
  const std::string& d = dir.path();
  // ping to the relay's three addresses and a TCP conversation with its kernel, during the digs.
  const std::string script = fmt::format(
      "ping -c 20 -i 0.05 -W 1 {r4} > {d}/ping4 2>&1 & "
      "ping -6 -c 20 -i 0.05 -W 1 {r6} > {d}/ping6 2>&1 & "
      "ping -c 20 -i 0.05 -W 1 {ru4} > {d}/pingup 2>&1 & "
      "(for i in $(seq 1 20); do echo line$i; sleep 0.05; done) | socat -t 2 - TCP:{r4}:7777 "
      "> {d}/tcp 2>&1 & "
      "{dig} > {d}/dig; wait; cat {d}/dig",
      fmt::arg("r4", ThreeNamespaces::kRelayClientSide4),
      fmt::arg("r6", ThreeNamespaces::kRelayClientSide6),
      fmt::arg("ru4", ThreeNamespaces::kRelayUpstreamSide4), fmt::arg("d", d),
      fmt::arg("dig", testing::dig_command("5300", file)));
  auto out = t->client->exec(script);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(testing::count(*out, "status: NOERROR"), 1000U) << run->process.err();
  for (const char* f : {"ping4", "ping6", "pingup"}) {
    auto p = etherpath::testing::run(fmt::format("cat {}/{}", d, f));
    ASSERT_TRUE(p);
    EXPECT_NE(p->find("20 packets transmitted, 20 received"), std::string::npos) << f << ": " << *p;
  }
  auto echoed = etherpath::testing::run(fmt::format("cat {}/tcp", d));
  ASSERT_TRUE(echoed);
  EXPECT_EQ(testing::count(*echoed, "line"), 20U) << *echoed;
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["c2u_pkts"], 1000);
  EXPECT_EQ(stats["u2c_pkts"], 1000);
  EXPECT_EQ(stats["c2u_errs"], 0);
  EXPECT_EQ(stats["u2c_errs"], 0);
  EXPECT_EQ(stats["sessions_opened"], 1);
  EXPECT_EQ(stats["engine"], engine);
  EXPECT_EQ(stats["drops_malformed_frames"], 0);
  if (engine == "xdp") {
    EXPECT_EQ(stats["xdp_mode"], "native-copy");
    ASSERT_EQ(stats["interfaces"].size(), 2U);
    // 1000 queries in, 1000 answers in on the other side: only our flows were steered.
    EXPECT_EQ(stats["interfaces"][0]["steering"]["hit_l4"], 1000);
    EXPECT_EQ(stats["interfaces"][1]["steering"]["hit_l4"], 1000);
    EXPECT_FALSE(testing::has_xdp_program(*t));
  }
}

TEST_P(PkthereDatapath, MalformedFramesAreCountedAndForwardingGoesOn) {
  EP_SKIP_UNLESS_ROOT();
  const std::string engine = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  auto dnsmasq = testing::start_dnsmasq(*t);
  ASSERT_TRUE(dnsmasq);
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, engine,
          {"--here", fmt::format("UDP:{}:5354", ThreeNamespaces::kRelayClientSide4), "--there",
           fmt::format("UDP:{}:53", ThreeNamespaces::kUpstream4), "--timeout-secs", "5",
           "--stats-interval-mins", "0"}),
      &*t->relay);
  ASSERT_TRUE(run);
  const testing::TempDir dir;
  const std::string file = testing::query_file(dir.path(), "q20", 20);
  auto before = t->client->exec(testing::dig_command("5300", file));
  ASSERT_TRUE(before) << before.error();
  EXPECT_EQ(testing::count(*before, "status: NOERROR"), 20U);

  // Frames for the listener's key, broken beyond it: 3 bad UDP checksums, 2 UDP lengths past the
  // IP payload, 2 IPv4 total lengths past the frame; and 4 frames that end inside the UDP ports,
  // before the key (the steering program passes them to the kernel and counts them).
  const std::string scapy = fmt::format(
      "from scapy.all import Ether, IP, UDP, Raw, sendp\n"
      "e = Ether(dst='{dst}', src='{src}')\n"
      "ip = IP(src='{c}', dst='{r}')\n"
      "f = [e/ip/UDP(sport=5300, dport=5354, chksum=0x1234)/Raw(b'x' * 20)] * 3\n"
      "f += [e/ip/UDP(sport=5300, dport=5354, len=200)/Raw(b'y' * 20)] * 2\n"
      "f += [e/IP(src='{c}', dst='{r}', len=400)/UDP(sport=5300, dport=5354)/Raw(b'z' * 20)] * 2\n"
      "f += [Raw(bytes(e/ip/UDP(sport=5300, dport=5354)/Raw(b'q' * 20))[:36])] * 4\n"
      "sendp(f, iface='{ifname}', verbose=0)\n",
      fmt::arg("dst", t->client_relay->mac_b().to_string()),
      fmt::arg("src", t->client_relay->mac_a().to_string()),
      fmt::arg("c", ThreeNamespaces::kClient4), fmt::arg("r", ThreeNamespaces::kRelayClientSide4),
      fmt::arg("ifname", t->client_relay->a()));
  ASSERT_TRUE(etherpath::testing::run(
      fmt::format("printf '%s' \"{}\" > {}/malformed.py", scapy, dir.path())));
  auto sent = t->client->exec(fmt::format("/usr/bin/python3 {}/malformed.py", dir.path()));
  ASSERT_TRUE(sent) << sent.error();

  auto after = t->client->exec(testing::dig_command("5300", file));
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(testing::count(*after, "status: NOERROR"), 20U);
  // A stats line a second: wait for one that has seen the second round of digs.
  nlohmann::json stats;
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    stats = run->last_stats();
    if (!stats.empty() && stats["u2c_pkts"] == 40) {
      break;
    }
  }
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  stats = run->last_stats();
  EXPECT_EQ(stats["c2u_pkts"], 40);
  EXPECT_EQ(stats["u2c_pkts"], 40);
  const auto& malformed = stats["datapath"]["malformed"];
  EXPECT_EQ(malformed["bad_udp_checksum"], 3) << stats["datapath"];
  EXPECT_EQ(malformed["udp_length_exceeds_ip"], 2) << stats["datapath"];
  EXPECT_EQ(malformed["ipv4_total_length_exceeds_frame"], 2) << stats["datapath"];
  EXPECT_EQ(stats["drops_malformed_frames"], 7);
  if (engine == "xdp") {
    EXPECT_EQ(stats["interfaces"][0]["steering"]["pass_truncated"], 4);
    EXPECT_EQ(stats["interfaces"][0]["steering"]["hit_l4"], 40 + 7);
  }
}

TEST_P(PkthereDatapath, UpstreamVethDeletedStopsPkthereAndDetaches) {
  EP_SKIP_UNLESS_ROOT();
  const std::string engine = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, engine,
          {"--here", fmt::format("UDP:{}:5354", ThreeNamespaces::kRelayClientSide4), "--there",
           fmt::format("UDP:{}:53", ThreeNamespaces::kUpstream4)}),
      &*t->relay);
  ASSERT_TRUE(run);
  const std::string gone = t->relay_upstream->a();
  ASSERT_TRUE(t->relay->exec("ip link del " + gone));
  auto status = run->process.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << "pkthere still runs after its upstream interface went away";
  EXPECT_EQ(*status, 1);
  EXPECT_NE(run->process.err().find(gone), std::string::npos) << run->process.err();
  EXPECT_FALSE(testing::has_xdp_program(*t));
}

// A one-way flow much longer than the UMEM: every frame that leaves on the upstream side must come
// back to the client side's fill ring, or forwarding stalls after a few thousand datagrams.
TEST_P(PkthereDatapath, OneWayFlowLongerThanTheUmem) {
  EP_SKIP_UNLESS_ROOT();
  const std::string engine = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  const IpEndpoint sink_at{IpAddress::parse(ThreeNamespaces::kUpstream4).value(), 9000};
  const UniqueFd sink = etherpath::testing::in_netns(
      *t->upstream, [&] { return testing::udp_socket(sink_at, 4 << 20); });
  ASSERT_TRUE(sink);
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, engine,
          {"--here", fmt::format("UDP:{}:5354", ThreeNamespaces::kRelayClientSide4), "--there",
           "UDP:" + sink_at.to_string()}),
      &*t->relay);
  ASSERT_TRUE(run);
  const UniqueFd client = etherpath::testing::in_netns(*t->client, [&] {
    return testing::udp_socket(IpEndpoint{IpAddress::parse(ThreeNamespaces::kClient4).value(), 0});
  });
  ASSERT_TRUE(client);
  constexpr int kRounds = 24;
  constexpr int kPerRound = 500;  // well under the fill ring: a round never overruns it
  int received = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kPerRound; ++i) {
      ASSERT_TRUE(testing::send_to(client.get(), run->listen, "one-way-datagram"));
    }
    const int want = (round + 1) * kPerRound;
    while (received < want && testing::receive(sink.get(), milliseconds(2000))) {
      ++received;
    }
    ASSERT_EQ(received, want) << "forwarding stalled in round " << round;
  }
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  EXPECT_EQ(run->last_stats()["c2u_pkts"], kRounds * kPerRound);
}

// An emulated listener: an address no interface has, with a MAC of its own; pkthere answers the
// client kernel's ARP for it (conn::Neighbor, the steering program's owned map on xdp).
TEST_P(PkthereDatapath, DigToAnEmulatedListener) {
  EP_SKIP_UNLESS_ROOT();
  const std::string engine = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  auto dnsmasq = testing::start_dnsmasq(*t);
  ASSERT_TRUE(dnsmasq);
  const std::string emulated = "10.77.1.50";
  const std::string mac = "02:00:00:77:01:50";
  std::vector<std::string> args{
      "--here",     fmt::format("UDP:{}:5354", emulated),
      "--here-mac", mac,
      "--there",    fmt::format("UDP:{}:53", ThreeNamespaces::kUpstream4)};
  // The upstream side is an emulated host too, on the second interface (--there-iface): on xdp
  // its relay shares the client side's UMEM and keeps a reserve of frames for its ARP answers.
  const std::string upstream_emulated = "10.77.2.50";
  const std::string upstream_mac = "02:00:00:77:02:50";
  args.insert(args.end(), {"--there-mac", upstream_mac, "--there-src", upstream_emulated});
  auto run = PkthereRun::start(testing::datapath_args(*t, engine, args), &*t->relay);
  ASSERT_TRUE(run);
  EXPECT_NE(run->process.out().find("listener emulated as " + emulated), std::string::npos)
      << run->process.out();
  const testing::TempDir dir;
  const std::string file = testing::query_file(dir.path(), "q100", 100);
  auto out = t->client->exec(
      fmt::format("dig -b {}#5300 @{} -p 5354 -f {} +tries=1 +timeout=1 +noall +comments",
                  ThreeNamespaces::kClient4, emulated, file));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(testing::count(*out, "status: NOERROR"), 100U) << run->process.err();
  auto neigh = t->client->exec("ip neigh show " + emulated);
  ASSERT_TRUE(neigh);
  EXPECT_NE(neigh->find(mac), std::string::npos) << *neigh;
  auto up = t->upstream->exec("ip neigh show " + upstream_emulated);
  ASSERT_TRUE(up);
  EXPECT_NE(up->find(upstream_mac), std::string::npos) << *up;
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["c2u_pkts"], 100);
  EXPECT_EQ(stats["u2c_pkts"], 100) << stats.dump();
  EXPECT_FALSE(testing::has_xdp_program(*t));
}

INSTANTIATE_TEST_SUITE_P(Engines, PkthereDatapath, ::testing::Values("xdp", "pcap"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace etherpath::relay
