// The steering program's verdicts through BPF_PROG_TEST_RUN (label bpf, root): a hit and a miss
// for every map, untagged/802.1Q/QinQ, ARP and NS for owned and foreign addresses, broadcast
// with and without a subscription, truncated frames, and the counters.
//
// What this kernel does with a hit in a test run: the program redirects through xsks_map at
// rx_queue_index with XDP_PASS as the fallback, and no AF_XDP socket is bound in a test run, so
// bpf_redirect_map finds an empty slot and returns the fallback: the verdict of a hit is XDP_PASS,
// as for a miss. The counters tell them apart: a hit counts its hit_* reason and no_socket, a
// miss its pass_* reason. (Hits that reach a socket are covered by the netns tests.)
#include <gtest/gtest.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>

#include "bpf/steering_program.hpp"
#include "tests/bpf/steer/test_frames.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::bpf {
namespace {

using test::Frame;
using test::kArp;
using test::kIcmp;
using test::kIcmpv6;
using test::kIpv4;
using test::kIpv6;
using test::kTcp;
using test::kUdp;

const MacAddress kHostMac = MacAddress::parse("02:00:00:00:00:01").value();
const MacAddress kEmulatedMac = MacAddress::parse("02:00:00:00:01:01").value();
const MacAddress kOtherMac = MacAddress::parse("02:00:00:00:01:02").value();
const IpAddress kPeer = IpAddress::parse("10.0.0.100").value();
const IpAddress kHostIp = IpAddress::parse("10.0.0.1").value();
const IpAddress kOwnedIp = IpAddress::parse("10.0.0.2").value();
const IpAddress kForeignIp = IpAddress::parse("10.0.0.3").value();
const IpAddress kPeer6 = IpAddress::parse("2001:db8::100").value();
const IpAddress kHostIp6 = IpAddress::parse("2001:db8::1").value();
const IpAddress kOwnedIp6 = IpAddress::parse("2001:db8::2").value();
const IpAddress kForeignIp6 = IpAddress::parse("2001:db8::3").value();

VlanStack dot1q(std::uint16_t id) {
  return VlanStack{VlanTag{id, kTpid8021Q, 0, false}};
}
VlanStack qinq(std::uint16_t outer, std::uint16_t inner, std::uint16_t outer_tpid = kTpid8021ad) {
  return VlanStack{VlanTag{outer, outer_tpid, 0, false}, VlanTag{inner, kTpid8021Q, 0, false}};
}

Frame udp4(const MacAddress& dst, const VlanStack& vlans, const IpAddress& ip, std::uint16_t port) {
  return test::ethernet(dst, vlans, kIpv4, test::ipv4(kUdp, kPeer, ip, test::ports(40000, port)));
}
Frame udp6(const MacAddress& dst, const VlanStack& vlans, const IpAddress& ip, std::uint16_t port) {
  return test::ethernet(dst, vlans, kIpv6, test::ipv6(kUdp, kPeer6, ip, test::ports(40000, port)));
}
Frame arp_request(const VlanStack& vlans, const IpAddress& target) {
  return test::ethernet(MacAddress::broadcast(), vlans, kArp, test::arp(1, kPeer, target));
}
Frame solicitation(const VlanStack& vlans, const IpAddress& target) {
  return test::ethernet(test::solicited_node_mac(target), vlans, kIpv6,
                        test::ipv6(kIcmpv6, kPeer6, test::solicited_node_ip(target),
                                   test::neighbour_solicitation(target)));
}

std::string describe(const Counters& c) {
  std::ostringstream s;
  s << "; counted:";
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    if (c.values[i] != 0) {
      s << ' ' << counter_name(Counters::counter_at(i)) << '=' << c.values[i];
    }
  }
  return s.str();
}

class SteerTestRun : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto loaded = SteeringProgram::load_unattached();
    ASSERT_TRUE(loaded) << loaded.error();
    program_.emplace(std::move(loaded).value());
  }

  // Runs the frame; returns the verdict and the counters that moved, after checking that the
  // program counted the frame once, left it unchanged, and never dropped it.
  struct Outcome {
    XdpAction action;
    Counters delta;
  };
  Outcome run(const Frame& frame, TestRunOptions options = {}) {
    auto before = program_->read_counters();
    EXPECT_TRUE(before) << before.error();
    auto result = program_->test_run(frame, options);
    EXPECT_TRUE(result) << result.error();
    auto after = program_->read_counters();
    EXPECT_TRUE(after) << after.error();
    if (!before || !result || !after) {
      return {XdpAction::aborted, {}};
    }
    EXPECT_EQ(result->frame, frame) << "the program must not modify frames";
    const Counters delta = after->since(*before);
    EXPECT_EQ(delta[Counter::frames], 1U);
    return {result->action, delta};
  }

  // A hit: the verdict is the XDP_PASS fallback (no socket in a test run) and `reason` counted.
  void expect_hit(const Frame& frame, Counter reason, TestRunOptions options = {}) {
    const auto out = run(frame, options);
    EXPECT_EQ(to_string(out.action), "XDP_PASS");
    EXPECT_EQ(out.delta[reason], 1U)
        << "expected a hit counted as " << counter_name(reason) << describe(out.delta);
    EXPECT_EQ(out.delta[Counter::no_socket], 1U);
    EXPECT_EQ(out.delta[Counter::redirected], 0U);
  }
  // A pass: XDP_PASS, counted as `reason`, no hit.
  void expect_pass(const Frame& frame, Counter reason) {
    const auto out = run(frame);
    EXPECT_EQ(to_string(out.action), "XDP_PASS");
    EXPECT_EQ(out.delta[reason], 1U) << "expected a pass counted as " << counter_name(reason);
    EXPECT_EQ(out.delta[Counter::no_socket], 0U) << "a pass must not be a hit";
  }

  std::optional<SteeringProgram> program_;
};

