// PCP wire format against layouts written out by hand from RFC 6887 §7, §11-§14, and the
// decoder's refusal of every malformed input it is given.
#include "pcp/message.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace etherpath::pcp {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

const Nonce kNonce{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67};

// Bytes written by hand. Every address field is 16 bytes; IPv4 as ::ffff:a.b.c.d.
const Bytes kClientV4 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 98, 1, 2};
const Bytes kAnyV4 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
const Bytes kExtV4 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 11, 98, 2, 1};
const Bytes kNonceBytes = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67};
// 2001:db8::7
const Bytes kV6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07};

Request map_request() {
  Request r;
  r.opcode = Opcode::map;
  r.lifetime = 600;
  r.client_address = ip("10.98.1.2");
  r.info.nonce = kNonce;
  r.info.protocol = Protocol::tcp;
  r.info.internal_port = 5000;
  return r;
}

// §7.1 request header + §11.1 MAP: the 60-byte request miniupnpd answered in the notes.
const Bytes kMapRequest = cat({
    {0x02, 0x01, 0x00, 0x00},  // version 2, R=0 opcode MAP, reserved
    {0x00, 0x00, 0x02, 0x58},  // requested lifetime 600
    kClientV4,                 // PCP client's IP address
    kNonceBytes,               // mapping nonce
    {0x06, 0x00, 0x00, 0x00},  // protocol TCP, reserved
    {0x13, 0x88, 0x00, 0x00},  // internal port 5000, suggested external port 0
    kAnyV4,                    // suggested external address: none (IPv4)
});

TEST(PcpMessage, MapRequestIsByteExact) {
  auto got = encode(map_request());
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, kMapRequest);
  EXPECT_EQ(got->size(), kHeaderSize + kMapInfoSize);
}

TEST(PcpMessage, MapRequestWithEveryOptionIsByteExact) {
  Request r = map_request();
  r.options.third_party = ip("10.98.1.9");
  r.options.prefer_failure = true;
  r.options.filters.push_back(Filter::from_prefix(ip("11.1.2.0"), 24, 7000).value());
  r.options.filters.push_back(
      Filter{.remote_address = ip("2001:db8::7"), .prefix_length = 128, .remote_port = 0});
  const Bytes want = cat({
      kMapRequest,
      // §13.1 THIRD_PARTY: code 1, reserved, length 16, internal IP address
      {0x01, 0x00, 0x00, 0x10},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 98, 1, 9},
      // §13.2 PREFER_FAILURE: code 2, reserved, length 0
      {0x02, 0x00, 0x00, 0x00},
      // §13.3 FILTER: code 3, reserved, length 20; reserved, prefix 96+24, port 7000, address
      {0x03, 0x00, 0x00, 0x14},
      {0x00, 0x78, 0x1b, 0x58},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 11, 1, 2, 0},
      {0x03, 0x00, 0x00, 0x14},
      {0x00, 0x80, 0x00, 0x00},  // prefix 128, every port
      kV6,
  });
  auto got = encode(r);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, want);
  auto back = decode_request(*got);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, r);
}

TEST(PcpMessage, PeerRequestIsByteExact) {
  Request r;
  r.opcode = Opcode::peer;
  r.lifetime = 120;
  r.client_address = ip("2001:db8::7");
  r.info.nonce = kNonce;
  r.info.protocol = Protocol::udp;
  r.info.internal_port = 6000;
  r.info.external_port = 6001;
  r.info.external_address = IpAddress::any(IpFamily::v6);
  r.info.remote_port = 7000;
  r.info.remote_address = ip("151.15.69.139");
  r.options.third_party = ip("2001:db8::9");
  const Bytes want = cat({
      {0x02, 0x02, 0x00, 0x00},  // version 2, opcode PEER
      {0x00, 0x00, 0x00, 0x78},  // lifetime 120
      kV6,                       // client 2001:db8::7
      kNonceBytes,
      {0x11, 0x00, 0x00, 0x00},  // protocol UDP
      {0x17, 0x70, 0x17, 0x71},  // internal 6000, suggested external 6001
      Bytes(16, 0),              // suggested external address :: (IPv6 "no preference")
      {0x1b, 0x58, 0x00, 0x00},  // remote peer port 7000, reserved
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 151, 15, 69, 139},
      {0x01, 0x00, 0x00, 0x10},  // THIRD_PARTY
      {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09},
  });
  auto got = encode(r);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, want);
  EXPECT_EQ(want.size(), kHeaderSize + kPeerInfoSize + 20);
  auto back = decode_request(want);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, r);
}

