// Host name resolution for --here/--there (getaddrinfo; the first address wins, as in pkthere),
// behind a Resolver interface so that the forwarder's re-resolve can be tested with a fake.
#pragma once

#include <string>
#include <string_view>

#include "base/ip_address.hpp"
#include "base/result.hpp"

namespace etherpath::relay {

// An IP literal parses without a lookup; a name resolves. Errors say
// "<flag>: failed to parse and resolve '<host>': <reason>".
Result<IpAddress> resolve_host(const std::string& host, std::string_view flag);

// What the Forwarder re-resolves --there through when a client locks it.
class Resolver {
 public:
  Resolver() = default;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  Resolver(Resolver&&) = delete;
  Resolver& operator=(Resolver&&) = delete;
  virtual ~Resolver() = default;

  // As resolve_host(): may block (a DNS query) unless `host` is an IP literal.
  virtual Result<IpAddress> resolve(const std::string& host, std::string_view flag) = 0;
};

// resolve_host() as a Resolver. Stateless: one instance serves every worker thread.
class SystemResolver final : public Resolver {
 public:
  static SystemResolver& instance();
  Result<IpAddress> resolve(const std::string& host, std::string_view flag) override {
    return resolve_host(host, flag);
  }
};

}  // namespace etherpath::relay