TEST_F(SteerTestRun, L2HitAndMissUntagged) {
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, {}, kIpv4}, 7));
  expect_hit(udp4(kEmulatedMac, {}, kOwnedIp, 53), Counter::hit_l2);
  expect_pass(udp4(kOtherMac, {}, kOwnedIp, 53), Counter::pass_unicast_miss);
  // Same MAC, other EtherType.
  expect_pass(udp6(kEmulatedMac, {}, kOwnedIp6, 53), Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, L2Dot1Q) {
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, dot1q(100), kIpv4}));
  expect_hit(udp4(kEmulatedMac, dot1q(100), kOwnedIp, 53), Counter::hit_l2);
  // PCP and DEI bits are not part of the key.
  expect_hit(udp4(kEmulatedMac, VlanStack{VlanTag{100, kTpid8021Q, 5, true}}, kOwnedIp, 53),
             Counter::hit_l2);
  expect_pass(udp4(kEmulatedMac, dot1q(101), kOwnedIp, 53), Counter::pass_unicast_miss);
  expect_pass(udp4(kEmulatedMac, {}, kOwnedIp, 53), Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, L2QinQ) {
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, qinq(100, 20), kIpv4}));
  expect_hit(udp4(kEmulatedMac, qinq(100, 20), kOwnedIp, 53), Counter::hit_l2);
  // Keys hold VLAN IDs, not TPIDs: a 0x8100 outer tag (--tpid 8100) matches the same key.
  expect_hit(udp4(kEmulatedMac, qinq(100, 20, kTpid8021Q), kOwnedIp, 53), Counter::hit_l2);
  expect_pass(udp4(kEmulatedMac, qinq(100, 21), kOwnedIp, 53), Counter::pass_unicast_miss);
  expect_pass(udp4(kEmulatedMac, dot1q(100), kOwnedIp, 53), Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, MoreThanTwoTagsArePassedAndCounted) {
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, qinq(100, 20), kIpv4}));
  const Frame frame = test::ethernet(kEmulatedMac, qinq(100, 20), kIpv4,
                                     test::ipv4(kUdp, kPeer, kOwnedIp, test::ports(1, 2)), 1);
  expect_pass(frame, Counter::pass_vlan_too_deep);
}

