// PCP (RFC 6887) version 2 messages as values: requests and responses for MAP, PEER and
// ANNOUNCE with the THIRD_PARTY, PREFER_FAILURE and FILTER options; encoders and bounds-checked
// decoders that give a reason for every input they refuse.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip_address.hpp"
#include "base/result.hpp"
#include "pcp/result_code.hpp"

namespace etherpath::pcp {

inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::uint16_t kServerPort = 5351;         // servers listen here
inline constexpr std::uint16_t kAnnouncePort = 5350;       // unsolicited ANNOUNCEs go here
inline constexpr std::size_t kHeaderSize = 24;             // §7.1, §7.2
inline constexpr std::size_t kMapInfoSize = 36;            // §11.1
inline constexpr std::size_t kPeerInfoSize = 56;           // §12.1
inline constexpr std::size_t kOptionHeaderSize = 4;        // §7.3
inline constexpr std::size_t kMaxMessageSize = 1100;       // §7
inline constexpr std::uint8_t kFirstOptionalOption = 128;  // codes >= 128 may be ignored

enum class Opcode : std::uint8_t { announce = 0, map = 1, peer = 2 };
enum class OptionCode : std::uint8_t { third_party = 1, prefer_failure = 2, filter = 3 };
// IANA protocol number; 0 means every protocol. Any other number is carried as is.
enum class Protocol : std::uint8_t { all = 0, icmp = 1, tcp = 6, udp = 17, sctp = 132 };

std::string_view name(Opcode opcode);          // "MAP"
std::string protocol_name(Protocol protocol);  // "tcp", "udp", "all", or the number

using Nonce = std::array<std::uint8_t, 12>;
std::string to_hex(const Nonce& nonce);
Result<Nonce> parse_nonce(std::string_view hex);

// A FILTER option (§13.3). The prefix length is the wire's: over the 128-bit form, so an IPv4
// prefix /24 is 120. from_prefix() takes the length in the address's own family.
struct Filter {
  IpAddress remote_address;
  std::uint8_t prefix_length = 0;
  std::uint16_t remote_port = 0;  // 0 = every port

  static Result<Filter> from_prefix(const IpAddress& address, unsigned family_prefix,
                                    std::uint16_t port);
  // The prefix length in the address's family (IPv4: wire - 96).
  [[nodiscard]] unsigned family_prefix_length() const;
  friend bool operator==(const Filter&, const Filter&) = default;
};

struct Options {
  std::optional<IpAddress> third_party;  // THIRD_PARTY (§13.1): the internal address to map for
  bool prefer_failure = false;           // PREFER_FAILURE (§13.2), MAP only
  std::vector<Filter> filters;           // FILTER (§13.3), MAP only, repeatable
  friend bool operator==(const Options&, const Options&) = default;
};

// The opcode-specific fields of MAP (§11.1) and PEER (§12.1); remote_* only for PEER. In a
// request the external fields are suggestions, in a response the assignment.
struct MappingInfo {
  Nonce nonce{};
  Protocol protocol = Protocol::all;
  std::uint16_t internal_port = 0;
  std::uint16_t external_port = 0;
  IpAddress external_address;  // 0.0.0.0 (sent as ::ffff:0.0.0.0) or :: = no preference
  std::uint16_t remote_port = 0;
  IpAddress remote_address;
  friend bool operator==(const MappingInfo&, const MappingInfo&) = default;
};

struct Request {
  Opcode opcode = Opcode::map;
  std::uint32_t lifetime = 0;  // seconds; 0 deletes
  IpAddress client_address;
  MappingInfo info;  // ignored for ANNOUNCE
  Options options;
  friend bool operator==(const Request&, const Request&) = default;
};

struct Response {
  Opcode opcode = Opcode::map;
  ResultCode result = ResultCode::success;
  std::uint32_t lifetime = 0;  // granted lifetime, or how long an error holds
  std::uint32_t epoch = 0;     // server's epoch time (§8.5)
  // Error responses may be only the 24-byte header (e.g. UNSUPP_VERSION); then there is no info.
  bool has_info = true;
  MappingInfo info;
  Options options;
  unsigned ignored_options = 0;  // unknown optional options (code >= 128) skipped
  friend bool operator==(const Response&, const Response&) = default;
};

using Message = std::vector<std::uint8_t>;

Result<Message> encode(const Request& request);
Result<Message> encode(const Response& response);
// Parse one datagram; every refusal says why ("MAP response: option 3: length 19, FILTER needs
// 20"). A NAT-PMP (version 0) answer is refused with Errc::unsupported and says so.
Result<Request> decode_request(std::span<const std::uint8_t> bytes);
Result<Response> decode_response(std::span<const std::uint8_t> bytes);
// True when the datagram is a NAT-PMP (RFC 6886, version 0) message rather than PCP.
bool is_nat_pmp(std::span<const std::uint8_t> bytes);

}  // namespace etherpath::pcp
