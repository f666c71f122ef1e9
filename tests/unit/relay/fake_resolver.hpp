// FakeResolver: a Resolver whose names the test sets (and changes) by hand; it records queries.
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "relay/resolver.hpp"

namespace etherpath::relay::testing {

class FakeResolver final : public Resolver {
 public:
  Result<IpAddress> resolve(const std::string& host, std::string_view flag) override {
    queries.push_back(host);
    const auto it = names.find(host);
    if (it == names.end()) {
      return fail(
          Errc::not_found,
          fmt::format("{}: failed to parse and resolve '{}': fake: no such name", flag, host));
    }
    return it->second;
  }

  std::map<std::string, IpAddress> names;
  std::vector<std::string> queries;
};

}  // namespace etherpath::relay::testing