TEST_F(SteerTestRun, L4UdpHitAndMiss) {
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));
  ASSERT_TRUE(program_->add_l4({dot1q(30), kHostIp6, kUdp, 5000}));
  expect_hit(udp4(kHostMac, {}, kHostIp, 5000), Counter::hit_l4);
  expect_pass(udp4(kHostMac, {}, kHostIp, 5001), Counter::pass_unicast_miss);
  expect_pass(udp4(kHostMac, {}, kForeignIp, 5000), Counter::pass_unicast_miss);
  expect_pass(udp4(kHostMac, dot1q(30), kHostIp, 5000), Counter::pass_unicast_miss);
  expect_hit(udp6(kHostMac, dot1q(30), kHostIp6, 5000), Counter::hit_l4);
  expect_pass(udp6(kHostMac, {}, kHostIp6, 5000), Counter::pass_unicast_miss);
  // The protocol is part of the key: TCP to the same port is the kernel's.
  expect_pass(test::ethernet(kHostMac, {}, kIpv4,
                             test::ipv4(kTcp, kPeer, kHostIp, test::ports(40000, 5000))),
              Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, L4WithIpOptionsAndFragments) {
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));
  // IHL 7: the ports are found behind the options.
  expect_hit(test::ethernet(kHostMac, {}, kIpv4,
                            test::ipv4(kUdp, kPeer, kHostIp, test::ports(1, 5000), 0, 2)),
             Counter::hit_l4);
  // Fragments carry no reliable port: the kernel reassembles them.
  expect_pass(test::ethernet(kHostMac, {}, kIpv4,
                             test::ipv4(kUdp, kPeer, kHostIp, test::ports(1, 5000), 0x2000)),
              Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, L4IcmpEchoIdAndWildcard) {
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kIcmp, 0x1234}));
  const auto echo = [](const IpAddress& dst, std::uint8_t type, std::uint16_t id) {
    return test::ethernet(kHostMac, {}, kIpv4, test::ipv4(kIcmp, kPeer, dst, test::icmp(type, id)));
  };
  expect_hit(echo(kHostIp, 8, 0x1234), Counter::hit_l4);  // echo request
  expect_hit(echo(kHostIp, 0, 0x1234), Counter::hit_l4);  // echo reply
  expect_pass(echo(kHostIp, 8, 0x4321), Counter::pass_unicast_miss);
  expect_pass(echo(kHostIp, 3, 0x1234), Counter::pass_unicast_miss);  // unreachable: not echo
  // Echo id 0 takes every identifier on that address.
  ASSERT_TRUE(program_->add_l4({{}, kOwnedIp, kIcmp, 0}));
  expect_hit(echo(kOwnedIp, 8, 0x4321), Counter::hit_l4);
  expect_hit(echo(kOwnedIp, 8, 0), Counter::hit_l4);
  // ICMPv6 echo.
  ASSERT_TRUE(program_->add_l4({{}, kHostIp6, kIcmpv6, 0}));
  expect_hit(test::ethernet(kHostMac, {}, kIpv6,
                            test::ipv6(kIcmpv6, kPeer6, kHostIp6, test::icmp(128, 99))),
             Counter::hit_l4);
  expect_pass(test::ethernet(kHostMac, {}, kIpv6,
                             test::ipv6(kIcmpv6, kPeer6, kForeignIp6, test::icmp(128, 99))),
              Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, ArpForOwnedAndForeignAddresses) {
  ASSERT_TRUE(program_->add_owned({{}, kOwnedIp}));
  ASSERT_TRUE(program_->add_owned({qinq(100, 20), kOwnedIp}));
  expect_hit(arp_request({}, kOwnedIp), Counter::hit_owned);
  expect_hit(arp_request(qinq(100, 20), kOwnedIp), Counter::hit_owned);
  // The host's own ARP (an address nobody registered) stays with the kernel.
  expect_pass(arp_request({}, kHostIp), Counter::pass_neigh_not_owned);
  expect_pass(arp_request(dot1q(100), kOwnedIp), Counter::pass_neigh_not_owned);
  // An ARP reply is not a request: it goes by the L2 map like any unicast frame.
  expect_pass(test::ethernet(kHostMac, {}, kArp, test::arp(2, kPeer, kOwnedIp)),
              Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, NeighbourSolicitationForOwnedAndForeignAddresses) {
  ASSERT_TRUE(program_->add_owned({{}, kOwnedIp6}));
  ASSERT_TRUE(program_->add_owned({dot1q(100), kOwnedIp6}));
  expect_hit(solicitation({}, kOwnedIp6), Counter::hit_owned);
  expect_hit(solicitation(dot1q(100), kOwnedIp6), Counter::hit_owned);
  expect_pass(solicitation({}, kHostIp6), Counter::pass_neigh_not_owned);
  expect_pass(solicitation(dot1q(101), kOwnedIp6), Counter::pass_neigh_not_owned);
  // A unicast NS (reachability probe) to the emulated host's MAC is steered the same way.
  expect_hit(test::ethernet(
                 kEmulatedMac, {}, kIpv6,
                 test::ipv6(kIcmpv6, kPeer6, kOwnedIp6, test::neighbour_solicitation(kOwnedIp6))),
             Counter::hit_owned);
}

TEST_F(SteerTestRun, BroadcastWithAndWithoutSubscription) {
  const Frame bcast100 =
      udp4(MacAddress::broadcast(), dot1q(100), IpAddress::parse("10.0.0.255").value(), 67);
  const Frame bcast_untagged =
      udp4(MacAddress::broadcast(), {}, IpAddress::parse("10.0.0.255").value(), 67);
  expect_pass(bcast100, Counter::pass_multicast_miss);
  // An L2 endpoint does not take broadcast: only a subscription does.
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, dot1q(100), kIpv4}));
  expect_pass(bcast100, Counter::pass_multicast_miss);
  ASSERT_TRUE(program_->add_multicast({dot1q(100), kIpv4}));
  expect_hit(bcast100, Counter::hit_multicast);
  expect_pass(bcast_untagged, Counter::pass_multicast_miss);
  // IPv6 multicast (33:33:...) on the subscribed VLAN but another EtherType: not subscribed.
  expect_pass(test::ethernet(
                  MacAddress::parse("33:33:00:00:00:01").value(), dot1q(100), kIpv6,
                  test::ipv6(kUdp, kPeer6, IpAddress::parse("ff02::1").value(), test::ports(1, 2))),
              Counter::pass_multicast_miss);
  ASSERT_TRUE(program_->remove_multicast({dot1q(100), kIpv4}));
  expect_pass(bcast100, Counter::pass_multicast_miss);
}

TEST_F(SteerTestRun, SubscriptionDoesNotTakeTheHostsArp) {
  // Even with untagged ARP broadcast subscribed, requests for addresses nobody owns are the
  // host's: a frame goes one way, and the host's neighbour traffic must keep working.
  ASSERT_TRUE(program_->add_multicast({{}, kArp}));
  expect_pass(arp_request({}, kHostIp), Counter::pass_neigh_not_owned);
  // Gratuitous ARP replies broadcast are not requests: the subscription takes them.
  expect_hit(test::ethernet(MacAddress::broadcast(), {}, kArp, test::arp(2, kPeer, kPeer)),
             Counter::hit_multicast);
}

