// DatapathTransport + Forwarder over a PacketRelay on FakeEngine: the frames it sends on are
// whole, valid frames (conn/wire's parser with checksum checks accepts them) with the right MACs,
// addresses, ports or echo ids; broken frames for our flows are counted by reason; no frame leaks.
#include "relay/datapath_transport.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "datapath/fake_engine.hpp"
#include "datapath/packet_relay.hpp"
#include "relay/forwarder.hpp"
#include "relay/frame_rewrite.hpp"

namespace etherpath::relay {
namespace {

using std::chrono::milliseconds;

const MacAddress kOwn = MacAddress::parse("02:00:00:00:00:01").value();
const MacAddress kClientMac = MacAddress::parse("02:00:00:00:00:02").value();
const MacAddress kNextHop = MacAddress::parse("02:00:00:00:00:03").value();

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string text_of(ConstBytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};  // NOLINT
}

// A UDP frame to the relay's own MAC.
std::vector<std::byte> udp_frame(const IpEndpoint& from, const IpEndpoint& to,
                                 std::string_view data, const MacAddress& src_mac) {
  std::array<std::byte, 2048> buf{};
  wire::FrameBuilder b(buf);
  b.payload(bytes_of(data)).push_udp(from.port, to.port);
  if (from.address.is_v4()) {
    b.push_ipv4({.src = from.address, .dst = to.address});
  } else {
    b.push_ipv6({.src = from.address, .dst = to.address});
  }
  b.push_ethernet(kOwn, src_mac);
  auto f = b.finish();
  EXPECT_TRUE(f) << f.error();
  return {f->begin(), f->end()};
}

std::vector<std::byte> echo_frame(const IpAddress& from, const IpAddress& to, std::uint8_t type,
                                  std::uint16_t id, std::uint16_t seq, std::string_view data) {
  std::array<std::byte, 2048> buf{};
  wire::FrameBuilder b(buf);
  b.payload(bytes_of(data)).push_icmp_echo(type, id, seq);
  if (from.is_v4()) {
    b.push_ipv4({.src = from, .dst = to});
  } else {
    b.push_ipv6({.src = from, .dst = to});
  }
  b.push_ethernet(kOwn, kNextHop);
  auto f = b.finish();
  EXPECT_TRUE(f) << f.error();
  return {f->begin(), f->end()};
}

// One relay on a FakeEngine, a transport and a forwarder over it.
class DatapathTransportTest : public ::testing::Test {
 protected:
  void open(  // NOLINT(readability-convert-member-functions-to-static): sets the fixture
      Proto listen_proto, const IpEndpoint& listen, Proto upstream_proto,
      const IpEndpoint& upstream, const IpAddress& upstream_local) {
    auto engine = std::make_unique<datapath::FakeEngine>();
    fake_ = engine.get();
    free_at_start_ = fake_->free_frames();
    datapath::RelayOptions ro;
    ro.own_threads = false;
    auto r = datapath::PacketRelay::open_with(std::move(engine), nullptr, "fake0", kOwn, ro);
    ASSERT_TRUE(r) << r.error();
    relay_ = std::move(r).value();
    DatapathTransportOptions o;
    o.listen_proto = listen_proto;
    o.listen = listen;
    o.upstream_proto = upstream_proto;
    o.upstream = upstream;
    o.upstream_local = upstream_local;
    o.next_hop_mac = kNextHop;
    o.resolve_next_hop = resolve_;
    auto t = DatapathTransport::open(o, *relay_, *relay_);
    ASSERT_TRUE(t) << t.error();
    transport_ = std::move(t).value();
    ForwarderConfig fc;
    fc.listen_proto = listen_proto;
    fc.listen = transport_->listen_address();
    fc.upstream_proto = upstream_proto;
    fc.upstream = upstream;
    forwarder_ = std::make_unique<Forwarder>(fc, *transport_, SteadyClock::instance(), nullptr);
    ASSERT_TRUE(forwarder_->start());
  }
  void TearDown() override {
    forwarder_.reset();
    transport_.reset();
    relay_.reset();
  }

  // Injects `frame`, runs one forwarder round and returns what was sent (parsed and checked).
  std::vector<std::vector<std::byte>> round_trip(const std::vector<std::byte>& frame) {
    EXPECT_TRUE(fake_->inject(0, frame));
    EXPECT_TRUE(forwarder_->poll(milliseconds(10)));
    return fake_->take_sent(0);
  }

