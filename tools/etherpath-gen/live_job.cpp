// xdp-live: the flow generated inside the kernel by live_gen.bpf.c, run with BPF_PROG_RUN and
// BPF_F_TEST_XDP_LIVE_FRAMES (the fastest TX path on veth). The token bucket sizes each run's
// repeat count; --rx reads the returning stream through an AF_XDP engine on the same interface.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "conn/wire/frame_parser.hpp"
#include "datapath/xdp/xdp_engine.hpp"
#include "tools/etherpath-gen/job.hpp"
#include "tools/etherpath-gen/live_gen_abi.h"  // the skeleton names its structs
#include "tools/etherpath-gen/sender.hpp"
// clang-format off
#include "bpf/skeleton_prologue.hpp"
#include "live_gen_bpf.skel.h"  // NOLINT: generated C
#include "bpf/skeleton_epilogue.hpp"
// clang-format on

namespace etherpath::gen {
namespace {

struct SkeletonDeleter {
  void operator()(live_gen_bpf* s) const { live_gen_bpf__destroy(s); }
};

// Frames per BPF_PROG_RUN at most. Each run pays a fixed cost (a page pool made and torn down:
// about 1 ms, and 15-20 ms on a busy machine), so runs must be long; the first run is shorter
// and --duration shortens the last ones from the measured rate.
constexpr std::uint32_t kMaxRun = 1U << 18;
constexpr std::uint32_t kFirstRun = 16384;
// The most frames a rate-limited run waits for before it starts.
constexpr std::uint32_t kLimitedRun = 64;

// One sending thread (--queues): the CPU it is pinned to, where the program keeps its position
// in the flow (the state array is per CPU), and its share of the count and rate.
struct Stream {
  unsigned cpu = 0;
  unsigned index = 0;       // the top bits of its sequence numbers
  std::uint64_t count = 0;  // 0 = no limit
  Rate rate;
  std::size_t position = 0;  // in the size pattern, as the program's state position
  FlowCursor dump_cursor;    // the first stream writes --pcap
};

class LiveJob final : public Job {
 public:
  static Result<std::unique_ptr<Job>> create(const GenOptions& o, const FlowTemplate& flow,
                                             PcapWriter* dump, const std::atomic<bool>& stop) {
    auto job = std::unique_ptr<LiveJob>(new LiveJob(o, flow, dump, stop));
    EP_TRY_STATUS(job->load());
    return std::unique_ptr<Job>(std::move(job));
  }
  LiveJob(const LiveJob&) = delete;
  LiveJob& operator=(const LiveJob&) = delete;
  LiveJob(LiveJob&&) = delete;
  LiveJob& operator=(LiveJob&&) = delete;
  ~LiveJob() override {
    rx_stop_.store(true);
    join();
  }

  void start() override {
    for (Stream& st : streams_) {
      tx_threads_.emplace_back([this, &st] {
        run_tx(st);
        tx_finished_.fetch_add(1);
      });
    }
    if (rx_engine_) {
      rx_thread_ = std::thread([this] { run_rx(); });
    }
  }
  [[nodiscard]] bool done() const override { return tx_done() && rx_done_.load(); }
  void join() override {
    for (auto& t : tx_threads_) {
      t.join();
    }
    tx_threads_.clear();
    if (rx_thread_.joinable()) {
      rx_thread_.join();
    }
  }
  [[nodiscard]] Totals totals() const override {
    return Totals{tx_packets_.get(), tx_bytes_.get(), rx_packets_.get(), rx_bytes_.get()};
  }
  [[nodiscard]] std::uint64_t tx_errors() const override { return tx_errors_.load(); }
  [[nodiscard]] RxTracker rx() const override { return rx_; }
  [[nodiscard]] std::string mode() const override { return "xdp-live bpf_prog_run"; }

 private:
  LiveJob(GenOptions o, const FlowTemplate& flow, PcapWriter* dump, const std::atomic<bool>& stop)
      : options_(std::move(o)), flow_(flow), dump_(dump), stop_(stop) {}

