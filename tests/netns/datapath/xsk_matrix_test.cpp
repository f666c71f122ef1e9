// The kernel's xskxceiver matrix on a veth pair between two namespaces, through XdpEngine:
// one frame, 10,000 in order, 2048-byte frames, both directions, the XDP_STATISTICS counters,
// teardown without leftovers, and a two-queue veth that survives closing queue 0.
#include <dirent.h>
#include <gtest/gtest.h>
#include <linux/if_xdp.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "base/byte_order.hpp"
#include "datapath/xdp/xdp_engine.hpp"
#include "tests/netns/datapath/test_xsk_program.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::datapath::xdp {
namespace {

using namespace std::chrono_literals;
using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::VethOptions;
using etherpath::testing::VethPair;

constexpr std::uint16_t kTestEtherType = 0x88b5;  // IEEE local experimental: no stack claims it
constexpr std::uint32_t kMagic = 0x65707468;      // "epth"
constexpr std::size_t kFrameLen = 60;

// Writes a test frame: dst, src, EtherType 0x88b5, magic, sequence number, zero padding.
void write_frame(Frame& f, MacAddress dst, MacAddress src, std::uint32_t seq) {
  ASSERT_TRUE(f.resize(kFrameLen));
  auto d = f.data();
  std::fill(d.begin(), d.end(), std::byte{0});
  std::memcpy(d.data(), dst.octets().data(), 6);
  std::memcpy(d.data() + 6, src.octets().data(), 6);
  store_be16(d, 12, kTestEtherType);
  store_be32(d, 14, kMagic);
  store_be32(d, 18, seq);
}

// The sequence number of a test frame, or nothing for other traffic (IPv6 ND and the like).
std::optional<std::uint32_t> test_seq(const Frame& f) {
  auto d = f.data();
  if (d.size() < 22 || load_be16(d, 12) != kTestEtherType || load_be32(d, 14) != kMagic) {
    return std::nullopt;
  }
  return load_be32(d, 18);
}

XdpEngineOptions options_for(const std::string& ifname, XdpMode mode) {
  XdpEngineOptions o;
  o.ifname = ifname;
  o.mode = mode;
  o.frames_per_queue = 4096;
  return o;
}

// Sends `count` frames numbered from `first` on queue q, keeping at most `window` ahead of
// `*received` (when given) so the receiver's rings never overflow. Bounded by `limit`.
std::size_t send_frames(Engine& e, std::size_t q, MacAddress dst, MacAddress src,
                        std::uint32_t first, std::size_t count,
                        const std::atomic<std::size_t>* received = nullptr,
                        std::size_t window = 512, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  FrameBatch batch;
  std::size_t sent = 0;
  std::uint32_t next = first;
  while (sent < count && std::chrono::steady_clock::now() < deadline) {
    if (received != nullptr && sent >= received->load() + window) {
      e.flush(q);
      std::this_thread::yield();
      continue;
    }
    if (batch.empty()) {
      const std::size_t want = std::min<std::size_t>(FrameBatch::kCapacity, count - sent);
      e.alloc(q, batch, want);
      for (Frame& f : batch) {
        write_frame(f, dst, src, next++);
      }
    }
    sent += e.transmit(q, batch);
    e.flush(q);
  }
  e.release(q, batch);
  // Let the last kicks and completions go through.
  for (int i = 0; i < 1000 && e.stats(q).tx_completed < e.stats(q).tx_packets; ++i) {
    e.flush(q);
    std::this_thread::sleep_for(1ms);
  }
  return sent;
}

struct Received {
  std::size_t count = 0;
  std::size_t out_of_order = 0;
};

// Receives test frames on queue q until `count` arrived or `limit` passed; checks that the
// sequence numbers go up by one from `first`.
Received receive_frames(Engine& e, std::size_t q, std::uint32_t first, std::size_t count,
                        std::atomic<std::size_t>* progress = nullptr,
                        std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Received r;
  std::uint32_t expect = first;
  FrameBatch batch;
  while (r.count < count && std::chrono::steady_clock::now() < deadline) {
    if (e.receive(q, batch) == 0) {
      auto ready = e.wait(q, 20ms);
      if (!ready) {
        ADD_FAILURE() << ready.error();
        break;
      }
      continue;
    }
    for (const Frame& f : batch) {
      if (auto seq = test_seq(f)) {
        if (*seq != expect) {
          ++r.out_of_order;
        }
        expect = *seq + 1;
        ++r.count;
      }
    }
    e.release(q, batch);
    if (progress != nullptr) {
      progress->store(r.count);
    }
  }
  return r;
}

class XskMatrix : public ::testing::TestWithParam<XdpMode> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("xa");
    auto b = NetNs::create("xb");
    ASSERT_TRUE(a) << a.error();
    ASSERT_TRUE(b) << b.error();
    ns_a_.emplace(std::move(*a));
    ns_b_.emplace(std::move(*b));
  }
  void make_veth(unsigned queues = 1) {
    auto v = VethPair::create(*ns_a_, *ns_b_, VethOptions{.queues = queues});
    ASSERT_TRUE(v) << v.error();
    veth_.emplace(std::move(*v));
  }
  // Engines are made and destroyed inside their namespace: libxdp finds the interface and
  // detaches its program by netlink, which works in the calling thread's namespace.
  // With `program` (the default: a fresh TestXskProgram) the engine registers its sockets in
  // that program's XSKMAP (INHIBIT_PROG_LOAD), as it does with the steering program.
  std::unique_ptr<XdpEngine> open(const NetNs& ns, XdpEngineOptions o, bool builtin = false) {
    if (!builtin && o.program == nullptr) {
      programs_.push_back(std::make_unique<TestXskProgram>());
      o.program = programs_.back().get();
    }
    auto e = in_netns(ns, [&] { return XdpEngine::create(o); });
    EXPECT_TRUE(e) << e.error();
    return e ? std::move(*e) : nullptr;
  }
  static void close(const NetNs& ns, std::unique_ptr<XdpEngine>& e) {
    in_netns(ns, [&] { e.reset(); });
  }
  void TearDown() override {
    if (ns_a_) {
      close(*ns_a_, a_);
    }
    if (ns_b_) {
      close(*ns_b_, b_);
    }
    programs_.clear();
    veth_.reset();
    ns_a_.reset();
    ns_b_.reset();
  }
  std::optional<NetNs> ns_a_, ns_b_;
  std::optional<VethPair> veth_;
  std::vector<std::unique_ptr<TestXskProgram>> programs_;  // outlive the engines that use them
  std::unique_ptr<XdpEngine> a_, b_;
};

