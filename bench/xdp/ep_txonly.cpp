// ep_txonly: the etherpath side of the TX benchmark, the same job as xdp_txonly: send 64-byte
// frames as fast as possible through etherpath's XdpEngine (one queue, copy mode, need_wakeup,
// batches of 64). Like xdp_txonly, every UMEM frame is written once at start (frame k = flow
// frame k); the loop only allocates, sets the length, transmits and flushes.
//   ep_txonly -i IF [-q QUEUE] [-d SECONDS] [-c CPU] [flow options]
#include <cstring>
#include <vector>

#include "bench/xdp/ep_bench.hpp"

extern "C" {
#include "bench/xdp/bench_abi.h"
}

namespace {

// The flow options of bench_common.h, in C++ (the generator and sink read the same flags).
struct Flow {
  std::uint64_t dst_mac = 0x020000000002ULL;
  std::uint32_t dst_mac_count = 1;
  std::uint64_t src_mac = 0x020000000001ULL;
  std::uint32_t dst_ip = 0x0a000002;
  std::uint32_t dst_ip_count = 1;
  std::uint32_t src_ip = 0x0a000001;
  std::uint16_t sport = 9;
  std::uint16_t dport = 9;
  std::uint32_t size = 60;
};

std::uint32_t fold(std::uint32_t sum) {
  sum = (sum & 0xffffU) + (sum >> 16U);
  sum = (sum & 0xffffU) + (sum >> 16U);
  return ~sum & 0xffffU;
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t len) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) {
    sum += static_cast<std::uint32_t>((p[i] << 8U) | p[i + 1]);
  }
  if ((len & 1U) != 0) {
    sum += static_cast<std::uint32_t>(p[len - 1] << 8U);
  }
  return sum;
}

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8U);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16U);
  put16(p + 2, v & 0xffffU);
}
void put_mac(std::uint8_t* p, std::uint64_t mac) {
  for (int i = 0; i < 6; ++i) {
    p[i] = static_cast<std::uint8_t>(mac >> (40 - 8 * i));
  }
}

