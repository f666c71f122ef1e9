// Sender: batches of up to 64 frames; the token bucket decides how many go in each.
#include "tools/etherpath-gen/sender.hpp"

#include <algorithm>
#include <ctime>
#include <thread>

#include "conn/wire/frame_parser.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::gen {
namespace {

// Enough credit to ride out a late wakeup (10 ms of traffic, sent back to back after such a
// wakeup), but at least one packet; growing to 100 ms when the sender is kept off the CPU for
// longer, as on a loaded machine.
double bucket_size(const Rate& rate, const FlowTemplate& flow, double seconds) {
  if (!rate.limited()) {
    return 1;
  }
  const double one = rate.unit == Rate::Unit::bps ? 8.0 * static_cast<double>(flow.max_size()) : 1;
  return std::max(one, rate.value * seconds);
}

}  // namespace

std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

Sender::Sender(datapath::Engine& engine, std::size_t queue, const FlowTemplate& flow,
               SenderOptions options, const std::atomic<bool>& stop)
    : engine_(engine),
      queue_(queue),
      flow_(flow),
      options_(options),
      stop_(stop),
      clock_(SteadyClock::instance()),
      limiter_(clock_, options.rate, bucket_size(options.rate, flow, 0.01),
               bucket_size(options.rate, flow, 0.1)) {}

void Sender::run() {
  while (options_.rx_only && !stop_.load(std::memory_order_relaxed) &&
         !options_.tx_over->load(std::memory_order_relaxed)) {
    poll_rx();
    (void)engine_.wait(queue_, std::chrono::milliseconds(1));
  }
  while (!options_.rx_only && !stop_.load(std::memory_order_relaxed)) {
    if (options_.count != 0 && sent_ >= options_.count) {
      break;
    }
    if (options_.rx) {
      poll_rx();
    }
    std::size_t want = datapath::FrameBatch::kCapacity;
    if (options_.count != 0) {
      want = static_cast<std::size_t>(std::min<std::uint64_t>(want, options_.count - sent_));
    }
    std::size_t granted = want;
    if (options_.rate.limited()) {
      granted = 0;
      while (granted < want &&
             limiter_.try_take(limiter_.cost(flow_.size_at(cursor_.size + granted)))) {
        ++granted;
      }
      if (granted == 0) {
        const auto wait = limiter_.time_until(limiter_.cost(flow_.size_at(cursor_.size)));
        engine_.flush(queue_);
        // nanosleep overshoots by tens of microseconds: sleep only the bulk of a long wait and
        // spin the rest, so that packets leave on time.
        if (wait > std::chrono::microseconds(150)) {
          std::this_thread::sleep_for(wait - std::chrono::microseconds(80));
        } else if (wait > std::chrono::microseconds(20)) {
          std::this_thread::yield();
        }
        continue;
      }
    }
    if (clock_.now() >= options_.deadline) {
      break;
    }
    const std::size_t sent = send_batch(granted);
    if (sent < granted && options_.rate.limited()) {
      for (std::size_t i = sent; i < granted; ++i) {
        limiter_.give_back(limiter_.cost(flow_.size_at(cursor_.size + i - sent)));
      }
    }
  }
  drain_tx();
  if (options_.rx) {
    const auto end = clock_.now() + options_.rx_linger;
    auto last_seen = clock_.now();
    std::uint64_t seen = rx_.received();
    while (clock_.now() < end && !stop_.load(std::memory_order_relaxed)) {
      poll_rx();
      if (rx_.received() != seen) {
        seen = rx_.received();
        last_seen = clock_.now();
      } else if (clock_.now() - last_seen > std::chrono::milliseconds(100)) {
        break;
      }
      (void)engine_.wait(queue_, std::chrono::milliseconds(10));
    }
  }
  final_stats_ = engine_.stats(queue_);
}

std::size_t Sender::send_batch(std::size_t n) {
  const std::size_t got = engine_.alloc(queue_, batch_, n);
  if (got == 0) {
    engine_.flush(queue_);  // recycles completed frames
    return 0;
  }
  const std::uint64_t now = monotonic_ns();
  std::uint64_t bytes = 0;
  for (datapath::Frame& f : batch_) {
    const std::size_t size = flow_.write(Bytes(f.chunk() + f.offset(), f.capacity()), cursor_,
                                         make_seq(options_.stream, next_seq_++), now);
    f.resize(static_cast<std::uint32_t>(size));
    bytes += size;
    if (options_.dump != nullptr && !options_.dump->full()) {
      options_.dump->write(f.data(), realtime_ns());
    }
  }
  const std::size_t total = batch_.size();
  std::size_t taken = 0;
  while (!batch_.empty()) {
    taken += engine_.transmit(queue_, batch_);
    if (!batch_.empty()) {
      engine_.flush(queue_);  // TX ring full: kick and reap, then retry
      if (stop_.load(std::memory_order_relaxed)) {
        engine_.release(queue_, batch_);
        break;
      }
    }
  }
  engine_.flush(queue_);
  sent_ += taken;
  counters_.tx_packets.add(taken);
  counters_.tx_bytes.add(taken == total ? bytes : bytes * taken / total);
  return taken;
}

void Sender::drain_tx() {
  auto* xdp = dynamic_cast<datapath::xdp::XdpEngine*>(&engine_);
  const auto end = clock_.now() + std::chrono::seconds(1);
  if (xdp == nullptr) {
    engine_.flush(queue_);
    return;
  }
  while (xdp->socket(queue_).outstanding_tx() != 0 && clock_.now() < end) {
    engine_.flush(queue_);
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void Sender::poll_rx() {
  static constexpr wire::FrameParser kParser;
  if (engine_.receive(queue_, rx_batch_) == 0) {
    return;
  }
  const std::uint64_t now = monotonic_ns();
  std::uint64_t n = 0;
  std::uint64_t bytes = 0;
  for (const datapath::Frame& f : rx_batch_) {
    const auto parsed = kParser.parse(f.data());
    if (!parsed || parsed.frame.l4 == wire::L4Kind::none) {
      continue;
    }
    if (const auto stamp = read_stamp(parsed.frame.payload)) {
      rx_.record(*stamp, now);
      ++n;
      bytes += f.size();
    }
  }
  engine_.release(queue_, rx_batch_);
  counters_.rx_packets.add(n);
  counters_.rx_bytes.add(bytes);
}

}  // namespace etherpath::gen
