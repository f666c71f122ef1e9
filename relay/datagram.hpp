// Datagram and DatagramBatch: borrowed datagrams that a Transport hands to the Forwarder and back.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"

namespace etherpath::relay {

// Equality in word compares, for the per-frame paths that compare several addresses per frame:
// the defaulted operator== of IpAddress and MacAddress compiles to memcmp calls.
[[nodiscard]] inline bool same_address(const IpAddress& a, const IpAddress& b) noexcept {
  std::array<std::uint64_t, 2> x{};
  std::array<std::uint64_t, 2> y{};
  std::memcpy(x.data(), a.bytes().data(), 16);
  std::memcpy(y.data(), b.bytes().data(), 16);
  return a.family() == b.family() && ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}
[[nodiscard]] inline bool same_endpoint(const IpEndpoint& a, const IpEndpoint& b) noexcept {
  return a.port == b.port && same_address(a.address, b.address);
}
[[nodiscard]] inline bool same_mac(const MacAddress& a, const MacAddress& b) noexcept {
  std::uint64_t x = 0;
  std::uint64_t y = 0;
  std::memcpy(&x, a.octets().data(), 6);
  std::memcpy(&y, b.octets().data(), 6);
  return x == y;
}

// A transport's socket or queue, as the forwarder names it. The listener is always port 0.
using PortId = std::uint32_t;
inline constexpr PortId kListenerPort = 0;
inline constexpr PortId kNoPort = 0xffffffffU;

// What the transport owns behind a datagram (its buffer slot here, an AF_XDP frame in the
// datapath). Opaque to relay/: it only travels with the datagram so the frame can be sent in place.
using FrameHandle = std::uintptr_t;

// What the forwarder decided (before send) and what became of it (after send).
enum class Verdict : std::uint8_t {
  drop,     // released back to the transport unsent (the default for every received item)
  forward,  // to be sent on `port` to `peer`
  sent,     // the transport sent it
  failed,   // the transport tried and the kernel refused (counted as errs)
};

// One borrowed datagram. The bytes live in the transport's buffer from `buffer` to
// `buffer + capacity`; the payload is [offset, offset + length). Headroom before the payload lets
// the forwarder prepend a header (UDP -> ICMP) and send the same buffer on: a reply reuses the
// received item, so no datagram is ever copied by relay/. Valid until the next receive().
struct Datagram {
  std::byte* buffer = nullptr;
  std::uint32_t capacity = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  IpEndpoint peer;        // rx: the sender; tx: the destination (port 0 for ICMP)
  PortId port = kNoPort;  // rx: where it arrived; tx: where it leaves
  FrameHandle frame = 0;
  Verdict verdict = Verdict::drop;

  [[nodiscard]] Bytes payload() const { return {buffer + offset, length}; }
  [[nodiscard]] std::uint32_t headroom() const { return offset; }
  // Grows the payload at the front by n bytes (to write a header); false without headroom.
  [[nodiscard]] bool push_front(std::uint32_t n) {
    if (n > offset) {
      return false;
    }
    offset -= n;
    length += n;
    return true;
  }
  // Drops n bytes from the front (a parsed header); the caller has checked n <= length.
  void pull_front(std::uint32_t n) {
    offset += n;
    length -= n;
  }
};

// Up to kMaxBatch datagrams, storage allocated once with the batch.
class DatagramBatch {
 public:
  static constexpr std::size_t kMaxBatch = 64;

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == kMaxBatch; }
  [[nodiscard]] std::span<Datagram> items() { return {items_.data(), size_}; }
  [[nodiscard]] std::span<const Datagram> items() const { return {items_.data(), size_}; }
  Datagram& operator[](std::size_t i) { return items_[i]; }
  const Datagram& operator[](std::size_t i) const { return items_[i]; }
  void clear() { size_ = 0; }
  // Appends a default item and returns it; the caller has checked !full().
  Datagram& push_back() {
    Datagram& d = items_[size_++];
    d = Datagram{};
    return d;
  }

 private:
  std::array<Datagram, kMaxBatch> items_{};
  std::size_t size_ = 0;
};

}  // namespace etherpath::relay
