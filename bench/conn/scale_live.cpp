// conn_scale_live: the receiving side of issue #4's benchmark on a real interface. Registers N
// emulated hosts (EtherConns with distinct MACs, ARP/IPv4/IPv6 each) on one AF_XDP PacketRelay;
// a poll thread demultiplexes into the hosts' receive queues and a consumer thread drains the
// hosts a ReadyList names. Traffic comes from outside (bench/xdp's xdp_livegen, round robin
// over the hosts or all to one); the figures are what the consumer drained.
//   conn_scale_live -i IF [--hosts N] [--base-mac MAC] [-d SECONDS] [--poll-cpu C]
//                   [--consumer-cpu C] [--depth D] [--hot-depth D] [-m native|generic]
//                   [--yield]
// --yield: the consumer gives its CPU back every 256 hosts and after each batch (see kYieldEvery);
// an experiment, off in the runs.
// Last line: RESULT scale_rx_pps= scale_frames= poll_cpu_ns= consumer_cpu_ns= rss_mib=
//            overflows= rx_miss=
#include <sched.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "conn/ether_conn.hpp"
#include "conn/ready_list.hpp"
#include "datapath/packet_relay.hpp"

namespace {

using namespace etherpath;

std::atomic<bool> g_stop{false};

double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void pin_to(int cpu) {
  if (cpu < 0) {
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(1);
  }
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

constexpr std::size_t kYieldEvery = 256;  // hosts drained between yields (see the consumer)

[[noreturn]] void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s -i IF [--hosts N] [--base-mac MAC] [-d SECONDS] [--poll-cpu C] "
               "[--consumer-cpu C] [--depth D] [--hot-depth D] [-m native|generic] [--yield]\n",
               prog);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string ifname;
  std::size_t hosts = 65536;
  MacAddress base = MacAddress::from_u64(0x020000010000ULL);  // 02:00:00:01:00:00, as the issue
  double duration = 5;
  int poll_cpu = -1;
  int consumer_cpu = -1;
  std::size_t depth = 8;
  std::size_t hot_depth = 4096;  // host 0, the one-host case's target: absorbs a time slice
  bool generic = false;
  bool yield = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a(argv[i]);
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage(argv[0]);
      }
      return argv[++i];
    };
    if (a == "-i") {
      ifname = value();
    } else if (a == "--hosts") {
      hosts = std::strtoul(value().c_str(), nullptr, 10);
    } else if (a == "--base-mac") {
      auto m = MacAddress::parse(value());
      if (!m) {
        usage(argv[0]);
      }
      base = *m;
    } else if (a == "-d") {
      duration = std::atof(value().c_str());
    } else if (a == "--poll-cpu") {
      poll_cpu = std::atoi(value().c_str());
    } else if (a == "--consumer-cpu") {
      consumer_cpu = std::atoi(value().c_str());
    } else if (a == "--depth") {
      depth = std::strtoul(value().c_str(), nullptr, 10);
    } else if (a == "--hot-depth") {
      hot_depth = std::strtoul(value().c_str(), nullptr, 10);
    } else if (a == "--yield") {
      yield = true;
    } else if (a == "-m") {
      generic = value() == "generic";
    } else {
      usage(argv[0]);
    }
  }
  if (ifname.empty() || hosts == 0 || depth == 0 || hot_depth == 0) {
    usage(argv[0]);
  }

  datapath::RelayOptions ro;
  ro.own_threads = false;  // the benchmark pins its own poll thread
  ro.queues = {0};
  ro.xdp_mode = generic ? datapath::xdp::XdpMode::generic : datapath::xdp::XdpMode::native_copy;
  ro.frame_size = 2048;
  auto relay = datapath::PacketRelay::open(ifname, ro);
  if (!relay) {
    std::fprintf(stderr, "error: %s\n", relay.error().message().c_str());
    return 1;
  }
  conn::ReadyList ready;
  std::vector<std::unique_ptr<conn::EtherConn>> conns;
  conns.reserve(hosts);
  const double t_reg = now_s();
  for (std::size_t i = 0; i < hosts; ++i) {
    conn::EtherConnOptions o;
    o.mac = MacAddress::from_u64(base.to_u64() + i);
    o.queue_depth = i == 0 ? hot_depth : depth;
    o.max_frame = 124;  // 64-byte frames: a slot is two cache lines with room to spare
    o.ready_list = &ready;
    auto c = conn::EtherConn::open(**relay, o);
    if (!c) {
      std::fprintf(stderr, "error: host %zu: %s\n", i, c.error().message().c_str());
      return 1;
    }
    conns.push_back(std::move(*c));
  }
  std::printf("conn_scale_live: %zu hosts registered on %s in %.2f s (%s, %s)\n", hosts,
              ifname.c_str(), now_s() - t_reg, (*relay)->mode().c_str(),
              (*relay)->steering_description().c_str());
  std::fflush(stdout);

  std::atomic<std::uint64_t> poll_cpu_ns{0};
  std::thread poller([&] {
    pin_to(poll_cpu);
    const std::uint64_t c0 = thread_cpu_ns();
    while (!g_stop.load(std::memory_order_relaxed)) {
      if (auto st = (*relay)->poll_once(0, std::chrono::milliseconds(100)); !st) {
        std::fprintf(stderr, "error: %s\n", st.error().message().c_str());
        break;
      }
    }
    poll_cpu_ns = thread_cpu_ns() - c0;
  });

  pin_to(consumer_cpu);
  std::array<std::byte, 2048> buf{};
  std::uint64_t drained = 0;
  std::uint64_t first = 0;
  double t_first = 0;
  double t_last = 0;
  std::uint64_t at_last = 0;
  const double start = now_s();
  const std::uint64_t cpu0 = thread_cpu_ns();
  while (now_s() - start < duration) {
    // The consumer shares its CPU with the poll thread (run_scale.sh pins both to CPU 1). With
    // --yield, every kYieldEvery hosts and after each batch it gives the CPU back, so that the poll
    // thread, whose RX ring is bounded, runs now instead of a scheduler tick (4 ms at HZ=250, 5,000
    // frames at 1.3 Mpps) later. Draining can wait: the hosts' queues hold 65,536 x 8 frames.
    // One syscall per 256 hosts (a cheap one when the poll thread has nothing to do).
    std::size_t since_yield = 0;
    for (conn::EtherConn* c : ready.wait(std::chrono::milliseconds(100))) {
      while (auto p = c->try_read(buf)) {
        ++drained;
      }
      if (yield && ++since_yield == kYieldEvery) {
        ::sched_yield();
        since_yield = 0;
      }
    }
    if (yield) {
      ::sched_yield();
    }
    if (drained - at_last >= 4096 || (drained != 0 && t_first == 0)) {
      const double now = now_s();
      if (t_first == 0) {
        t_first = now;
        first = drained;
      }
      t_last = now;
      at_last = drained;
    }
  }
  const std::uint64_t consumer_ns = thread_cpu_ns() - cpu0;
  g_stop = true;
  poller.join();
  const double rss = rss_mib();
  const double active = t_last - t_first;
  const double pps = active > 0 ? static_cast<double>(at_last - first) / active : 0;
  std::uint64_t overflows = 0;
  std::size_t active_hosts = 0;
  for (const auto& c : conns) {
    overflows += c->overflows();
    active_hosts += c->queue_bytes() != 0 ? 1U : 0U;
  }
  const datapath::RelayStats rs = (*relay)->stats();
  const auto js = (*relay)->stats_json();
  const double per = drained != 0 ? 1.0 / static_cast<double>(drained) : 0;
  std::printf("conn_scale_live: drained %llu frames from %zu active hosts, %.0f pps while active\n",
              static_cast<unsigned long long>(drained), active_hosts, pps);
  std::printf(
      "conn_scale_live: relay rx=%llu rx_buffer_full=%llu rx_miss=%llu rx_offered=%llu\n",
      static_cast<unsigned long long>(rs.rx), static_cast<unsigned long long>(rs.rx_buffer_full),
      static_cast<unsigned long long>(rs.rx_miss), static_cast<unsigned long long>(rs.rx_offered));
  std::printf("conn_scale_live: queue %s\n", js["queues"][0].dump().c_str());
  std::printf("conn_scale_live: steering %s\n", js["steering"].dump().c_str());
  std::printf(
      "RESULT scale_rx_pps=%.0f scale_frames=%llu poll_cpu_ns=%.1f consumer_cpu_ns=%.1f "
      "rss_mib=%.0f overflows=%llu rx_miss=%llu\n",
      pps, static_cast<unsigned long long>(drained), static_cast<double>(poll_cpu_ns.load()) * per,
      static_cast<double>(consumer_ns) * per, rss, static_cast<unsigned long long>(overflows),
      static_cast<unsigned long long>(rs.rx_miss));
  std::fflush(stdout);
  (*relay)->stop();  // first: then the hosts leave without 196,608 BPF map deletions
  conns.clear();
  return 0;
}
