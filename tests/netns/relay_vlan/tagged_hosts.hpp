// Namespaces for pkthere's tagged emulated hosts: a client and an upstream, each on its own VLAN
// stack behind a VlanPeer, and the relay. By default all three are on one Linux bridge (in a
// switch namespace) that carries the tags through untouched, so the relay has one interface for
// both emulated hosts. With `two_interfaces` the client and the upstream each have a veth of
// their own into the relay (--iface and --there-iface).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "base/vlan.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/vlan_peer.hpp"

namespace etherpath::relay::testing {

class TaggedHosts {
 public:
  static constexpr const char* kClient4 = "10.77.1.2";
  static constexpr const char* kClient6 = "fd77:1::2";
  static constexpr const char* kUpstream4 = "10.77.2.2";
  static constexpr const char* kUpstream6 = "fd77:2::2";
  // pkthere's emulated hosts: the listener on the client's subnet and VLANs, the upstream-side
  // host on the upstream's.
  static constexpr const char* kListener4 = "10.77.1.50";
  static constexpr const char* kListener6 = "fd77:1::50";
  static constexpr const char* kListenerMac = "02:00:00:77:01:50";
  static constexpr const char* kThere4 = "10.77.2.50";
  static constexpr const char* kThere6 = "fd77:2::50";
  static constexpr const char* kThereMac = "02:00:00:77:02:50";

  // A test failure (and nullptr) when any step fails; what was made is removed again.
  static std::unique_ptr<TaggedHosts> create(const VlanStack& client_vlans,
                                             const VlanStack& upstream_vlans,
                                             bool two_interfaces = false) {
    using etherpath::testing::NetNs;
    using etherpath::testing::VethPair;
    auto t = std::unique_ptr<TaggedHosts>(new TaggedHosts());
    auto client = NetNs::create("evc");
    auto relay = NetNs::create("evr");
    auto up = NetNs::create("evu");
    auto sw = NetNs::create("evs");
    if (!client || !relay || !up || !sw) {
      ADD_FAILURE() << "namespaces: "
                    << (!client  ? client.error()
                        : !relay ? relay.error()
                        : !up    ? up.error()
                                 : sw.error());
      return nullptr;
    }
    t->client.emplace(std::move(client).value());
    t->relay.emplace(std::move(relay).value());
    t->upstream.emplace(std::move(up).value());
    t->sw.emplace(std::move(sw).value());
    // The relay's and the switch's kernels keep quiet (no IPv6 router solicitations or MLD
    // reports from their links): every untagged frame a VLAN peer counts is then pkthere's.
    for (const NetNs* ns : {&*t->relay, &*t->sw}) {
      auto quiet = ns->exec(
          "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
      if (!quiet) {
        ADD_FAILURE() << "sysctl: " << quiet.error();
        return nullptr;
      }
    }
    const NetNs& hub = two_interfaces ? *t->relay : *t->sw;  // where the b ends go
    auto c = VethPair::create(*t->client, hub);
    auto u = VethPair::create(*t->upstream, hub);
    if (!c || !u) {
      ADD_FAILURE() << "veth: " << (!c ? c.error() : u.error());
      return nullptr;
    }
    t->client_link.emplace(std::move(c).value());
    t->upstream_link.emplace(std::move(u).value());
    if (two_interfaces) {
      return finish(std::move(t), client_vlans, upstream_vlans);
    }
    auto r = VethPair::create(*t->relay, *t->sw);
    if (!r) {
      ADD_FAILURE() << "veth: " << r.error();
      return nullptr;
    }
    t->relay_link.emplace(std::move(r).value());
    // No multicast snooping: NDP to solicited-node groups is flooded like broadcast. Towards the
    // relay the tags go in-band (veth would carry them out of band, unseen by XDP and libpcap).
    const auto bridge = t->sw->exec(fmt::format(
        "ip link add br0 type bridge mcast_snooping 0 && ip link set br0 up && "
        "ip link set {c} master br0 && ip link set {r} master br0 && ip link set {u} master br0 "
        "&& ethtool -K {r} txvlan off tx-vlan-stag-hw-insert off > /dev/null",
        fmt::arg("c", t->client_link->b()), fmt::arg("r", t->relay_link->b()),
        fmt::arg("u", t->upstream_link->b())));
    if (!bridge) {
      ADD_FAILURE() << "bridge: " << bridge.error();
      return nullptr;
    }
    return finish(std::move(t), client_vlans, upstream_vlans);
  }

  // The relay's client-side interface, and its upstream-side one (the same on the bridge).
  [[nodiscard]] const std::string& relay_iface() const {
    return relay_link ? relay_link->a() : client_link->b();
  }
  [[nodiscard]] const std::string& there_iface() const {
    return relay_link ? relay_link->a() : upstream_link->b();
  }
  [[nodiscard]] MacAddress upstream_mac() const { return upstream_link->mac_a(); }

  // Namespaces first: members die in reverse order, so the VLAN peers (removed inside their
  // namespaces) and the veths go before the namespaces.
  std::optional<etherpath::testing::NetNs> client, relay, upstream, sw;
  std::optional<etherpath::testing::VethPair> client_link, relay_link, upstream_link;
  std::optional<etherpath::testing::VlanPeer> client_peer, upstream_peer;

 private:
  TaggedHosts() = default;

  // The client's and upstream's addresses and VLAN peers.
  static std::unique_ptr<TaggedHosts> finish(std::unique_ptr<TaggedHosts> t,
                                             const VlanStack& client_vlans,
                                             const VlanStack& upstream_vlans) {
    using etherpath::testing::NetNs;
    using etherpath::testing::VlanPeer;
    // Checksums finished by the sender (veth's TX offload would leave them partial, and
    // pkthere's datapath checks every one), addresses, and the VLAN peers.
    const auto host = [](const NetNs& ns, const std::string& dev, const char* v4, const char* v6) {
      return ns.exec(
          fmt::format("ethtool -K {d} tx off > /dev/null && ip addr add {v4}/24 dev {d} && "
                      "ip -6 addr add {v6}/64 dev {d} nodad",
                      fmt::arg("d", dev), fmt::arg("v4", v4), fmt::arg("v6", v6)));
    };
    for (const auto& st : {host(*t->client, t->client_link->a(), kClient4, kClient6),
                           host(*t->upstream, t->upstream_link->a(), kUpstream4, kUpstream6)}) {
      if (!st) {
        ADD_FAILURE() << "hosts: " << st.error();
        return nullptr;
      }
    }
    auto cp = VlanPeer::attach(*t->client, t->client_link->a(), client_vlans);
    auto up_peer = VlanPeer::attach(*t->upstream, t->upstream_link->a(), upstream_vlans);
    if (!cp || !up_peer) {
      ADD_FAILURE() << "VLAN peers: " << (!cp ? cp.error() : up_peer.error());
      return nullptr;
    }
    t->client_peer.emplace(std::move(cp).value());
    t->upstream_peer.emplace(std::move(up_peer).value());
    return t;
  }
};

}  // namespace etherpath::relay::testing
