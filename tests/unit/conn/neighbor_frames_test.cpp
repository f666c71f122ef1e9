// ARP/NDP frames for emulated hosts, compared byte for byte with scapy's (neighbor_vectors.inc),
// and the responder's answers to requests for owned and foreign addresses.
#include "conn/neighbor_frames.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>

#include "conn/wire/frame_parser.hpp"

namespace etherpath::conn {
namespace {

const std::map<std::string, std::string> kScapy = {
#include "tests/unit/conn/neighbor_vectors.inc"
};

const MacAddress kSelf = *MacAddress::parse("02:00:00:00:01:01");
const MacAddress kPeer = *MacAddress::parse("02:00:00:00:02:02");
IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

std::string hex(ConstBytes b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto c : b) {
    out += kDigits[static_cast<unsigned>(c) >> 4U];
    out += kDigits[static_cast<unsigned>(c) & 0xfU];
  }
  return out;
}

std::vector<std::byte> unhex(const std::string& s) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(s.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(NeighborFrames, MatchScapyByteForByte) {
  std::array<std::byte, 2048> buf{};
  const Station q100{kSelf, *VlanStack::parse("100")};
  const Station qinq{kSelf, *VlanStack::parse("100.200")};
  const Station untagged{kSelf, {}};
  EXPECT_EQ(hex(*build_arp_request(buf, q100, ip("10.0.0.2"), ip("10.0.0.1"))),
            kScapy.at("arp_request_q100"));
  EXPECT_EQ(hex(*build_arp_reply(buf, untagged, ip("10.0.0.2"), kPeer, ip("10.0.0.1"))),
            kScapy.at("arp_reply_untagged"));
  EXPECT_EQ(hex(*build_gratuitous_arp(buf, qinq, ip("10.0.0.2"))),
            kScapy.at("gratuitous_arp_qinq"));
  EXPECT_EQ(hex(*build_neighbor_solicit(buf, qinq, ip("2001:db8::2"), ip("2001:db8::1"))),
            kScapy.at("ns_qinq"));
  EXPECT_EQ(
      hex(*build_neighbor_advert(buf, q100, ip("2001:db8::2"), kPeer, ip("2001:db8::1"), true)),
      kScapy.at("na_solicited_q100"));
  EXPECT_EQ(hex(*build_unsolicited_advert(buf, untagged, ip("2001:db8::2"))),
            kScapy.at("na_unsolicited_untagged"));
}

TEST(NeighborFrames, AddressHelpers) {
  EXPECT_EQ(solicited_node_multicast(ip("2001:db8::12:3456")).to_string(), "ff02::1:ff12:3456");
  EXPECT_EQ(ipv6_multicast_mac(ip("ff02::1:ff12:3456")).to_string(), "33:33:ff:12:34:56");
  EXPECT_EQ(link_local_from_mac(*MacAddress::parse("00:11:22:33:44:55")).to_string(),
            "fe80::211:22ff:fe33:4455");
}

TEST(NeighborFrames, WrongFamiliesAreErrors) {
  std::array<std::byte, 2048> buf{};
  const Station s{kSelf, {}};
  EXPECT_FALSE(build_arp_request(buf, s, ip("2001:db8::1"), ip("10.0.0.1")));
  EXPECT_FALSE(build_neighbor_solicit(buf, s, ip("10.0.0.1"), ip("2001:db8::1")));
}

// A peer's request (scapy's frame, seen from the other side) gets our answer on its VLANs.
TEST(NeighborResponder, AnswersArpForOwnedAddressOnTheRequestersVlan) {
  const auto request = unhex(kScapy.at("arp_request_q100"));  // 02:..:01:01 asks for 10.0.0.1
  const auto parsed = wire::FrameParser().parse(request);
  ASSERT_TRUE(parsed);
  std::array<std::byte, 2048> buf{};
  const auto owns = [](const IpAddress& a) { return a == ip("10.0.0.1"); };
  const auto answer = answer_neighbor_request(parsed.frame, kPeer, owns, buf);
  ASSERT_TRUE(answer);
  ASSERT_TRUE(*answer);
  const auto reply = wire::FrameParser().parse(**answer);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply.frame.vlans, *VlanStack::parse("100"));
  EXPECT_EQ(reply.frame.dst, kSelf);
  EXPECT_EQ(reply.frame.src, kPeer);
  EXPECT_EQ(reply.frame.arp().op, 2);
  EXPECT_EQ(reply.frame.arp().sender_ip, ip("10.0.0.1"));
  EXPECT_EQ(reply.frame.arp().sender_mac, kPeer);
  EXPECT_EQ(reply.frame.arp().target_ip, ip("10.0.0.2"));
  // Not ours: no answer.
  const auto foreign = [](const IpAddress&) { return false; };
  EXPECT_FALSE(answer_neighbor_request(parsed.frame, kPeer, foreign, buf));
  // A gratuitous announcement is not a question.
  const auto garp = unhex(kScapy.at("gratuitous_arp_qinq"));
  const auto garp_parsed = wire::FrameParser().parse(garp);
  ASSERT_TRUE(garp_parsed);
  const auto all = [](const IpAddress&) { return true; };
  EXPECT_FALSE(answer_neighbor_request(garp_parsed.frame, kPeer, all, buf));
}

TEST(NeighborResponder, AnswersSolicitationWithSolicitedAdvert) {
  const auto ns = unhex(kScapy.at("ns_qinq"));  // 2001:db8::2 asks for 2001:db8::1
  const auto parsed = wire::FrameParser().parse(ns);
  ASSERT_TRUE(parsed) << to_string(parsed.drop);
  std::array<std::byte, 2048> buf{};
  const auto owns = [](const IpAddress& a) { return a == ip("2001:db8::1"); };
  const auto answer = answer_neighbor_request(parsed.frame, kPeer, owns, buf);
  ASSERT_TRUE(answer && *answer);
  const auto na = wire::FrameParser({.verify_checksums = true}).parse(**answer);
  ASSERT_TRUE(na) << to_string(na.drop);
  EXPECT_EQ(na.frame.vlans, *VlanStack::parse("100.200"));
  EXPECT_EQ(na.frame.dst, kSelf);
  EXPECT_EQ(na.frame.ip_dst(), ip("2001:db8::2"));
  EXPECT_EQ(na.frame.ipv6.hop_limit, 255);
  ASSERT_TRUE(na.frame.ndp());
  EXPECT_EQ(na.frame.ndp()->target, ip("2001:db8::1"));
  EXPECT_EQ(na.frame.ndp()->target_mac, kPeer);
  EXPECT_EQ(na.frame.ndp()->flags, 0x60);  // solicited + override
  // And the cache learns the soliciting node from it.
  const auto learnt = learn_from(parsed.frame);
  ASSERT_TRUE(learnt);
  EXPECT_EQ(learnt->ip, ip("2001:db8::2"));
  EXPECT_EQ(learnt->mac, kSelf);
}

TEST(NeighborResponder, LearnsFromRepliesAndAdverts) {
  // The parse borrows the bytes: keep them alive while the result is used.
  const auto arp_bytes = unhex(kScapy.at("arp_reply_untagged"));
  const auto arp = wire::FrameParser().parse(arp_bytes);
  ASSERT_TRUE(arp);
  EXPECT_EQ(learn_from(arp.frame)->ip, ip("10.0.0.2"));
  const auto na_bytes = unhex(kScapy.at("na_solicited_q100"));
  const auto na = wire::FrameParser().parse(na_bytes);
  ASSERT_TRUE(na);
  EXPECT_EQ(learn_from(na.frame)->ip, ip("2001:db8::2"));
  EXPECT_EQ(learn_from(na.frame)->mac, kSelf);
}

}  // namespace
}  // namespace etherpath::conn