TEST_P(XskMatrix, OneFrame) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, options_for(veth_->b(), GetParam()));
  ASSERT_TRUE(a_ && b_);
  EXPECT_EQ(a_->mode(), to_string(GetParam()));
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 7, 1), 1U);
  const Received r = receive_frames(*b_, 0, 7, 1, nullptr, 3s);
  EXPECT_EQ(r.count, 1U);
  EXPECT_EQ(r.out_of_order, 0U);
  EXPECT_EQ(a_->stats(0).tx_completed, 1U);
}

TEST_P(XskMatrix, OneFrameWithBusyPoll) {
  make_veth();
  auto ob = options_for(veth_->b(), GetParam());
  ob.socket.busy_poll = true;  // SO_PREFER_BUSY_POLL, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET accepted
  ob.socket.busy_poll_budget = 64;
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, ob);
  ASSERT_TRUE(a_ && b_);
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 3, 1), 1U);
  EXPECT_EQ(receive_frames(*b_, 0, 3, 1, nullptr, 3s).count, 1U);
}

TEST_P(XskMatrix, OneFrameThroughLibxdpsBuiltinProgram) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()), true);
  b_ = open(*ns_b_, options_for(veth_->b(), GetParam()), true);
  ASSERT_TRUE(a_ && b_);
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 7, 1), 1U);
  EXPECT_EQ(receive_frames(*b_, 0, 7, 1, nullptr, 3s).count, 1U);
  close(*ns_b_, b_);
  // The engine detaches the program libxdp attached for it.
  auto ip = ns_b_->exec("ip -d link show dev " + veth_->b());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->find("prog/xdp"), std::string::npos) << *ip;
}

