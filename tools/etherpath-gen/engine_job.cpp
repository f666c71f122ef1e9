// The xdp and pcap jobs: a Sender thread per engine queue.
#include <thread>
#include <vector>

#include "datapath/pcap/pcap_engine.hpp"
#include "datapath/xdp/xdp_engine.hpp"
#include "tools/etherpath-gen/job.hpp"
#include "tools/etherpath-gen/sender.hpp"

namespace etherpath::gen {
namespace {

class EngineJob final : public Job {
 public:
  EngineJob(std::unique_ptr<datapath::Engine> engine, const FlowTemplate& flow, const GenOptions& o,
            PcapWriter* dump, const std::atomic<bool>& stop)
      : engine_(std::move(engine)) {
    // With --rx the engine has a socket on every queue, since the returning stream lands on
    // whichever queue the peer's CPU picks (veth's XDP_TX), but only the first o.queues send.
    const std::size_t queues = std::min<std::size_t>(o.queues, engine_->queue_count());
    const auto deadline = deadline_after(o.duration);
    for (std::size_t q = queues; q < engine_->queue_count(); ++q) {
      SenderOptions so;
      so.rx = true;
      so.rx_only = true;
      so.tx_over = &tx_over_;
      so.stream = static_cast<unsigned>(q);
      rx_senders_.push_back(std::make_unique<Sender>(*engine_, q, flow, so, stop));
    }
    for (std::size_t q = 0; q < queues; ++q) {
      SenderOptions so;
      if (o.count != 0) {
        so.count = share_of(o.count, q, queues);
        if (so.count == 0) {
          continue;  // more queues than frames
        }
      }
      so.deadline = deadline;
      so.rate = o.rate.divided(static_cast<unsigned>(queues));
      so.rx = o.rx;
      so.stream = static_cast<unsigned>(q);
      so.dump = q == 0 ? dump : nullptr;
      senders_.push_back(std::make_unique<Sender>(*engine_, q, flow, so, stop));
    }
  }
  EngineJob(const EngineJob&) = delete;
  EngineJob& operator=(const EngineJob&) = delete;
  EngineJob(EngineJob&&) = delete;
  EngineJob& operator=(EngineJob&&) = delete;
  ~EngineJob() override { join(); }

  void start() override {
    for (auto& s : senders_) {
      threads_.emplace_back([this, sender = s.get()] {
        sender->run();
        if (finished_.fetch_add(1) + 1 == senders_.size()) {
          tx_over_.store(true);
        }
      });
    }
    for (auto& s : rx_senders_) {
      threads_.emplace_back([this, sender = s.get()] {
        sender->run();
        rx_finished_.fetch_add(1);
      });
    }
  }
  [[nodiscard]] bool done() const override {
    return finished_.load() == senders_.size() && rx_finished_.load() == rx_senders_.size();
  }
  void join() override {
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
  }
  [[nodiscard]] Totals totals() const override {
    Totals t;
    for (const auto& s : senders_) {
      t.tx_packets += s->counters().tx_packets.get();
      t.tx_bytes += s->counters().tx_bytes.get();
      t.rx_packets += s->counters().rx_packets.get();
      t.rx_bytes += s->counters().rx_bytes.get();
    }
    for (const auto& s : rx_senders_) {
      t.rx_packets += s->counters().rx_packets.get();
      t.rx_bytes += s->counters().rx_bytes.get();
    }
    return t;
  }
  [[nodiscard]] std::uint64_t tx_errors() const override {
    std::uint64_t e = 0;
    for (const auto& s : senders_) {
      e += s->final_stats().tx_errors + s->final_stats().kernel_tx_invalid_descs;
    }
    return e;
  }
  [[nodiscard]] RxTracker rx() const override {
    RxTracker all;
    for (const auto& s : senders_) {
      all.merge(s->rx());
    }
    for (const auto& s : rx_senders_) {
      all.merge(s->rx());
    }
    return all;
  }
  [[nodiscard]] std::string mode() const override {
    return std::string(engine_->kind()) + " " + engine_->mode();
  }

 private:
  std::unique_ptr<datapath::Engine> engine_;
  std::vector<std::unique_ptr<Sender>> senders_;  // after engine_: destroyed first
  std::vector<std::unique_ptr<Sender>> rx_senders_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> finished_{0};
  std::atomic<std::size_t> rx_finished_{0};
  std::atomic<bool> tx_over_{false};
};

}  // namespace

Clock::TimePoint deadline_after(double seconds) {
  if (seconds <= 0) {
    return Clock::TimePoint::max();
  }
  return SteadyClock::instance().now() +
         std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
}

Result<std::unique_ptr<Job>> make_xdp_job(const GenOptions& o, const FlowTemplate& flow,
                                          PcapWriter* dump, const std::atomic<bool>& stop) {
  datapath::xdp::XdpEngineOptions xo;
  xo.ifname = o.iface;
  if (!o.rx) {  // else every queue (empty list), see EngineJob
    for (unsigned q = 0; q < o.queues; ++q) {
      xo.queues.push_back(q);
    }
  }
  xo.mode = o.xdp_mode;
  xo.frame_size = 4096;
  EP_TRY(auto engine, datapath::xdp::XdpEngine::create(xo));
  return std::unique_ptr<Job>(std::make_unique<EngineJob>(std::move(engine), flow, o, dump, stop));
}

Result<std::unique_ptr<Job>> make_pcap_job(const GenOptions& o, const FlowTemplate& flow,
                                           PcapWriter* dump, const std::atomic<bool>& stop) {
  datapath::pcap::PcapEngineOptions po;
  po.ifname = o.iface;
  po.frame_size = 4096;  // kMaxFrameSize after the headroom
  po.frames = 512;
  EP_TRY(auto engine, datapath::pcap::PcapEngine::create(po));
  return std::unique_ptr<Job>(std::make_unique<EngineJob>(std::move(engine), flow, o, dump, stop));
}

}  // namespace etherpath::gen
