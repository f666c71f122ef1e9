// RateLimiter: a token bucket per sending thread, in packets or bits per second, with a small
// bucket so that the sender spreads its batches evenly over time (low jitter).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace etherpath::gen {

// --rate: "PPS" (packets per second) or "NNNmbps" / "NNNkbps" / "NNNgbps" (frame bits per second,
// counting the frame without FCS).
struct Rate {
  enum class Unit : std::uint8_t { unlimited, pps, bps };
  Unit unit = Unit::unlimited;
  double value = 0;  // per second
  [[nodiscard]] bool limited() const { return unit != Unit::unlimited; }
  // This rate split evenly over n threads.
  [[nodiscard]] Rate divided(unsigned n) const { return Rate{unit, n == 0 ? value : value / n}; }
};
Result<Rate> parse_rate(std::string_view text);

class RateLimiter {
 public:
  // `burst`: the most units the bucket holds (what may go at once after an idle moment); at
  // least one packet's worth. Starts full. With `max_burst` above `burst`, the bucket grows
  // (up to it) to twice any gap between takes that overflowed it: a sender that was off the
  // CPU for longer than the bucket lasts (a loaded machine) then catches up instead of losing
  // the credit, and only senders that are late get the bigger bursts.
  RateLimiter(const Clock& clock, Rate rate, double burst, double max_burst = 0);

  // Takes `cost` units (1 per packet, or 8 x frame size for a bit rate) if the bucket has them.
  bool try_take(double cost);
  // Returns what try_take() took for a packet that then could not be sent.
  void give_back(double cost);
  // How long until `cost` units are there (0 when they are).
  [[nodiscard]] Clock::Duration time_until(double cost);
  // Units per packet of `frame_size` bytes.
  [[nodiscard]] double cost(std::size_t frame_size) const {
    return rate_.unit == Rate::Unit::bps ? 8.0 * static_cast<double>(frame_size) : 1.0;
  }
  [[nodiscard]] const Rate& rate() const { return rate_; }
  // A new, fixed bucket size (the tokens in it are kept, up to the new size; no more growth).
  void set_burst(double burst);
  [[nodiscard]] double burst() const { return burst_; }

 private:
  void refill();

  const Clock& clock_;
  Rate rate_;
  double burst_;
  double max_burst_;
  double tokens_;
  Clock::TimePoint last_;
};

}  // namespace etherpath::gen