  Status load() {
    ifindex_ = ::if_nametoindex(options_.iface.c_str());
    if (ifindex_ == 0) {
      return fail(Errc::not_found, options_.iface + ": no such interface");
    }
    skel_.reset(live_gen_bpf__open());
    if (!skel_) {
      return fail_errno("opening the xdp-live program");
    }
    live_gen_config& c = skel_->rodata->config;
    const auto l = flow_.layout();
    const FlowSpec& spec = flow_.spec();
    if (flow_.prototype_count() > LIVE_GEN_MAX_SIZES || l.header_size > LIVE_GEN_MAX_HEADER) {
      return fail(Errc::unsupported, "the xdp-live program cannot build these headers");
    }
    c.proto_count = static_cast<std::uint32_t>(flow_.prototype_count());
    if (flow_.pattern_length() > LIVE_GEN_MAX_PATTERN) {
      return fail(Errc::unsupported, "the xdp-live program cannot follow this size pattern");
    }
    c.pattern_len = static_cast<std::uint32_t>(flow_.pattern_length());
    for (std::size_t i = 0; i < flow_.pattern_length(); ++i) {
      c.pattern[i] = static_cast<std::uint8_t>(flow_.prototype_at(i));
      cycle_bytes_ += flow_.size_at(i);
    }
    for (std::size_t i = 0; i < flow_.prototype_count(); ++i) {
      const auto p = flow_.prototype(i);
      const std::size_t n = std::min<std::size_t>(p.bytes.size(), LIVE_GEN_MAX_HEADER);
      std::memcpy(c.protos[i].header, p.bytes.data(), n);
      c.protos[i].frame_len = static_cast<std::uint32_t>(p.bytes.size());
      c.protos[i].ip_base_sum = p.ip_base_sum;
      c.protos[i].l4_base_sum = p.l4_base_sum;
    }
    c.header_len = static_cast<std::uint32_t>(l.header_size);
    c.src_addr_off = static_cast<std::uint32_t>(l.src_addr_offset);
    c.dst_addr_off = static_cast<std::uint32_t>(l.dst_addr_offset);
    c.port_off = static_cast<std::uint32_t>(l.port_offset);
    c.l4_csum_off = static_cast<std::uint32_t>(l.l4_checksum_offset);
    c.ip_csum_off = static_cast<std::uint32_t>(l.ip_checksum_offset);
    c.stamp_off = static_cast<std::uint32_t>(l.stamp_offset);
    c.udp = spec.proto == L4Proto::udp ? 1 : 0;
    c.pseudo_header = l.pseudo_header ? 1 : 0;
    c.src_mac = l.src_mac;
    c.src_mac_count = spec.src_mac.count;
    c.src_ip = l.src_ip_low;
    c.src_ip_count = spec.src_ip.count;
    c.dst_ip = l.dst_ip_low;
    c.dst_ip_count = spec.dst_ip.count;
    c.sport = spec.sport.first;
    c.sport_count = spec.sport.count();
    c.dport = spec.dport.first;
    c.dport_count = spec.dport.count();
    // Without --rx nobody reads the TX times: a clock reading per 64 frames keeps the stamps
    // roughly right at a fraction of the cost.
    c.clock_mask = options_.rx ? 0 : 63;
    if (const int err = live_gen_bpf__load(skel_.get()); err != 0) {
      return fail(Errc::unsupported,
                  std::string("loading the xdp-live program: ") + std::strerror(-err));
    }
    prog_fd_ = bpf_program__fd(skel_->progs.xdp_live_gen);
    EP_TRY_STATUS(plan_streams());
    // Every run starts from the largest prototype; the program cuts smaller sizes from it.
    for (std::size_t i = 0; i < flow_.prototype_count(); ++i) {
      const auto p = flow_.prototype(i);
      if (p.bytes.size() > data_in_.size()) {
        data_in_.assign(p.bytes.begin(), p.bytes.end());
      }
    }
    if (options_.rx) {
      datapath::xdp::XdpEngineOptions xo;
      xo.ifname = options_.iface;
      xo.mode = options_.xdp_mode;
      EP_TRY(auto engine, datapath::xdp::XdpEngine::create(xo));
      rx_engine_ = std::move(engine);
      rx_done_.store(false);
    }
    return {};
  }

  // One stream per --queues, each pinned to one of the CPUs this process may use: the program
  // keeps each stream's position in the state of the CPU it runs on.
  Status plan_streams() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) {
      return fail_errno("sched_getaffinity");
    }
    std::vector<unsigned> cpus;
    for (unsigned c = 0; c < CPU_SETSIZE && cpus.size() < options_.queues; ++c) {
      if (CPU_ISSET(c, &set)) {
        cpus.push_back(c);
      }
    }
    if (cpus.size() < options_.queues) {
      return fail(Errc::invalid_argument,
                  "--queues: the xdp-live engine runs a thread per CPU, and this process may use " +
                      std::to_string(cpus.size()));
    }
    for (unsigned q = 0; q < options_.queues; ++q) {
      if (cpus[q] >= LIVE_GEN_MAX_CPUS) {
        return fail(Errc::unsupported, "the xdp-live program keeps state for CPUs 0-" +
                                           std::to_string(LIVE_GEN_MAX_CPUS - 1) + ", not " +
                                           std::to_string(cpus[q]));
      }
      Stream st;
      st.cpu = cpus[q];
      st.index = q;
      st.rate = options_.rate.divided(options_.queues);
      if (options_.count != 0) {
        st.count = share_of(options_.count, q, options_.queues);
        if (st.count == 0) {
          continue;  // more threads than frames
        }
      }
      skel_->bss->state[st.cpu].seq = make_seq(q, 0);
      streams_.push_back(st);
    }
    return {};
  }

