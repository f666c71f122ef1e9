// PCP result codes (RFC 6887 §7.4) with their names and one-line explanations.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace etherpath::pcp {

enum class ResultCode : std::uint8_t {
  success = 0,
  unsupp_version = 1,
  not_authorized = 2,
  malformed_request = 3,
  unsupp_opcode = 4,
  unsupp_option = 5,
  malformed_option = 6,
  network_failure = 7,
  no_resources = 8,
  unsupp_protocol = 9,
  user_ex_quota = 10,
  cannot_provide_external = 11,
  address_mismatch = 12,
  excessive_remote_peers = 13,
};

inline constexpr std::uint8_t kMaxResultCode = 13;

// The code for a wire value, or nothing for values the RFC does not define.
std::optional<ResultCode> result_code_from(std::uint8_t value);
// The RFC's name, e.g. "NOT_AUTHORIZED".
std::string_view name(ResultCode code);
// What the code means for the user, in one sentence.
std::string_view explain(ResultCode code);
// NETWORK_FAILURE and NO_RESOURCES: conditions the server expects to clear, so the client asks
// again once the error's lifetime has passed. Every other error stays until something changes.
bool is_short_lifetime_error(ResultCode code);

}  // namespace etherpath::pcp
