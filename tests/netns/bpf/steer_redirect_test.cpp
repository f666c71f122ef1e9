// The steering program on a veth with a real AF_XDP socket bound (label netns, root): hits reach
// the socket of the receiving queue (XDP_REDIRECT, counted as redirected), misses and the host's
// ARP go to the kernel, and once the socket is gone hits fall back to XDP_PASS (no_socket).
// Deliberately bare libxdp calls: this tests the program, not the datapath/ engine.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wcast-align"
#include <xdp/xsk.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.hpp"
#include "bpf/steering_program.hpp"
#include "tests/bpf/steer/test_frames.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::bpf {
namespace {

using namespace std::chrono_literals;
using testing::NetNs;
using testing::VethPair;

constexpr std::uint32_t kFrames = 64;
constexpr std::uint32_t kFrameSize = 2048;

// One AF_XDP socket on a queue with its own small UMEM, registered in the program's xsks_map.
class BareXsk {
 public:
  static Result<std::unique_ptr<BareXsk>> open(const std::string& ifname, int xsks_map_fd,
                                               std::uint32_t queue = 0) {
    auto x = std::unique_ptr<BareXsk>(new BareXsk());
    void* area = ::mmap(nullptr, std::size_t{kFrames} * kFrameSize, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {  // NOLINT(performance-no-int-to-ptr): the mmap ABI
      return fail_errno("mmap UMEM");
    }
    x->area_ = area;
    xsk_umem_config ucfg{kFrames, kFrames, kFrameSize, 0, 0};
    if (const int rc = xsk_umem__create(&x->umem_, area, std::uint64_t{kFrames} * kFrameSize,
                                        &x->fill_, &x->comp_, &ucfg);
        rc != 0) {
      return fail_errno("xsk_umem__create", -rc);
    }
    xsk_socket_config scfg{};
    scfg.rx_size = kFrames;
    scfg.tx_size = kFrames;
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // our program, not libxdp's
    scfg.bind_flags = XDP_COPY;                               // veth: copy mode only
    if (const int rc =
            xsk_socket__create(&x->xsk_, ifname.c_str(), queue, x->umem_, &x->rx_, &x->tx_, &scfg);
        rc != 0) {
      return fail_errno("xsk_socket__create", -rc);
    }
    if (const int rc = xsk_socket__update_xskmap(x->xsk_, xsks_map_fd); rc != 0) {
      return fail_errno("xsk_socket__update_xskmap", -rc);
    }
    std::uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&x->fill_, kFrames, &idx) != kFrames) {
      return fail(Errc::no_space, "fill ring");
    }
    for (std::uint32_t i = 0; i < kFrames; ++i) {
      *xsk_ring_prod__fill_addr(&x->fill_, idx + i) = std::uint64_t{i} * kFrameSize;
    }
    xsk_ring_prod__submit(&x->fill_, kFrames);
    return x;
  }
  BareXsk(const BareXsk&) = delete;
  BareXsk& operator=(const BareXsk&) = delete;
  BareXsk(BareXsk&&) = delete;
  BareXsk& operator=(BareXsk&&) = delete;
  ~BareXsk() {
    if (xsk_ != nullptr) {
      xsk_socket__delete(xsk_);
    }
    if (umem_ != nullptr) {
      xsk_umem__delete(umem_);
    }
    if (area_ != nullptr) {
      ::munmap(area_, std::size_t{kFrames} * kFrameSize);
    }
  }

  // Receives until `want` frames arrived or `timeout` passed; returns their dst MACs.
  std::vector<MacAddress> receive(std::size_t want, std::chrono::milliseconds timeout) {
    std::vector<MacAddress> got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{xsk_socket__fd(xsk_), POLLIN, 0};
      ::poll(&pfd, 1, 50);
      std::uint32_t idx = 0;
      const std::uint32_t n = xsk_ring_cons__peek(&rx_, kFrames, &idx);
      for (std::uint32_t i = 0; i < n; ++i) {
        const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, idx + i);
        MacAddress::Octets mac{};
        std::memcpy(mac.data(), static_cast<std::uint8_t*>(area_) + d->addr, mac.size());
        got.emplace_back(mac);
        // Give the frame back (copy mode delivers at frame base + headroom: mask it down).
        std::uint32_t fidx = 0;
        if (xsk_ring_prod__reserve(&fill_, 1, &fidx) == 1) {
          *xsk_ring_prod__fill_addr(&fill_, fidx) = d->addr - (d->addr % kFrameSize);
          xsk_ring_prod__submit(&fill_, 1);
        }
      }
      if (n > 0) {
        xsk_ring_cons__release(&rx_, n);
      }
    }
    return got;
  }

 private:
  BareXsk() = default;
  void* area_ = nullptr;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
};

