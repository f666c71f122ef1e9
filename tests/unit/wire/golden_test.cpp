// Golden frames made by scapy (tests/golden/make_golden.py): FrameBuilder makes each byte for
// byte from the fields it was made from, and FrameParser reads every field back.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sstream>

#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"
#include "tests/fuzz/wire/round_trip.hpp"
#include "tests/unit/wire/golden_frames.hpp"

namespace etherpath::wire {
namespace {

using testing::from_hex;
using testing::GoldenFrame;

const std::vector<GoldenFrame>& golden() {
  static const std::vector<GoldenFrame> frames = testing::load_golden(ETHERPATH_GOLDEN_FILE);
  return frames;
}

MacAddress mac(const std::string& s) {
  return MacAddress::parse(s).value();
}
IpAddress ip(const std::string& s) {
  return IpAddress::parse(s).value();
}

VlanStack vlans_of(const GoldenFrame& g) {
  VlanStack stack;
  if (g.at("vlans") == "-") {
    return stack;
  }
  std::istringstream in(g.at("vlans"));
  std::string tag;
  while (std::getline(in, tag, ',')) {
    unsigned tpid = 0;
    unsigned id = 0;
    unsigned pcp = 0;
    unsigned dei = 0;
    EXPECT_EQ(std::sscanf(tag.c_str(), "%x:%u:%u:%u", &tpid, &id, &pcp, &dei), 4);  // NOLINT
    stack.push_back({.id = static_cast<std::uint16_t>(id),
                     .tpid = static_cast<std::uint16_t>(tpid),
                     .pcp = static_cast<std::uint8_t>(pcp),
                     .dei = dei != 0});
  }
  return stack;
}

// The ext list "type:bodyhex;type:bodyhex" (body = after next-header and length).
std::vector<std::pair<std::uint8_t, std::vector<std::byte>>> exts_of(const GoldenFrame& g) {
  std::vector<std::pair<std::uint8_t, std::vector<std::byte>>> out;
  if (g.at("exts") == "-") {
    return out;
  }
  std::istringstream in(g.at("exts"));
  std::string ext;
  while (std::getline(in, ext, ';')) {
    const auto colon = ext.find(':');
    out.emplace_back(static_cast<std::uint8_t>(std::stoul(ext.substr(0, colon))),
                     from_hex(ext.substr(colon + 1)));
  }
  return out;
}

std::vector<std::byte> build(const GoldenFrame& g) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf, 256);
  const std::string& l4 = g.at("l4");
  const auto payload = g.has("payload") ? from_hex(g.at("payload")) : std::vector<std::byte>{};
  if (l4 == "udp") {
    b.payload(payload).push_udp(static_cast<std::uint16_t>(g.num("sport")),
                                static_cast<std::uint16_t>(g.num("dport")));
  } else if (l4 == "icmp" && g.has("nd_target")) {
    const auto opt = [&](const char* key) -> std::optional<MacAddress> {
      return g.at(key) == "-" ? std::nullopt : std::optional(mac(g.at(key)));
    };
    if (g.num("icmp_type") == kIcmpv6NeighborSolicit) {
      b.push_neighbor_solicit(ip(g.at("nd_target")), opt("nd_sll"));
    } else {
      b.push_neighbor_advert(ip(g.at("nd_target")), static_cast<std::uint8_t>(g.num("nd_flags")),
                             opt("nd_tll"));
    }
  } else if (l4 == "icmp") {
    b.payload(payload).push_icmp(static_cast<std::uint8_t>(g.num("icmp_type")),
                                 static_cast<std::uint8_t>(g.num("icmp_code")),
                                 static_cast<std::uint32_t>(g.num("icmp_rest", 16)));
  } else if (l4 == "other") {
    b.payload(payload);
  }
  const std::string& l3 = g.at("l3");
  const auto options = g.has("ip_opts") ? from_hex(g.at("ip_opts")) : std::vector<std::byte>{};
  if (l3 == "ipv4") {
    Ipv4Spec spec{.src = ip(g.at("ip_src")),
                  .dst = ip(g.at("ip_dst")),
                  .ttl = static_cast<std::uint8_t>(g.num("ttl")),
                  .tos = static_cast<std::uint8_t>(g.num("tos")),
                  .id = static_cast<std::uint16_t>(g.num("id")),
                  .flags = static_cast<std::uint8_t>(g.num("flags")),
                  .options = options};
    if (l4 == "other") {
      spec.protocol = static_cast<std::uint8_t>(g.num("proto"));
    }
    b.push_ipv4(spec);
  } else if (l3 == "ipv6") {
    const auto exts = exts_of(g);
    for (std::size_t i = exts.size(); i > 0; --i) {
      b.push_ipv6_extension(exts[i - 1].first, exts[i - 1].second);
    }
    b.push_ipv6({.src = ip(g.at("ip_src")),
                 .dst = ip(g.at("ip_dst")),
                 .hop_limit = static_cast<std::uint8_t>(g.num("hlim")),
                 .traffic_class = static_cast<std::uint8_t>(g.num("tc")),
                 .flow_label = static_cast<std::uint32_t>(g.num("fl"))});
  } else if (l3 == "arp") {
    b.push_arp({.op = static_cast<std::uint16_t>(g.num("op")),
                .sender_mac = mac(g.at("sha")),
                .sender_ip = ip(g.at("spa")),
                .target_mac = mac(g.at("tha")),
                .target_ip = ip(g.at("tpa"))});
  }
  b.push_vlans(vlans_of(g)).push_ethernet(mac(g.at("dst")), mac(g.at("src")));
  auto frame = b.finish();
  EXPECT_TRUE(frame) << g.name << ": " << (frame ? "" : frame.error().message());
  if (!frame) {
    return {};
  }
  return {frame->begin(), frame->end()};
}

