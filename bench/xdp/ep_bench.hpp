// Shared by the etherpath side of the XDP benchmark (ep_rxdrop, ep_txonly): the steering program
// as the XdpEngine's XSK program, argument parsing and clocks.
#pragma once

#include <sched.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "base/mac_address.hpp"
#include "base/vlan.hpp"
#include "bpf/steering_program.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::bench {

inline volatile std::sig_atomic_t g_stop = 0;

inline void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

inline double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline std::uint64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

inline void pin_to(int cpu) {
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

[[noreturn]] inline void usage_error(std::string_view flag, std::string_view value) {
  std::fprintf(stderr, "error: %.*s: invalid value '%.*s'\n", static_cast<int>(flag.size()),
               flag.data(), static_cast<int>(value.size()), value.data());
  std::exit(2);
}

// etherpath's steering program as the engine's XSK program, with L2 endpoints for the frames
// the benchmark sends (dst MAC base .. base + count - 1, untagged IPv4): the production path.
class SteeringXskProgram final : public datapath::xdp::XskProgram {
 public:
  SteeringXskProgram(MacAddress base, std::uint32_t count) : base_(base), count_(count) {}
  Result<int> attach(const std::string& ifname, bool generic) override {
    bpf::SteeringOptions options;
    options.mode = generic ? bpf::XdpMode::generic : bpf::XdpMode::native;
    EP_TRY(auto program, bpf::SteeringProgram::attach(ifname, options));
    for (std::uint32_t i = 0; i < count_; ++i) {
      EP_TRY_STATUS(program.add_l2({MacAddress::from_u64(base_.to_u64() + i), {}, 0x0800}));
    }
    program_.emplace(std::move(program));
    return program_->xsks_map_fd();
  }
  void detach() override { program_.reset(); }
  [[nodiscard]] std::string describe() const {
    return program_ ? program_->describe_attach() : "not attached";
  }
  [[nodiscard]] const std::optional<bpf::SteeringProgram>& program() const { return program_; }

 private:
  MacAddress base_;
  std::uint32_t count_;
  std::optional<bpf::SteeringProgram> program_;
};

}  // namespace etherpath::bench
