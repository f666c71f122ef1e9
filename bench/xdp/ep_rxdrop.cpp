// ep_rxdrop: the etherpath side of the RX benchmark, the same job as xdp_rxdrop: receive and
// drop, through etherpath's XdpEngine (one queue, native copy mode, need_wakeup, batches of 64)
// with etherpath's steering program taking the benchmark's dst MACs. Prints the rate,
// rx_ring_full and the thread CPU time per frame (--poll sleeps in Engine::wait when idle).
//   ep_rxdrop -i IF [-q QUEUE] [-m native|generic] [-d SECONDS] [--poll] [-c CPU]
//             [--dst-mac MAC[+N]] [--builtin-prog] [--tx-ring] [--wait-cost N]
// --builtin-prog: libxdp's built-in program instead of the steering program (what xdp_rxdrop
// runs), to tell the steering program's cost on the generator's CPU from the engine's.
// The socket is receive-only, like xdp_rxdrop's (an RX ring, no TX ring): in copy mode with
// need_wakeup every poll() also drives a socket's TX ring (xsk_poll -> xsk_generic_xmit), a
// kernel cost per wakeup of a socket that can send. --tx-ring gives it the 2048-entry TX ring a
// relay's socket has, to measure that cost.
// --wait-cost N: no receive loop; N times an empty receive() and a poll() of the socket with a
// zero timeout, on an idle link: the thread CPU time per wakeup of the syscall path (what an
// idle receiver pays per wakeup on top of the context switch), like xdp_rxdrop --wait-cost.
#include <cstring>
#include <string>

#include "bench/xdp/ep_bench.hpp"

