// Result<T>: a value or an Error (code + context), for operations whose failure is normal.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace etherpath {

// Conditions that etherpath itself reports (system failures carry errno in std::generic_category).
enum class Errc {
  ok = 0,
  invalid_argument,  // bad user input: a flag, a string, a size
  timeout,           // a read or write deadline passed
  relay_stopped,     // the PacketRelay under a conn was stopped
  malformed,         // bytes that do not parse
  not_found,         // an interface, name or key that does not exist
  already_exists,    // a registration that collides
  unsupported,       // a mode or feature this kernel or device refuses
  busy,              // a resource held by someone else (a foreign XDP program)
  no_space,          // a bounded queue, map or ring is full
  closed,            // the object was closed or the peer went away
};

}  // namespace etherpath

template <>
struct std::is_error_code_enum<etherpath::Errc> : std::true_type {};

namespace etherpath {

const std::error_category& etherpath_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), etherpath_category()};
}

// An error: what went wrong (code) and where (context, e.g. "eth1: AF_XDP bind on queue 0").
class Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string context) : code_(code), context_(std::move(context)) {}
  Error(Errc code, std::string context) : Error(make_error_code(code), std::move(context)) {}

  // An error from errno as the failing system call left it.
  static Error from_errno(std::string context, int err = errno) {
    return {std::error_code(err, std::generic_category()), std::move(context)};
  }

  [[nodiscard]] std::error_code code() const noexcept { return code_; }
  [[nodiscard]] const std::string& context() const noexcept { return context_; }
  [[nodiscard]] bool is(Errc e) const noexcept { return code_ == make_error_code(e); }
  [[nodiscard]] bool is_errno(int err) const noexcept {
    return code_ == std::error_code(err, std::generic_category());
  }
  // "context: message", the one-line form used in logs and CLI errors.
  [[nodiscard]] std::string message() const;
  // The same error with more context in front: "outer: inner context".
  [[nodiscard]] Error wrap(const std::string& outer) const;

 private:
  std::error_code code_;
  std::string context_;
};

std::ostream& operator<<(std::ostream& os, const Error& e);

// Tag type so that Result<T> can be built from an Error unambiguously even when T is constructible
// from one.
struct Unexpected {
  Error error;
};
inline Unexpected fail(Error e) {
  return Unexpected{std::move(e)};
}
inline Unexpected fail(Errc code, std::string context) {
  return Unexpected{Error(code, std::move(context))};
}
inline Unexpected fail_errno(std::string context, int err = errno) {
  return Unexpected{Error::from_errno(std::move(context), err)};
}

namespace detail {
// U converts to T and is none of the types that Result's other constructors take.
template <typename U, typename T, typename R>
concept ConvertibleValue =
    std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
    !std::is_same_v<std::remove_cvref_t<U>, Error> &&
    !std::is_same_v<std::remove_cvref_t<U>, Unexpected> &&
    !std::is_same_v<std::remove_cvref_t<U>, R>;
}  // namespace detail

// A value of T or an Error. Like std::expected (C++23), which g++ 12 and clang 14 lack.
template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(T value)
      : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Unexpected u)
      : data_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT(google-explicit-constructor)
  Result(Error e)
      : data_(std::in_place_index<1>, std::move(e)) {}  // NOLINT(google-explicit-constructor)
  // Converting constructor (Result<std::string> r = "text"). The concept keeps it away from
  // copies and moves, which clang-tidy 14 does not see.
  template <detail::ConvertibleValue<T, Result> U>
  Result(U&& value)  // NOLINT(google-explicit-constructor,bugprone-forwarding-reference-overload)
      : data_(std::in_place_index<0>, T(std::forward<U>(value))) {}

  [[nodiscard]] bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(data_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(data_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(data_)); }
  [[nodiscard]] const Error& error() const& { return std::get<1>(data_); }
  [[nodiscard]] Error&& error() && { return std::get<1>(std::move(data_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u)
      : error_(std::move(u.error)), ok_(false) {}        // NOLINT(google-explicit-constructor)
  Result(Error e) : error_(std::move(e)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  [[nodiscard]] const Error& error() const& { return error_; }
  [[nodiscard]] Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok() {
  return {};
}

}  // namespace etherpath

// Propagate an error out of a function returning Result<...>: EP_TRY(auto x, expr);
// `tmp` and `decl` are declarations, which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define EP_CONCAT_INNER(a, b) a##b
#define EP_CONCAT(a, b) EP_CONCAT_INNER(a, b)
#define EP_TRY_IMPL(tmp, decl, expr)                  \
  auto tmp = (expr);                                  \
  if (!tmp) {                                         \
    return ::etherpath::fail(std::move(tmp).error()); \
  }                                                   \
  decl = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
#define EP_TRY(decl, expr) EP_TRY_IMPL(EP_CONCAT(ep_try_tmp_, __LINE__), decl, expr)
// Same for Status-returning expressions.
#define EP_TRY_STATUS(expr)                                       \
  do {                                                            \
    auto ep_status_tmp = (expr);                                  \
    if (!ep_status_tmp) {                                         \
      return ::etherpath::fail(std::move(ep_status_tmp).error()); \
    }                                                             \
  } while (false)
