// RateLimiter: refill from elapsed clock time, never beyond the burst.
#include "tools/etherpath-gen/rate_limiter.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace etherpath::gen {

Result<Rate> parse_rate(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  double scale = 0;
  std::string_view number = lower;
  for (const auto& [suffix, mult] : {std::pair{"gbps", 1e9}, std::pair{"mbps", 1e6},
                                     std::pair{"kbps", 1e3}, std::pair{"bps", 1.0}}) {
    const std::string_view s(suffix);
    if (number.size() > s.size() && number.substr(number.size() - s.size()) == s) {
      number.remove_suffix(s.size());
      scale = mult;
      break;
    }
  }
  if (scale == 0 && number.size() > 3 && number.substr(number.size() - 3) == "pps") {
    number.remove_suffix(3);
  }
  double v = 0;
  const char* end = number.data() + number.size();
  const auto r = std::from_chars(number.data(), end, v);
  if (number.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(v) || v <= 0) {
    return fail(Errc::invalid_argument,
                "'" + std::string(text) + "' is not a positive rate (PPS or NNNmbps)");
  }
  if (scale == 0) {
    return Rate{Rate::Unit::pps, v};
  }
  return Rate{Rate::Unit::bps, v * scale};
}

RateLimiter::RateLimiter(const Clock& clock, Rate rate, double burst, double max_burst)
    : clock_(clock),
      rate_(rate),
      burst_(burst),
      max_burst_(std::max(burst, max_burst)),
      tokens_(burst),
      last_(clock.now()) {}

void RateLimiter::refill() {
  const Clock::TimePoint now = clock_.now();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
  last_ = now;
  if (ns > 0) {
    const double credit = static_cast<double>(ns) * rate_.value * 1e-9;
    if (tokens_ + credit > burst_ && burst_ < max_burst_) {
      burst_ = std::min(max_burst_, std::max(burst_, 2 * credit));
    }
    tokens_ = std::min(burst_, tokens_ + credit);
  }
}

bool RateLimiter::try_take(double cost) {
  if (!rate_.limited()) {
    return true;
  }
  // A packet dearer than the whole bucket goes once the bucket is full, and leaves a debt.
  const double need = std::min(cost, burst_);
  refill();
  if (tokens_ < need) {
    return false;
  }
  tokens_ -= cost;
  return true;
}

void RateLimiter::set_burst(double burst) {
  refill();
  burst_ = burst;
  max_burst_ = burst;
  tokens_ = std::min(tokens_, burst_);
}

void RateLimiter::give_back(double cost) {
  tokens_ = std::min(burst_, tokens_ + cost);
}

Clock::Duration RateLimiter::time_until(double cost) {
  if (!rate_.limited()) {
    return Clock::Duration{0};
  }
  refill();
  const double need = std::min(cost, burst_);
  if (tokens_ >= need) {
    return Clock::Duration{0};
  }
  return Clock::Duration{
      static_cast<std::int64_t>(std::ceil((need - tokens_) / rate_.value * 1e9))};
}

}  // namespace etherpath::gen