void run_in_order(XskMatrix& t, const NetNs& na, const NetNs& nb, XdpEngine& a, XdpEngine& b,
                  const VethPair& v) {
  (void)t;
  (void)na;
  (void)nb;
  constexpr std::size_t kCount = 10'000;
  std::atomic<std::size_t> progress{0};
  Received r;
  std::thread rx([&] { r = receive_frames(b, 0, 0, kCount, &progress, 20s); });
  const std::size_t sent = send_frames(a, 0, v.mac_b(), v.mac_a(), 0, kCount, &progress, 512, 20s);
  rx.join();
  EXPECT_EQ(sent, kCount);
  EXPECT_EQ(r.count, kCount);
  EXPECT_EQ(r.out_of_order, 0U);
  const QueueStats s = b.stats(0);
  EXPECT_EQ(s.kernel_rx_ring_full, 0U);
  EXPECT_EQ(s.kernel_rx_invalid_descs, 0U);
}

TEST_P(XskMatrix, TenThousandFramesInOrder) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, options_for(veth_->b(), GetParam()));
  ASSERT_TRUE(a_ && b_);
  run_in_order(*this, *ns_a_, *ns_b_, *a_, *b_, *veth_);
}

TEST_P(XskMatrix, TenThousandFramesWith2048ByteUmemFrames) {
  make_veth();
  auto oa = options_for(veth_->a(), GetParam());
  auto ob = options_for(veth_->b(), GetParam());
  oa.frame_size = ob.frame_size = 2048;
  a_ = open(*ns_a_, oa);
  b_ = open(*ns_b_, ob);
  ASSERT_TRUE(a_ && b_);
  EXPECT_EQ(b_->umem()->frame_size(), 2048U);
  run_in_order(*this, *ns_a_, *ns_b_, *a_, *b_, *veth_);
}

TEST_P(XskMatrix, Bidirectional) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, options_for(veth_->b(), GetParam()));
  ASSERT_TRUE(a_ && b_);
  constexpr std::size_t kCount = 2000;
  // Each side's single thread both sends and receives, as a forwarder's loop does.
  auto side = [&](XdpEngine& e, MacAddress dst, MacAddress src, std::uint32_t first_out,
                  std::uint32_t first_in, Received& got, std::size_t& sent) {
    FrameBatch tx;
    FrameBatch rx;
    std::uint32_t next = first_out;
    std::uint32_t expect = first_in;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while ((sent < kCount || got.count < kCount) && std::chrono::steady_clock::now() < deadline) {
      if (sent < kCount && sent < got.count + 256) {
        if (tx.empty()) {
          e.alloc(0, tx, std::min<std::size_t>(32, kCount - sent));
          for (Frame& f : tx) {
            write_frame(f, dst, src, next++);
          }
        }
        sent += e.transmit(0, tx);
      }
      e.flush(0);
      if (e.receive(0, rx) == 0) {
        std::this_thread::yield();
        continue;
      }
      for (const Frame& f : rx) {
        if (auto seq = test_seq(f)) {
          got.out_of_order += *seq != expect ? 1U : 0U;
          expect = *seq + 1;
          ++got.count;
        }
      }
      e.release(0, rx);
    }
    e.release(0, tx);
  };
  Received got_a;
  Received got_b;
  std::size_t sent_a = 0;
  std::size_t sent_b = 0;
  std::thread ta([&] { side(*a_, veth_->mac_b(), veth_->mac_a(), 100'000, 0, got_a, sent_a); });
  std::thread tb([&] { side(*b_, veth_->mac_a(), veth_->mac_b(), 0, 100'000, got_b, sent_b); });
  ta.join();
  tb.join();
  EXPECT_EQ(sent_a, kCount);
  EXPECT_EQ(sent_b, kCount);
  EXPECT_EQ(got_a.count, kCount);
  EXPECT_EQ(got_b.count, kCount);
  EXPECT_EQ(got_a.out_of_order + got_b.out_of_order, 0U);
}

TEST_P(XskMatrix, RxRingFullIsCounted) {
  make_veth();
  auto ob = options_for(veth_->b(), GetParam());
  ob.socket.rx_size = 64;  // a small RX ring that nobody reads
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, ob);
  ASSERT_TRUE(a_ && b_);
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 0, 300), 300U);
  std::this_thread::sleep_for(100ms);
  const QueueStats s = b_->stats(0);
  EXPECT_GT(s.kernel_rx_ring_full, 0U);
  // What did arrive is still there, in order.
  const Received r = receive_frames(*b_, 0, 0, 64, nullptr, 2s);
  EXPECT_EQ(r.count, 64U);
  EXPECT_EQ(r.out_of_order, 0U);
}

TEST_P(XskMatrix, FillRingEmptyIsCounted) {
  make_veth();
  auto ob = options_for(veth_->b(), GetParam());
  ob.socket.prefill = 0;  // nothing on the fill ring: every frame finds it empty
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, ob);
  ASSERT_TRUE(a_ && b_);
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 0, 10), 10U);
  std::this_thread::sleep_for(100ms);
  const QueueStats s = b_->stats(0);
  EXPECT_GE(s.kernel_rx_fill_ring_empty_descs, 10U);
  EXPECT_EQ(s.rx_packets, 0U);
}

