// Messages for etherpath's own error codes and the one-line rendering of Error.
#include "base/result.hpp"

#include <ostream>

namespace etherpath {
namespace {

class EtherpathCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "etherpath"; }
  [[nodiscard]] std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::ok: return "success";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::timeout: return "timeout";
      case Errc::relay_stopped: return "relay stopped";
      case Errc::malformed: return "malformed input";
      case Errc::not_found: return "not found";
      case Errc::already_exists: return "already exists";
      case Errc::unsupported: return "not supported";
      case Errc::busy: return "busy";
      case Errc::no_space: return "no space left";
      case Errc::closed: return "closed";
    }
    return "unknown etherpath error";
  }
};

}  // namespace

const std::error_category& etherpath_category() noexcept {
  static const EtherpathCategory category;
  return category;
}

std::string Error::message() const {
  // invalid_argument and malformed errors carry their whole story in the context already.
  if (code_ == make_error_code(Errc::invalid_argument) ||
      code_ == make_error_code(Errc::malformed)) {
    return context_.empty() ? code_.message() : context_;
  }
  if (context_.empty()) {
    return code_.message();
  }
  return context_ + ": " + code_.message();
}

Error Error::wrap(const std::string& outer) const {
  return {code_, context_.empty() ? outer : outer + ": " + context_};
}

std::ostream& operator<<(std::ostream& os, const Error& e) {
  return os << e.message();
}

}  // namespace etherpath