std::string hex(std::span<const std::byte> b) {
  std::string s;
  for (auto x : b) {
    s += fmt::format("{:02x}", static_cast<unsigned>(x));
  }
  return s;
}

TEST(Golden, AtLeastFortyFramesCoveringTheIssueList) {
  const auto& frames = golden();
  ASSERT_GE(frames.size(), 40U) << "is " ETHERPATH_GOLDEN_FILE " there?";
  const auto count = [&](auto pred) { return std::count_if(frames.begin(), frames.end(), pred); };
  for (const char* tag : {"untagged_", "dot1q_", "qinq_"}) {
    for (const char* l3 : {"ipv4_", "ipv6_"}) {
      for (const char* l4 : {"udp", "icmp"}) {
        const std::string name = std::string(tag) + l3 + l4;
        EXPECT_EQ(count([&](const GoldenFrame& g) { return g.name == name; }), 1) << name;
      }
    }
  }
  EXPECT_GE(count([](const GoldenFrame& g) { return g.has("op"); }), 2);  // ARP
  EXPECT_GE(count([](const GoldenFrame& g) { return g.has("nd_target"); }), 2);
  EXPECT_GE(count([](const GoldenFrame& g) { return g.has("ip_opts") && g.at("ip_opts") != "-"; }),
            1);
  EXPECT_GE(count([](const GoldenFrame& g) { return g.has("exts") && g.at("exts") != "-"; }), 1);
  EXPECT_GE(count([](const GoldenFrame& g) { return g.has("payload") && g.at("payload") == "-"; }),
            1);
  EXPECT_GE(count([](const GoldenFrame& g) { return g.has("ip_len") && g.num("ip_len") == 1500; }),
            1);
}

TEST(Golden, BuiltByteForByte) {
  for (const auto& g : golden()) {
    EXPECT_EQ(hex(build(g)), hex(g.bytes)) << g.name;
  }
}

