// resolve_next_hop and interface_addresses against the kernel's tables in test namespaces: on-link
// and gateway next hops (IPv4, IPv6, link-local gateways), resolving from an empty neighbour
// table, and the errors for no route, no answer, local and unknown interfaces.
#include "datapath/netlink/next_hop.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>

#include "tests/support/netns.hpp"

namespace etherpath::datapath::netlink {
namespace {

using etherpath::testing::NetNs;
using etherpath::testing::VethPair;
using std::chrono::milliseconds;

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

// Host a (where the lookups run) and host b joined by one veth pair:
// 10.201.0.1/24 + fd00:201::1/64 on a, 10.201.0.2/24 + fd00:201::2/64 on b.
// DAD is off in both namespaces: the kernel sends no Neighbour Solicitation while the
// interface's link-local address is tentative, which would make every IPv6 test wait ~1 s.
class NextHopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("epnla");
    auto b = NetNs::create("epnlb");
    ASSERT_TRUE(a && b) << (a ? b.error() : a.error());
    a_.emplace(std::move(a).value());
    b_.emplace(std::move(b).value());
    for (const NetNs* ns : {&*a_, &*b_}) {
      auto dad =
          ns->exec("sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0");
      ASSERT_TRUE(dad) << dad.error();
    }
    auto veth = VethPair::create(*a_, *b_);
    ASSERT_TRUE(veth) << veth.error();
    veth_.emplace(std::move(veth).value());
    ASSERT_TRUE(a_->exec("ip addr add 10.201.0.1/24 dev " + veth_->a() +
                         " && ip -6 addr add fd00:201::1/64 dev " + veth_->a() + " nodad"));
    ASSERT_TRUE(b_->exec("ip addr add 10.201.0.2/24 dev " + veth_->b() +
                         " && ip -6 addr add fd00:201::2/64 dev " + veth_->b() + " nodad"));
  }

  Result<MacAddress> resolve(const std::string& ifname, const char* destination,
                             milliseconds timeout = milliseconds(2000)) {
    return etherpath::testing::in_netns(
        *a_, [&] { return resolve_next_hop(ifname, ip(destination), timeout); });
  }
  // a's neighbour table for one address, as `ip neigh` prints it ("" when there is no entry).
  std::string neighbour_entry(const std::string& address) {
    return a_->exec("ip neigh show to " + address + " dev " + veth_->a()).value_or("?");
  }
  // b's link-local address, read from the kernel.
  std::string b_link_local() {
    return b_
        ->exec("ip -6 -o addr show dev " + veth_->b() +
               " scope link | awk '{print $4}' | cut -d/ -f1 | tr -d '\\n'")
        .value_or("");
  }

  std::optional<NetNs> a_, b_;
  std::optional<VethPair> veth_;
};

TEST_F(NextHopTest, OnLinkIpv4ResolvesFromAnEmptyNeighbourTable) {
  ASSERT_EQ(neighbour_entry("10.201.0.2"), "");
  auto mac = resolve(veth_->a(), "10.201.0.2");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
  // The kernel resolved it (our NTF_USE started its ARP), so the entry is there now.
  EXPECT_NE(neighbour_entry("10.201.0.2").find(veth_->mac_b().to_string()), std::string::npos);
  // A second lookup takes the table's entry as it is.
  auto again = resolve(veth_->a(), "10.201.0.2");
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(*again, veth_->mac_b());
}

TEST_F(NextHopTest, OnLinkIpv6ResolvesFromAnEmptyNeighbourTable) {
  ASSERT_EQ(neighbour_entry("fd00:201::2"), "");
  auto mac = resolve(veth_->a(), "fd00:201::2");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
}

TEST_F(NextHopTest, Ipv6LinkLocalDestination) {
  const std::string ll = b_link_local();
  ASSERT_FALSE(ll.empty());
  auto mac = resolve(veth_->a(), ll.c_str());
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
}

TEST_F(NextHopTest, Ipv4ViaAGatewayGivesTheGatewaysMac) {
  ASSERT_TRUE(a_->exec("ip route add 192.0.2.0/24 via 10.201.0.2 dev " + veth_->a()));
  auto mac = resolve(veth_->a(), "192.0.2.77");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
  EXPECT_NE(neighbour_entry("10.201.0.2").find(veth_->mac_b().to_string()), std::string::npos);
  EXPECT_EQ(neighbour_entry("192.0.2.77"), "");  // the destination itself is never asked for
}

