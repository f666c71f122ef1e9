// PcapEngine: pcap_create/activate in immediate mode, filter compile, dispatch into a frame pool.
#include "datapath/pcap/pcap_engine.hpp"

#include <pcap/pcap.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace etherpath::datapath::pcap {

namespace {

Error pcap_error(::pcap* p, const std::string& what) {
  return {Errc::unsupported, what + ": " + ::pcap_geterr(p)};
}

}  // namespace

Result<std::unique_ptr<PcapEngine>> PcapEngine::create(const PcapEngineOptions& options) {
  if (options.frame_size < 256 + options.headroom || options.frames == 0) {
    return fail(Errc::invalid_argument, "pcap engine: frame size too small for the headroom");
  }
  if (options.frame_size > FramePool::kMaxChunkSize) {
    return fail(Errc::invalid_argument, "pcap engine: frame size " +
                                            std::to_string(options.frame_size) + " above " +
                                            std::to_string(FramePool::kMaxChunkSize));
  }
  std::unique_ptr<PcapEngine> e(new PcapEngine());
  e->options_ = options;
  EP_TRY(e->link_, LinkState::open(options.ifname));
  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  e->handle_ = ::pcap_create(options.ifname.c_str(), errbuf.data());
  if (e->handle_ == nullptr) {
    return fail(Errc::not_found, options.ifname + ": pcap_create: " + errbuf.data());
  }
  const std::string where = options.ifname + ": pcap";
  ::pcap_set_snaplen(e->handle_, static_cast<int>(options.frame_size - options.headroom));
  ::pcap_set_promisc(e->handle_, options.promiscuous ? 1 : 0);
  ::pcap_set_immediate_mode(e->handle_, 1);
  ::pcap_set_buffer_size(e->handle_, options.buffer_bytes);
  if (const int rc = ::pcap_activate(e->handle_); rc < 0) {
    return fail(pcap_error(e->handle_, where + " activate"));
  }
  if (::pcap_setnonblock(e->handle_, 1, errbuf.data()) != 0) {
    return fail(Errc::unsupported, where + " non-blocking: " + errbuf.data());
  }
  // Our own injected frames would otherwise come back to us.
  if (::pcap_setdirection(e->handle_, PCAP_D_IN) != 0) {
    return fail(pcap_error(e->handle_, where + " direction"));
  }
  e->filter_ = options.filter.value_or(kDefaultFilter);
  if (!e->filter_.empty()) {
    ::bpf_program program{};
    if (::pcap_compile(e->handle_, &program, e->filter_.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return fail(Errc::invalid_argument,
                  where + " filter '" + e->filter_ + "': " + ::pcap_geterr(e->handle_));
    }
    const int rc = ::pcap_setfilter(e->handle_, &program);
    ::pcap_freecode(&program);
    if (rc != 0) {
      return fail(pcap_error(e->handle_, where + " set filter"));
    }
  }
  e->selectable_fd_ = ::pcap_get_selectable_fd(e->handle_);
  e->arena_.resize(std::size_t{options.frames} * options.frame_size);
  e->pool_.base = e->arena_.data();
  e->pool_.chunk_size = options.frame_size;
  e->free_.reserve(options.frames);
  for (std::uint32_t i = options.frames; i > 0; --i) {
    e->free_.push_back(std::uint64_t{i - 1} * options.frame_size);
  }
  return e;
}

PcapEngine::~PcapEngine() {
  if (handle_ != nullptr) {
    ::pcap_close(handle_);
  }
}

void PcapEngine::on_packet(unsigned char* user, const ::pcap_pkthdr* header,
                           const unsigned char* bytes) {
  auto* self = reinterpret_cast<PcapEngine*>(user);  // NOLINT: pcap's callback cookie
  if (self->free_.empty() || self->dispatch_batch_->full()) {
    ++self->counters_.kernel_rx_fill_ring_empty_descs;  // no buffer: the frame is lost
    return;
  }
  const std::uint64_t addr = self->free_.back();
  self->free_.pop_back();
  const std::uint32_t len =
      std::min(header->caplen, self->options_.frame_size - self->options_.headroom);
  Frame f(self->pool_, addr, self->options_.headroom, len);
  std::memcpy(f.data().data(), bytes, len);
  self->dispatch_batch_->push(f);
  ++self->counters_.rx_packets;
  self->counters_.rx_bytes += len;
}

std::size_t PcapEngine::receive(std::size_t /*q*/, FrameBatch& batch) {
  const std::size_t before = batch.size();
  if (batch.full()) {
    return 0;
  }
  dispatch_batch_ = &batch;
  ::pcap_dispatch(handle_, static_cast<int>(batch.room()), &PcapEngine::on_packet,
                  reinterpret_cast<unsigned char*>(this));  // NOLINT: pcap's callback cookie
  dispatch_batch_ = nullptr;
  return batch.size() - before;
}

void PcapEngine::release(std::size_t /*q*/, FrameBatch& batch) {
  for (const Frame& f : batch) {
    if (f.pool() == &pool_) {
      free_.push_back(f.chunk_addr());
    }
  }
  batch.clear();
}

std::size_t PcapEngine::alloc(std::size_t /*q*/, FrameBatch& batch, std::size_t n) {
  std::size_t got = 0;
  while (got < n && !batch.full() && !free_.empty()) {
    const std::uint64_t addr = free_.back();
    free_.pop_back();
    batch.push(Frame(pool_, addr, options_.headroom, 0));
    ++got;
  }
  return got;
}

std::size_t PcapEngine::transmit(std::size_t /*q*/, FrameBatch& batch) {
  std::size_t n = 0;
  while (n < batch.size() && batch[n].pool() == &pool_) {
    const Frame& f = batch[n];
    if (::pcap_inject(handle_, f.data().data(), f.size()) < 0) {
      ++counters_.tx_errors;
    } else {
      ++counters_.tx_packets;
      counters_.tx_bytes += f.size();
    }
    ++counters_.tx_completed;
    free_.push_back(f.chunk_addr());
    ++n;
  }
  batch.drop_front(n);
  return n;
}

Result<bool> PcapEngine::wait(std::size_t /*q*/, std::chrono::milliseconds timeout) {
  pollfd p{selectable_fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r < 0) {
    if (errno == EINTR) {
      return false;
    }
    return fail_errno(options_.ifname + ": pcap poll");
  }
  if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
    EP_TRY_STATUS(link_.check());
    return fail(Errc::closed, options_.ifname + ": pcap socket error");
  }
  if ((p.revents & POLLIN) == 0) {
    EP_TRY_STATUS(link_.check());
    return false;
  }
  return true;
}

QueueStats PcapEngine::stats(std::size_t /*q*/) const {
  QueueStats s = counters_;
  ::pcap_stat ps{};
  if (::pcap_stats(handle_, &ps) == 0) {
    s.kernel_rx_dropped = ps.ps_drop;
  }
  return s;
}

}  // namespace etherpath::datapath::pcap
