// SocketTransport's send path: UDP GSO runs keep every datagram's size, bytes and order (equal
// runs, a shorter last one, empty and large datagrams, unconnected peers that alternate), one
// sendmmsg per port when ports interleave, and the fallback to plain sends where the kernel
// refuses a segment size (lo with a 1500-byte MTU in a namespace of the test's own).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "relay/socket_transport.hpp"
#include "tests/netns/relay/relay_harness.hpp"

namespace etherpath::relay {
namespace {

using std::chrono::milliseconds;

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

// Datagram `i` of size n: its index, then a pattern, so a boundary or order slip shows.
std::string content(std::size_t i, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t k = 0; k < n; ++k) {
    s[k] = static_cast<char>('a' + (i * 7 + k) % 26);
  }
  return s;
}

// A batch of datagrams to send, over buffers of the test's own (with the transport's headroom).
class OutBatch {
 public:
  void add(PortId port, const IpEndpoint& peer, const std::string& bytes) {
    auto& buf = buffers_.emplace_back(kMinHeadroom + bytes.size() + 1);
    std::memcpy(buf.data() + kMinHeadroom, bytes.data(), bytes.size());
    Datagram& d = batch_.push_back();
    d.buffer = buf.data();
    d.capacity = static_cast<std::uint32_t>(buf.size());
    d.offset = kMinHeadroom;
    d.length = static_cast<std::uint32_t>(bytes.size());
    d.peer = peer;
    d.port = port;
    d.verdict = Verdict::forward;
  }
  DatagramBatch& batch() { return batch_; }

 private:
  DatagramBatch batch_;
  std::vector<std::vector<std::byte>> buffers_;  // each keeps its heap bytes when this grows
};

std::vector<std::string> drain(int fd, std::size_t expected) {
  std::vector<std::string> got;
  while (got.size() < expected) {
    auto r = testing::receive(fd, milliseconds(1000));
    if (!r) {
      break;
    }
    got.push_back(std::move(r->data));
  }
  return got;
}

SocketTransportOptions loopback_options(bool connected) {
  SocketTransportOptions so;
  so.listen = IpEndpoint{ip("127.0.0.1"), 0};
  so.connected = connected;
  return so;
}

TEST(SocketTransportGso, RunsKeepSizesBytesAndOrder) {
  const UniqueFd sink = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0}, 8 << 20);
  ASSERT_TRUE(sink);
  const IpEndpoint to = testing::local_endpoint(sink.get());
  auto t = SocketTransport::open(loopback_options(true));
  ASSERT_TRUE(t) << t.error().message();
  auto port = (*t)->open_upstream(to, 0);
  ASSERT_TRUE(port);

  // Runs of one size, a shorter one ending a run, an empty datagram, large ones, tiny ones.
  std::vector<std::size_t> sizes;
  const std::vector<std::pair<std::size_t, std::size_t>> runs = {
      {10, 100}, {1, 60},    {5, 100}, {1, 0}, {3, 1472},
      {2, 9000}, {1, 20000}, {20, 18}, {2, 5}, {1, 100}};
  for (const auto& [count, size] : runs) {
    sizes.insert(sizes.end(), count, size);
  }
  ASSERT_LE(sizes.size(), DatagramBatch::kMaxBatch);
  OutBatch out;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    out.add(port->port, to, content(i, sizes[i]));
  }
  (*t)->send(out.batch());
  for (const Datagram& d : out.batch().items()) {
    EXPECT_EQ(d.verdict, Verdict::sent);
  }
  const auto got = drain(sink.get(), sizes.size());
  ASSERT_EQ(got.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(got[i], content(i, sizes[i])) << "datagram " << i << " of size " << sizes[i];
  }
  EXPECT_EQ((*t)->gso_fallbacks(), 0U);
  // Every run of two or more went as one GSO message: 10+5+3+2+20+2 datagrams (the shorter 60
  // ends the first run, so 11).
  EXPECT_EQ((*t)->gso_datagrams(), 11U + 5 + 3 + 2 + 20 + 2);
}