TEST(PcpMessage, AnnounceRequestIsTheBareHeader) {
  Request r;
  r.opcode = Opcode::announce;
  r.client_address = ip("10.98.1.2");
  const Bytes want = cat({{0x02, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x00, 0x00}, kClientV4});
  auto got = encode(r);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, want);
}

// §7.2 response header + §11.1 MAP, as miniupnpd 2.3.1 sent it.
const Bytes kMapResponse = cat({
    {0x02, 0x81, 0x00, 0x00},  // version 2, R=1 opcode MAP, reserved, result SUCCESS
    {0x00, 0x00, 0x02, 0x58},  // lifetime 600
    {0x00, 0x00, 0x06, 0x33},  // epoch 1587
    Bytes(12, 0),              // reserved
    kNonceBytes,
    {0x06, 0x00, 0x00, 0x00},
    {0x13, 0x88, 0x13, 0x88},  // internal 5000, assigned external 5000
    kExtV4,                    // assigned 11.98.2.1
});

TEST(PcpMessage, MapResponseDecodesAndEncodesByteExact) {
  auto r = decode_response(kMapResponse);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->opcode, Opcode::map);
  EXPECT_EQ(r->result, ResultCode::success);
  EXPECT_EQ(r->lifetime, 600U);
  EXPECT_EQ(r->epoch, 1587U);
  EXPECT_TRUE(r->has_info);
  EXPECT_EQ(r->info.nonce, kNonce);
  EXPECT_EQ(r->info.protocol, Protocol::tcp);
  EXPECT_EQ(r->info.internal_port, 5000);
  EXPECT_EQ(r->info.external_port, 5000);
  EXPECT_EQ(r->info.external_address, ip("11.98.2.1"));
  EXPECT_TRUE(r->info.external_address.is_v4());
  auto again = encode(*r);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(*again, kMapResponse);
}

TEST(PcpMessage, PeerAndAnnounceResponsesAreByteExact) {
  const Bytes peer = cat({
      {0x02, 0x82, 0x00, 0x00},
      {0x00, 0x00, 0x00, 0x78},
      {0x00, 0x00, 0x00, 0x05},
      Bytes(12, 0),
      kNonceBytes,
      {0x11, 0x00, 0x00, 0x00},
      {0x17, 0x70, 0x17, 0x71},
      kExtV4,
      {0x1b, 0x58, 0x00, 0x00},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 151, 15, 69, 139},
  });
  Response want;
  want.opcode = Opcode::peer;
  want.lifetime = 120;
  want.epoch = 5;
  want.info.nonce = kNonce;
  want.info.protocol = Protocol::udp;
  want.info.internal_port = 6000;
  want.info.external_port = 6001;
  want.info.external_address = ip("11.98.2.1");
  want.info.remote_port = 7000;
  want.info.remote_address = ip("151.15.69.139");
  auto got = decode_response(peer);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, want);
  EXPECT_EQ(encode(want).value(), peer);

  const Bytes announce = cat({{0x02, 0x80, 0x00, 0x00}, Bytes(4, 0), {0, 0, 0, 9}, Bytes(12, 0)});
  auto a = decode_response(announce);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->opcode, Opcode::announce);
  EXPECT_EQ(a->epoch, 9U);
  Response ar;
  ar.opcode = Opcode::announce;
  ar.epoch = 9;
  EXPECT_EQ(encode(ar).value(), announce);
}

