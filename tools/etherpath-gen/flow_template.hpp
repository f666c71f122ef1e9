// FlowTemplate: etherpath-gen's frames, prebuilt once per frame size and patched per packet
// (source MAC, addresses, ports or echo id, sequence number, TX timestamp) from cached checksum
// sums, so that sending allocates nothing and never re-sums a payload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"

namespace etherpath::gen {

enum class L4Proto : std::uint8_t { udp, icmp };

// An inclusive range of 16-bit values ("P-Q" on the command line).
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  [[nodiscard]] std::uint32_t count() const { return std::uint32_t{last} - first + 1U; }
};

// "P" or "P-Q" with P <= Q; the error names neither flag (the caller does).
Result<PortRange> parse_port_range(std::string_view text);

// "BASE" or "BASE+N": the base and how many values after it are used as well (N), as
// design.md §4's `--src-mac MAC[+N]` and `--src IP[+N]`.
struct MacRange {
  MacAddress first;
  std::uint32_t count = 1;
};
struct IpRange {
  IpAddress first;
  std::uint32_t count = 1;
};
Result<MacRange> parse_mac_range(std::string_view text);
Result<IpRange> parse_ip_range(std::string_view text);

struct FlowSpec {
  MacAddress dst_mac;
  MacRange src_mac;
  VlanStack vlans;
  IpRange src_ip;
  IpRange dst_ip;
  L4Proto proto = L4Proto::udp;
  PortRange sport{.first = 9, .last = 9};  // ICMP: the echo identifiers
  PortRange dport{.first = 9, .last = 9};  // unused for ICMP
  std::size_t size = 0;                    // frame size without FCS; 0 = the smallest that fits
  bool imix = false;  // 7:4:1 of 60, 590 and 1514 bytes (each at least the minimum)
};

// What every generated payload starts with: a marker, the sequence number and the TX time.
struct Stamp {
  std::uint64_t seq = 0;
  std::uint64_t tx_ns = 0;  // CLOCK_MONOTONIC nanoseconds at the sender
};
inline constexpr std::uint16_t kStampMagic = 0x4550;  // "EP"
inline constexpr std::size_t kStampSize = 18;         // magic (2) + seq (8) + time (8)
// The biggest frame etherpath-gen builds: fits an AF_XDP chunk of 4096 bytes with headroom.
inline constexpr std::size_t kMaxFrameSize = 3072;

// Reads a stamp from a received payload (nullopt when it is not one of ours).
std::optional<Stamp> read_stamp(ConstBytes payload) noexcept;

// Per-thread position in every range; each field walks its own range and wraps.
struct FlowCursor {
  std::uint32_t mac = 0;
  std::uint32_t src_ip = 0;
  std::uint32_t dst_ip = 0;
  std::uint32_t sport = 0;
  std::uint32_t dport = 0;
  std::uint32_t size = 0;
};

class FlowTemplate {
 public:
  // Checks the spec (families, sizes) and builds one prototype per frame size.
  static Result<FlowTemplate> create(const FlowSpec& spec);

  // Headers + stamp + zero padding: the smallest frame for the spec.
  [[nodiscard]] std::size_t min_size() const { return min_size_; }
  [[nodiscard]] std::size_t max_size() const;
  // The size of the next frame write() will make for `cursor`.
  [[nodiscard]] std::size_t next_size(const FlowCursor& cursor) const {
    return prototypes_[size_pattern_[cursor.size]].size;
  }

  // The frame sizes write() cycles through (one entry per packet), for bit-rate accounting.
  [[nodiscard]] std::size_t pattern_length() const { return size_pattern_.size(); }
  [[nodiscard]] std::size_t size_at(std::size_t index) const {
    return prototypes_[size_pattern_[index % size_pattern_.size()]].size;
  }

  // Writes the next frame of the flow into `out` and advances `cursor`; returns the frame size,
  // or 0 when `out` is too small.
  std::size_t write(Bytes out, FlowCursor& cursor, std::uint64_t seq,
                    std::uint64_t tx_ns) const noexcept;

  [[nodiscard]] const FlowSpec& spec() const { return spec_; }

  // Where the varying fields are, for generators outside this class (the xdp-live program).
  struct Layout {
    std::size_t src_addr_offset = 0;  // the low 32 bits of each address
    std::size_t dst_addr_offset = 0;
    std::size_t port_offset = 0;
    std::size_t l4_checksum_offset = 0;
    std::size_t ip_checksum_offset = 0;  // 0 for IPv6
    std::size_t stamp_offset = 0;        // the sequence number, then the TX time
    std::size_t header_size = 0;         // headers and stamp
    bool pseudo_header = false;
    std::uint64_t src_mac = 0;
    std::uint32_t src_ip_low = 0;
    std::uint32_t dst_ip_low = 0;
  };
  [[nodiscard]] Layout layout() const;
  // The prototypes (varying fields 0) and their constant sums, one per frame size.
  struct PrototypeView {
    ConstBytes bytes;
    std::uint64_t ip_base_sum = 0;
    std::uint64_t l4_base_sum = 0;
  };
  [[nodiscard]] std::size_t prototype_count() const { return prototypes_.size(); }
  [[nodiscard]] PrototypeView prototype(std::size_t i) const {
    const Prototype& p = prototypes_[i];
    return {ConstBytes(p.bytes), p.ip_base_sum, p.l4_base_sum};
  }
  // Which prototype packet i of a cycle uses.
  [[nodiscard]] std::size_t prototype_at(std::size_t i) const {
    return size_pattern_[i % size_pattern_.size()];
  }

 private:
  struct Prototype {
    std::vector<std::byte> bytes;
    std::size_t size = 0;
    std::uint64_t ip_base_sum = 0;  // IPv4 header, checksum and the varying address words as 0
    std::uint64_t l4_base_sum = 0;  // pseudo-header + L4 header + payload, varying words as 0
  };
  FlowTemplate() = default;
  [[nodiscard]] Result<Prototype> build(std::size_t size) const;

  FlowSpec spec_;
  bool v6_ = false;
  std::size_t ip_offset_ = 0;
  std::size_t l4_offset_ = 0;
  std::size_t payload_offset_ = 0;
  std::size_t src_addr_offset_ = 0;  // the low 32 bits of each address (all of IPv4)
  std::size_t dst_addr_offset_ = 0;
  std::size_t l4_checksum_offset_ = 0;
  std::size_t port_offset_ = 0;  // UDP ports, or ICMP echo id and sequence
  bool pseudo_header_ = false;   // UDP and ICMPv6 sum the addresses into the L4 checksum
  std::size_t min_size_ = 0;
  std::uint32_t src_ip_low_ = 0;
  std::uint32_t dst_ip_low_ = 0;
  std::uint64_t src_mac_ = 0;
  std::vector<Prototype> prototypes_;
  std::vector<std::uint8_t> size_pattern_;  // index into prototypes_, one per packet, cycled
};

}  // namespace etherpath::gen