  static wire::ParsedFrame parse_valid(const std::vector<std::byte>& frame) {
    const wire::FrameParser parser(wire::ParseOptions{.verify_checksums = true});
    const auto p = parser.parse(frame);
    EXPECT_TRUE(p) << wire::to_string(p.drop);
    return p.frame;
  }

  datapath::FakeEngine* fake_ = nullptr;
  std::function<Result<MacAddress>(const IpAddress&)> resolve_;  // set before open()
  std::size_t free_at_start_ = 0;
  std::unique_ptr<datapath::PacketRelay> relay_;
  std::unique_ptr<DatapathTransport> transport_;
  std::unique_ptr<Forwarder> forwarder_;
};

TEST_F(DatapathTransportTest, UdpBothWaysWithValidHeadersAndChecksums) {
  open(Proto::udp, IpEndpoint{ip("127.0.0.1"), 0}, Proto::udp, IpEndpoint{ip("127.0.0.3"), 53},
       ip("127.0.0.2"));
  const IpEndpoint listen = transport_->listen_address();
  ASSERT_NE(listen.port, 0);
  const IpEndpoint client{ip("127.0.0.9"), 40000};
  // An odd-sized payload: the checksum's padding byte must be right too.
  auto sent = round_trip(udp_frame(client, listen, "query-of-odd-size", kClientMac));
  ASSERT_EQ(sent.size(), 1U);
  wire::ParsedFrame up = parse_valid(sent[0]);
  EXPECT_EQ(up.dst, kNextHop);
  EXPECT_EQ(up.src, kOwn);
  EXPECT_EQ(up.ip_src(), ip("127.0.0.2"));
  EXPECT_EQ(up.ip_dst(), ip("127.0.0.3"));
  EXPECT_EQ(up.udp.dst_port, 53);
  EXPECT_EQ(text_of(up.payload), "query-of-odd-size");
  const std::uint16_t upstream_port = up.udp.src_port;
  ASSERT_NE(upstream_port, 0);

  sent = round_trip(udp_frame(IpEndpoint{ip("127.0.0.3"), 53},
                              IpEndpoint{ip("127.0.0.2"), upstream_port}, "the-answer", kNextHop));
  ASSERT_EQ(sent.size(), 1U);
  wire::ParsedFrame down = parse_valid(sent[0]);
  EXPECT_EQ(down.dst, kClientMac);  // learned from the client's frame
  EXPECT_EQ(down.src, kOwn);
  EXPECT_EQ(down.ip_src(), listen.address);
  EXPECT_EQ(down.ip_dst(), client.address);
  EXPECT_EQ(down.udp.src_port, listen.port);
  EXPECT_EQ(down.udp.dst_port, client.port);
  EXPECT_EQ(text_of(down.payload), "the-answer");
  const auto stats = forwarder_->snapshot();
  EXPECT_EQ(stats.c2u.pkts, 1U);
  EXPECT_EQ(stats.u2c.pkts, 1U);
  // Every frame went back to the pool (sent ones through completions).
  EXPECT_TRUE(forwarder_->poll(milliseconds(1)));
  EXPECT_EQ(fake_->free_frames(), free_at_start_);
}

// A re-resolve that moves --there to another address looks the next hop up again (the socket
// engine gets that from the kernel's routing); frames then go to the new MAC and address.
TEST_F(DatapathTransportTest, AMovedUpstreamGetsItsNextHopLookedUpAgain) {
  const MacAddress other_hop = MacAddress::parse("02:00:00:00:00:04").value();
  std::vector<IpAddress> asked;
  resolve_ = [&](const IpAddress& a) -> Result<MacAddress> {
    asked.push_back(a);
    return other_hop;
  };
  open(Proto::udp, IpEndpoint{ip("127.0.0.1"), 0}, Proto::udp, IpEndpoint{ip("127.0.0.3"), 53},
       ip("127.0.0.2"));
  const IpEndpoint listen = transport_->listen_address();
  const IpEndpoint client{ip("127.0.0.9"), 40000};
  auto sent = round_trip(udp_frame(client, listen, "one", kClientMac));
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(parse_valid(sent[0]).dst, kNextHop);
  EXPECT_TRUE(asked.empty());  // the same upstream: no lookup
  forwarder_->request_upstream(IpEndpoint{ip("127.0.0.4"), 53});
  // Applied at the forwarder's next tick.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (asked.empty() && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(forwarder_->poll(milliseconds(20)));
  }
  ASSERT_EQ(asked.size(), 1U);
  EXPECT_EQ(asked[0], ip("127.0.0.4"));
  sent = round_trip(udp_frame(client, listen, "two", kClientMac));
  ASSERT_EQ(sent.size(), 1U);
  const wire::ParsedFrame up = parse_valid(sent[0]);
  EXPECT_EQ(up.dst, other_hop);
  EXPECT_EQ(up.ip_dst(), ip("127.0.0.4"));
  EXPECT_EQ(text_of(up.payload), "two");
  EXPECT_EQ(asked.size(), 1U);  // looked up once per move, not per frame
}

