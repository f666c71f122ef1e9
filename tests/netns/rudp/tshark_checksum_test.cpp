// tshark checks what we send: RUDPConn (IPv4 and IPv6, odd and empty payloads, DSCP, QinQ),
// IcmpEchoConn requests and ARP/NDP, captured on the peer end of the veth and read with
// `-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE`: no malformed frames, no bad checksums,
// no expert errors. The negative control is one frame with a broken UDP checksum in a capture of
// its own, which tshark must flag.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "conn/wire/frame_builder.hpp"
#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;
using etherpath::testing::Process;
using etherpath::testing::run;

bool have_tshark() {
  return std::system("command -v tshark >/dev/null 2>&1") == 0;  // NOLINT(cert-env33-c)
}

class TsharkCheck : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    if (!have_tshark()) {
      GTEST_SKIP() << "tshark is not installed";
    }
    ASSERT_TRUE(net_.setup());
    dir_ = std::filesystem::temp_directory_path() / ("ep-tshark-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    net_.teardown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Starts a capture on the peer end; returns once tshark captures.
  std::optional<Process> capture(const std::string& file) {
    auto p = Process::spawn({"tshark", "-i", net_.veth->b(), "-w", file}, &*net_.ns_b);
    EXPECT_TRUE(p) << p.error();
    if (!p) {
      return std::nullopt;
    }
    auto up = p->wait_for_output("Capturing on", 10s, true);
    EXPECT_TRUE(up) << up.error();
    // "Capturing on" comes a little before the capture does: frames sent at once were lost.
    std::this_thread::sleep_for(500ms);
    return std::move(*p);
  }
  static void stop(Process& p) {
    // dumpcap reads TPACKET_V3 blocks, which it sees only when they retire (its read timeout,
    // 250 ms): a frame sent 200 ms before SIGINT was once missing from the file in CI.
    std::this_thread::sleep_for(1s);
    p.signal(SIGINT);
    (void)p.wait_for(5s);
  }
  // Frames tshark reports as malformed, with a bad checksum, or with an expert error.
  static std::string problems(const std::string& file) {
    auto out = run("tshark -r " + file +
                   " -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -Y '_ws.malformed || "
                   "_ws.expert.severity >= \"error\" || ip.checksum.status == \"Bad\" || "
                   "udp.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" || "
                   "icmpv6.checksum.status == \"Bad\"' 2>/dev/null");
    return out ? *out : "tshark failed: " + out.error().context();
  }
  static std::size_t count(const std::string& file, const std::string& filter) {
    auto out = run("tshark -r " + file + " -Y '" + filter + "' 2>/dev/null | wc -l");
    return out ? std::strtoul(out->c_str(), nullptr, 10) : 0;
  }
  TwoNamespaces net_;
  std::filesystem::path dir_;
};

TEST_P(TsharkCheck, WhatWeSendIsWellFormed) {
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), GetParam());
  ASSERT_TRUE(net_.relay_a);
  const std::string file = (dir_ / "good.pcapng").string();
  auto cap = capture(file);
  ASSERT_TRUE(cap);
  const VlanStack qinq = VlanStack::parse("100.20", 0x88a8).value();
  const MacAddress peer = net_.veth->mac_b();
  auto neighbor = Neighbor::open(*net_.relay_a);
  ASSERT_TRUE(neighbor);
  for (const VlanStack& vlans : {VlanStack{}, qinq}) {
    auto conn = EtherConn::open(
        *net_.relay_a, {.mac = MacAddress::parse("02:00:00:00:7a:01").value(), .vlans = vlans});
    ASSERT_TRUE(conn);
    for (const char* local : {"10.66.0.2:5000", "[2001:db8:66::2]:5000"}) {
      RUDPConnOptions o{.local = ep(local), .dscp = 46};
      o.resolver = [&](const IpAddress&, std::chrono::milliseconds) -> Result<MacAddress> {
        return peer;
      };
      auto u = RUDPConn::open(**conn, o);
      ASSERT_TRUE(u);
      const IpEndpoint to =
          ep(local).address.is_v4() ? ep("10.66.0.1:6000") : ep("[2001:db8:66::1]:6000");
      for (std::size_t size : {0U, 1U, 17U, 333U, 1400U}) {
        ASSERT_TRUE((*u)->send_to(payload(size, size), to));
      }
    }
    // Echo requests and the neighbour requests they start (unanswered: nobody has the address).
    for (const char* a : {"10.66.0.2", "2001:db8:66::2"}) {
      const IpAddress local = IpAddress::parse(a).value();
      auto echo = IcmpEchoConn::open(
          **conn, {.local = local, .identifier = 7, .resolve_timeout = 100ms}, **neighbor);
      ASSERT_TRUE(echo);
      const IpAddress to = IpAddress::parse(local.is_v4() ? "10.66.0.1" : "2001:db8:66::1").value();
      (void)(*echo)->send_request(to, 1, payload(1, 56));
      ASSERT_TRUE((*neighbor)->probe({(*conn)->options().mac, vlans}, local, to));
      ASSERT_TRUE((*neighbor)->announce({(*conn)->options().mac, vlans}, local));
    }
  }
  stop(*cap);
  EXPECT_GE(count(file, "udp.port == 6000"), 20U);
  EXPECT_GE(count(file, "arp"), 4U);
  EXPECT_GE(count(file, "icmpv6.type == 135"), 2U);
  EXPECT_EQ(problems(file), "");
  net_.neighbors.push_back(std::move(*neighbor));
}

TEST_P(TsharkCheck, NegativeControlABadChecksumIsFlagged) {
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), GetParam());
  ASSERT_TRUE(net_.relay_a);
  const std::string file = (dir_ / "bad.pcapng").string();
  auto cap = capture(file);
  ASSERT_TRUE(cap);
  std::array<std::byte, 2048> buf{};
  wire::FrameBuilder b(buf);
  const auto p = payload(3, 40);
  b.payload(p)
      .push_udp(5000, 6000)
      .push_ipv4({.src = IpAddress::parse("10.66.0.2").value(),
                  .dst = IpAddress::parse("10.66.0.1").value()})
      .push_ethernet(net_.veth->mac_b(), MacAddress::parse("02:00:00:00:7a:01").value());
  auto frame = b.finish();
  ASSERT_TRUE(frame);
  (*frame)[14 + 20 + 6] ^= std::byte{0x5a};  // the UDP checksum's first byte
  ASSERT_TRUE(net_.relay_a->send(*frame));
  stop(*cap);
  EXPECT_EQ(count(file, "udp.port == 6000"), 1U);
  EXPECT_NE(problems(file), "") << "tshark did not flag the broken checksum";
}

INSTANTIATE_TEST_SUITE_P(Engines, TsharkCheck, ::testing::Values(Engine::xdp, Engine::pcap),
                         [](const auto& p) { return engine_name(p.param); });

}  // namespace
}  // namespace etherpath::conn