  [[nodiscard]] bool tx_done() const { return tx_finished_.load() == streams_.size(); }

  // The bytes of `n` frames from the pattern's `position` on.
  [[nodiscard]] std::uint64_t bytes_of(std::size_t position, std::uint32_t n) const {
    const std::size_t cycle = flow_.pattern_length();
    std::uint64_t bytes = std::uint64_t{n / cycle} * cycle_bytes_;
    for (std::uint32_t i = 0; i < n % cycle; ++i) {
      bytes += flow_.size_at(position + i);
    }
    return bytes;
  }

  // One BPF_PROG_RUN of the next `n` frames of the stream's flow; false on a failed run.
  bool run_batch(Stream& st, std::uint32_t n) {
    xdp_md ctx{};
    ctx.ingress_ifindex = ifindex_;
    ctx.data_end = static_cast<std::uint32_t>(data_in_.size());
    bpf_test_run_opts opts{};  // LIBBPF_OPTS is a GNU statement expression: spelled out
    opts.sz = sizeof(opts);
    opts.data_in = data_in_.data();
    opts.data_size_in = static_cast<std::uint32_t>(data_in_.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.repeat = static_cast<int>(n);
    opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
    opts.batch_size = std::min<std::uint32_t>(n, 64);  // a veth ring (256) never overflows
    if (dump_ != nullptr && st.index == 0 && !dump_->full()) {
      // The frames the program makes are not visible here; dump what it makes them from,
      // completed the way the program completes them.
      FlowCursor c = st.dump_cursor;
      std::vector<std::byte> frame(data_in_.size());
      for (std::uint32_t i = 0; i < n && !dump_->full(); ++i) {
        const std::size_t size =
            flow_.write(frame, c, skel_->bss->state[st.cpu].seq + i, monotonic_ns());
        if (size != 0) {
          dump_->write(ConstBytes(frame.data(), size), realtime_ns());
        }
      }
      st.dump_cursor = c;
    }
    if (bpf_prog_test_run_opts(prog_fd_, &opts) != 0) {
      return false;
    }
    tx_packets_.add(n);
    tx_bytes_.add(bytes_of(st.position, n));
    st.position = (st.position + n) % flow_.pattern_length();
    return true;
  }

  void run_tx(Stream& st) {
    const auto deadline = deadline_after(options_.duration);
    cpu_set_t own_cpu;
    CPU_ZERO(&own_cpu);
    CPU_SET(st.cpu, &own_cpu);
    if (::pthread_setaffinity_np(::pthread_self(), sizeof own_cpu, &own_cpu) != 0) {
      tx_errors_.fetch_add(1);  // off its CPU, it would walk another stream's state
      return;
    }
    SteadyClock& clock = SteadyClock::instance();
    // Each BPF_PROG_RUN costs about a millisecond or more of setup and teardown (a page pool per
    // call; much more on a busy machine), so the bucket holds 50 ms of traffic and a run takes
    // all the credit there is, waiting for at least a millisecond's worth: the rate holds on
    // average, in bursts of runs (rate control by batching runs). Every size of the pattern
    // goes in each run, so a run's length does not depend on the sizes.
    // When a run takes longer than the bucket lasts (a loaded machine: tens of milliseconds),
    // the bucket grows to twice the run, up to a second of traffic, so that no credit is lost.
    const Rate& rate = st.rate;
    const bool bits = rate.unit == Rate::Unit::bps;
    const double one = bits ? 8.0 * static_cast<double>(flow_.max_size()) : 1.0;
    const double smallest = bits ? 8.0 * static_cast<double>(flow_.min_size()) : 1.0;
    double burst = rate.limited() ? std::max(one, rate.value * 0.05) : one;
    const double max_burst = std::max(burst, rate.value);
    const auto min_run = static_cast<std::uint32_t>(
        rate.limited() ? std::clamp(rate.value * 0.001 / one, 1.0, static_cast<double>(kLimitedRun))
                       : 1.0);
    RateLimiter limiter(clock, rate, burst);
    std::uint64_t sent = 0;
    double measured_pps = 0;  // of the last long run, for sizing runs before the deadline
    while (!stop_.load(std::memory_order_relaxed) && clock.now() < deadline) {
      if (st.count != 0 && sent >= st.count) {
        break;
      }
      std::uint32_t want = measured_pps > 0 ? kMaxRun : kFirstRun;
      if (measured_pps > 0 && deadline != Clock::TimePoint::max()) {
        const double left = std::chrono::duration<double>(deadline - clock.now()).count();
        want = static_cast<std::uint32_t>(
            std::clamp(measured_pps * left, 1024.0, static_cast<double>(kMaxRun)));
      }
      if (rate.limited()) {
        // As many frames as the bucket may hold; the tokens decide how many go.
        want = std::min(want, static_cast<std::uint32_t>(std::ceil(burst / smallest)));
      }
      if (st.count != 0) {
        want = static_cast<std::uint32_t>(std::min<std::uint64_t>(want, st.count - sent));
      }
      std::uint32_t n = want;
      if (rate.limited()) {
        const auto wait =
            limiter.time_until(limiter.cost(flow_.size_at(st.position)) * std::min(want, min_run));
        n = 0;
        while (wait.count() == 0 && n < want &&
               limiter.try_take(limiter.cost(flow_.size_at(st.position + n)))) {
          ++n;
        }
        if (n == 0) {
          if (wait > std::chrono::microseconds(150)) {
            std::this_thread::sleep_for(wait - std::chrono::microseconds(80));
          } else if (wait > std::chrono::microseconds(20)) {
            std::this_thread::yield();
          }
          continue;
        }
      }
      const auto run_start = clock.now();
      if (!run_batch(st, n)) {
        tx_errors_.fetch_add(1);
        break;
      }
      const double took = std::chrono::duration<double>(clock.now() - run_start).count();
      if (n >= 1024 && took > 0) {
        measured_pps = static_cast<double>(n) / took;
      }
      if (rate.limited() && rate.value * 2 * took > burst) {
        burst = std::min(max_burst, rate.value * 2 * took);
        limiter.set_burst(burst);
      }
      sent += n;
    }
  }

  void run_rx() {
    static constexpr wire::FrameParser kParser;
    SteadyClock& clock = SteadyClock::instance();
    datapath::FrameBatch batch;
    auto quiet_since = clock.now();
    std::uint64_t seen = 0;
    while (!rx_stop_.load()) {
      bool any = false;
      for (std::size_t q = 0; q < rx_engine_->queue_count(); ++q) {
        if (rx_engine_->receive(q, batch) == 0) {
          continue;
        }
        any = true;
        const std::uint64_t now = monotonic_ns();
        for (const datapath::Frame& f : batch) {
          const auto parsed = kParser.parse(f.data());
          if (!parsed || parsed.frame.l4 == wire::L4Kind::none) {
            continue;
          }
          if (const auto stamp = read_stamp(parsed.frame.payload)) {
            rx_.record(*stamp, now);
            rx_packets_.add(1);
            rx_bytes_.add(f.size());
          }
        }
        rx_engine_->release(q, batch);
      }
      if (any || rx_.received() != seen) {
        seen = rx_.received();
        quiet_since = clock.now();
      }
      if (tx_done() &&
          (stop_.load() || clock.now() - quiet_since > std::chrono::milliseconds(100) ||
           rx_.received() >= tx_packets_.get())) {
        break;
      }
      if (!any) {
        (void)rx_engine_->wait(0, std::chrono::milliseconds(1));
      }
    }
    rx_done_.store(true);
  }

  GenOptions options_;
  const FlowTemplate& flow_;
  PcapWriter* dump_;
  const std::atomic<bool>& stop_;
  unsigned ifindex_ = 0;
  std::unique_ptr<live_gen_bpf, SkeletonDeleter> skel_;
  int prog_fd_ = -1;
  std::vector<std::byte> data_in_;  // the largest prototype: every run starts from it
  std::uint64_t cycle_bytes_ = 0;   // of one pass over the size pattern
  std::vector<Stream> streams_;
  std::unique_ptr<datapath::xdp::XdpEngine> rx_engine_;
  std::vector<std::thread> tx_threads_;
  std::thread rx_thread_;
  std::atomic<std::size_t> tx_finished_{0};
  std::atomic<bool> rx_done_{true};
  std::atomic<bool> rx_stop_{false};
  datapath::Counter tx_packets_;
  datapath::Counter tx_bytes_;
  datapath::Counter rx_packets_;
  datapath::Counter rx_bytes_;
  std::atomic<std::uint64_t> tx_errors_{0};
  RxTracker rx_;
};

}  // namespace

Result<std::unique_ptr<Job>> make_live_job(const GenOptions& o, const FlowTemplate& flow,
                                           PcapWriter* dump, const std::atomic<bool>& stop) {
  return LiveJob::create(o, flow, dump, stop);
}

}  // namespace etherpath::gen