TEST_F(DatapathTransportTest, BrokenFramesForOurFlowAreCountedByReasonAndNotForwarded) {
  open(Proto::udp, IpEndpoint{ip("127.0.0.1"), 0}, Proto::udp, IpEndpoint{ip("127.0.0.3"), 53},
       ip("127.0.0.2"));
  const IpEndpoint listen = transport_->listen_address();
  const IpEndpoint client{ip("127.0.0.9"), 40000};
  const auto good = udp_frame(client, listen, "payload", kClientMac);
  auto bad_checksum = good;
  bad_checksum[14 + 20 + 6] ^= std::byte{0x5a};
  auto bad_length = good;
  bad_length[14 + 20 + 5] = std::byte{200};  // UDP length past the IP payload
  auto lying_total = good;
  lying_total[14 + 3] = std::byte{250};  // IPv4 total length past the frame (checksum fixed below)
  {
    wire::Ipv4Writer w(Bytes(lying_total).subspan(14, 20));
    w.set_checksum(0);
    w.set_checksum(wire::internet_checksum(ConstBytes(lying_total).subspan(14, 20)));
  }
  auto other_port = udp_frame(client, IpEndpoint{listen.address, 9}, "x", kClientMac);
  other_port[14 + 20 + 6] ^= std::byte{0x5a};  // broken, but not ours: not counted as malformed
  for (const auto* f : {&bad_checksum, &bad_length, &lying_total, &other_port}) {
    EXPECT_TRUE(round_trip(*f).empty());
  }
  const auto j = transport_->stats_json();
  EXPECT_EQ(j["malformed"]["bad_udp_checksum"], 1) << j;
  EXPECT_EQ(j["malformed"]["udp_length_exceeds_ip"], 1) << j;
  EXPECT_EQ(j["malformed"]["ipv4_total_length_exceeds_frame"], 1) << j;
  EXPECT_EQ(j["malformed_total"], 3);
  EXPECT_EQ(j["not_ours"], 1);
  // Forwarding goes on.
  EXPECT_EQ(round_trip(good).size(), 1U);
  EXPECT_EQ(forwarder_->snapshot().c2u.pkts, 1U);
}

TEST_F(DatapathTransportTest, AChecksumLeftToAnOffloadIsBadAndNamedAsSuch) {
  open(Proto::udp, IpEndpoint{ip("127.0.0.1"), 0}, Proto::udp, IpEndpoint{ip("127.0.0.3"), 53},
       ip("127.0.0.2"));
  const IpEndpoint listen = transport_->listen_address();
  auto partial = udp_frame(IpEndpoint{ip("127.0.0.9"), 40000}, listen, "payload", kClientMac);
  // What a kernel sending over veth with TX checksumming on leaves in the field: the folded
  // pseudo-header sum alone (CHECKSUM_PARTIAL), which the offload would have completed.
  const std::uint16_t udp_length = load_be16(ConstBytes(partial), 14 + 20 + 4);
  const std::uint64_t pseudo =
      wire::pseudo_header_sum_of(ConstBytes(partial).subspan(14, 20), false, 17, udp_length);
  store_be16(Bytes(partial), 14 + 20 + 6, wire::checksum_fold(pseudo));
  EXPECT_TRUE(round_trip(partial).empty());
  const auto j = transport_->stats_json();
  EXPECT_EQ(j["malformed"]["bad_udp_checksum"], 1) << j;
  EXPECT_EQ(j["udp_checksum_offloaded"], 1) << j;
  EXPECT_EQ(transport_->checksum_offloaded(), 1U);
}