TEST_P(XskMatrix, InvalidTxDescriptorIsCounted) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  ASSERT_TRUE(a_);
  XskSocket& s = a_->socket(0);
  // Each bad descriptor goes with a good frame behind it, so flush() has something outstanding
  // to kick for; the kernel skips the bad one, counts it, and sends the good one.
  auto submit_bad_then_good = [&](std::uint64_t addr, std::uint32_t len, std::uint64_t expect) {
    ASSERT_TRUE(s.submit_raw_tx_descriptor(addr, len));
    FrameBatch b;
    ASSERT_EQ(a_->alloc(0, b, 1), 1U);
    write_frame(b[0], veth_->mac_b(), veth_->mac_a(), 1);
    ASSERT_EQ(a_->transmit(0, b), 1U);
    for (int i = 0; i < 100 && a_->stats(0).kernel_tx_invalid_descs < expect; ++i) {
      a_->flush(0);
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(a_->stats(0).kernel_tx_invalid_descs, expect) << "addr " << addr << " len " << len;
  };
  submit_bad_then_good(a_->umem()->size_bytes() + 4096, 60, 1);  // outside the UMEM
  submit_bad_then_good(4096 - 30, 60, 2);                        // crosses a chunk boundary
}

TEST_P(XskMatrix, ReceiveOnlySocketReceivesInOrderAndSendsNothing) {
  make_veth();
  auto ob = options_for(veth_->b(), GetParam());
  ob.socket.tx_size = 0;  // an RX ring and no TX ring, as the plain rxdrop loop opens it
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, ob);
  ASSERT_TRUE(a_ && b_);
  EXPECT_TRUE(a_->socket(0).has_tx_ring());
  EXPECT_FALSE(b_->socket(0).has_tx_ring());
  run_in_order(*this, *ns_a_, *ns_b_, *a_, *b_, *veth_);
  // Frames can still be allocated (for another socket on the UMEM); this one takes none to send.
  FrameBatch batch;
  ASSERT_EQ(b_->alloc(0, batch, 4), 4U);
  EXPECT_EQ(b_->transmit(0, batch), 0U);
  EXPECT_EQ(batch.size(), 4U);
  EXPECT_FALSE(b_->socket(0).submit_raw_tx_descriptor(0, 60));
  b_->flush(0);
  EXPECT_EQ(b_->stats(0).tx_packets, 0U);
  b_->release(0, batch);
}