TEST(SocketTransportGso, UnconnectedRunsSplitByPeerAndPortsInterleave) {
  const UniqueFd a = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0}, 8 << 20);
  const UniqueFd b = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0}, 8 << 20);
  const UniqueFd c = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0}, 8 << 20);
  ASSERT_TRUE(a && b && c);
  const IpEndpoint to_a = testing::local_endpoint(a.get());
  const IpEndpoint to_b = testing::local_endpoint(b.get());
  const IpEndpoint to_c = testing::local_endpoint(c.get());
  auto t = SocketTransport::open(loopback_options(false));
  ASSERT_TRUE(t) << t.error().message();
  auto p1 = (*t)->open_upstream(to_a, 0);  // unconnected: any peer
  auto p2 = (*t)->open_upstream(to_c, 0);
  ASSERT_TRUE(p1 && p2);

  // Port 1 alternates peers a/b in runs; port 2 (to c) is interleaved with it.
  std::vector<std::string> want_a;
  std::vector<std::string> want_b;
  std::vector<std::string> want_c;
  OutBatch out;
  std::size_t i = 0;
  const auto put = [&](PortId port, const IpEndpoint& to, std::vector<std::string>& want) {
    const std::string s = content(i++, 40);
    out.add(port, to, s);
    want.push_back(s);
  };
  for (int k = 0; k < 5; ++k) {
    put(p1->port, to_a, want_a);
    put(p2->port, to_c, want_c);
  }
  for (int k = 0; k < 5; ++k) {
    put(p1->port, to_b, want_b);
  }
  for (int k = 0; k < 3; ++k) {
    put(p1->port, to_a, want_a);
  }
  (*t)->send(out.batch());
  for (const Datagram& d : out.batch().items()) {
    EXPECT_EQ(d.verdict, Verdict::sent);
  }
  // Runs per port and peer: a x5, b x5, a x3 on port 1 (port 2's items between them do not
  // break them up), c x5 on port 2.
  EXPECT_EQ((*t)->gso_datagrams(), 18U);
  EXPECT_EQ(drain(a.get(), want_a.size()), want_a);
  EXPECT_EQ(drain(b.get(), want_b.size()), want_b);
  EXPECT_EQ(drain(c.get(), want_c.size()), want_c);
}

// A connected upstream whose port is closed: every datagram draws an ICMP port unreachable,
// which the socket's next call reports (ECONNREFUSED) and clears. With one datagram per call that
// costs exactly one datagram per pending error; a GSO run must not lose more.
TEST(SocketTransportGso, PendingErrorCostsOneDatagramOfARun) {
  UniqueFd closed = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0});
  ASSERT_TRUE(closed);
  const IpEndpoint to = testing::local_endpoint(closed.get());
  closed.reset();  // nobody listens there now
  auto t = SocketTransport::open(loopback_options(true));
  ASSERT_TRUE(t) << t.error().message();
  auto port = (*t)->open_upstream(to, 0);
  ASSERT_TRUE(port);
  // The error arrives with the kernel's ICMP, so when is up to it: runs until one has met it.
  std::size_t refused_runs = 0;
  for (int round = 0; round < 20 && refused_runs < 3; ++round) {
    OutBatch run;
    for (std::size_t i = 0; i < 5; ++i) {
      run.add(port->port, to, content(i, 50));
    }
    (*t)->send(run.batch());
    std::size_t failed = 0;
    for (const Datagram& d : run.batch().items()) {
      failed += d.verdict == Verdict::failed ? 1U : 0U;
      EXPECT_TRUE(d.verdict == Verdict::sent || d.verdict == Verdict::failed);
    }
    EXPECT_LE(failed, 1U) << "round " << round;
    if (failed == 1) {
      EXPECT_EQ(run.batch()[0].verdict, Verdict::failed);  // the run's first met the error
      ++refused_runs;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_GE(refused_runs, 1U) << "no send ever met the pending ECONNREFUSED";
  EXPECT_EQ((*t)->gso_fallbacks(), 0U);  // not a GSO refusal: GSO stays on
}

TEST(SocketTransportGso, FallsBackWhereTheMtuRefusesTheSegment) {
  EP_SKIP_UNLESS_ROOT();
  auto ns = etherpath::testing::NetNs::create("epgso");
  ASSERT_TRUE(ns) << ns.error().message();
  ASSERT_TRUE(ns->exec("ip link set lo mtu 1500"));
  etherpath::testing::in_netns(*ns, [] {
    const UniqueFd sink = testing::udp_socket(IpEndpoint{ip("127.0.0.1"), 0}, 8 << 20);
    ASSERT_TRUE(sink);
    const IpEndpoint to = testing::local_endpoint(sink.get());
    auto t = SocketTransport::open(loopback_options(true));
    ASSERT_TRUE(t) << t.error().message();
    auto port = (*t)->open_upstream(to, 0);
    ASSERT_TRUE(port);
    // 4 x 2000 bytes do not fit a 1500-byte MTU as GSO segments: the kernel refuses the run,
    // the transport sends them one by one (IP fragments them) and stops trying that size.
    for (unsigned round = 0; round < 2; ++round) {
      std::vector<std::size_t> sizes = {2000, 2000, 2000, 2000, 300, 300, 300};
      OutBatch out;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        out.add(port->port, to, content(i, sizes[i]));
      }
      (*t)->send(out.batch());
      for (const Datagram& d : out.batch().items()) {
        EXPECT_EQ(d.verdict, Verdict::sent);
      }
      const auto got = drain(sink.get(), sizes.size());
      ASSERT_EQ(got.size(), sizes.size()) << "round " << round;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        EXPECT_EQ(got[i], content(i, sizes[i])) << "round " << round << " datagram " << i;
      }
      EXPECT_EQ((*t)->gso_fallbacks(), 1U) << "round " << round;                // learnt once
      EXPECT_EQ((*t)->gso_datagrams(), 3U * (round + 1)) << "round " << round;  // 300-byte runs
    }
  });
}

}  // namespace
}  // namespace etherpath::relay