TEST_F(SteerTestRun, DefaultReceiverTakesUnmatchedUnicastOfItsVlanAndEtherType) {
  ASSERT_TRUE(program_->add_default({dot1q(100), kIpv4}));
  expect_hit(udp4(kOtherMac, dot1q(100), kForeignIp, 9), Counter::hit_default);
  expect_pass(udp4(kOtherMac, dot1q(101), kForeignIp, 9), Counter::pass_unicast_miss);
  expect_pass(udp6(kOtherMac, dot1q(100), kForeignIp6, 9), Counter::pass_unicast_miss);
  // Broadcast is never the default receiver's: that needs a subscription.
  expect_pass(udp4(MacAddress::broadcast(), dot1q(100), kForeignIp, 9),
              Counter::pass_multicast_miss);
  // An endpoint match wins over the default receiver.
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, dot1q(100), kIpv4}));
  expect_hit(udp4(kEmulatedMac, dot1q(100), kOwnedIp, 9), Counter::hit_l2);
  ASSERT_TRUE(program_->remove_default({dot1q(100), kIpv4}));
  expect_pass(udp4(kOtherMac, dot1q(100), kForeignIp, 9), Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, DefaultReceiverForUntaggedIpWarnsThatItTakesTheHostsTraffic) {
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(program_->add_default({{}, kIpv4}));
  ASSERT_TRUE(program_->add_default({dot1q(100), kIpv4}));  // tagged: not the host's
  const std::string warned = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(warned.find("a default receiver for untagged IPv4 takes the host's own IPv4 traffic"),
            std::string::npos)
      << warned;
  EXPECT_EQ(warned.find("warning", warned.find("warning") + 1), std::string::npos)
      << "only the untagged one warns: " << warned;
  // And it does: the host's own unicast IPv4 (nothing registered for it) goes to user space.
  expect_hit(udp4(kHostMac, {}, kHostIp, 22), Counter::hit_default);
}

TEST_F(SteerTestRun, TruncatedFramesArePassedAndCounted) {
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));
  ASSERT_TRUE(program_->add_owned({{}, kOwnedIp}));
  ASSERT_TRUE(program_->add_owned({{}, kOwnedIp6}));
  // A VLAN TPID with no room for the tag (14 bytes: the shortest frame a test run accepts).
  expect_pass(test::truncated(udp4(kHostMac, dot1q(5), kHostIp, 5000), 14),
              Counter::pass_truncated);
  expect_pass(test::truncated(udp4(kHostMac, qinq(5, 6), kHostIp, 5000), 20),
              Counter::pass_truncated);
  // IPv4 header cut short, UDP ports cut short.
  expect_pass(test::truncated(udp4(kHostMac, {}, kHostIp, 5000), 14 + 12), Counter::pass_truncated);
  expect_pass(test::truncated(udp4(kHostMac, {}, kHostIp, 5000), 14 + 20 + 3),
              Counter::pass_truncated);
  expect_pass(test::truncated(udp6(kHostMac, {}, kHostIp6, 5000), 14 + 39),
              Counter::pass_truncated);
  // ARP and NS cut short before the target address.
  expect_pass(test::truncated(arp_request({}, kOwnedIp), 14 + 27), Counter::pass_truncated);
  expect_pass(test::truncated(solicitation({}, kOwnedIp6), 14 + 40 + 23), Counter::pass_truncated);
}

TEST_F(SteerTestRun, FramesShorterThanEthernetAreRefusedByTheTestRun) {
  // The kernel refuses test runs under ETH_HLEN (EINVAL), so the program's own check for a frame
  // shorter than its Ethernet header is only reachable on a real interface.
  const Frame tiny(10, std::byte{0xff});
  auto result = program_->test_run(tiny);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is_errno(EINVAL)) << result.error();
}

TEST_F(SteerTestRun, CountersAddUpAndRemovedKeysMiss) {
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, {}, kIpv4}));
  const Frame hit = udp4(kEmulatedMac, {}, kOwnedIp, 53);
  const Frame miss = udp4(kOtherMac, {}, kOwnedIp, 53);
  auto before = program_->read_counters();
  ASSERT_TRUE(before);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(program_->test_run(hit));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(program_->test_run(miss));
  }
  auto after = program_->read_counters();
  ASSERT_TRUE(after);
  const Counters d = after->since(*before);
  EXPECT_EQ(d[Counter::frames], 8U);
  EXPECT_EQ(d[Counter::hit_l2], 5U);
  EXPECT_EQ(d[Counter::no_socket], 5U);
  EXPECT_EQ(d[Counter::pass_unicast_miss], 3U);
  // Every frame has exactly one verdict reason.
  std::uint64_t reasons = 0;
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    const Counter c = Counters::counter_at(i);
    if (c != Counter::frames && c != Counter::redirected && c != Counter::no_socket) {
      reasons += d[c];
    }
  }
  EXPECT_EQ(reasons, 8U);

  ASSERT_TRUE(program_->remove_l2({kEmulatedMac, {}, kIpv4}));
  expect_pass(hit, Counter::pass_unicast_miss);
  auto again = program_->remove_l2({kEmulatedMac, {}, kIpv4});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::not_found)) << again.error();
}

