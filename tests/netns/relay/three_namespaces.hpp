// Three namespaces in a row for pkthere's real-peer tests: client <-> relay <-> upstream, with
// IPv4 and IPv6 addresses on each link (10.77.1.0/24 + fd77:1::/64, 10.77.2.0/24 + fd77:2::/64).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/support/netns.hpp"

namespace etherpath::relay::testing {

class ThreeNamespaces {
 public:
  static constexpr const char* kClient4 = "10.77.1.2";
  static constexpr const char* kRelayClientSide4 = "10.77.1.1";
  static constexpr const char* kRelayUpstreamSide4 = "10.77.2.1";
  static constexpr const char* kUpstream4 = "10.77.2.2";
  static constexpr const char* kClient6 = "fd77:1::2";
  static constexpr const char* kRelayClientSide6 = "fd77:1::1";
  static constexpr const char* kRelayUpstreamSide6 = "fd77:2::1";
  static constexpr const char* kUpstream6 = "fd77:2::2";

  // Namespaces, veths and addresses; a test failure (and nullptr) when any step fails.
  static std::unique_ptr<ThreeNamespaces> create() {
    using etherpath::testing::NetNs;
    using etherpath::testing::VethPair;
    auto t = std::unique_ptr<ThreeNamespaces>(new ThreeNamespaces());
    auto client = NetNs::create("epc");
    auto relay = NetNs::create("epr");
    auto up = NetNs::create("epu");
    if (!client || !relay || !up) {
      ADD_FAILURE() << "namespaces: "
                    << (client ? relay ? up.error() : relay.error() : client.error());
      return nullptr;
    }
    t->client.emplace(std::move(client).value());
    t->relay.emplace(std::move(relay).value());
    t->upstream.emplace(std::move(up).value());
    auto c_r = VethPair::create(*t->client, *t->relay);
    auto r_u = VethPair::create(*t->relay, *t->upstream);
    if (!c_r || !r_u) {
      ADD_FAILURE() << "veth: " << (c_r ? r_u.error() : c_r.error());
      return nullptr;
    }
    t->client_relay.emplace(std::move(c_r).value());
    t->relay_upstream.emplace(std::move(r_u).value());
    const auto addr = [](const etherpath::testing::NetNs& ns, const std::string& dev,
                         const char* v4, const char* v6) {
      return ns.exec("ip addr add " + std::string(v4) + "/24 dev " + dev + " && ip -6 addr add " +
                     v6 + "/64 dev " + dev + " nodad");
    };
    for (const auto& r :
         {addr(*t->client, t->client_relay->a(), kClient4, kClient6),
          addr(*t->relay, t->client_relay->b(), kRelayClientSide4, kRelayClientSide6),
          addr(*t->relay, t->relay_upstream->a(), kRelayUpstreamSide4, kRelayUpstreamSide6),
          addr(*t->upstream, t->relay_upstream->b(), kUpstream4, kUpstream6)}) {
      if (!r) {
        ADD_FAILURE() << "addresses: " << r.error();
        return nullptr;
      }
    }
    return t;
  }

  // Namespaces first: members die in reverse order, so the veths go before their namespaces.
  std::optional<etherpath::testing::NetNs> client, relay, upstream;
  std::optional<etherpath::testing::VethPair> client_relay, relay_upstream;

 private:
  ThreeNamespaces() = default;
};

}  // namespace etherpath::relay::testing