TEST(PcpMessage, EveryResultCodeDecodesWithItsExplanation) {
  std::set<std::string_view> names;
  std::set<std::string_view> explanations;
  for (std::uint8_t code = 0; code <= kMaxResultCode; ++code) {
    Bytes b = kMapResponse;
    b[3] = code;
    auto r = decode_response(b);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(static_cast<std::uint8_t>(r->result), code);
    names.insert(name(r->result));
    explanations.insert(explain(r->result));
  }
  EXPECT_EQ(names.size(), 14U);
  EXPECT_EQ(explanations.size(), 14U);
  EXPECT_EQ(name(ResultCode::not_authorized), "NOT_AUTHORIZED");
  EXPECT_EQ(name(ResultCode::excessive_remote_peers), "EXCESSIVE_REMOTE_PEERS");
  EXPECT_TRUE(is_short_lifetime_error(ResultCode::network_failure));
  EXPECT_TRUE(is_short_lifetime_error(ResultCode::no_resources));
  EXPECT_FALSE(is_short_lifetime_error(ResultCode::not_authorized));
  Bytes b = kMapResponse;
  b[3] = 14;
  auto r = decode_response(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown result code 14"), std::string::npos);
}

TEST(PcpMessage, HeaderOnlyErrorHasNoInfoButHeaderOnlySuccessIsMalformed) {
  Bytes b(kMapResponse.begin(), kMapResponse.begin() + 24);
  b[3] = 1;  // UNSUPP_VERSION
  auto r = decode_response(b);
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(r->has_info);
  EXPECT_EQ(r->result, ResultCode::unsupp_version);
  b[3] = 0;
  EXPECT_FALSE(decode_response(b));
}

TEST(PcpMessage, UnknownOptionalOptionIsIgnoredUnknownMandatoryRejected) {
  Bytes b = cat({kMapResponse, {0xc8, 0x00, 0x00, 0x05}, {1, 2, 3, 4, 5, 0, 0, 0}});
  auto r = decode_response(b);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->ignored_options, 1U);
  b[kMapResponse.size()] = 0x04;  // code 4 < 128: mandatory to process, and unknown
  auto m = decode_response(b);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("unknown mandatory option 4"), std::string::npos) << m.error();
}

struct Malformed {
  const char* what;
  Bytes bytes;
  const char* reason;
};

TEST(PcpMessage, MalformedResponsesSayWhy) {
  Bytes truncated_map(kMapResponse.begin(), kMapResponse.end() - 4);
  Bytes r_clear = kMapResponse;
  r_clear[1] = 0x01;
  Bytes opcode3 = kMapResponse;
  opcode3[1] = 0x83;
  Bytes v1 = kMapResponse;
  v1[0] = 1;
  const std::vector<Malformed> cases = {
      {"empty", {}, "empty"},
      {"NAT-PMP", {0x00, 0x80, 0x00, 0x01, 0, 0, 0, 5}, "NAT-PMP"},
      {"version 1", v1, "version 1"},
      {"short", {0x02, 0x81, 0, 0}, "shorter than the 24-byte header"},
      {"long", cat({kMapResponse, Bytes(1100, 0)}), "longer than"},
      {"odd size", cat({kMapResponse, {0}}), "not a multiple of 4"},
      {"R bit clear", r_clear, "R bit is 0"},
      {"opcode 3", opcode3, "unknown opcode 3"},
      {"MAP truncated", cat({truncated_map, Bytes(0)}), "32 bytes of opcode data, 36 needed"},
      {"option past end", cat({kMapResponse, {0x01, 0x00, 0x00, 0x10}}), "runs past the end"},
      {"THIRD_PARTY length", cat({kMapResponse, {0x01, 0x00, 0x00, 0x04}, Bytes(4, 0)}),
       "THIRD_PARTY has length 4, it needs 16"},
      {"PREFER_FAILURE length", cat({kMapResponse, {0x02, 0x00, 0x00, 0x04}, Bytes(4, 0)}),
       "PREFER_FAILURE has length 4, it needs 0"},
      {"FILTER prefix", cat({kMapResponse, {0x03, 0x00, 0x00, 0x14}, {0x00, 0x81, 0, 0}, kV6}),
       "over 128"},
      {"FILTER v4 prefix",
       cat({kMapResponse, {0x03, 0x00, 0x00, 0x14}, {0x00, 0x32, 0, 0}, kExtV4}), "under 96"},
      {"THIRD_PARTY twice",
       cat({kMapResponse, {0x01, 0x00, 0x00, 0x10}, kExtV4, {0x01, 0x00, 0x00, 0x10}, kExtV4}),
       "THIRD_PARTY appears twice"},
      {"option code 0", cat({kMapResponse, {0x00, 0x00, 0x00, 0x00}}),
       "unknown mandatory option 0"},
  };
  for (const auto& c : cases) {
    auto r = decode_response(c.bytes);
    ASSERT_FALSE(r) << c.what;
    EXPECT_NE(r.error().message().find(c.reason), std::string::npos)
        << c.what << ": " << r.error().message();
  }
  EXPECT_TRUE(decode_response(cases[1].bytes).error().is(Errc::unsupported));
  EXPECT_TRUE(is_nat_pmp(cases[1].bytes));
}