TEST_F(SteerTestRun, RunsWithADeviceQueueInTheContext) {
  // With a device in the context, rx_queue_index is the queue the frame came in on; loopback has
  // one queue and the kernel refuses queue 1. (That the program redirects by that index, not a
  // fixed 0, is shown with a socket on queue 1 of a two-queue veth in tests/netns/bpf.)
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, {}, kIpv4}));
  const unsigned lo = if_nametoindex("lo");
  ASSERT_NE(lo, 0U);
  expect_hit(udp4(kEmulatedMac, {}, kOwnedIp, 53), Counter::hit_l2, {lo, 0});
  auto refused = program_->test_run(udp4(kEmulatedMac, {}, kOwnedIp, 53), {lo, 1});
  EXPECT_FALSE(refused);
}

TEST_F(SteerTestRun, RandomAndMutatedFramesAreNeverDroppedOrChanged) {
  // Bounded parsing, checked the way a fuzzer would: random bytes and valid frames with random
  // bytes overwritten or cut short, with every map populated. Whatever comes in, the verdict is
  // XDP_PASS (a miss, or a hit's fallback without a socket), never a drop or an abort, the frame
  // is unchanged, and every frame has exactly one verdict reason.
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, qinq(100, 20), kIpv4}));
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));
  ASSERT_TRUE(program_->add_l4({dot1q(7), kHostIp6, kIcmpv6, 0}));
  ASSERT_TRUE(program_->add_owned({{}, kOwnedIp}));
  ASSERT_TRUE(program_->add_owned({dot1q(100), kOwnedIp6}));
  ASSERT_TRUE(program_->add_multicast({{}, kIpv4}));
  ASSERT_TRUE(program_->add_default({dot1q(100), kIpv6}));
  const std::vector<Frame> seeds = {
      udp4(kEmulatedMac, qinq(100, 20), kOwnedIp, 53),
      udp4(kHostMac, {}, kHostIp, 5000),
      udp6(kHostMac, dot1q(7), kHostIp6, 5000),
      arp_request({}, kOwnedIp),
      solicitation(dot1q(100), kOwnedIp6),
      test::ethernet(kHostMac, dot1q(7), kIpv6,
                     test::ipv6(kIcmpv6, kPeer6, kHostIp6, test::icmp(128, 5))),
  };
  std::uint32_t state = 0x2545f491U;  // xorshift32, fixed seed: reproducible
  const auto next = [&state] {
    state ^= state << 13U;
    state ^= state >> 17U;
    state ^= state << 5U;
    return state;
  };
  auto before = program_->read_counters();
  ASSERT_TRUE(before);
  constexpr int kRuns = 3000;
  for (int i = 0; i < kRuns; ++i) {
    Frame frame;
    if (i % 3 == 0) {
      frame.resize(14 + next() % 120);
      for (auto& b : frame) {
        b = static_cast<std::byte>(next());
      }
      // Often an interesting EtherType or tag, so the parser goes deeper than Ethernet.
      static constexpr std::uint16_t kTypes[] = {0x8100, 0x88a8, 0x0800, 0x86dd, 0x0806};
      const std::uint16_t type = kTypes[next() % 5];
      frame[12] = static_cast<std::byte>(type >> 8U);
      frame[13] = static_cast<std::byte>(type & 0xffU);
    } else {
      frame = seeds[next() % seeds.size()];
      const unsigned flips = 1 + next() % 4;
      for (unsigned f = 0; f < flips; ++f) {
        frame[next() % frame.size()] = static_cast<std::byte>(next());
      }
      frame.resize(std::max<std::size_t>(14, frame.size() - next() % (frame.size() / 2)));
    }
    auto result = program_->test_run(frame);
    ASSERT_TRUE(result) << result.error();
    ASSERT_EQ(to_string(result->action), "XDP_PASS") << "run " << i;
    ASSERT_EQ(result->frame, frame) << "run " << i;
  }
  auto after = program_->read_counters();
  ASSERT_TRUE(after);
  const Counters d = after->since(*before);
  EXPECT_EQ(d[Counter::frames], std::uint64_t{kRuns});
  std::uint64_t reasons = 0;
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    const Counter c = Counters::counter_at(i);
    if (c != Counter::frames && c != Counter::redirected && c != Counter::no_socket) {
      reasons += d[c];
    }
  }
  EXPECT_EQ(reasons, std::uint64_t{kRuns}) << describe(d);
  EXPECT_GT(d[Counter::pass_truncated], 0U) << describe(d);
}

