// conn_steer_cost: the XDP steering program's run time per frame with N registered hosts, through
// BPF_PROG_TEST_RUN (root, no interface), immune to what other processes do to the pps figures.
// Registers N hosts as EtherConn does (ARP, IPv4, IPv6 on one MAC each, MACs 02:00:00:01:00:00
// + k) and runs 60-byte UDP/IPv4 frames through the program:
//   - "all": one run per frame, round robin over the N hosts (a different key every run, so the
//     map's cache misses are paid as on a live interface); the mean of the kernel's per-run
//     durations;
//     With --stride S (odd), the round robin visits host k * S mod N on the k-th run: the hosts in
//     a scattered order, so that no two runs in a row hit neighbouring MACs (l2_slots keeps
//     consecutive MACs in one block; bpf/steer_abi.h);
//   - "one": the same single-run calls, every frame to host 0 (the map entry stays cached);
//   - "hot": one frame to host 0 repeated in the kernel (--repeat runs per call): the program's
//     own cost without the syscall's cache pollution.
//   conn_steer_cost [--hosts N] [--frames F] [--repeat R] [--stride S]
// Last line: RESULT hosts= stride= one_ns= all_ns= hot_ns= scale_ns= (scale_ns = all_ns - one_ns)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "base/mac_address.hpp"
#include "bpf/steering_program.hpp"

namespace {

using namespace etherpath;

constexpr std::uint64_t kBaseMac = 0x020000010000ULL;

// A 60-byte untagged UDP/IPv4 frame to host k (dst MAC base + k, dst IP 10.1.0.0 + k), as
// xdp_livegen sends them in run_scale.sh.
std::vector<std::byte> frame_to(std::uint32_t k) {
  std::vector<std::byte> f(60, std::byte{0});
  const auto put = [&f](std::size_t at, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      f[at + i] = static_cast<std::byte>((v >> (8 * (n - 1 - i))) & 0xffU);
    }
  };
  put(0, kBaseMac + k, 6);
  put(6, 0x020000000001ULL, 6);
  put(12, 0x0800, 2);
  put(14, 0x45, 1);
  put(16, 46, 2);
  put(22, 64, 1);
  put(23, 17, 1);
  put(26, 0x0a000001, 4);
  put(30, 0x0a010000U + k, 4);
  put(34, 9, 2);
  put(36, 9, 2);
  put(38, 26, 2);
  return f;
}

// Mean duration of single runs over `frames` (cycled `rounds` times).
double mean_single_runs(const bpf::SteeringProgram& p,
                        const std::vector<std::vector<std::byte>>& frames, std::size_t runs) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < runs; ++i) {
    auto r = p.test_run(frames[i % frames.size()]);
    if (!r) {
      std::fprintf(stderr, "error: %s\n", r.error().message().c_str());
      std::exit(1);
    }
    total += r->duration_ns;
  }
  return static_cast<double>(total) / static_cast<double>(runs);
}

int run(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

namespace {

int run(int argc, char** argv) {
  std::uint32_t hosts = 65536;
  std::size_t runs = 262144;
  std::uint32_t repeat = 1000000;
  std::uint64_t stride = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a(argv[i]);
    const unsigned long v = std::strtoul(argv[i + 1], nullptr, 10);
    if (a == "--hosts") {
      hosts = static_cast<std::uint32_t>(v);
    } else if (a == "--frames") {
      runs = v;
    } else if (a == "--repeat") {
      repeat = static_cast<std::uint32_t>(v);
    } else if (a == "--stride") {
      stride = v;
    } else {
      std::fprintf(stderr, "usage: %s [--hosts N] [--frames F] [--repeat R] [--stride S]\n",
                   argv[0]);
      return 2;
    }
  }
  auto loaded = bpf::SteeringProgram::load_unattached();
  if (!loaded) {
    std::fprintf(stderr, "error: %s\n", loaded.error().message().c_str());
    return 1;
  }
  const bpf::SteeringProgram& program = *loaded;
  for (std::uint32_t k = 0; k < hosts; ++k) {
    const MacAddress mac = MacAddress::from_u64(kBaseMac + k);
    for (const std::uint16_t et :
         {std::uint16_t{0x0806}, std::uint16_t{0x0800}, std::uint16_t{0x86dd}}) {
      if (auto st = loaded->add_l2({mac, {}, et}, k); !st) {
        std::fprintf(stderr, "error: host %u: %s\n", k, st.error().message().c_str());
        return 1;
      }
    }
  }
  std::vector<std::vector<std::byte>> all;
  all.reserve(hosts);
  for (std::uint32_t k = 0; k < hosts; ++k) {
    all.push_back(frame_to(static_cast<std::uint32_t>(k * stride % hosts)));
  }
  const std::vector<std::vector<std::byte>> one{frame_to(0)};
  if (auto r = program.test_run(one[0]); !r || r->action != bpf::XdpAction::pass) {
    std::fprintf(stderr, "error: the test frame did not run\n");
    return 1;
  }
  const auto before = program.read_counters();
  (void)mean_single_runs(program, all, std::min<std::size_t>(runs, hosts));  // warm up
  const double all_ns = mean_single_runs(program, all, runs);
  const double one_ns = mean_single_runs(program, one, runs);
  bpf::TestRunOptions o;
  o.repeat = repeat;
  auto hot = program.test_run(one[0], o);
  if (!hot) {
    std::fprintf(stderr, "error: %s\n", hot.error().message().c_str());
    return 1;
  }
  const auto after = program.read_counters();
  if (before && after) {
    const auto d = after->since(*before);
    std::printf("conn_steer_cost: %u hosts, hit_l2 %llu of %llu frames\n", hosts,
                static_cast<unsigned long long>(d[bpf::Counter::hit_l2]),
                static_cast<unsigned long long>(d[bpf::Counter::frames]));
  }
  std::printf("RESULT hosts=%u stride=%llu one_ns=%.1f all_ns=%.1f hot_ns=%u scale_ns=%.1f\n",
              hosts, static_cast<unsigned long long>(stride), one_ns, all_ns, hot->duration_ns,
              all_ns - one_ns);
  return 0;
}

}  // namespace
