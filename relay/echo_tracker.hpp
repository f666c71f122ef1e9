// EchoTracker: the Echo requests a session sent upstream and has no reply for yet, so that an echo
// without a reply within the echo timeout is counted. Fixed size, no allocation after construction.
#pragma once

#include <array>
#include <cstdint>

#include "base/clock.hpp"

namespace etherpath::relay {

class EchoTracker {
 public:
  // In-flight echoes tracked per session; slot = seq % kSlots. An unanswered echo whose slot is
  // taken by a newer one (kSlots sequence numbers later) is counted as timed out.
  static constexpr std::size_t kSlots = 128;

  // Records a request; returns how many older unanswered echoes it displaced (0 or 1).
  std::uint64_t sent(std::uint16_t seq, Clock::TimePoint now) {
    Slot& s = slots_[seq % kSlots];
    const std::uint64_t displaced = s.pending ? 1 : 0;
    s = Slot{now, seq, true};
    pending_ += 1 - displaced;
    return displaced;
  }
  // A reply came; true when it answered a tracked request.
  bool answered(std::uint16_t seq) {
    Slot& s = slots_[seq % kSlots];
    if (!s.pending || s.seq != seq) {
      return false;
    }
    s.pending = false;
    --pending_;
    return true;
  }
  // Forgets requests older than `timeout`; returns how many timed out.
  std::uint64_t expire(Clock::TimePoint now, Clock::Duration timeout) {
    if (pending_ == 0) {
      return 0;
    }
    std::uint64_t expired = 0;
    for (Slot& s : slots_) {
      if (s.pending && now - s.sent_at >= timeout) {
        s.pending = false;
        ++expired;
      }
    }
    pending_ -= expired;
    return expired;
  }
  [[nodiscard]] std::uint64_t pending() const { return pending_; }
  void clear() {
    slots_ = {};
    pending_ = 0;
  }

 private:
  struct Slot {
    Clock::TimePoint sent_at{};
    std::uint16_t seq = 0;
    bool pending = false;
  };
  std::array<Slot, kSlots> slots_{};
  std::uint64_t pending_ = 0;
};

}  // namespace etherpath::relay
