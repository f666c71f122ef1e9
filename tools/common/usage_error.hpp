// UsageError: a bad command line, thrown while a program parses its flags (start-up only) and
// caught in its parser, which prints "PROGRAM: MESSAGE" and exits 2.
#pragma once

#include <fmt/core.h>

#include <string>
#include <type_traits>
#include <utility>

#include "base/result.hpp"

namespace etherpath::tool_common {

struct UsageError {
  std::string message;
};

// A flag's parsed value, or a UsageError "FLAG: what the parser said".
template <typename T>
T checked(Result<T> r, const char* flag) {
  if (!r) {
    throw UsageError{fmt::format("{}: {}", flag, r.error().message())};
  }
  return std::move(*r);
}

// A check whose error message is already the whole line (EmulatedHostFlags').
template <typename T>
T usage(Result<T> r) {
  if (!r) {
    throw UsageError{r.error().message()};
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*r);
  }
}

}  // namespace etherpath::tool_common