TEST_F(SteerTestRun, L2EtherTypesOfOneHostComeAndGoSeparately) {
  // ARP, IPv4 and IPv6 of one MAC + VLAN stack share an l2_slots slot, one bit each.
  const Frame v4 = udp4(kEmulatedMac, dot1q(100), kOwnedIp, 53);
  const Frame v6 = udp6(kEmulatedMac, dot1q(100), kOwnedIp6, 53);
  const Frame arp_reply =
      test::ethernet(kEmulatedMac, dot1q(100), kArp, test::arp(2, kPeer, kOwnedIp));
  for (const std::uint16_t et : {kArp, kIpv4, kIpv6}) {
    ASSERT_TRUE(program_->add_l2({kEmulatedMac, dot1q(100), et}));
  }
  expect_hit(v4, Counter::hit_l2);
  expect_hit(v6, Counter::hit_l2);
  expect_hit(arp_reply, Counter::hit_l2);
  ASSERT_TRUE(program_->remove_l2({kEmulatedMac, dot1q(100), kIpv4}));
  expect_pass(v4, Counter::pass_unicast_miss);
  expect_hit(v6, Counter::hit_l2);
  expect_hit(arp_reply, Counter::hit_l2);
  auto twice = program_->remove_l2({kEmulatedMac, dot1q(100), kIpv4});
  ASSERT_FALSE(twice);
  EXPECT_TRUE(twice.error().is(Errc::not_found)) << twice.error();
  // Adding a key again overwrites it (no error), as a map update does.
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, dot1q(100), kIpv6}));
  ASSERT_TRUE(program_->remove_l2({kEmulatedMac, dot1q(100), kIpv6}));
  ASSERT_TRUE(program_->remove_l2({kEmulatedMac, dot1q(100), kArp}));
  expect_pass(v6, Counter::pass_unicast_miss);
  expect_pass(arp_reply, Counter::pass_unicast_miss);
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, dot1q(100), kIpv4}));
  expect_hit(v4, Counter::hit_l2);
  expect_pass(v6, Counter::pass_unicast_miss);
  // Another VLAN stack of the same MAC is another key.
  expect_pass(udp4(kEmulatedMac, dot1q(101), kOwnedIp, 53), Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, L2OtherEtherTypes) {
  // An EtherType without an l2_slots bit (here a local experimental one) lives in l2_endpoints.
  constexpr std::uint16_t kLocal = 0x88b5;
  const Frame local = test::ethernet(kEmulatedMac, qinq(100, 20), kLocal, test::ports(1, 2));
  expect_pass(local, Counter::pass_unicast_miss);
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, qinq(100, 20), kLocal}));
  expect_hit(local, Counter::hit_l2);
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, qinq(100, 20), kIpv4}));
  expect_hit(udp4(kEmulatedMac, qinq(100, 20), kOwnedIp, 53), Counter::hit_l2);
  expect_pass(test::ethernet(kEmulatedMac, qinq(100, 20), 0x88b6, test::ports(1, 2)),
              Counter::pass_unicast_miss);
  ASSERT_TRUE(program_->remove_l2({kEmulatedMac, qinq(100, 20), kLocal}));
  expect_pass(local, Counter::pass_unicast_miss);
  expect_hit(udp4(kEmulatedMac, qinq(100, 20), kOwnedIp, 53), Counter::hit_l2);
  EXPECT_FALSE(program_->remove_l2({kEmulatedMac, qinq(100, 20), kLocal}));
}

TEST_F(SteerTestRun, L2KeysWithOneHomeSlotBeyondTheProbeLimitStillHit) {
  // Find more MACs than the program probes that all hash to one home slot of l2_slots: the
  // first EP_L2_MAX_PROBES take the slots from there on, the rest go to l2_endpoints. Every one
  // hits; removing some (tombstones in the chain) leaves the others reachable, and a re-added key
  // hits again.
  const auto home = [](const MacAddress& mac) { return to_slot_key(mac, {}).home(); };
  const std::uint32_t target = home(MacAddress::from_u64(0x020000100000ULL));
  std::vector<MacAddress> same_home;
  for (std::uint64_t m = 0x020000100000ULL; same_home.size() < EP_L2_MAX_PROBES + 4; ++m) {
    const MacAddress mac = MacAddress::from_u64(m);
    if (home(mac) == target) {
      same_home.push_back(mac);
    }
  }
  for (const auto& mac : same_home) {
    ASSERT_TRUE(program_->add_l2({mac, {}, kIpv4}));
  }
  for (const auto& mac : same_home) {
    expect_hit(udp4(mac, {}, kOwnedIp, 53), Counter::hit_l2);
  }
  for (std::size_t i = 0; i < same_home.size(); i += 3) {
    ASSERT_TRUE(program_->remove_l2({same_home[i], {}, kIpv4}));
  }
  for (std::size_t i = 0; i < same_home.size(); ++i) {
    if (i % 3 == 0) {
      expect_pass(udp4(same_home[i], {}, kOwnedIp, 53), Counter::pass_unicast_miss);
    } else {
      expect_hit(udp4(same_home[i], {}, kOwnedIp, 53), Counter::hit_l2);
    }
  }
  ASSERT_TRUE(program_->add_l2({same_home[3], {}, kIpv4}));
  ASSERT_TRUE(program_->add_l2({same_home.back(), {}, kIpv6}));
  expect_hit(udp4(same_home[3], {}, kOwnedIp, 53), Counter::hit_l2);
  expect_hit(udp6(same_home.back(), {}, kOwnedIp6, 53), Counter::hit_l2);
  for (std::size_t i = 0; i < same_home.size(); ++i) {
    if (i % 3 != 0 || i == 3) {
      ASSERT_TRUE(program_->remove_l2({same_home[i], {}, kIpv4})) << i;
    }
  }
  ASSERT_TRUE(program_->remove_l2({same_home.back(), {}, kIpv6}));
  for (const auto& mac : same_home) {
    expect_pass(udp4(mac, {}, kOwnedIp, 53), Counter::pass_unicast_miss);
  }
}

