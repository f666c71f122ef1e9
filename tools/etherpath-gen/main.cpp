// etherpath-gen: the traffic generator of design.md §4: frames with chosen MACs, VLANs, address
// and port ranges, sent at a rate through AF_XDP, BPF live frames or libpcap; optionally reads
// the returning stream and reports loss, reordering and latency.
// Exit 0 done, 1 runtime failure, 2 bad command line, 130 after SIGINT/SIGTERM.
#include <fmt/core.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "datapath/pcap/pcap_engine.hpp"
#include "datapath/xdp/xdp_engine.hpp"
#include "tools/common/usage_error.hpp"
#include "tools/etherpath-gen/flow_template.hpp"
#include "tools/etherpath-gen/job.hpp"
#include "tools/etherpath-gen/pcap_writer.hpp"
#include "tools/etherpath-gen/rate_limiter.hpp"
#include "tools/etherpath-gen/sender.hpp"

namespace {

using namespace etherpath;       // NOLINT(google-build-using-namespace): a program's main file
using namespace etherpath::gen;  // NOLINT(google-build-using-namespace)

using tool_common::checked;
using tool_common::UsageError;

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSignal = 130;

struct Options {
  GenOptions gen;
  std::string engine = "xdp";
  bool json = false;
  bool quiet = false;
  std::string pcap_file;
  std::uint64_t pcap_count = 1000;
};

// Returns the options, or the exit code when parsing decided (help, bad input).
std::variant<Options, int> parse_command_line(int argc, char** argv) {
  CLI::App app{"etherpath-gen: lab traffic with chosen MACs, VLANs and ranges (etherpath)",
               "etherpath-gen"};
  std::string dst_mac;
  std::string src_mac;
  std::string vlan;
  std::string tpid = "88a8";
  std::string src;
  std::string dst;
  std::string proto = "udp";
  std::string sport = "9";
  std::string dport = "9";
  std::string rate;
  std::string xdp_mode = "auto";
  std::size_t size = 0;
  bool imix = false;
  Options o;
  app.add_option("--iface", o.gen.iface, "interface to send on")->required();
  app.add_option("--dst-mac", dst_mac, "destination MAC")->required();
  app.add_option("--src-mac", src_mac, "source MAC, MAC+N for N more after it")->required();
  app.add_option("--vlan", vlan, "VID (802.1Q) or OUTER.INNER (QinQ)");
  app.add_option("--tpid", tpid, "outer TPID of QinQ: 88a8 (default) or 8100");
  app.add_option("--src", src, "source IP, IP+N for N more after it")->required();
  app.add_option("--dst", dst, "destination IP, IP+N for N more after it")->required();
  app.add_option("--proto", proto, "udp (default) or icmp (echo requests)");
  app.add_option("--sport", sport, "UDP source port or ICMP echo id, P or P-Q (default 9)");
  app.add_option("--dport", dport, "UDP destination port, P or P-Q (default 9)");
  auto* size_opt =
      app.add_option("--size", size, "frame size in bytes without FCS (default: the smallest)");
  app.add_flag("--imix", imix, "7:4:1 of 60, 590 and 1514-byte frames")->excludes(size_opt);
  app.add_option("--rate", rate,
                 "PPS, or NNNkbps/mbps/gbps of frame bits (default: as fast as possible)");
  app.add_option("--count", o.gen.count, "frames to send in all (default: no limit)");
  app.add_option("--duration", o.gen.duration, "seconds to send (default: no limit)");
  app.add_option("--queues", o.gen.queues,
                 "queues, one thread each (xdp), or CPUs (xdp-live); default 1");
  app.add_option("--engine", o.engine, "xdp (default), xdp-live or pcap");
  app.add_option("--xdp-mode", xdp_mode, "auto|copy|skb|zc for the xdp engine");
  app.add_flag("--rx", o.gen.rx, "read the returning stream: loss, reordering, latency");
  app.add_flag("--json", o.json, "summary as JSON");
  app.add_flag("--quiet", o.quiet, "no progress lines");
  app.add_option("--pcap", o.pcap_file, "write the first frames sent to FILE");
  app.add_option("--pcap-count", o.pcap_count, "how many frames --pcap writes (default 1000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "etherpath-gen: {}\n", e.what());
    return kExitUsage;
  }
  try {
    if (o.gen.iface.empty()) {
      throw UsageError{"--iface: empty interface name"};
    }
    FlowSpec& f = o.gen.flow;
    f.dst_mac = checked(MacAddress::parse(dst_mac), "--dst-mac");
    f.src_mac = checked(parse_mac_range(src_mac), "--src-mac");
    const std::uint16_t outer_tpid = checked(parse_tpid(tpid), "--tpid");
    f.vlans = checked(VlanStack::parse(vlan, outer_tpid), "--vlan");
    f.src_ip = checked(parse_ip_range(src), "--src");
    f.dst_ip = checked(parse_ip_range(dst), "--dst");
    if (f.src_ip.first.is_v4() != f.dst_ip.first.is_v4()) {
      throw UsageError{"--dst: not of the same IP family as --src"};
    }
    if (proto == "udp" || proto == "UDP") {
      f.proto = L4Proto::udp;
    } else if (proto == "icmp" || proto == "ICMP") {
      f.proto = L4Proto::icmp;
    } else {
      throw UsageError{fmt::format("--proto: '{}' is not udp or icmp", proto)};
    }
    f.sport = checked(parse_port_range(sport), "--sport");
    f.dport = checked(parse_port_range(dport), "--dport");
    f.size = size;
    f.imix = imix;
    if (size_opt->count() > 0 && size == 0) {
      throw UsageError{"--size: must be positive"};
    }
    if (!rate.empty()) {
      o.gen.rate = checked(parse_rate(rate), "--rate");
    }
    if (!(o.gen.duration >= 0) || !std::isfinite(o.gen.duration)) {
      throw UsageError{"--duration: must be a non-negative number of seconds"};
    }
    if (o.gen.queues == 0 || o.gen.queues > kMaxStreams) {
      throw UsageError{fmt::format("--queues: must be 1-{}", kMaxStreams)};
    }
    if (o.engine != "xdp" && o.engine != "xdp-live" && o.engine != "pcap") {
      throw UsageError{fmt::format("--engine: '{}' is not xdp, xdp-live or pcap", o.engine)};
    }
    if (o.engine == "pcap" && o.gen.queues != 1) {
      throw UsageError{"--queues: the pcap engine has one queue"};
    }
    if (o.engine == "xdp-live") {
      // One thread per CPU, each pinned: the program keeps each thread's place per CPU.
      cpu_set_t set;
      CPU_ZERO(&set);
      const int cpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
      if (o.gen.queues > static_cast<unsigned>(cpus)) {
        throw UsageError{fmt::format(
            "--queues: the xdp-live engine runs a thread per CPU, and this process may use {}",
            cpus)};
      }
    }
    o.gen.xdp_mode = checked(datapath::xdp::parse_xdp_mode(xdp_mode), "--xdp-mode");
    // The template checks the sizes against the headers.
    if (auto t = FlowTemplate::create(f); !t) {
      throw UsageError{fmt::format("{}: {}", imix ? "--imix" : "--size", t.error().message())};
    }
  } catch (const UsageError& e) {
    fmt::print(stderr, "etherpath-gen: {}\n", e.message);
    return kExitUsage;
  }
  return o;
}

std::string rate_text(double bits_per_second) {
  if (bits_per_second >= 1e9) {
    return fmt::format("{:.2f} Gbps", bits_per_second / 1e9);
  }
  if (bits_per_second >= 1e6) {
    return fmt::format("{:.2f} Mbps", bits_per_second / 1e6);
  }
  return fmt::format("{:.1f} kbps", bits_per_second / 1e3);
}

Result<std::unique_ptr<Job>> make_job(const Options& o, const FlowTemplate& flow, PcapWriter* dump,
                                      const std::atomic<bool>& stop) {
  if (o.engine == "pcap") {
    return make_pcap_job(o.gen, flow, dump, stop);
  }
  if (o.engine == "xdp") {
    return make_xdp_job(o.gen, flow, dump, stop);
  }
  return make_live_job(o.gen, flow, dump, stop);
}

int run(const Options& o) {
  auto flow = FlowTemplate::create(o.gen.flow);
  if (!flow) {
    fmt::print(stderr, "etherpath-gen: {}\n", flow.error().message());
    return kExitUsage;
  }
  std::optional<PcapWriter> dump;
  if (!o.pcap_file.empty()) {
    auto w = PcapWriter::open(o.pcap_file, o.pcap_count);
    if (!w) {
      fmt::print(stderr, "etherpath-gen: --pcap: {}\n", w.error().message());
      return kExitRuntime;
    }
    dump.emplace(std::move(*w));
  }
  // Every thread started from here inherits the blocked signals; main takes them with
  // sigtimedwait, which also paces the progress lines.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::atomic<bool> stop{false};
  auto job = make_job(o, *flow, dump ? &*dump : nullptr, stop);
  if (!job) {
    fmt::print(stderr, "etherpath-gen: {}: {}\n", o.gen.iface, job.error().message());
    return kExitRuntime;
  }
  const auto start = std::chrono::steady_clock::now();
  (*job)->start();
  int exit_code = 0;
  Totals last;
  auto last_time = start;
  auto next_tick = start + std::chrono::seconds(1);
  while (!(*job)->done()) {
    const auto now = std::chrono::steady_clock::now();
    const auto left = std::min<std::chrono::steady_clock::duration>(next_tick - now,
                                                                    std::chrono::milliseconds(20));
    timespec ts{0, std::max<long>(
                       0, static_cast<long>(
                              std::chrono::duration_cast<std::chrono::nanoseconds>(left).count()))};
    siginfo_t info{};
    if (::sigtimedwait(&signals, &info, &ts) > 0) {
      exit_code = kExitSignal;
      stop.store(true);
      break;
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      const auto t = std::chrono::steady_clock::now();
      const Totals now_totals = (*job)->totals();
      const double secs = std::chrono::duration<double>(t - last_time).count();
      if (!o.quiet) {
        const double tx_pps = static_cast<double>(now_totals.tx_packets - last.tx_packets) / secs;
        const double tx_bps = 8.0 * static_cast<double>(now_totals.tx_bytes - last.tx_bytes) / secs;
        const double rx_pps = static_cast<double>(now_totals.rx_packets - last.rx_packets) / secs;
        const double rx_bps = 8.0 * static_cast<double>(now_totals.rx_bytes - last.rx_bytes) / secs;
        fmt::print(stderr, "tx {:.0f} pps {}  rx {:.0f} pps {}  sent {}  drops {}\n", tx_pps,
                   rate_text(tx_bps), rx_pps, rate_text(rx_bps), now_totals.tx_packets,
                   o.gen.rx ? now_totals.tx_packets -
                                  std::min(now_totals.tx_packets, now_totals.rx_packets)
                            : 0);
      }
      last = now_totals;
      last_time = t;
      next_tick += std::chrono::seconds(1);
    }
  }
  (*job)->join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (dump) {
    dump->close();
  }
  const Totals t = (*job)->totals();
  const RxTracker rx = (*job)->rx();
  const auto lat = rx.latency();
  const std::uint64_t lost = t.tx_packets - std::min(t.tx_packets, rx.received());
  const double pps = secs > 0 ? static_cast<double>(t.tx_packets) / secs : 0;
  const double bps = secs > 0 ? 8.0 * static_cast<double>(t.tx_bytes) / secs : 0;
  if (o.json) {
    nlohmann::json j = {{"engine", o.engine},
                        {"mode", (*job)->mode()},
                        {"interface", o.gen.iface},
                        {"duration_s", secs},
                        {"tx_packets", t.tx_packets},
                        {"tx_bytes", t.tx_bytes},
                        {"tx_errors", (*job)->tx_errors()},
                        {"tx_pps", pps},
                        {"tx_bps", bps},
                        {"interrupted", exit_code == kExitSignal}};
    if (o.gen.rx) {
      j["rx"] = {
          {"packets", rx.received()},
          {"bytes", t.rx_bytes},
          {"lost", lost},
          {"reordered", rx.reordered()},
          {"latency_ns",
           {{"p50", lat.p50_ns}, {"p99", lat.p99_ns}, {"max", lat.max_ns}, {"min", lat.min_ns}}}};
    }
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("sent {} frames, {} bytes in {:.3f} s ({:.0f} pps, {}), {} errors, engine {}\n",
               t.tx_packets, t.tx_bytes, secs, pps, rate_text(bps), (*job)->tx_errors(),
               (*job)->mode());
    if (o.gen.rx) {
      const double loss_pct =
          t.tx_packets == 0 ? 0
                            : 100.0 * static_cast<double>(lost) / static_cast<double>(t.tx_packets);
      fmt::print(
          "received {} frames, lost {} ({:.2f} %), reordered {}, latency p50 {:.1f} us "
          "p99 {:.1f} us max {:.1f} us\n",
          rx.received(), lost, loss_pct, rx.reordered(), static_cast<double>(lat.p50_ns) / 1e3,
          static_cast<double>(lat.p99_ns) / 1e3, static_cast<double>(lat.max_ns) / 1e3);
    }
  }
  std::fflush(stdout);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto parsed = parse_command_line(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) {
      return *code;
    }
    return run(std::get<Options>(parsed));
  } catch (const std::exception& e) {
    fmt::print(stderr, "etherpath-gen: {}\n", e.what());
    return kExitRuntime;
  }
}