// Frame n of the flow, byte for byte what bench_build_frame (and livegen.bpf.c) write.
void build(const Flow& f, std::uint64_t n, std::uint8_t* out) {
  std::memset(out, 0, f.size);
  put_mac(out, f.dst_mac + n % f.dst_mac_count);
  put_mac(out + 6, f.src_mac);
  put16(out + 12, 0x0800);
  std::uint8_t* ip = out + 14;
  std::uint8_t* udp = ip + 20;
  ip[0] = 0x45;
  put16(ip + 2, f.size - 14);
  put16(ip + 4, static_cast<std::uint32_t>(n & 0xffffU));
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, f.src_ip);
  put32(ip + 16, f.dst_ip + static_cast<std::uint32_t>(n % f.dst_ip_count));
  put16(ip + 10, fold(sum16(ip, 20)));
  const std::uint32_t udp_len = f.size - 34;
  put16(udp, f.sport);
  put16(udp + 2, f.dport);
  put16(udp + 4, udp_len);
  put32(udp + 8, BENCH_MAGIC);
  put32(udp + 12, static_cast<std::uint32_t>(n >> 32U));
  put32(udp + 16, static_cast<std::uint32_t>(n));
  std::uint32_t c = fold(sum16(ip + 12, 8) + 17 + udp_len + sum16(udp, udp_len));
  put16(udp + 6, c == 0 ? 0xffff : c);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace etherpath;
  std::string ifname;
  unsigned queue = 0;
  double duration = 10;
  int cpu = -1;
  Flow flow;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        bench::usage_error(a, "");
      }
      return argv[++i];
    };
    const auto mac_range = [&](std::uint64_t& mac, std::uint32_t* count) {
      std::string text = value();
      if (const auto plus = text.find('+'); plus != std::string::npos && count != nullptr) {
        *count = static_cast<std::uint32_t>(std::strtoul(text.c_str() + plus + 1, nullptr, 10));
        text.resize(plus);
      }
      auto parsed = MacAddress::parse(text);
      if (!parsed) {
        bench::usage_error(a, text);
      }
      mac = parsed->to_u64();
    };
    const auto ip_range = [&](std::uint32_t& ip, std::uint32_t* count) {
      std::string text = value();
      if (const auto plus = text.find('+'); plus != std::string::npos && count != nullptr) {
        *count = static_cast<std::uint32_t>(std::strtoul(text.c_str() + plus + 1, nullptr, 10));
        text.resize(plus);
      }
      auto parsed = IpAddress::parse(text);
      if (!parsed || !parsed->is_v4()) {
        bench::usage_error(a, text);
      }
      ip = parsed->v4_host();
    };
    if (a == "-i") {
      ifname = value();
    } else if (a == "-q") {
      queue = static_cast<unsigned>(std::atoi(value().c_str()));
    } else if (a == "-d") {
      duration = std::atof(value().c_str());
    } else if (a == "-c") {
      cpu = std::atoi(value().c_str());
    } else if (a == "--dst-mac") {
      mac_range(flow.dst_mac, &flow.dst_mac_count);
    } else if (a == "--src-mac") {
      mac_range(flow.src_mac, nullptr);
    } else if (a == "--dst-ip") {
      ip_range(flow.dst_ip, &flow.dst_ip_count);
    } else if (a == "--src-ip") {
      ip_range(flow.src_ip, nullptr);
    } else if (a == "--sport") {
      flow.sport = static_cast<std::uint16_t>(std::atoi(value().c_str()));
    } else if (a == "--dport") {
      flow.dport = static_cast<std::uint16_t>(std::atoi(value().c_str()));
    } else if (a == "--size") {
      flow.size = static_cast<std::uint32_t>(std::atoi(value().c_str()));
      if (flow.size < 60 || flow.size > 1514) {
        bench::usage_error(a, std::to_string(flow.size));
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s -i IF [-q QUEUE] [-d SECONDS] [-c CPU] [--dst-mac MAC[+N]] "
                   "[--src-mac MAC] [--dst-ip IP[+N]] [--src-ip IP] [--sport P] [--dport P] "
                   "[--size BYTES]\n",
                   argv[0]);
      return 2;
    }
  }
  if (ifname.empty() || flow.dst_mac_count == 0 || flow.dst_ip_count == 0) {
    bench::usage_error("-i", ifname);
  }
  bench::pin_to(cpu);
  bench::install_stop_signals();

  datapath::xdp::XdpEngineOptions options;
  options.ifname = ifname;
  options.queues = {queue};
  options.mode = datapath::xdp::XdpMode::native_copy;
  options.frames_per_queue = 4096;
  options.frame_size = 2048;
  auto engine = datapath::xdp::XdpEngine::create(options);
  if (!engine) {
    std::fprintf(stderr, "error: %s\n", engine.error().message().c_str());
    return 1;
  }
  auto& e = **engine;

  // Write every frame the pool holds once, then give them back: from here on the loop only
  // sets lengths, as xdp_txonly does.
  std::vector<datapath::FrameBatch> all;
  std::uint64_t written = 0;
  for (;;) {
    datapath::FrameBatch b;
    if (e.alloc(0, b, datapath::FrameBatch::kCapacity) == 0) {
      break;
    }
    for (auto& f : b) {
      f.resize(flow.size);
      build(flow, written++, reinterpret_cast<std::uint8_t*>(f.data().data()));  // NOLINT
    }
    all.push_back(b);
  }
  for (auto& b : all) {
    e.release(0, b);
  }
  std::printf("ep_txonly: %s queue %u (%s), %u-byte frames, %llu frames written\n", ifname.c_str(),
              queue, e.mode().c_str(), flow.size, static_cast<unsigned long long>(written));
  std::fflush(stdout);

  datapath::FrameBatch batch;
  const double start = bench::now_s();
  std::uint64_t loops = 0;
  while (bench::g_stop == 0) {
    if (batch.empty()) {
      e.alloc(0, batch, datapath::FrameBatch::kCapacity);
      for (auto& f : batch) {
        f.resize(flow.size);
      }
    }
    e.transmit(0, batch);
    e.flush(0);
    if ((++loops & 0xffU) == 0 && bench::now_s() - start >= duration) {
      break;
    }
  }
  e.release(0, batch);
  const double elapsed = bench::now_s() - start;
  const auto stats = e.stats(0);
  std::printf("ep_txonly: %llu frames completed in %.3f s: %.0f pps, %llu kicks\n",
              static_cast<unsigned long long>(stats.tx_completed), elapsed,
              static_cast<double>(stats.tx_completed) / elapsed,
              static_cast<unsigned long long>(stats.tx_kicks));
  std::printf("RESULT ep_txonly_pps=%.0f ep_txonly_frames=%llu\n",
              static_cast<double>(stats.tx_completed) / elapsed,
              static_cast<unsigned long long>(stats.tx_completed));
  return 0;
}