// release() puts a received batch straight on the fill ring when the ring has room for it all,
// four frames per step (tests/unit/datapath/ring_runs_test.cpp checks those loops frame by
// frame); a frame of another pool anywhere in the batch (first, inside a step of four, in the
// tail) sends it the slow way, through the local cache. Either way the batch is given back, our
// frames return to the fill ring, and the socket keeps receiving.
TEST_P(XskMatrix, ReleaseOfABatchWithAFrameOfAnotherPool) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), GetParam()));
  b_ = open(*ns_b_, options_for(veth_->b(), GetParam()));
  ASSERT_TRUE(a_ && b_);
  std::vector<std::byte> other_area(2048);
  const FramePool other_pool{other_area.data(), 2048};
  const Frame foreign(other_pool, 0, 0, 60);
  // Receives at least `count` frames into `batch` (which may then hold other traffic too).
  const auto collect = [&](FrameBatch& batch, std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (batch.size() < count && std::chrono::steady_clock::now() < deadline) {
      if (b_->receive(0, batch) == 0) {
        (void)b_->wait(0, 10ms);
      }
    }
  };
  // Held until the end: their fill ring slots stay free, so release() can take the fast path
  // for a batch one frame larger than what it received.
  FrameBatch held;
  ASSERT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 0, 16), 16U);
  collect(held, 16);
  ASSERT_GE(held.size(), 16U);
  std::uint32_t seq = 1000;
  for (const std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{42}}) {
    constexpr std::size_t kCount = 42;
    ASSERT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), seq, kCount), kCount);
    seq += kCount;
    FrameBatch batch;
    collect(batch, kCount);
    ASSERT_GE(batch.size(), kCount);
    ASSERT_LT(batch.size(), FrameBatch::kCapacity);
    const std::size_t ours = batch.size();
    if (at < ours) {
      const Frame moved = batch[at];
      batch[at] = foreign;
      batch.push(moved);
    } else {
      batch.push(foreign);
    }
    const std::uint64_t posted = b_->stats(0).fill_posted;
    b_->release(0, batch);
    EXPECT_TRUE(batch.empty());
    EXPECT_GE(b_->stats(0).fill_posted - posted, ours) << "foreign frame at " << at;
  }
  // A batch of ours only takes the fast path: exactly its frames go on the fill ring.
  FrameBatch plain;
  ASSERT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), seq, 10), 10U);
  seq += 10;
  collect(plain, 10);
  const std::uint64_t posted = b_->stats(0).fill_posted;
  const std::size_t plain_size = plain.size();
  b_->release(0, plain);
  EXPECT_EQ(b_->stats(0).fill_posted - posted, plain_size);
  b_->release(0, held);
  // The socket keeps receiving: everything sent now arrives, in order.
  std::atomic<std::size_t> progress{0};
  Received after;
  std::thread rx([&] { after = receive_frames(*b_, 0, seq, 3000, &progress, 10s); });
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), seq, 3000, &progress), 3000U);
  rx.join();
  EXPECT_EQ(after.count, 3000U);
  EXPECT_EQ(after.out_of_order, 0U);
}

INSTANTIATE_TEST_SUITE_P(Modes, XskMatrix,
                         ::testing::Values(XdpMode::generic, XdpMode::native_copy),
                         [](const auto& param_info) {
                           return param_info.param == XdpMode::generic ? std::string("generic")
                                                                       : std::string("native");
                         });

std::size_t open_fd_count() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) {
    return 0;
  }
  while (::readdir(d) != nullptr) {
    ++n;
  }
  ::closedir(d);
  return n;
}

class XskLifecycle : public XskMatrix {};

TEST_F(XskLifecycle, AutoModeFallsBackAndReportsIt) {
  make_veth();
  a_ = open(*ns_a_, options_for(veth_->a(), XdpMode::automatic));
  ASSERT_TRUE(a_);
  // veth has no zero-copy: auto lands on native copy and says why zero-copy was skipped.
  EXPECT_EQ(a_->xdp_mode(), XdpMode::native_copy);
  ASSERT_FALSE(a_->fallback_log().empty());
  EXPECT_NE(a_->fallback_log()[0].find("zero-copy"), std::string::npos);
}

TEST_F(XskLifecycle, ForcedZeroCopyFailsClearly) {
  make_veth();
  auto e = in_netns(*ns_a_,
                    [&] { return XdpEngine::create(options_for(veth_->a(), XdpMode::zero_copy)); });
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("zero-copy"), std::string::npos) << e.error();
  EXPECT_NE(e.error().message().find(veth_->a()), std::string::npos) << e.error();
  // And nothing stays attached after the failure.
  auto ip = ns_a_->exec("ip -d link show dev " + veth_->a());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->find("prog/xdp"), std::string::npos) << *ip;
}

TEST_F(XskLifecycle, HundredCreateDestroyCyclesLeaveNothingBehind) {
  make_veth();
  auto pins_before = ns_a_->exec("find /sys/fs/bpf | sort");
  ASSERT_TRUE(pins_before);
  const std::size_t fds_before = open_fd_count();
  for (int i = 0; i < 100; ++i) {
    auto o = options_for(veth_->a(), i % 2 == 0 ? XdpMode::native_copy : XdpMode::generic);
    o.frames_per_queue = 256;
    a_ = open(*ns_a_, o);
    ASSERT_TRUE(a_) << "cycle " << i;
    close(*ns_a_, a_);
  }
  EXPECT_EQ(open_fd_count(), fds_before)
      << etherpath::testing::run("ls -l /proc/" + std::to_string(::getpid()) + "/fd | tail -5")
             .value_or("");
  auto ip = ns_a_->exec("ip -d link show dev " + veth_->a());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->find("xdp"), std::string::npos) << *ip;
  auto pins_after = ns_a_->exec("find /sys/fs/bpf | sort");
  ASSERT_TRUE(pins_after);
  EXPECT_EQ(*pins_after, *pins_before);
}

