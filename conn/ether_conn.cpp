// EtherConn: registration, frame building for sends, the bounded receive ring.
#include "conn/ether_conn.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace etherpath::conn {

Result<std::unique_ptr<EtherConn>> EtherConn::open(datapath::PacketRelay& relay,
                                                   EtherConnOptions options) {
  if (options.ether_types.empty()) {
    return fail(Errc::invalid_argument, "EtherConn needs at least one EtherType");
  }
  if (options.queue_depth == 0) {
    return fail(Errc::invalid_argument, "EtherConn receive queue depth 0");
  }
  std::unique_ptr<EtherConn> c(new EtherConn(relay, std::move(options)));
  datapath::Registration reg;
  reg.mac = c->options_.mac;
  reg.vlans = c->options_.vlans;
  reg.ether_types = c->options_.ether_types;
  reg.receive_multicast = c->options_.receive_multicast;
  reg.is_default = c->options_.is_default;
  const Status st = relay.register_receiver(c.get(), reg);
  if (!st) {
    relay.deregister(c.get());
    return fail(st.error().wrap("EtherConn " + c->options_.mac.to_string()));
  }
  return c;
}

EtherConn::~EtherConn() {
  relay_.deregister(this);
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
  const std::lock_guard lock(mutex_);
  if (slots_.empty()) {
    // First use: the queue is allocated once, here, and never again.
    slots_.resize(options_.queue_depth);
    for (auto& s : slots_) {
      s.bytes.resize(options_.max_frame);
    }
  }
  if (count_ == slots_.size() || data.size() > options_.max_frame) {
    ++overflows_;
    return false;
  }
  Slot& s = slots_[(head_ + count_) % slots_.size()];
  std::memcpy(s.bytes.data(), data.data(), data.size());
  s.size = data.size();
  s.payload_offset = header.payload_offset;
  s.src = header.src;
  s.dst = header.dst;
  s.vlans = header.vlans;
  s.ether_type = header.ether_type;
  ++count_;
  readable_.notify_one();
  return true;
}

void EtherConn::relay_stopped() {
  {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  readable_.notify_all();
}

Result<EtherPacket> EtherConn::read(std::span<std::byte> buffer,
                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!readable_.wait_for(lock, timeout, [&] { return count_ > 0 || stopped_; })) {
    return fail(Errc::timeout, "EtherConn " + options_.mac.to_string() + ": read timeout");
  }
  if (count_ == 0) {
    return fail(Errc::relay_stopped, "EtherConn " + options_.mac.to_string() + ": relay stopped");
  }
  const Slot& s = slots_[head_];
  EtherPacket p;
  p.full_size = s.size - s.payload_offset;
  p.size = std::min(p.full_size, buffer.size());
  std::memcpy(buffer.data(), s.bytes.data() + s.payload_offset, p.size);
  p.src = s.src;
  p.dst = s.dst;
  p.vlans = s.vlans;
  p.ether_type = s.ether_type;
  head_ = (head_ + 1) % slots_.size();
  --count_;
  return p;
}

std::uint64_t EtherConn::overflows() const {
  const std::lock_guard lock(mutex_);
  return overflows_;
}

std::size_t EtherConn::queued() const {
  const std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace etherpath::conn