TEST_F(DatapathTransportTest, UdpClientToIcmpv6UpstreamGetsTheTransportsChecksum) {
  open(Proto::udp, IpEndpoint{ip("::1"), 0}, Proto::icmp, IpEndpoint{ip("fd00::3"), 0}, ip("::1"));
  const IpEndpoint listen = transport_->listen_address();
  const IpEndpoint client{ip("fd00::9"), 40000};
  auto sent = round_trip(udp_frame(client, listen, "ping-payload", kClientMac));
  ASSERT_EQ(sent.size(), 1U);
  wire::ParsedFrame up = parse_valid(sent[0]);
  ASSERT_EQ(up.l4, wire::L4Kind::icmpv6);
  EXPECT_EQ(up.icmp.type, 128);
  EXPECT_EQ(up.ip_dst(), ip("fd00::3"));
  EXPECT_EQ(text_of(up.payload), "ping-payload");
  const std::uint16_t id = up.icmp.echo_id();
  sent =
      round_trip(echo_frame(ip("fd00::3"), ip("::1"), 129, id, up.icmp.echo_seq(), "ping-payload"));
  ASSERT_EQ(sent.size(), 1U);
  wire::ParsedFrame down = parse_valid(sent[0]);
  EXPECT_EQ(down.ip_dst(), client.address);
  EXPECT_EQ(down.udp.dst_port, client.port);
  EXPECT_EQ(text_of(down.payload), "ping-payload");
  // A reply for an id we never used is not ours.
  EXPECT_TRUE(round_trip(echo_frame(ip("fd00::3"), ip("::1"), 129,
                                    static_cast<std::uint16_t>(id + 1), 1, "x"))
                  .empty());
}

TEST_F(DatapathTransportTest, IcmpClientToUdpUpstreamKeepsTheClientsEchoIdentity) {
  open(Proto::icmp, IpEndpoint{ip("127.0.0.1"), 0}, Proto::udp, IpEndpoint{ip("127.0.0.3"), 7},
       ip("127.0.0.2"));
  auto request = echo_frame(ip("127.0.0.9"), ip("127.0.0.1"), 8, 0x1234, 7, "abcdefgh");
  // The client's MAC: echo_frame uses the next hop's as its source, which is what we learn.
  auto sent = round_trip(request);
  ASSERT_EQ(sent.size(), 1U);
  wire::ParsedFrame up = parse_valid(sent[0]);
  EXPECT_EQ(text_of(up.payload), "abcdefgh");
  sent = round_trip(udp_frame(IpEndpoint{ip("127.0.0.3"), 7},
                              IpEndpoint{ip("127.0.0.2"), up.udp.src_port}, "abcdefgh", kNextHop));
  ASSERT_EQ(sent.size(), 1U);
  wire::ParsedFrame down = parse_valid(sent[0]);
  ASSERT_EQ(down.l4, wire::L4Kind::icmpv4);
  EXPECT_EQ(down.icmp.type, 0);
  EXPECT_EQ(down.icmp.echo_id(), 0x1234);
  EXPECT_EQ(down.icmp.echo_seq(), 7);
  EXPECT_EQ(down.ip_dst(), ip("127.0.0.9"));
  EXPECT_EQ(text_of(down.payload), "abcdefgh");
}

TEST(FrameRewrite, HeadersWithTwoTagsParseBackWithValidChecksums) {
  std::array<std::byte, 512> chunk{};
  const std::string data = "tagged";
  std::memcpy(chunk.data() + 200, data.data(), data.size());
  VlanStack vlans;
  vlans.push_back({.id = 100, .tpid = 0x88a8});
  vlans.push_back({.id = 20});
  const TxSide side{kOwn, vlans, ip("10.0.0.1")};
  TxTarget t;
  t.dst_mac = kNextHop;
  t.dst = ip("10.0.0.2");
  t.src_port = 1000;
  t.dst_port = 2000;
  const std::uint64_t sum = wire::checksum_add(0, ConstBytes(chunk).subspan(200, data.size()));
  const auto start =
      write_headers(chunk, 200, static_cast<std::uint32_t>(data.size()), sum, side, t);
  ASSERT_TRUE(start);
  EXPECT_EQ(*start, 200U - tx_header_size(side, t));
  const wire::FrameParser parser(wire::ParseOptions{.verify_checksums = true});
  const auto p = parser.parse(ConstBytes(chunk).subspan(*start, 200 - *start + data.size()));
  ASSERT_TRUE(p) << wire::to_string(p.drop);
  EXPECT_EQ(p.frame.vlans.size(), 2U);
  EXPECT_EQ(p.frame.vlans[0].id, 100);
  EXPECT_EQ(p.frame.vlans[1].id, 20);
  EXPECT_EQ(p.frame.udp.dst_port, 2000);
  EXPECT_EQ(text_of(p.frame.payload), data);
  // Not enough headroom: refused.
  EXPECT_FALSE(write_headers(chunk, 10, 4, 0, side, t));
}

