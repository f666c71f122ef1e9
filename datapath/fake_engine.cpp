// FakeEngine: a mutex-guarded arena and per-queue deques standing in for the AF_XDP rings.
#include "datapath/fake_engine.hpp"

#include <algorithm>
#include <cstring>

namespace etherpath::datapath {

FakeEngine::FakeEngine(Options options)
    : options_(options),
      arena_(std::size_t{options.frames} * options.frame_size),
      pool_{arena_.data(), options.frame_size},
      queues_(options.queues) {
  free_.reserve(options.frames);
  for (std::uint32_t i = options.frames; i > 0; --i) {
    free_.push_back(std::uint64_t{i - 1} * options.frame_size);
  }
}

std::optional<Frame> FakeEngine::take_free_locked(std::uint16_t q) {
  if (free_.empty()) {
    return std::nullopt;
  }
  const std::uint64_t addr = free_.back();
  free_.pop_back();
  return Frame(pool_, addr, options_.headroom, 0, q);
}

bool FakeEngine::inject(std::size_t q, std::span<const std::byte> bytes) {
  {
    const std::lock_guard lock(mutex_);
    auto f = take_free_locked(static_cast<std::uint16_t>(q));
    if (!f || bytes.size() > f->capacity()) {
      if (f) {
        free_.push_back(f->chunk_addr());
      }
      ++queues_[q].stats.kernel_rx_fill_ring_empty_descs;
      return false;
    }
    f->resize(static_cast<std::uint32_t>(bytes.size()));
    std::memcpy(f->data().data(), bytes.data(), bytes.size());
    queues_[q].rx.push_back(*f);
  }
  rx_ready_.notify_all();
  return true;
}

std::size_t FakeEngine::receive(std::size_t q, FrameBatch& batch) {
  const std::lock_guard lock(mutex_);
  auto& rx = queues_[q].rx;
  std::size_t n = 0;
  while (!rx.empty() && !batch.full()) {
    batch.push(rx.front());
    queues_[q].stats.rx_bytes += rx.front().size();
    rx.pop_front();
    ++n;
  }
  queues_[q].stats.rx_packets += n;
  return n;
}

void FakeEngine::release(std::size_t /*q*/, FrameBatch& batch) {
  const std::lock_guard lock(mutex_);
  for (const Frame& f : batch) {
    if (f.pool() == &pool_) {
      free_.push_back(f.chunk_addr());
    }
  }
  batch.clear();
}

std::size_t FakeEngine::alloc(std::size_t q, FrameBatch& batch, std::size_t n) {
  const std::lock_guard lock(mutex_);
  std::size_t got = 0;
  while (got < n && !batch.full()) {
    auto f = take_free_locked(static_cast<std::uint16_t>(q));
    if (!f) {
      break;
    }
    batch.push(*f);
    ++got;
  }
  return got;
}

std::size_t FakeEngine::transmit(std::size_t q, FrameBatch& batch) {
  const std::lock_guard lock(mutex_);
  auto& pending = queues_[q].tx_pending;
  std::size_t n = 0;
  while (n < batch.size() && batch[n].pool() == &pool_ && pending.size() < options_.tx_ring) {
    pending.push_back(batch[n]);
    queues_[q].stats.tx_bytes += batch[n].size();
    ++n;
  }
  queues_[q].stats.tx_packets += n;
  batch.drop_front(n);
  return n;
}

void FakeEngine::flush(std::size_t q) {
  const std::lock_guard lock(mutex_);
  auto& queue = queues_[q];
  for (const Frame& f : queue.tx_pending) {
    auto data = f.data();
    queue.sent.emplace_back(data.begin(), data.end());
    free_.push_back(f.chunk_addr());
  }
  queue.stats.tx_completed += queue.tx_pending.size();
  queue.tx_pending.clear();
}

Result<bool> FakeEngine::wait(std::size_t q, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  rx_ready_.wait_for(lock, timeout, [&] { return failure_ || !queues_[q].rx.empty(); });
  if (failure_) {
    return etherpath::fail(*failure_);
  }
  return !queues_[q].rx.empty();
}

QueueStats FakeEngine::stats(std::size_t q) const {
  const std::lock_guard lock(mutex_);
  return queues_[q].stats;
}

std::vector<std::vector<std::byte>> FakeEngine::take_sent(std::size_t q) {
  const std::lock_guard lock(mutex_);
  return std::exchange(queues_[q].sent, {});
}

void FakeEngine::fail(Error error) {
  {
    const std::lock_guard lock(mutex_);
    failure_ = std::move(error);
  }
  rx_ready_.notify_all();
}

std::size_t FakeEngine::free_frames() const {
  const std::lock_guard lock(mutex_);
  return free_.size();
}

}  // namespace etherpath::datapath
