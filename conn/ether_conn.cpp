// EtherConn: registration, frame building for sends, the lazily allocated lock-free receive ring.
#include "conn/ether_conn.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace etherpath::conn {

namespace {

constexpr std::size_t kMaxSlotFrame = 65535;  // the slot header's 2-byte length

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

EtherConn::EtherConn(datapath::PacketRelay& relay, EtherConnOptions options)
    : relay_(relay), options_(std::move(options)) {
  depth_ = static_cast<std::uint32_t>(options_.queue_depth);
  mask_ = std::bit_ceil(depth_) - 1;
  stride_ = static_cast<std::uint32_t>((kSlotHeader + options_.max_frame + 63) / 64 * 64);
  max_frame_ = static_cast<std::uint32_t>(options_.max_frame);
  ready_ = options_.ready_list;
  set_hot_line(&producing_);  // deliver() starts on the producers' line, not the vtable's
}

Result<std::unique_ptr<EtherConn>> EtherConn::open(datapath::PacketRelay& relay,
                                                   EtherConnOptions options) {
  if (options.ether_types.empty()) {
    return fail(Errc::invalid_argument, "EtherConn needs at least one EtherType");
  }
  if (options.queue_depth == 0 || options.queue_depth > (std::size_t{1} << 20U)) {
    return fail(Errc::invalid_argument, "EtherConn receive queue depth " +
                                            std::to_string(options.queue_depth) +
                                            ": must be 1 to 1048576");
  }
  if (options.max_frame < 14 || options.max_frame > kMaxSlotFrame) {
    return fail(Errc::invalid_argument, "EtherConn max_frame " + std::to_string(options.max_frame) +
                                            ": must be 14 to 65535");
  }
  std::unique_ptr<EtherConn> c(new EtherConn(relay, std::move(options)));
  if (c->options_.ready_list != nullptr) {
    c->options_.ready_list->attach();
  }
  datapath::Registration reg;
  reg.mac = c->options_.mac;
  reg.vlans = c->options_.vlans;
  reg.ether_types = c->options_.ether_types;
  reg.receive_multicast = c->options_.receive_multicast;
  reg.is_default = c->options_.is_default;
  const Status st = relay.register_receiver(c.get(), reg);
  if (!st) {
    return fail(st.error().wrap("EtherConn " + c->options_.mac.to_string()));  // dtor deregisters
  }
  return c;
}

EtherConn::~EtherConn() {
  relay_.deregister(this);  // no deliver() runs once this returns
  if (options_.ready_list != nullptr) {
    options_.ready_list->detach(this);
  }
}

Status EtherConn::send_ip(std::span<const std::byte> packet, const MacAddress& dst) {
  if (packet.empty()) {
    return fail(Errc::invalid_argument, "empty IP packet");
  }
  const auto version = static_cast<unsigned>(packet[0]) >> 4U;
  if (version == 4) {
    return send(packet, 0x0800, dst);
  }
  if (version == 6) {
    return send(packet, 0x86dd, dst);
  }
  return fail(Errc::invalid_argument,
              "failed to write to EtherConn, invalid IP version, " + std::to_string(version));
}

Status EtherConn::send(std::span<const std::byte> payload, std::uint16_t ether_type,
                       const MacAddress& dst) {
  std::array<std::byte, 9216> frame{};  // up to a jumbo frame, on the stack: no allocation
  const std::size_t header = 14 + 4 * options_.vlans.size();
  if (header + payload.size() > frame.size()) {
    return fail(Errc::invalid_argument,
                "payload of " + std::to_string(payload.size()) + " bytes is too large");
  }
  const Bytes f(frame.data(), frame.size());
  std::memcpy(f.data(), dst.octets().data(), 6);
  std::memcpy(f.data() + 6, options_.mac.octets().data(), 6);
  std::size_t off = 12;
  for (const VlanTag& t : options_.vlans) {
    store_be16(f, off, t.tpid);
    store_be16(f, off + 2, t.tci());
    off += 4;
  }
  store_be16(f, off, ether_type);
  off += 2;
  std::memcpy(f.data() + off, payload.data(), payload.size());
  // Short frames are padded to the Ethernet minimum (60 bytes without FCS).
  const std::size_t len = std::max<std::size_t>(off + payload.size(), 60);
  return relay_.send(f.first(len));
}

bool EtherConn::deliver(const datapath::Frame& frame, const datapath::L2Header& header) {
  const auto data = frame.data();
  if (data.size() <= header.payload_offset) {
    return true;  // nothing to hand over (etherconn skips empty payloads too)
  }
  if (data.size() > max_frame_) {
    overflows_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Several poll threads (one per interface queue) may deliver to one conn; usually one does,
  // and then this flag is one uncontended exchange on a line the producer owns.
  while (producing_.exchange(true, std::memory_order_acquire)) {
    while (producing_.load(std::memory_order_relaxed)) {
      cpu_relax();
    }
  }
  const std::uint32_t tail = tail_local_;
  if (tail - head_seen_ >= depth_) {
    head_seen_ = head_.load(std::memory_order_acquire);  // the slot is free once read
    if (tail - head_seen_ >= depth_) {
      producing_.store(false, std::memory_order_release);
      overflows_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  std::byte* ring = ring_.load(std::memory_order_relaxed);  // ordered by producing_
  if (ring == nullptr) {
    // First use: the queue is allocated once, here, and never again (an idle host has none).
    ring_owner_.reset(
        static_cast<std::byte*>(::operator new[](std::size_t{mask_ + 1} * stride_, kRingAlign)));
    ring = ring_owner_.get();
    ring_.store(ring, std::memory_order_relaxed);  // readers see it after tail_ (release) below
  }
  std::byte* slot = ring + std::size_t{tail & mask_} * stride_;
  const std::array<std::uint16_t, 2> head_words{static_cast<std::uint16_t>(data.size()),
                                                static_cast<std::uint16_t>(header.payload_offset)};
  std::memcpy(slot, head_words.data(), kSlotHeader);
  std::memcpy(slot + kSlotHeader, data.data(), data.size());
  tail_local_ = tail + 1;
  // seq_cst: the publication must be ordered before the loads of in_ready_ and waiters_ below
  // (a reader that goes to sleep, or a consumer that clears in_ready_, re-checks tail_ after).
  tail_.store(tail + 1, std::memory_order_seq_cst);
  producing_.store(false, std::memory_order_release);
  if (ready_ != nullptr && !in_ready_.load() && !in_ready_.exchange(true)) {
    ready_->push(this);
  }
  if (waiters_.load() != 0) {
    { const std::lock_guard lock(wait_mutex_); }  // the reader is asleep or will see tail_
    readable_.notify_all();
  }
  return true;
}

const void* EtherConn::next_write() const {
  // A hint, read without the producers' flag (hence the atomics): a stale slot only makes the
  // prefetch useless.
  std::byte* ring = ring_.load(std::memory_order_relaxed);
  if (ring == nullptr) {
    return nullptr;
  }
  return ring + std::size_t{tail_.load(std::memory_order_relaxed) & mask_} * stride_;
}

void EtherConn::notify_ready() {
  if (ready_ != nullptr && !in_ready_.exchange(true)) {
    ready_->push(this);
  }
}

void EtherConn::relay_stopped() {
  {
    const std::lock_guard lock(wait_mutex_);
    stopped_ = true;
  }
  readable_.notify_all();
  notify_ready();  // a ReadyList consumer learns through stopped()
}

std::optional<EtherPacket> EtherConn::take(std::span<std::byte> buffer) {
  const std::uint32_t head = head_.load(std::memory_order_relaxed);
  if (head == tail_.load(std::memory_order_acquire)) {
    return std::nullopt;
  }
  // Non-empty, so the producer stored ring_ before the tail_ this thread acquired.
  const std::byte* slot =
      ring_.load(std::memory_order_relaxed) + std::size_t{head & mask_} * stride_;
  std::array<std::uint16_t, 2> head_words{};
  std::memcpy(head_words.data(), slot, kSlotHeader);
  const ConstBytes stored(slot + kSlotHeader, head_words[0]);
  const std::size_t payload_offset = head_words[1];
  EtherPacket p;
  p.full_size = stored.size() - payload_offset;
  p.size = std::min(p.full_size, buffer.size());
  std::memcpy(buffer.data(), stored.data() + payload_offset, p.size);
  // The relay parsed this frame before delivering it (payload_offset >= 14, tags in between), so
  // the addresses and tags are read back from the stored frame rather than kept in every slot.
  MacAddress::Octets mac{};
  std::memcpy(mac.data(), stored.data(), mac.size());
  p.dst = MacAddress(mac);
  std::memcpy(mac.data(), stored.data() + 6, mac.size());
  p.src = MacAddress(mac);
  for (std::size_t off = 12; off + 2 < payload_offset; off += 4) {
    p.vlans.push_back(VlanTag::from_tci(load_be16(stored, off), load_be16(stored, off + 2)));
  }
  p.ether_type = load_be16(stored, payload_offset - 2);
  head_.store(head + 1, std::memory_order_release);  // the slot may be reused from now on
  return p;
}

std::optional<EtherPacket> EtherConn::try_read(std::span<std::byte> buffer) {
  // Empty needs no lock: a drain loop ends with this check on every conn it serves.
  if (head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire)) {
    return std::nullopt;
  }
  const std::lock_guard lock(read_mutex_);
  return take(buffer);
}

Result<EtherPacket> EtherConn::read(std::span<std::byte> buffer,
                                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      const std::lock_guard lock(read_mutex_);
      if (auto p = take(buffer)) {
        return *p;
      }
    }
    std::unique_lock lock(wait_mutex_);
    if (stopped_) {
      // Frames delivered before the stop are still read; stopped_ is set after the last one.
      if (head_.load() != tail_.load()) {
        continue;
      }
      return fail(Errc::relay_stopped, "EtherConn " + options_.mac.to_string() + ": relay stopped");
    }
    waiters_.fetch_add(1);  // seq_cst: ordered before the re-check of tail_ below
    const bool ready = readable_.wait_until(lock, deadline, [&] {
      return head_.load(std::memory_order_relaxed) != tail_.load() || stopped_.load();
    });
    waiters_.fetch_sub(1);
    if (!ready) {
      return fail(Errc::timeout, "EtherConn " + options_.mac.to_string() + ": read timeout");
    }
  }
}

std::uint64_t EtherConn::overflows() const {
  return overflows_.load(std::memory_order_relaxed);
}

std::size_t EtherConn::queued() const {
  return tail_.load() - head_.load();
}

std::size_t EtherConn::queue_bytes() const {
  return tail_.load() == 0 ? 0 : std::size_t{mask_ + 1} * stride_;
}

}  // namespace etherpath::conn
