// conn_scale_bench: 65,536 emulated hosts on one PacketRelay, in process over FakeEngine. Frames
// go round robin to every host (a different dst MAC each frame), are demultiplexed into each
// host's EtherConn and drained by a consumer; the same run sends everything to 1 host. The ratio
// shows what the size of the registry costs the demux (hash lookups, cache misses), without a
// NIC or a generator in the way. Last line: RESULT hosts=.. one_host_rx_pps=.. all_hosts_rx_pps=..
// scale_ratio=.. rss_mib=.. The consumer learns which hosts have frames from a ReadyList, as a
// real consumer of many hosts would (bench/conn/run_scale.sh is the same on a veth).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "conn/ether_conn.hpp"
#include "conn/ready_list.hpp"
#include "conn/wire/frame_builder.hpp"
#include "datapath/fake_engine.hpp"
#include "datapath/packet_relay.hpp"

namespace {

using namespace etherpath;
using namespace std::chrono_literals;

constexpr std::size_t kHosts = 65536;
constexpr std::size_t kRound = 512;  // frames injected, demuxed and drained per round
std::size_t g_frames = 2'000'000;    // per run; --frames N (smaller under callgrind)

MacAddress host_mac(std::size_t i) {
  return MacAddress::from_u64(0x020001000000ULL + i);
}

std::vector<std::byte> frame_to(const MacAddress& dst) {
  std::array<std::byte, 256> buf{};
  const std::array<std::byte, 18> payload{};
  wire::FrameBuilder b(buf);
  b.payload(payload)
      .push_udp(1000, 2000)
      .push_ipv4({.src = IpAddress::parse("10.0.0.1").value(),
                  .dst = IpAddress::parse("10.0.0.2").value()})
      .push_ethernet(dst, MacAddress::parse("02:00:00:00:00:09").value());
  auto f = b.finish().value();
  return {f.begin(), f.end()};
}

double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;
    }
  }
  return 0;
}

// Frames per second through inject -> demux -> EtherConn -> read, to `targets` round robin.
double run(datapath::PacketRelay& relay, datapath::FakeEngine& fake, conn::ReadyList& ready,
           const std::vector<std::vector<std::byte>>& frames, std::size_t targets) {
  std::array<std::byte, 256> buf{};
  std::size_t next = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < g_frames; done += kRound) {
    const std::size_t first = next;
    for (std::size_t i = 0; i < kRound; ++i) {
      fake.inject(0, frames[(first + i) % targets]);
    }
    while (relay.stats().rx_offered < done + kRound) {
      (void)relay.poll_once(0, 0ms);
    }
    for (conn::EtherConn* c : ready.wait(0ms)) {
      while (c->try_read(buf)) {
      }
    }
    next = (first + kRound) % targets;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return static_cast<double>(g_frames) / took.count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// conn_scale_bench [--only one|all] [--frames N] [--reps R]
int main(int argc, char** argv) {
  std::string only;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a(argv[i]);
    if (a == "--only") {
      only = argv[i + 1];
    } else if (a == "--frames") {
      g_frames = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (a == "--reps") {
      reps = std::atoi(argv[i + 1]);
    }
  }
  std::vector<double> one;
  std::vector<double> all;
  double rss = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (const std::size_t targets : {kHosts, std::size_t{1}}) {
      if ((only == "one" && targets != 1) || (only == "all" && targets == 1)) {
        continue;
      }
      auto engine = std::make_unique<datapath::FakeEngine>(
          datapath::FakeEngine::Options{.frames = 4096, .frame_size = 2048});
      datapath::FakeEngine* fake = engine.get();
      datapath::RelayOptions o;
      o.own_threads = false;
      auto relay =
          datapath::PacketRelay::open_with(std::move(engine), nullptr, "fake0",
                                           MacAddress::parse("02:00:00:00:00:01").value(), o)
              .value();
      conn::ReadyList ready;
      std::vector<std::unique_ptr<conn::EtherConn>> conns;
      std::vector<std::vector<std::byte>> frames;
      conns.reserve(kHosts);
      frames.reserve(targets);
      for (std::size_t i = 0; i < kHosts; ++i) {
        conn::EtherConnOptions c;
        c.mac = host_mac(i);
        c.queue_depth = targets == 1 ? kRound : 2;
        c.max_frame = 124;
        c.ready_list = &ready;
        conns.push_back(conn::EtherConn::open(*relay, c).value());
      }
      for (std::size_t i = 0; i < targets; ++i) {
        frames.push_back(frame_to(host_mac(i)));
      }
      const double pps = run(*relay, *fake, ready, frames, targets);
      (targets == 1 ? one : all).push_back(pps);
      if (rep == 0 && targets == kHosts) {
        rss = rss_mib();  // the first run: nothing leaked before it (see below)
      }
      std::cerr << "rep " << rep << " targets " << targets << ": " << pps << " frames/s\n";
      relay->stop();
      conns.clear();  // deregistering is O(1) per host
    }
  }
  const double o = one.empty() ? 0 : median(one);
  const double a = all.empty() ? 0 : median(all);
  std::printf("pinning: the caller's CPU set (bench/conn/README.md runs it under taskset -c 1)\n");
  std::printf(
      "RESULT hosts=%zu one_host_rx_pps=%.0f all_hosts_rx_pps=%.0f scale_ratio=%.3f "
      "rss_mib=%.0f\n",
      kHosts, o, a, o > 0 ? a / o : 0, rss);
  return 0;
}