TEST_F(SteerTestRun, RemovedL4AndDefaultKeysNoLongerHit) {
  // The program skips the maps that hold no keys: the last removal must take effect, and a
  // key added again must be looked up again.
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));  // overwritten: still one key
  ASSERT_TRUE(program_->add_default({dot1q(100), kIpv4}));
  expect_hit(udp4(kHostMac, {}, kHostIp, 5000), Counter::hit_l4);
  expect_hit(udp4(kOtherMac, dot1q(100), kForeignIp, 9), Counter::hit_default);
  ASSERT_TRUE(program_->remove_l4({{}, kHostIp, kUdp, 5000}));
  ASSERT_TRUE(program_->remove_default({dot1q(100), kIpv4}));
  expect_pass(udp4(kHostMac, {}, kHostIp, 5000), Counter::pass_unicast_miss);
  expect_pass(udp4(kOtherMac, dot1q(100), kForeignIp, 9), Counter::pass_unicast_miss);
  // With no L4 key the L4 header is still parsed: a truncated one is passed as before.
  ASSERT_TRUE(program_->add_l2({kEmulatedMac, {}, kIpv4}));
  expect_pass(test::truncated(udp4(kEmulatedMac, {}, kOwnedIp, 53), 14 + 20 + 3),
              Counter::pass_truncated);
  ASSERT_TRUE(program_->add_l4({{}, kHostIp, kUdp, 5000}));
  expect_hit(udp4(kHostMac, {}, kHostIp, 5000), Counter::hit_l4);
}

TEST_F(SteerTestRun, MapsHoldSixtyFiveThousandHosts) {
  // Issue #4 emulates 65,536 hosts: one L2 key and one owned address each.
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const MacAddress mac = MacAddress::from_u64(0x020000000000ULL + i);
    const IpAddress ip = IpAddress::v4(0x0a000000U + i);
    ASSERT_TRUE(program_->add_l2({mac, dot1q(100), kIpv4}, i)) << i;
    ASSERT_TRUE(program_->add_owned({dot1q(100), ip}, i)) << i;
  }
  expect_hit(udp4(MacAddress::from_u64(0x020000000000ULL + 65535), dot1q(100), kOwnedIp, 53),
             Counter::hit_l2);
  expect_hit(arp_request(dot1q(100), IpAddress::v4(0x0a000000U + 40000)), Counter::hit_owned);
}

TEST_F(SteerTestRun, SixtyFiveThousandHostsWithEtherconnsDefaultsAndChurn) {
  // 65,536 hosts x ARP, IPv4, IPv6 (196,608 keys, as EtherConn registers them); half of them
  // leave and come back on another VLAN; every host is checked.
  const auto mac_of = [](std::uint32_t i) { return MacAddress::from_u64(0x020000010000ULL + i); };
  constexpr std::uint32_t kHosts = 65536;
  for (std::uint32_t i = 0; i < kHosts; ++i) {
    for (const std::uint16_t et : {kArp, kIpv4, kIpv6}) {
      ASSERT_TRUE(program_->add_l2({mac_of(i), {}, et}, i)) << i;
    }
  }
  for (std::uint32_t i = 0; i < kHosts; i += 2) {
    for (const std::uint16_t et : {kArp, kIpv4, kIpv6}) {
      ASSERT_TRUE(program_->remove_l2({mac_of(i), {}, et})) << i;
    }
    ASSERT_TRUE(program_->add_l2({mac_of(i), dot1q(7), kIpv4}, i)) << i;
  }
  auto before = program_->read_counters();
  ASSERT_TRUE(before);
  for (std::uint32_t i = 0; i < kHosts; ++i) {
    ASSERT_TRUE(program_->test_run(udp4(mac_of(i), {}, kOwnedIp, 53)));
    ASSERT_TRUE(program_->test_run(udp4(mac_of(i), dot1q(7), kOwnedIp, 53)));
  }
  auto after = program_->read_counters();
  ASSERT_TRUE(after);
  const Counters d = after->since(*before);
  // Odd hosts hit untagged, even ones on VLAN 7; each misses the other way.
  EXPECT_EQ(d[Counter::hit_l2], kHosts) << describe(d);
  EXPECT_EQ(d[Counter::pass_unicast_miss], kHosts) << describe(d);
  expect_hit(udp6(mac_of(1), {}, kOwnedIp6, 53), Counter::hit_l2);
  expect_pass(udp6(mac_of(2), {}, kOwnedIp6, 53), Counter::pass_unicast_miss);
}