TEST(Golden, RebuiltFromParsedFieldsByteForByte) {
  const FrameParser parser(ParseOptions{.verify_checksums = true});
  for (const auto& g : golden()) {
    const auto r = parser.parse(g.bytes);
    ASSERT_TRUE(r) << g.name << ": " << to_string(r.drop);
    ASSERT_TRUE(testing::round_trip_applies(r)) << g.name;
    std::vector<std::byte> buf(2 * g.bytes.size() + 64);
    const auto rebuilt = testing::rebuild(r.frame, buf);
    ASSERT_TRUE(rebuilt) << g.name;
    EXPECT_EQ(hex(*rebuilt), hex(g.bytes)) << g.name;
  }
}

TEST(Golden, ParsedFieldByField) {
  const FrameParser parser(ParseOptions{.verify_checksums = true});
  for (const auto& g : golden()) {
    SCOPED_TRACE(g.name);
    const auto r = parser.parse(g.bytes);
    ASSERT_TRUE(r) << to_string(r.drop);
    const ParsedFrame& f = r.frame;
    EXPECT_EQ(f.bytes.size(), g.bytes.size());
    EXPECT_EQ(f.dst, mac(g.at("dst")));
    EXPECT_EQ(f.src, mac(g.at("src")));
    EXPECT_EQ(f.vlans, vlans_of(g));
    EXPECT_EQ(f.ether_type, g.num("type", 16));
    EXPECT_EQ(f.key, L2Key::make(mac(g.at("dst")), vlans_of(g),
                                 static_cast<std::uint16_t>(g.num("type", 16))));
    EXPECT_EQ(f.trailing, 0U);
    const std::string& l3 = g.at("l3");
    if (l3 == "arp") {
      EXPECT_EQ(f.l3, L3Kind::arp);
      const ArpFields arp = f.arp();
      EXPECT_EQ(arp.op, g.num("op"));
      EXPECT_EQ(arp.sender_mac, mac(g.at("sha")));
      EXPECT_EQ(arp.sender_ip, ip(g.at("spa")));
      EXPECT_EQ(arp.target_mac, mac(g.at("tha")));
      EXPECT_EQ(arp.target_ip, ip(g.at("tpa")));
      EXPECT_EQ(f.l4, L4Kind::none);
      EXPECT_EQ(f.l3_bytes.size(), ArpView::kSize);
      continue;
    }
    EXPECT_EQ(f.ip_src(), ip(g.at("ip_src")));
    EXPECT_EQ(f.ip_dst(), ip(g.at("ip_dst")));
    EXPECT_EQ(f.ip_protocol, g.num("proto"));
    if (l3 == "ipv4") {
      ASSERT_EQ(f.l3, L3Kind::ipv4);
      EXPECT_EQ(f.ipv4.tos, g.num("tos"));
      EXPECT_EQ(f.ipv4.id, g.num("id"));
      EXPECT_EQ(f.ipv4.flags, g.num("flags"));
      EXPECT_EQ(f.ipv4.df(), (g.num("flags") & 2U) != 0);
      EXPECT_FALSE(f.ipv4.mf());
      EXPECT_EQ(f.ipv4.fragment_offset, 0);
      EXPECT_EQ(f.ipv4.ttl, g.num("ttl"));
      EXPECT_EQ(f.ipv4.protocol, g.num("proto"));
      EXPECT_EQ(f.ipv4.ihl, g.num("ihl"));
      EXPECT_EQ(hex(f.ipv4.options), g.at("ip_opts") == "-" ? "" : g.at("ip_opts"));
      EXPECT_EQ(f.ipv4.total_length, g.num("ip_len"));
      EXPECT_EQ(f.ipv4.checksum, g.num("ip_csum", 16));
      EXPECT_EQ(f.l3_bytes.size(), g.num("ip_len"));
    } else {
      ASSERT_EQ(f.l3, L3Kind::ipv6);
      EXPECT_EQ(f.ipv6.traffic_class, g.num("tc"));
      EXPECT_EQ(f.ipv6.flow_label, g.num("fl"));
      EXPECT_EQ(f.ipv6.hop_limit, g.num("hlim"));
      EXPECT_EQ(f.ipv6.next_header, g.num("nh"));
      EXPECT_EQ(f.ipv6.payload_length, g.num("plen"));
      const auto exts = exts_of(g);
      ASSERT_EQ(f.ipv6.extension_count, exts.size());
      for (std::size_t i = 0; i < exts.size(); ++i) {
        EXPECT_EQ(f.ipv6_extension(i).type, exts[i].first);
        EXPECT_EQ(hex(f.ipv6_extension(i).bytes.subspan(2)), hex(exts[i].second));
      }
    }
    const std::string& l4 = g.at("l4");
    const std::string payload = g.at("payload") == "-" ? "" : g.at("payload");
    EXPECT_EQ(hex(f.payload), payload);
    if (l4 == "udp") {
      ASSERT_EQ(f.l4, L4Kind::udp);
      EXPECT_EQ(f.udp.src_port, g.num("sport"));
      EXPECT_EQ(f.udp.dst_port, g.num("dport"));
      EXPECT_EQ(f.udp.length, g.num("udp_len"));
      EXPECT_EQ(f.udp.checksum, g.num("udp_csum", 16));
      EXPECT_NE(f.udp.checksum, 0);  // etherconn sent 0 for IPv4; scapy and we compute it
    } else if (l4 == "icmp") {
      ASSERT_EQ(f.l4, l3 == "ipv4" ? L4Kind::icmpv4 : L4Kind::icmpv6);
      EXPECT_EQ(f.icmp.type, g.num("icmp_type"));
      EXPECT_EQ(f.icmp.code, g.num("icmp_code"));
      EXPECT_EQ(f.icmp.checksum, g.num("icmp_csum", 16));
      EXPECT_EQ(f.icmp.rest, g.num("icmp_rest", 16));
      const auto ndp = f.ndp();
      const auto quoted = f.quoted();
      if (g.has("nd_target")) {
        ASSERT_TRUE(ndp.has_value());
        EXPECT_EQ(ndp->target, ip(g.at("nd_target")));
        EXPECT_EQ(ndp->flags, g.num("nd_flags"));
        EXPECT_EQ(ndp->source_mac.has_value(), g.at("nd_sll") != "-");
        if (ndp->source_mac) {
          EXPECT_EQ(*ndp->source_mac, mac(g.at("nd_sll")));
        }
        EXPECT_EQ(ndp->target_mac.has_value(), g.at("nd_tll") != "-");
        if (ndp->target_mac) {
          EXPECT_EQ(*ndp->target_mac, mac(g.at("nd_tll")));
        }
      } else {
        EXPECT_FALSE(ndp.has_value());
      }
      if (g.has("q_src")) {
        ASSERT_TRUE(quoted.has_value());
        EXPECT_EQ(quoted->src, ip(g.at("q_src")));
        EXPECT_EQ(quoted->dst, ip(g.at("q_dst")));
        EXPECT_EQ(quoted->protocol, g.num("q_proto"));
        EXPECT_TRUE(quoted->has_ports);
        EXPECT_EQ(quoted->src_port, g.num("q_sport"));
        EXPECT_EQ(quoted->dst_port, g.num("q_dport"));
      } else {
        EXPECT_FALSE(quoted.has_value());
      }
    } else {
      EXPECT_EQ(f.l4, L4Kind::other);
    }
  }
}

// describe() (the demo's output) names each layer it found.
TEST(Golden, DescribeNamesEveryLayer) {
  const FrameParser parser;
  for (const auto& g : golden()) {
    const auto r = parser.parse(g.bytes);
    ASSERT_TRUE(r) << g.name;
    const std::string text = describe(r.frame);
    EXPECT_NE(text.find("Ethernet"), std::string::npos) << g.name;
    EXPECT_NE(text.find(g.at("l3") == "arp" ? "ARP" : (g.at("l3") == "ipv4" ? "IPv4" : "IPv6")),
              std::string::npos)
        << g.name << "\n"
        << text;
  }
}

}  // namespace
}  // namespace etherpath::wire
