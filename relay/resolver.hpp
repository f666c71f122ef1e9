// Host name resolution for --here/--there (getaddrinfo; the first address wins, as in pkthere).
#pragma once

#include <string>
#include <string_view>

#include "base/ip_address.hpp"
#include "base/result.hpp"

namespace etherpath::relay {

// An IP literal parses without a lookup; a name resolves. Errors say
// "<flag>: failed to parse and resolve '<host>': <reason>".
Result<IpAddress> resolve_host(const std::string& host, std::string_view flag);

}  // namespace etherpath::relay