TEST_F(NextHopTest, Ipv4DefaultRoute) {
  ASSERT_TRUE(a_->exec("ip route add default via 10.201.0.2 dev " + veth_->a()));
  auto mac = resolve(veth_->a(), "198.51.100.200");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
}

TEST_F(NextHopTest, Ipv6ViaALinkLocalGateway) {
  const std::string ll = b_link_local();
  ASSERT_FALSE(ll.empty());
  ASSERT_TRUE(a_->exec("ip -6 route add 2001:db8:77::/64 via " + ll + " dev " + veth_->a()));
  auto mac = resolve(veth_->a(), "2001:db8:77::5");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
}

TEST_F(NextHopTest, Ipv4RouteViaAnIpv6Gateway) {
  // RFC 5549 (RTA_VIA): the next hop is looked up in the IPv6 neighbour table.
  ASSERT_TRUE(a_->exec("ip route add 192.0.2.0/24 via inet6 fd00:201::2 dev " + veth_->a()));
  auto mac = resolve(veth_->a(), "192.0.2.9");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
}

TEST_F(NextHopTest, NoRouteIpv4NamesTheInterfaceAndAddress) {
  auto mac = resolve(veth_->a(), "203.0.113.9", milliseconds(1000));
  ASSERT_FALSE(mac);
  EXPECT_EQ(mac.error().context(), veth_->a() + ": no route to 203.0.113.9");
  EXPECT_TRUE(mac.error().is_errno(ENETUNREACH)) << mac.error();
  EXPECT_EQ(neighbour_entry("203.0.113.9"), "");  // nothing asked on the link
}

TEST_F(NextHopTest, NoRouteIpv6) {
  auto mac = resolve(veth_->a(), "2001:db8:99::1", milliseconds(1000));
  ASSERT_FALSE(mac);
  EXPECT_EQ(mac.error().context(), veth_->a() + ": no route to 2001:db8:99::1");
}

TEST_F(NextHopTest, ARouteThroughAnotherInterfaceIsNoRouteForThisOne) {
  auto c = NetNs::create("epnlc");
  ASSERT_TRUE(c) << c.error();
  auto other = VethPair::create(*a_, *c);
  ASSERT_TRUE(other) << other.error();
  ASSERT_TRUE(a_->exec("ip addr add 10.202.0.1/24 dev " + other->a() +
                       " && ip route add 192.0.2.0/24 via 10.202.0.2 dev " + other->a()));
  auto mac = resolve(veth_->a(), "192.0.2.1", milliseconds(1000));
  ASSERT_FALSE(mac);
  EXPECT_EQ(mac.error().context(), veth_->a() + ": no route to 192.0.2.1");
}

TEST_F(NextHopTest, AnOnLinkAddressNobodyHasTimesOut) {
  auto mac = resolve(veth_->a(), "10.201.0.99", milliseconds(300));
  ASSERT_FALSE(mac);
  EXPECT_TRUE(mac.error().is(Errc::timeout)) << mac.error();
  EXPECT_NE(mac.error().context().find(veth_->a() + ": 10.201.0.99 did not resolve within 300 ms"),
            std::string::npos)
      << mac.error();
}

TEST_F(NextHopTest, AnUnansweredGatewayTimesOutNamingTheGateway) {
  ASSERT_TRUE(a_->exec("ip -6 route add 2001:db8:77::/64 via fd00:201::99 dev " + veth_->a()));
  auto mac = resolve(veth_->a(), "2001:db8:77::5", milliseconds(300));
  ASSERT_FALSE(mac);
  EXPECT_TRUE(mac.error().is(Errc::timeout)) << mac.error();
  EXPECT_NE(
      mac.error().context().find(veth_->a() + ": fd00:201::99 (the gateway to 2001:db8:77::5) "
                                              "did not resolve within 300 ms"),
      std::string::npos)
      << mac.error();
}