TEST_F(XskLifecycle, ClosingQueueZeroLeavesQueueOneWorking) {
  make_veth(2);
  auto oa = options_for(veth_->a(), XdpMode::native_copy);
  auto ob = options_for(veth_->b(), XdpMode::native_copy);
  oa.queues = ob.queues = {0, 1};
  a_ = open(*ns_a_, oa);
  b_ = open(*ns_b_, ob);
  ASSERT_TRUE(a_ && b_);
  ASSERT_EQ(b_->queue_count(), 2U);
  // veth delivers on the peer's RX queue that matches the sender's TX queue.
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 0, 10), 10U);
  EXPECT_EQ(receive_frames(*b_, 0, 0, 10, nullptr, 3s).count, 10U);
  EXPECT_EQ(send_frames(*a_, 1, veth_->mac_b(), veth_->mac_a(), 100, 10), 10U);
  EXPECT_EQ(receive_frames(*b_, 1, 100, 10, nullptr, 3s).count, 10U);
  b_->close_queue(0);
  EXPECT_EQ(send_frames(*a_, 1, veth_->mac_b(), veth_->mac_a(), 200, 100), 100U);
  const Received r = receive_frames(*b_, 1, 200, 100, nullptr, 3s);
  EXPECT_EQ(r.count, 100U);
  EXPECT_EQ(r.out_of_order, 0U);
}

TEST_F(XskLifecycle, SharedUmemForwardsBetweenInterfacesWithoutCopy) {
  // a <-> b and a second pair c <-> d, with b and d in the same namespace sharing one UMEM:
  // frames received on b are sent out of d as they are.
  make_veth();
  auto v2 = VethPair::create(*ns_a_, *ns_b_);
  ASSERT_TRUE(v2) << v2.error();
  a_ = open(*ns_a_, options_for(veth_->a(), XdpMode::native_copy));
  b_ = open(*ns_b_, options_for(veth_->b(), XdpMode::native_copy));
  ASSERT_TRUE(a_ && b_);
  auto od = options_for(v2->b(), XdpMode::native_copy);
  od.shared_umem = b_->umem();
  auto d = open(*ns_b_, od);
  auto c = open(*ns_a_, options_for(v2->a(), XdpMode::native_copy));
  ASSERT_TRUE(c && d);
  EXPECT_EQ(send_frames(*a_, 0, veth_->mac_b(), veth_->mac_a(), 0, 50), 50U);
  // Forward b -> d in place (only the MACs change).
  std::size_t forwarded = 0;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  FrameBatch batch;
  while (forwarded < 50 && std::chrono::steady_clock::now() < deadline) {
    if (b_->receive(0, batch) == 0) {
      (void)b_->wait(0, 10ms);
      continue;
    }
    for (Frame& f : batch) {
      std::memcpy(f.data().data(), v2->mac_a().octets().data(), 6);
      std::memcpy(f.data().data() + 6, v2->mac_b().octets().data(), 6);
    }
    EXPECT_TRUE(d->shares_pool(batch[0].pool()));
    forwarded += d->transmit(0, batch);
    b_->release(0, batch);  // whatever the TX ring did not take
    d->flush(0);
  }
  for (int i = 0; i < 100 && d->stats(0).tx_completed < forwarded; ++i) {
    d->flush(0);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_GE(forwarded, 50U);  // and perhaps the kernel's own IPv6 chatter
  const Received r = receive_frames(*c, 0, 0, 50, nullptr, 3s);
  EXPECT_EQ(r.count, 50U);
  EXPECT_EQ(r.out_of_order, 0U);
  close(*ns_a_, c);
  close(*ns_b_, d);
}

}  // namespace
}  // namespace etherpath::datapath::xdp
