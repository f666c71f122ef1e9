// Forwarder counters (pkthere's per-direction figures plus drops by reason), their snapshot,
// the merge of several workers' snapshots, and the board that workers publish them on.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "base/ip_address.hpp"

namespace etherpath::relay {

// Why a datagram was not forwarded (besides oversize, which is per direction as in pkthere).
enum class DropReason : std::uint8_t {
  wrong_client,    // single-client lock held by another client
  session_limit,   // --max-sessions reached, a new client refused
  wrong_upstream,  // a reply from another address than the upstream
  malformed,       // invalid ICMP Echo header (missing or truncated)
  mismatch,        // ICMP Echo direction or identity mismatch
  no_session,      // upstream traffic for no live session (a stray or late reply, a foreign id)
  upstream_open,   // the upstream port for a new session could not be opened
};
inline constexpr std::size_t kDropReasons = 7;
std::string_view to_string(DropReason r);

// One direction, pkthere's keys: pkts, bytes, bytes_max, drops_oversize, us_*, errs.
struct DirectionStats {
  std::uint64_t pkts = 0;
  std::uint64_t bytes = 0;
  std::uint64_t bytes_max = 0;
  std::uint64_t drops_oversize = 0;
  std::uint64_t errs = 0;
  double us_sum = 0;
  double us_ewma = 0;
  double us_max = 0;

  [[nodiscard]] double us_avg() const {
    return pkts == 0 ? 0.0 : us_sum / static_cast<double>(pkts);
  }
  // One forwarded datagram of `bytes` payload that took `us` from receive to sent.
  void forwarded(std::uint64_t payload_bytes, double us) {
    // pkthere's EWMA: a half-life of 200,000 samples, starting from the first sample.
    constexpr double kAlpha = 3.4657e-6;  // 1 - 2^(-1/200000)
    us_ewma = pkts == 0 ? us : us_ewma + (us - us_ewma) * kAlpha;
    ++pkts;
    bytes += payload_bytes;
    bytes_max = std::max(bytes_max, payload_bytes);
    us_sum += us;
    us_max = std::max(us_max, us);
  }
  void merge(const DirectionStats& o);
};

struct StatsSnapshot {
  DirectionStats c2u;
  DirectionStats u2c;
  std::array<std::uint64_t, kDropReasons> drops{};
  std::uint64_t echo_timeouts = 0;
  std::uint64_t sessions = 0;
  std::uint64_t sessions_opened = 0;
  std::uint64_t sessions_expired = 0;
  std::optional<IpEndpoint> client;  // the locked client (single mode) or the newest session's
  IpEndpoint upstream;

  [[nodiscard]] std::uint64_t drops_of(DropReason r) const {
    return drops[static_cast<std::size_t>(r)];
  }
  // Adds another worker's figures (latency averages weighted by packets).
  void merge(const StatsSnapshot& o);
};

// Where each worker's forwarder publishes its latest snapshot (a few times a second, never per
// packet), for the stats printer on another thread.
class StatsBoard {
 public:
  explicit StatsBoard(std::size_t workers) : slots_(workers) {}
  void publish(std::size_t worker, const StatsSnapshot& s) {
    const std::lock_guard lock(mutex_);
    slots_.at(worker) = s;
  }
  [[nodiscard]] StatsSnapshot merged() const {
    const std::lock_guard lock(mutex_);
    StatsSnapshot out = slots_.front();
    for (std::size_t i = 1; i < slots_.size(); ++i) {
      out.merge(slots_[i]);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<StatsSnapshot> slots_;
};

}  // namespace etherpath::relay