// Sends frames out of `ifname` with a packet socket (run inside the sender's namespace).
Status send_frames(const std::string& ifname, const std::vector<test::Frame>& frames) {
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("AF_PACKET socket");
  }
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  addr.sll_halen = 6;
  for (const auto& f : frames) {
    if (::sendto(fd.get(), f.data(), f.size(), 0,
                 reinterpret_cast<const sockaddr*>(&addr),  // NOLINT
                 sizeof addr) < 0) {
      return fail_errno("sendto");
    }
  }
  return ok();
}

class SteerRedirect : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("epra");
    ASSERT_TRUE(a) << a.error();
    auto b = NetNs::create("eprb");
    ASSERT_TRUE(b) << b.error();
    ns_a_.emplace(std::move(a).value());
    ns_b_.emplace(std::move(b).value());
    auto veth = VethPair::create(*ns_a_, *ns_b_);
    ASSERT_TRUE(veth) << veth.error();
    veth_.emplace(std::move(veth).value());
  }
  void TearDown() override {
    veth_.reset();
    ns_b_.reset();
    ns_a_.reset();
  }
  std::optional<NetNs> ns_a_, ns_b_;
  std::optional<VethPair> veth_;
};

TEST_F(SteerRedirect, HitsReachTheSocketMissesTheKernel) {
  const MacAddress emulated = MacAddress::parse("02:00:00:00:0e:01").value();
  const MacAddress other = MacAddress::parse("02:00:00:00:0e:02").value();
  const MacAddress emulated_qinq = MacAddress::parse("02:00:00:00:0e:03").value();
  const VlanStack qinq{VlanTag{100, kTpid8021ad, 0, false}, VlanTag{20}};
  const IpAddress peer = IpAddress::parse("10.9.0.2").value();
  const IpAddress owned = IpAddress::parse("10.9.0.10").value();
  const auto udp = [&](const MacAddress& dst) {
    return test::ethernet(dst, {}, test::kIpv4,
                          test::ipv4(test::kUdp, peer, owned, test::ports(1000, 2000)));
  };
  constexpr int kHits = 10;

  for (const auto mode : {XdpMode::native, XdpMode::generic}) {
    SCOPED_TRACE(std::string(to_string(mode)));
    SteeringOptions options;
    options.mode = mode;
    auto program =
        testing::in_netns(*ns_a_, [&] { return SteeringProgram::attach(veth_->a(), options); });
    ASSERT_TRUE(program) << program.error();
    ASSERT_TRUE(program->add_l2({emulated, {}, test::kIpv4}));
    ASSERT_TRUE(program->add_l2({emulated_qinq, qinq, test::kIpv4}));
    ASSERT_TRUE(program->add_owned({{}, owned}));
    auto before = program->read_counters();
    ASSERT_TRUE(before);

    auto xsk = testing::in_netns(*ns_a_,
                                 [&] { return BareXsk::open(veth_->a(), program->xsks_map_fd()); });
    ASSERT_TRUE(xsk) << xsk.error();

    std::vector<test::Frame> frames;
    frames.reserve(kHits + 4);
    for (int i = 0; i < kHits; ++i) {
      frames.push_back(udp(emulated));
    }
    frames.push_back(udp(other));  // miss
    // QinQ, tags in-band: the registered stack hits, another inner VLAN misses.
    frames.push_back(test::ethernet(emulated_qinq, qinq, test::kIpv4,
                                    test::ipv4(test::kUdp, peer, owned, test::ports(1, 2))));
    frames.push_back(
        test::ethernet(emulated_qinq, VlanStack{VlanTag{100, kTpid8021ad, 0, false}, VlanTag{21}},
                       test::kIpv4, test::ipv4(test::kUdp, peer, owned, test::ports(1, 2))));
    frames.push_back(test::ethernet(MacAddress::broadcast(), {}, test::kArp,  // owned ARP
                                    test::arp(1, peer, owned)));
    auto sent = testing::in_netns(*ns_b_, [&] { return send_frames(veth_->b(), frames); });
    ASSERT_TRUE(sent) << sent.error();

    const auto got = (*xsk)->receive(kHits + 2, 2s);
    ASSERT_EQ(got.size(), std::size_t{kHits + 2});
    EXPECT_EQ(std::count(got.begin(), got.end(), emulated), kHits);
    EXPECT_EQ(std::count(got.begin(), got.end(), emulated_qinq), 1);
    EXPECT_EQ(std::count(got.begin(), got.end(), MacAddress::broadcast()), 1);

    auto after = program->read_counters();
    ASSERT_TRUE(after);
    const Counters d = after->since(*before);
    EXPECT_EQ(d[Counter::hit_l2], std::uint64_t{kHits + 1});
    EXPECT_EQ(d[Counter::hit_owned], 1U);
    EXPECT_EQ(d[Counter::redirected], std::uint64_t{kHits + 2});
    EXPECT_EQ(d[Counter::no_socket], 0U);
    EXPECT_GE(d[Counter::pass_unicast_miss], 2U);

    // Without a socket on the queue, hits fall back to the kernel: counted, never dropped.
    xsk->reset();
    auto before2 = program->read_counters();
    ASSERT_TRUE(before2);
    ASSERT_TRUE(
        testing::in_netns(*ns_b_, [&] { return send_frames(veth_->b(), {udp(emulated)}); }));
    Counters d2;
    for (int i = 0; i < 20 && d2[Counter::no_socket] == 0; ++i) {
      std::this_thread::sleep_for(50ms);
      auto now = program->read_counters();
      ASSERT_TRUE(now);
      d2 = now->since(*before2);
    }
    EXPECT_EQ(d2[Counter::hit_l2], 1U);
    EXPECT_EQ(d2[Counter::no_socket], 1U);
  }
}

