// resolve_host and SystemResolver: getaddrinfo for --there names, literals without a lookup.
#include "relay/resolver.hpp"

#include <fmt/format.h>
#include <netdb.h>

#include <memory>

namespace etherpath::relay {

Result<IpAddress> resolve_host(const std::string& host, std::string_view flag) {
  if (auto literal = IpAddress::parse(host)) {
    return *literal;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* raw = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(raw, &::freeaddrinfo);
  if (rc != 0 || raw == nullptr) {
    return fail(Errc::not_found, fmt::format("{}: failed to parse and resolve '{}': {}", flag, host,
                                             rc != 0 ? ::gai_strerror(rc) : "no address"));
  }
  auto ep = IpEndpoint::from_sockaddr(raw->ai_addr, raw->ai_addrlen);
  if (!ep) {
    return fail(Errc::not_found, fmt::format("{}: failed to parse and resolve '{}': {}", flag, host,
                                             ep.error().message()));
  }
  return ep->address;
}

SystemResolver& SystemResolver::instance() {
  static SystemResolver resolver;
  return resolver;
}

}  // namespace etherpath::relay