TEST_F(NextHopTest, AFailedEntryIsAskedForAgain) {
  // One probe, 100 ms apart: the entry goes FAILED quickly, then b takes the address.
  ASSERT_TRUE(a_->exec("sysctl -qw net.ipv4.neigh." + veth_->a() +
                       ".mcast_solicit=1 net.ipv4.neigh." + veth_->a() + ".retrans_time_ms=100"));
  ASSERT_FALSE(resolve(veth_->a(), "10.201.0.3", milliseconds(300)));
  // The resolver asks again each time it sees FAILED, so the entry may still be INCOMPLETE.
  std::string entry;
  for (int i = 0; i < 40 && entry.find("FAILED") == std::string::npos; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    entry = neighbour_entry("10.201.0.3");
  }
  ASSERT_NE(entry.find("FAILED"), std::string::npos) << entry;
  ASSERT_TRUE(b_->exec("ip addr add 10.201.0.3/24 dev " + veth_->b()));
  auto mac = resolve(veth_->a(), "10.201.0.3");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(*mac, veth_->mac_b());
}

TEST_F(NextHopTest, AStaleEntryIsUsedAsItIs) {
  ASSERT_TRUE(a_->exec("ip neigh replace 10.201.0.50 lladdr 02:00:00:00:00:50 nud stale dev " +
                       veth_->a()));
  auto mac = resolve(veth_->a(), "10.201.0.50");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(mac->to_string(), "02:00:00:00:00:50");
}

TEST_F(NextHopTest, APermanentEntryIsUsedAndKept) {
  ASSERT_TRUE(
      a_->exec("ip -6 neigh replace fd00:201::60 lladdr 02:00:00:00:00:60 nud permanent "
               "dev " +
               veth_->a()));
  auto mac = resolve(veth_->a(), "fd00:201::60");
  ASSERT_TRUE(mac) << mac.error();
  EXPECT_EQ(mac->to_string(), "02:00:00:00:00:60");
  EXPECT_NE(neighbour_entry("fd00:201::60").find("PERMANENT"), std::string::npos);
}

TEST_F(NextHopTest, BroadcastAndMulticastNeedNoResolution) {
  auto bcast = resolve(veth_->a(), "10.201.0.255");
  ASSERT_TRUE(bcast) << bcast.error();
  EXPECT_TRUE(bcast->is_broadcast());
  auto v4 = resolve(veth_->a(), "239.129.2.3");
  ASSERT_TRUE(v4) << v4.error();
  EXPECT_EQ(v4->to_string(), "01:00:5e:01:02:03");
  auto v6 = resolve(veth_->a(), "ff02::1:ff00:2");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ(v6->to_string(), "33:33:ff:00:00:02");
}

TEST_F(NextHopTest, OwnAddressIsNotANextHop) {
  auto mac = resolve(veth_->a(), "10.201.0.1");
  ASSERT_FALSE(mac);
  EXPECT_NE(mac.error().message().find("10.201.0.1 is an address of this host"), std::string::npos)
      << mac.error();
}

TEST_F(NextHopTest, UnknownInterface) {
  auto mac = resolve("nosuchif0", "10.201.0.2");
  ASSERT_FALSE(mac);
  EXPECT_TRUE(mac.error().is(Errc::not_found));
  EXPECT_EQ(mac.error().message(), "nosuchif0: no such interface: not found");
}

TEST_F(NextHopTest, InterfaceAddressesListsBothFamilies) {
  auto addrs = etherpath::testing::in_netns(*a_, [&] { return interface_addresses(veth_->a()); });
  ASSERT_TRUE(addrs) << addrs.error();
  const auto has = [&](const IpAddress& x) {
    return std::find(addrs->begin(), addrs->end(), x) != addrs->end();
  };
  EXPECT_TRUE(has(ip("10.201.0.1")));
  EXPECT_TRUE(has(ip("fd00:201::1")));
  EXPECT_FALSE(has(ip("10.201.0.2")));  // b's, not ours
  // The link-local one too, and nothing else.
  EXPECT_EQ(addrs->size(), 3U);
  EXPECT_TRUE(addrs->front().is_v4());

  auto lo = etherpath::testing::in_netns(*a_, [&] { return interface_addresses("lo"); });
  ASSERT_TRUE(lo) << lo.error();
  EXPECT_EQ(lo->size(), 2U);  // 127.0.0.1 and ::1
  auto none = etherpath::testing::in_netns(*a_, [&] { return interface_addresses("nosuchif0"); });
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().context(), "nosuchif0: no such interface");
}

}  // namespace
}  // namespace etherpath::datapath::netlink