TEST(PcpMessage, OptionsOutsideTheirOpcodeAreRefused) {
  // PREFER_FAILURE and FILTER belong to MAP only (§13.2, §13.3).
  Bytes peer_prefer = cat({kMapResponse, Bytes(20, 0), {0x02, 0x00, 0x00, 0x00}});
  peer_prefer[1] = 0x82;
  auto r = decode_response(peer_prefer);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("PREFER_FAILURE is not valid for PEER"), std::string::npos)
      << r.error();
  Request req = map_request();
  req.opcode = Opcode::peer;
  req.options.filters.push_back(Filter{});
  EXPECT_FALSE(encode(req));
}

TEST(PcpMessage, TooManyFiltersDoNotFitIn1100Bytes) {
  Request r = map_request();
  for (int i = 0; i < 43; ++i) {
    r.options.filters.push_back(Filter::from_prefix(ip("11.1.2.3"), 32, 1).value());
  }
  auto fits = encode(r);
  ASSERT_TRUE(fits) << fits.error();
  EXPECT_EQ(fits->size(), 60U + 43U * 24U);
  r.options.filters.push_back(r.options.filters.back());
  EXPECT_FALSE(encode(r));
}

TEST(PcpMessage, FilterPrefixesAndNonceText) {
  EXPECT_EQ(Filter::from_prefix(ip("10.0.0.0"), 8, 0)->prefix_length, 104);
  EXPECT_EQ(Filter::from_prefix(ip("10.0.0.0"), 8, 0)->family_prefix_length(), 8U);
  EXPECT_EQ(Filter::from_prefix(ip("2001:db8::"), 32, 0)->prefix_length, 32);
  EXPECT_FALSE(Filter::from_prefix(ip("10.0.0.0"), 33, 0));
  EXPECT_EQ(to_hex(kNonce), "0123456789abcdef01234567");
  EXPECT_EQ(parse_nonce("0123456789ABCDEF01234567").value(), kNonce);
  EXPECT_FALSE(parse_nonce("0123"));
  EXPECT_FALSE(parse_nonce("0123456789abcdef0123456g"));
}

TEST(PcpMessage, RequestDecoderRefusesResponses) {
  auto r = decode_request(kMapResponse);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("R bit is 1"), std::string::npos);
  auto ok_req = decode_request(kMapRequest);
  ASSERT_TRUE(ok_req) << ok_req.error();
  EXPECT_EQ(*ok_req, map_request());
}

}  // namespace
}  // namespace etherpath::pcp