// parse_rx takes IPv4/UDP frames by a fast path: it must accept exactly what the checking parser
// accepts, with the same fields, whatever single header byte is damaged.
TEST(FrameRewrite, ParseRxAgreesWithTheCheckingParserOnDamagedHeaders) {
  const IpEndpoint from{ip("10.1.2.3"), 40000};
  const IpEndpoint to{ip("10.9.8.7"), 5354};
  const wire::FrameParser checking(wire::ParseOptions{.verify_checksums = true});
  std::size_t accepted = 0;
  for (const std::string_view data :
       {std::string_view("x"), std::string_view("eighteen bytes....")}) {
    auto good = udp_frame(from, to, data, kClientMac);
    good.resize(std::max<std::size_t>(good.size(), 60));  // Ethernet padding for the short one
    for (std::size_t at = 0; at < 14 + 20 + 8 + 2; ++at) {
      for (const std::byte flip : {std::byte{0x00}, std::byte{0x01}, std::byte{0x80}}) {
        auto f = good;
        f[at] ^= flip;
        const RxParse r = parse_rx(f);
        const wire::ParseResult p = checking.parse(f);
        if (!p) {
          EXPECT_FALSE(r) << "byte " << at << " flip " << static_cast<int>(flip);
          continue;
        }
        if (p.frame.l4 != wire::L4Kind::udp) {
          continue;  // another protocol or EtherType: not ours either way
        }
        ASSERT_TRUE(r) << "byte " << at << " flip " << static_cast<int>(flip) << ": "
                       << wire::to_string(r.drop);
        ++accepted;
        EXPECT_EQ(r.frame.src, p.frame.ip_src());
        EXPECT_EQ(r.frame.dst, p.frame.ip_dst());
        EXPECT_EQ(r.frame.src_mac, p.frame.src);
        EXPECT_EQ(r.frame.src_port, p.frame.udp.src_port);
        EXPECT_EQ(r.frame.dst_port, p.frame.udp.dst_port);
        const auto body = static_cast<std::uint32_t>(p.frame.payload.data() - f.data());
        EXPECT_EQ(r.frame.payload_offset, body);
        EXPECT_EQ(r.frame.payload_length, p.frame.payload.size());
        EXPECT_EQ(r.frame.body_offset, body);
        EXPECT_EQ(r.frame.body_length, p.frame.payload.size());
        EXPECT_EQ(wire::checksum_fold(r.frame.body_sum),
                  wire::checksum_fold(wire::checksum_add(0, p.frame.payload)));
      }
    }
  }
  EXPECT_GE(accepted, 2U);  // at least the undamaged frames
}

// The per-flow header template writes the bytes write_headers() writes.
TEST(FrameRewrite, UdpHeaderTemplateWritesWhatWriteHeadersWrites) {
  for (const bool v6 : {false, true}) {
    for (std::size_t tags = 0; tags <= 2; ++tags) {
      VlanStack vlans;
      for (std::size_t k = 0; k < tags; ++k) {
        vlans.push_back({.id = static_cast<std::uint16_t>(100 + k)});
      }
      const TxSide side{kOwn, vlans, ip(v6 ? "2001:db8::1" : "10.0.0.1")};
      TxTarget t;
      t.dst_mac = kNextHop;
      t.dst = ip(v6 ? "2001:db8::2" : "10.0.0.2");
      t.src_port = 1000;
      t.dst_port = 53;
      UdpHeaderTemplate tpl;
      ASSERT_TRUE(tpl.prepare(side, t));
      ASSERT_TRUE(tpl.is_for(side.address, t));
      for (const std::uint32_t length : {0U, 1U, 18U, 1400U}) {
        std::vector<std::byte> a(2048);
        for (std::size_t k = 0; k < a.size(); ++k) {
          a[k] = static_cast<std::byte>(k * 7);
        }
        auto b = a;
        t.ipv4_id = static_cast<std::uint16_t>(length * 31 + 5);
        const std::uint64_t sum = wire::checksum_add(0, ConstBytes(a).subspan(256, length));
        const auto wa = write_headers(a, 256, length, sum, side, t);
        const auto wb = tpl.write(b, 256, length, sum, t.ipv4_id);
        ASSERT_TRUE(wa);
        ASSERT_EQ(wa, wb);
        EXPECT_EQ(a, b) << "v6 " << v6 << " tags " << tags << " length " << length;
      }
      std::vector<std::byte> small(64);
      EXPECT_FALSE(tpl.write(small, 10, 4, 0, 0));  // no headroom
      TxTarget other = t;
      other.dst_port = 54;
      EXPECT_FALSE(tpl.is_for(side.address, other));
    }
  }
}

}  // namespace
}  // namespace etherpath::relay