TEST_F(SteerTestRun, L2KeySetsOfSixtyFiveThousandStayInSlotsAndHit) {
  // l2_slots keeps consecutive MACs in one block (steer_abi.h); key sets without that pattern
  // must still spread: each set of 65,536 keys is registered, found in l2_slots (none falls back
  // to l2_endpoints), hit in a scattered order, and removed again. Half of each set leaves and
  // comes back first, so the probes also run past tombstones.
  struct KeySet {
    const char* name;
    MacAddress (*mac)(std::uint32_t);
    VlanStack (*vlans)(std::uint32_t);
  };
  const KeySet sets[] = {
      {"consecutive MACs on VLAN 100",
       [](std::uint32_t i) { return MacAddress::from_u64(0x020000010000ULL + i); },
       [](std::uint32_t) { return dot1q(100); }},
      {"MACs 256 apart",
       [](std::uint32_t i) { return MacAddress::from_u64(0x020000000000ULL + i * 256ULL); },
       [](std::uint32_t) { return VlanStack{}; }},
      {"one MAC on 65,536 QinQ stacks", [](std::uint32_t) { return kEmulatedMac; },
       [](std::uint32_t i) {
         return qinq(static_cast<std::uint16_t>(1 + (i >> 12)),
                     static_cast<std::uint16_t>(i & 0xfffU));
       }},
      {"16,384 MACs on 4 VLANs",
       [](std::uint32_t i) { return MacAddress::from_u64(0x020000010000ULL + (i & 0x3fffU)); },
       [](std::uint32_t i) { return dot1q(static_cast<std::uint16_t>(10 + (i >> 14))); }},
  };
  constexpr std::uint32_t kKeys = 65536;
  constexpr std::uint64_t kStride = 40503;  // odd: visits every key once, never two neighbours
  for (const KeySet& set : sets) {
    SCOPED_TRACE(set.name);
    for (std::uint32_t i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(program_->add_l2({set.mac(i), set.vlans(i), kIpv4}, i)) << i;
    }
    for (std::uint32_t i = 0; i < kKeys; i += 2) {
      ASSERT_TRUE(program_->remove_l2({set.mac(i), set.vlans(i), kIpv4})) << i;
    }
    for (std::uint32_t i = 0; i < kKeys; i += 2) {
      ASSERT_TRUE(program_->add_l2({set.mac(i), set.vlans(i), kIpv4}, i)) << i;
    }
    EXPECT_EQ(program_->l2_fallback_keys(), 0U);
    auto before = program_->read_counters();
    ASSERT_TRUE(before);
    for (std::uint64_t n = 0; n < kKeys; ++n) {
      const auto i = static_cast<std::uint32_t>(n * kStride % kKeys);
      ASSERT_TRUE(program_->test_run(udp4(set.mac(i), set.vlans(i), kOwnedIp, 53)));
    }
    auto after = program_->read_counters();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->since(*before)[Counter::hit_l2], kKeys) << describe(after->since(*before));
    for (std::uint32_t i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(program_->remove_l2({set.mac(i), set.vlans(i), kIpv4})) << i;
    }
    expect_pass(udp4(set.mac(1), set.vlans(1), kOwnedIp, 53), Counter::pass_unicast_miss);
  }
}

TEST_F(SteerTestRun, L2BlocksThatCollideMoveOnTogether) {
  // Two runs of 16 consecutive MACs whose blocks share a home: the second run probes on to the
  // next block, slot by slot. Both runs hit; removing the first run leaves the second
  // reachable past the tombstones, and removing both leaves nothing behind.
  const auto block = [](std::uint64_t first) {
    return to_slot_key(MacAddress::from_u64(first), {}).home() / EP_L2_GROUP_SLOTS;
  };
  const std::uint64_t a = 0x020000200000ULL;
  std::uint64_t b = a + EP_L2_GROUP_SLOTS;
  while (block(b) != block(a)) {
    b += EP_L2_GROUP_SLOTS;
  }
  for (std::uint64_t m = 0; m < EP_L2_GROUP_SLOTS; ++m) {
    ASSERT_TRUE(program_->add_l2({MacAddress::from_u64(a + m), {}, kIpv4}));
    ASSERT_TRUE(program_->add_l2({MacAddress::from_u64(b + m), {}, kIpv4}));
  }
  EXPECT_EQ(program_->l2_fallback_keys(), 0U);
  for (std::uint64_t m = 0; m < EP_L2_GROUP_SLOTS; ++m) {
    expect_hit(udp4(MacAddress::from_u64(a + m), {}, kOwnedIp, 53), Counter::hit_l2);
    expect_hit(udp4(MacAddress::from_u64(b + m), {}, kOwnedIp, 53), Counter::hit_l2);
  }
  for (std::uint64_t m = 0; m < EP_L2_GROUP_SLOTS; ++m) {
    ASSERT_TRUE(program_->remove_l2({MacAddress::from_u64(a + m), {}, kIpv4}));
  }
  for (std::uint64_t m = 0; m < EP_L2_GROUP_SLOTS; ++m) {
    expect_pass(udp4(MacAddress::from_u64(a + m), {}, kOwnedIp, 53), Counter::pass_unicast_miss);
    expect_hit(udp4(MacAddress::from_u64(b + m), {}, kOwnedIp, 53), Counter::hit_l2);
  }
  for (std::uint64_t m = 0; m < EP_L2_GROUP_SLOTS; ++m) {
    ASSERT_TRUE(program_->remove_l2({MacAddress::from_u64(b + m), {}, kIpv4}));
    expect_pass(udp4(MacAddress::from_u64(b + m), {}, kOwnedIp, 53), Counter::pass_unicast_miss);
  }
}

}  // namespace
}  // namespace etherpath::bpf