TEST_F(SteerRedirect, RedirectFollowsTheReceivingQueue) {
  // A two-queue veth with a socket on queue 1 only: the program must look up xsks_map at
  // ctx->rx_queue_index (etherconn's program used a fixed 0, so queue 1 never worked). In a test
  // run with the device in the context, a hit on queue 1 finds the socket (XDP_REDIRECT); the
  // same frame on queue 0 finds none and falls back to XDP_PASS.
  veth_.reset();
  testing::VethOptions two_queues;
  two_queues.queues = 2;
  auto veth = VethPair::create(*ns_a_, *ns_b_, two_queues);
  ASSERT_TRUE(veth) << veth.error();
  veth_.emplace(std::move(veth).value());

  auto program = SteeringProgram::load_unattached();
  ASSERT_TRUE(program) << program.error();
  const MacAddress emulated = MacAddress::parse("02:00:00:00:0e:01").value();
  ASSERT_TRUE(program->add_l2({emulated, {}, test::kIpv4}));
  auto xsk = testing::in_netns(
      *ns_a_, [&] { return BareXsk::open(veth_->a(), program->xsks_map_fd(), 1); });
  ASSERT_TRUE(xsk) << xsk.error();

  const test::Frame frame =
      test::ethernet(emulated, {}, test::kIpv4,
                     test::ipv4(test::kUdp, IpAddress::parse("10.9.0.2").value(),
                                IpAddress::parse("10.9.0.10").value(), test::ports(1, 2)));
  testing::in_netns(*ns_a_, [&] {
    const unsigned ifindex = if_nametoindex(veth_->a().c_str());
    ASSERT_NE(ifindex, 0U);
    auto before = program->read_counters();
    ASSERT_TRUE(before);
    auto on_1 = program->test_run(frame, {ifindex, 1});
    ASSERT_TRUE(on_1) << on_1.error();
    EXPECT_EQ(to_string(on_1->action), "XDP_REDIRECT");
    auto on_0 = program->test_run(frame, {ifindex, 0});
    ASSERT_TRUE(on_0) << on_0.error();
    EXPECT_EQ(to_string(on_0->action), "XDP_PASS");
    auto after = program->read_counters();
    ASSERT_TRUE(after);
    const Counters d = after->since(*before);
    EXPECT_EQ(d[Counter::hit_l2], 2U);
    EXPECT_EQ(d[Counter::redirected], 1U);
    EXPECT_EQ(d[Counter::no_socket], 1U);
  });
}

}  // namespace
}  // namespace etherpath::bpf
