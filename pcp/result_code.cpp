// Names and explanations of the PCP result codes.
#include "pcp/result_code.hpp"

namespace etherpath::pcp {

std::optional<ResultCode> result_code_from(std::uint8_t value) {
  if (value > kMaxResultCode) {
    return std::nullopt;
  }
  return static_cast<ResultCode>(value);
}

std::string_view name(ResultCode code) {
  switch (code) {
    case ResultCode::success: return "SUCCESS";
    case ResultCode::unsupp_version: return "UNSUPP_VERSION";
    case ResultCode::not_authorized: return "NOT_AUTHORIZED";
    case ResultCode::malformed_request: return "MALFORMED_REQUEST";
    case ResultCode::unsupp_opcode: return "UNSUPP_OPCODE";
    case ResultCode::unsupp_option: return "UNSUPP_OPTION";
    case ResultCode::malformed_option: return "MALFORMED_OPTION";
    case ResultCode::network_failure: return "NETWORK_FAILURE";
    case ResultCode::no_resources: return "NO_RESOURCES";
    case ResultCode::unsupp_protocol: return "UNSUPP_PROTOCOL";
    case ResultCode::user_ex_quota: return "USER_EX_QUOTA";
    case ResultCode::cannot_provide_external: return "CANNOT_PROVIDE_EXTERNAL";
    case ResultCode::address_mismatch: return "ADDRESS_MISMATCH";
    case ResultCode::excessive_remote_peers: return "EXCESSIVE_REMOTE_PEERS";
  }
  return "UNKNOWN";
}

std::string_view explain(ResultCode code) {
  switch (code) {
    case ResultCode::success: return "the request succeeded";
    case ResultCode::unsupp_version: return "the server does not support this PCP version";
    case ResultCode::not_authorized:
      return "the server refused the request: this client may not do it (for a delete, the "
             "nonce may not be the one that made the mapping)";
    case ResultCode::malformed_request: return "the server could not parse the request";
    case ResultCode::unsupp_opcode: return "the server does not support this opcode";
    case ResultCode::unsupp_option:
      return "the server does not support a mandatory option of the request";
    case ResultCode::malformed_option:
      return "an option of the request is malformed (bad length or value)";
    case ResultCode::network_failure:
      return "the server cannot reach the device it controls, or has no external address yet; "
             "the client asks again after the error's lifetime";
    case ResultCode::no_resources:
      return "the server has no resources for the mapping right now; the client asks again "
             "after the error's lifetime";
    case ResultCode::unsupp_protocol:
      return "the server does not support mappings for this protocol";
    case ResultCode::user_ex_quota:
      return "the client already has as many mappings as the server allows it";
    case ResultCode::cannot_provide_external:
      return "the server cannot give the suggested external address or port (and "
             "PREFER_FAILURE was asked, or the address is not its own)";
    case ResultCode::address_mismatch:
      return "the client address in the request is not the packet's source address (is "
             "there a NAT between client and server?)";
    case ResultCode::excessive_remote_peers:
      return "the server cannot keep as many FILTER options as the request carries";
  }
  return "unknown result code";
}

bool is_short_lifetime_error(ResultCode code) {
  return code == ResultCode::network_failure || code == ResultCode::no_resources;
}

}  // namespace etherpath::pcp
