// FrameTemplate: a per-endpoint frame (Ethernet, tags, IPv4/IPv6, UDP or ICMP echo) made once;
// each send copies its headers and patches only the payload, the lengths, the ports or echo
// id/sequence, the IPv4 ID and the checksums, from partial sums cached at construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/byte_order.hpp"
#include "base/result.hpp"

namespace etherpath::wire {

// What changes per frame.
struct FramePatch {
  std::uint16_t src_port = 0;  // UDP source port, or ICMP echo identifier
  std::uint16_t dst_port = 0;  // UDP destination port, or ICMP echo sequence number
  std::uint16_t ipv4_id = 0;   // IPv4 identification (unused for IPv6)
};

class FrameTemplate {
 public:
  static constexpr std::size_t kMaxHeaderSize = 128;

  // From a complete frame (say, one FrameBuilder made with an empty payload) whose checksums are
  // right: UDP or ICMP echo over IPv4 or IPv6 (with extension headers), up to two tags. Only its
  // headers are kept; its payload, ports/ids, lengths and checksums are replaced on each write.
  static Result<FrameTemplate> from_frame(ConstBytes prototype);

  [[nodiscard]] std::size_t header_size() const noexcept { return header_size_; }

  // Headers + `payload` at the front of `out`; the frame, or an empty span when `out` is too
  // small (or the datagram would exceed 65535 bytes).
  [[nodiscard]] Bytes write(Bytes out, ConstBytes payload, const FramePatch& patch) const noexcept;
  // The same when the payload is already in place at out[header_size(), +payload_size).
  [[nodiscard]] Bytes write_headers(Bytes out, std::size_t payload_size,
                                    const FramePatch& patch) const noexcept;

 private:
  FrameTemplate() = default;
  [[nodiscard]] Bytes patch_headers(Bytes out, std::size_t payload_size, std::uint64_t payload_sum,
                                    const FramePatch& patch) const noexcept;

  std::array<std::byte, kMaxHeaderSize> header_{};
  std::uint16_t header_size_ = 0;
  std::uint16_t ip_offset_ = 0;
  std::uint16_t l4_offset_ = 0;
  bool v6_ = false;
  bool udp_ = false;
  // IPv4 header with total length, ID and checksum taken as 0.
  std::uint64_t ip_base_sum_ = 0;
  // Pseudo-header without its length (UDP, ICMPv6) plus the L4 header words that never change.
  std::uint64_t l4_base_sum_ = 0;
};

}  // namespace etherpath::wire
