// FrameParser: one bounds-checked pass over a frame to a ParsedFrame, or to the DropReason that
// refused it. No allocation, no exceptions: it runs per packet on the fast path.
#pragma once

#include "base/byte_order.hpp"
#include "conn/wire/drop_reason.hpp"
#include "conn/wire/parsed_frame.hpp"

namespace etherpath::wire {

struct ParseOptions {
  // Verify the IPv4 header, UDP and ICMP checksums (canonical values only: a checksum that is
  // right in ones'-complement terms but spelled -0 where a sender writes +0 is refused).
  bool verify_checksums = false;
  // Accept EtherTypes other than IPv4, IPv6 and ARP (L3Kind::none, payload = the L3 bytes).
  bool accept_unknown_ether_type = false;
};

struct ParseResult {
  // On a drop, the layers before the failing one are filled (e.g. the L2 key of a frame whose
  // IPv4 header is bad), the rest keeps its defaults.
  ParsedFrame frame;
  DropReason drop = DropReason::none;
  explicit operator bool() const noexcept { return drop == DropReason::none; }
};

class FrameParser {
 public:
  constexpr FrameParser() = default;
  constexpr explicit FrameParser(ParseOptions options) : options_(options) {}

  // The result borrows `frame`: its spans are valid while the frame's bytes are.
  [[nodiscard]] ParseResult parse(ConstBytes frame) const noexcept;

 private:
  // Every frame but the untagged or single-tagged IPv4/UDP ones of the fast path (in the .cpp).
  [[nodiscard]] ParseResult parse_general(ConstBytes frame) const noexcept;
  // Fill `f` in place (the result object, built once without copies); return why it stopped.
  DropReason parse_ipv4(ParsedFrame& f, ConstBytes l3) const noexcept;
  DropReason parse_ipv6(ParsedFrame& f, ConstBytes l3) const noexcept;
  DropReason parse_l4(ParsedFrame& f, ConstBytes l4, std::uint8_t protocol) const noexcept;
  DropReason parse_icmp(ParsedFrame& f, ConstBytes l4, bool v6) const noexcept;

  ParseOptions options_;
};

}  // namespace etherpath::wire
