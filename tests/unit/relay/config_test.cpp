// validate_options: pkthere's flag rules and texts, per-protocol caps, port conflict, UDP:host:0.
#include "relay/config.hpp"

#include <gtest/gtest.h>

namespace etherpath::relay {
namespace {

RawOptions base() {
  RawOptions r;
  r.here = {"UDP:127.0.0.1:5354"};
  r.there = {"UDP:127.0.0.1:53"};
  return r;
}

std::string error_of(const RawOptions& r) {
  auto o = validate_options(r);
  return o ? std::string("ok") : o.error().context();
}

TEST(Config, Defaults) {
  auto o = validate_options(base()).value();
  EXPECT_EQ(o.timeout, std::chrono::seconds(10));
  EXPECT_EQ(o.on_timeout, OnTimeout::drop);
  EXPECT_EQ(o.max_payload, 1500U);
  EXPECT_EQ(o.workers, 1U);
  EXPECT_EQ(o.max_sessions, 1U);
  EXPECT_EQ(o.stats_interval, std::chrono::seconds(3600));
  EXPECT_EQ(o.reresolve_mode, ReresolveMode::upstream);
  EXPECT_EQ(o.engine, EngineKind::socket);
}

TEST(Config, EndpointForms) {
  auto e = parse_endpoint_spec("icmp:[::1]:7", "--here").value();
  EXPECT_EQ(e.proto, Proto::icmp);
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.id, 7);
  EXPECT_EQ(e.to_string(), "ICMP:[::1]:7");
  EXPECT_EQ(parse_endpoint_spec("UDP:dns.example:53", "--there").value().host, "dns.example");
  EXPECT_FALSE(parse_endpoint_spec("XYZ:127.0.0.1:abc", "--here"));
  EXPECT_FALSE(parse_endpoint_spec("UDP:not-an-addr", "--there"));
  EXPECT_FALSE(parse_endpoint_spec("UDP:127.0.0.1:65536", "--there"));
  const auto v6 = parse_endpoint_spec("ICMP:::1:1234", "--here");
  ASSERT_FALSE(v6);
  EXPECT_NE(v6.error().context().find("brackets"), std::string::npos);
}

TEST(Config, Rejections) {
  auto r = base();
  r.here.clear();
  EXPECT_EQ(error_of(r), "missing required flag: --here PROTO:HOST:ID");
  r = base();
  r.there.emplace_back("UDP:127.0.0.1:54");
  EXPECT_EQ(error_of(r), "--there specified multiple times");
  r = base();
  r.on_timeout = {"nope"};
  EXPECT_EQ(error_of(r), "--on-timeout must be drop|exit (got 'nope')");
  r = base();
  r.max_payload = {"notanumber"};
  EXPECT_EQ(error_of(r), "invalid --max-payload: 'notanumber' is not a non-negative integer");
  r = base();
  r.reresolve_mode = {"invalid"};
  EXPECT_EQ(error_of(r), "--reresolve-mode must be upstream|listen|both|none (got 'invalid')");
  r = base();
  r.debug = {"no-connect", "bogus"};
  EXPECT_EQ(error_of(r),
            "--debug expects no-connect, log-drops, log-handles, or fast-stats (got 'bogus')");
  r = base();
  r.workers = {"0"};
  EXPECT_EQ(error_of(r), "--workers must be between 1 and 256 (got 0)");
  r = base();
  r.there = {"UDP:127.0.0.1:0"};
  EXPECT_EQ(error_of(r),
            "--there UDP:127.0.0.1:0 is invalid: UDP upstream requires a fixed "
            "remote destination port");
  r = base();
  r.there = {"UDP:127.0.0.1:5354"};
  EXPECT_NE(error_of(r).find("Port conflict"), std::string::npos);
  r = base();
  r.here = {"UDP:0.0.0.0:53"};
  EXPECT_NE(error_of(r).find("Port conflict"), std::string::npos);
  r = base();
  r.engine = {"xdp"};
  EXPECT_EQ(error_of(r), "--engine xdp needs --iface (the client-side interface)");
  r.iface = {"eth0"};
  EXPECT_EQ(error_of(r), "ok");
  r.xdp_mode = {"turbo"};
  EXPECT_EQ(error_of(r), "--xdp-mode must be auto|zc|copy|skb (got 'turbo')");
  r.xdp_mode = {"skb"};
  r.next_hop_mac = {"02:00:00:00:00:zz"};
  EXPECT_EQ(error_of(r), "--next-hop-mac: invalid MAC address '02:00:00:00:00:zz'");
  r.next_hop_mac = {"02:00:00:00:00:01"};
  r.queues = {"0"};
  EXPECT_NE(error_of(r).find("--queues"), std::string::npos);
  r.queues = {"2"};
  EXPECT_EQ(error_of(r), "ok");
  r.workers = {"2"};
  EXPECT_NE(error_of(r).find("--workers needs --engine socket"), std::string::npos);
  r = base();
  r.engine = {"pcap"};
  r.iface = {"eth0"};
  r.xdp_mode = {"copy"};
  EXPECT_EQ(error_of(r), "--xdp-mode needs --engine xdp, not pcap");
  r.xdp_mode.clear();
  r.here_vlan = {"100"};
  EXPECT_EQ(error_of(r), "--here-vlan needs --here-mac (tags belong to an emulated listener host)");
  r.here_mac = {"01:00:5e:00:00:01"};
  EXPECT_EQ(error_of(r), "--here-mac: invalid unicast MAC address '01:00:5e:00:00:01'");
  r.here_mac = {"02:00:00:00:00:09"};
  r.here_vlan = {"4095"};
  EXPECT_NE(error_of(r).find("--here-vlan"), std::string::npos);
  r.here_vlan = {"100.20"};
  EXPECT_EQ(error_of(r), "ok");
  r.there_src = {"10.0.0.5"};
  EXPECT_EQ(error_of(r), "--there-src needs --there-mac (an emulated upstream-side host)");
  r.there_src.clear();
  r.there_mac = {"02:00:00:00:00:0a"};
  EXPECT_EQ(error_of(r), "--there-mac needs --there-src (the emulated host's address)");
  r.there_src = {"10.0.0.5"};
  EXPECT_EQ(error_of(r), "ok");
  r = base();
  r.iface = {"eth0"};
  r.engine = {"socket"};
  EXPECT_EQ(error_of(r), "--iface needs --engine xdp or pcap, not socket");
}

TEST(Config, SpinBeforeBlockingIsForTheDatapathEngines) {
  RawOptions r = base();
  r.engine = {"xdp"};
  r.iface = {"eth0"};
  EXPECT_EQ(validate_options(r).value().spin, std::chrono::microseconds(100));
  r.spin_us = {"0"};
  EXPECT_EQ(validate_options(r).value().spin, std::chrono::microseconds(0));
  r.spin_us = {"250"};
  EXPECT_EQ(validate_options(r).value().spin, std::chrono::microseconds(250));
  r.spin_us = {"2000000"};
  EXPECT_EQ(error_of(r), "--spin-us must be between 0 and 1000000 (got 2000000)");
  r = base();
  r.spin_us = {"50"};
  EXPECT_EQ(error_of(r), "--spin-us needs --engine xdp or pcap, not socket");
}

TEST(Config, MaxPayloadCaps) {
  auto r = base();
  r.max_payload = {"65507"};
  EXPECT_EQ(error_of(r), "ok");
  r.max_payload = {"65508"};
  EXPECT_NE(error_of(r).find("--max-payload 65508 exceeds the maximum"), std::string::npos);
  r = base();
  r.here = {"UDP:[::1]:5354"};
  r.there = {"UDP:[::1]:53"};
  r.max_payload = {"65527"};
  EXPECT_EQ(error_of(r), "ok");
  r.max_payload = {"65528"};
  EXPECT_NE(error_of(r), "ok");
  r = base();
  r.there = {"ICMP:127.0.0.1:1"};
  r.max_payload = {"65496"};
  EXPECT_EQ(error_of(r), "ok");
  r.max_payload = {"65497"};
  EXPECT_NE(error_of(r).find("(65496)"), std::string::npos);
  r = base();
  r.here = {"UDP:[::1]:5354"};
  r.there = {"ICMP:127.0.0.1:1"};  // mixed families: the IPv4 cap
  r.max_payload = {"65497"};
  EXPECT_NE(error_of(r).find("(65496)"), std::string::npos);
  r = base();
  r.max_payload = {"0"};
  EXPECT_EQ(error_of(r), "ok");
}

TEST(Config, FastStatsAndNoStats) {
  auto r = base();
  r.debug = {"fast-stats"};
  EXPECT_EQ(validate_options(r).value().stats_interval, std::chrono::seconds(0));
  r.no_stats = true;
  EXPECT_FALSE(validate_options(r).value().stats_interval.has_value());
  r = base();
  r.stats_interval_mins = {"0"};
  EXPECT_EQ(validate_options(r).value().stats_interval, std::chrono::seconds(0));
}

}  // namespace
}  // namespace etherpath::relay