namespace {

struct RxResult {
  std::uint64_t pkts = 0;
  std::uint64_t first_pkts = 0;
  std::uint64_t waits = 0;
  double t_first = 0;
  double t_last = 0;
  std::string error;  // why the loop stopped early (the interface went away); empty otherwise
};

// The receive loop, in a function of its own so that bench/xdp/count_rx.sh can count its
// instructions under callgrind (--toggle-collect=*rx_loop*) the same way as xdp_rxdrop's.
[[gnu::noinline]] RxResult rx_loop(etherpath::datapath::xdp::XdpEngine& engine, bool use_poll,
                                   double start, double duration) {
  using namespace etherpath;
  datapath::FrameBatch batch;
  RxResult r;
  while (bench::g_stop == 0) {
    const std::size_t n = engine.receive(0, batch);
    if (n == 0) {
      ++r.waits;
      if (use_poll) {
        if (auto ready = engine.wait(0, std::chrono::milliseconds(100)); !ready) {
          r.error = ready.error().message();
          return r;
        }
      }
      if (bench::now_s() - start >= duration) {
        break;
      }
      continue;
    }
    engine.release(0, batch);
    r.pkts += n;
    if ((r.pkts & 0xfffU) < n) {  // about every 4096 frames: the clock is not free
      const double now = bench::now_s();
      if (r.t_first == 0) {
        r.t_first = now;
        r.first_pkts = r.pkts;
      }
      r.t_last = now;
      if (now - start >= duration) {
        break;
      }
    }
  }
  return r;
}

// --wait-cost: the empty receive and the socket's poll(), `count` times; thread CPU ns per round.
[[gnu::noinline]] double wait_cost(etherpath::datapath::xdp::XdpEngine& engine, long count) {
  etherpath::datapath::FrameBatch batch;
  const std::uint64_t cpu0 = etherpath::bench::thread_cpu_ns();
  for (long i = 0; i < count; ++i) {
    if (engine.receive(0, batch) != 0) {
      engine.release(0, batch);  // the link should be idle; a stray frame goes back
    }
    (void)engine.socket(0).wait(0);
  }
  return static_cast<double>(etherpath::bench::thread_cpu_ns() - cpu0) / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace etherpath;
  std::string ifname;
  unsigned queue = 0;
  bool generic = false;
  bool use_poll = false;
  bool builtin_prog = false;
  bool tx_ring = false;
  long wait_rounds = 0;
  double duration = 10;
  int cpu = -1;
  MacAddress dst = MacAddress::from_u64(0x020000000002ULL);
  std::uint32_t count = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    const auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        bench::usage_error(a, "");
      }
      return argv[++i];
    };
    if (a == "-i") {
      ifname = value();
    } else if (a == "-q") {
      queue = static_cast<unsigned>(std::atoi(value().data()));
    } else if (a == "-m") {
      generic = value() == "generic";
    } else if (a == "-d") {
      duration = std::atof(value().data());
    } else if (a == "--poll") {
      use_poll = true;
    } else if (a == "--builtin-prog") {
      builtin_prog = true;
    } else if (a == "--tx-ring") {
      tx_ring = true;
    } else if (a == "--wait-cost") {
      wait_rounds = std::atol(value().data());
      if (wait_rounds <= 0) {
        bench::usage_error(a, argv[i]);
      }
    } else if (a == "-c") {
      cpu = std::atoi(value().data());
    } else if (a == "--dst-mac") {
      std::string text(value());
      if (const auto plus = text.find('+'); plus != std::string::npos) {
        count = static_cast<std::uint32_t>(std::strtoul(text.c_str() + plus + 1, nullptr, 10));
        text.resize(plus);
      }
      auto mac = MacAddress::parse(text);
      if (!mac || count == 0) {
        bench::usage_error(a, text);
      }
      dst = *mac;
    } else {
      std::fprintf(stderr,
                   "usage: %s -i IF [-q QUEUE] [-m native|generic] [-d SECONDS] [--poll] [-c CPU] "
                   "[--dst-mac MAC[+N]] [--builtin-prog] [--tx-ring] [--wait-cost N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (ifname.empty()) {
    bench::usage_error("-i", "");
  }
  bench::pin_to(cpu);
  bench::install_stop_signals();

  bench::SteeringXskProgram steering(dst, count);
  datapath::xdp::XdpEngineOptions options;
  options.ifname = ifname;
  options.queues = {queue};
  options.mode = generic ? datapath::xdp::XdpMode::generic : datapath::xdp::XdpMode::native_copy;
  options.frames_per_queue = 4096;
  options.fill_size = 4096;  // every frame on the fill ring, as xdp_rxdrop posts them
  options.frame_size = 2048;
  options.socket.tx_size = tx_ring ? 2048 : 0;  // receive-only unless asked, as xdp_rxdrop
  options.program = builtin_prog ? nullptr : &steering;
  auto engine = datapath::xdp::XdpEngine::create(options);
  if (!engine) {
    std::fprintf(stderr, "error: %s\n", engine.error().message().c_str());
    return 1;
  }
  std::printf("ep_rxdrop: %s queue %u (%s, %s; %s)\n", ifname.c_str(), queue,
              (*engine)->mode().c_str(), tx_ring ? "RX and TX rings" : "RX ring only",
              builtin_prog ? "libxdp's built-in program" : steering.describe().c_str());
  std::fflush(stdout);

  if (wait_rounds > 0) {
    std::printf("RESULT ep_wait_ns=%.1f\n", wait_cost(**engine, wait_rounds));
    return 0;
  }

  const double start = bench::now_s();
  const std::uint64_t cpu0 = bench::thread_cpu_ns();
  const auto r = rx_loop(**engine, use_poll, start, duration);
  if (!r.error.empty()) {
    std::fprintf(stderr, "error: %s\n", r.error.c_str());
    return 1;
  }
  const std::uint64_t pkts = r.pkts;
  const std::uint64_t cpu_ns = bench::thread_cpu_ns() - cpu0;
  const double active = r.t_last - r.t_first;
  const double pps = active > 0 ? static_cast<double>(pkts - r.first_pkts) / active : 0;
  const double per_pkt = pkts != 0 ? static_cast<double>(cpu_ns) / static_cast<double>(pkts) : 0;
  const auto stats = (*engine)->stats(0);
  std::printf(
      "ep_rxdrop: %llu frames, %.0f pps while active, %.1f ns thread CPU per frame, %llu idle "
      "waits (%.1f frames per wait)\n",
      static_cast<unsigned long long>(pkts), pps, per_pkt, static_cast<unsigned long long>(r.waits),
      r.waits != 0 ? static_cast<double>(pkts) / static_cast<double>(r.waits) : 0.0);
  std::printf("ep_rxdrop: rx_ring_full=%llu rx_dropped=%llu rx_fill_ring_empty=%llu\n",
              static_cast<unsigned long long>(stats.kernel_rx_ring_full),
              static_cast<unsigned long long>(stats.kernel_rx_dropped),
              static_cast<unsigned long long>(stats.kernel_rx_fill_ring_empty_descs));
  if (steering.program()) {
    if (auto counters = steering.program()->read_counters(); counters) {
      std::printf("ep_rxdrop: steering:");
      for (std::size_t i = 0; i < bpf::kCounterCount; ++i) {
        const auto c = bpf::Counters::counter_at(i);
        if ((*counters)[c] != 0) {
          std::printf(" %s=%llu", std::string(bpf::counter_name(c)).c_str(),
                      static_cast<unsigned long long>((*counters)[c]));
        }
      }
      std::printf("\n");
    }
  }
  std::printf(
      "RESULT ep_rxdrop_pps=%.0f ep_rxdrop_frames=%llu ep_rxdrop_cpu_ns=%.1f "
      "ep_rxdrop_rx_ring_full=%llu\n",
      pps, static_cast<unsigned long long>(pkts), per_pkt,
      static_cast<unsigned long long>(stats.kernel_rx_ring_full));
  return 0;
}
