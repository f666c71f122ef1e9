// Forwarder: pkthere's forwarding logic over a Transport and a Clock. Sessions (1 = the
// single-client lock), idle timeout drop|exit, --max-payload, UDP<->ICMP bridging with ICMP
// direction/identity checks and echo timeouts, stats. Single-threaded: one per worker.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "relay/config.hpp"
#include "relay/icmp_echo.hpp"
#include "relay/relay_stats.hpp"
#include "relay/resolver.hpp"
#include "relay/session_table.hpp"
#include "relay/transport.hpp"

namespace etherpath::relay {

enum class LogLevel : std::uint8_t { info, warn, debug };
// Where the forwarder's log lines go ("Locked to single client ...", drop reasons).
using LogSink = std::function<void(LogLevel, const std::string&)>;

enum class Outcome : std::uint8_t {
  running,       // keep polling
  timeout_exit,  // --on-timeout exit and no session left: exit with status 0
};

class Forwarder {
 public:
  // `transport` and `clock` must outlive the forwarder.
  Forwarder(const ForwarderConfig& config, Transport& transport, const Clock& clock, LogSink log);

  // Opens the first upstream port now (before privileges are dropped, and so that a missing
  // ICMP socket permission is reported at start-up rather than at the first client).
  Status start();

  // One round: receive a batch (waiting at most `wait`), forward it, then run the timers when
  // due. Errors are transport failures (the socket is gone), not per-datagram trouble.
  Result<Outcome> poll(std::chrono::milliseconds wait);

  // Polls until `stop` is set or the timeout exit; publishes stats to `on_tick` on every tick.
  Result<Outcome> run(const std::atomic<bool>& stop,
                      const std::function<void(const StatsSnapshot&)>& on_tick);

  [[nodiscard]] StatsSnapshot snapshot();
  [[nodiscard]] const SessionTable& sessions() const { return table_; }

  // Thread-safe: asks the forwarder to move to a new upstream address (re-resolve). Applied at
  // the next tick by reopening every upstream port.
  void request_upstream(const IpEndpoint& upstream);
  // Thread-safe: the listener moved (re-resolve listen); sessions are cleared at the next tick.
  void request_listener(const IpEndpoint& listen);

  // pkthere re-resolves --there when a client locks it (reresolve mode upstream or both, whatever
  // --reresolve-secs says), before the client's first datagram is forwarded, so that a relock
  // after a long idle spell goes to where the name points now. With --max-sessions N it happens
  // when a session opens in an empty table. `host` is --there's host text (an IP literal costs
  // no lookup); a DNS lookup blocks this worker while it serves no client. Call before poll().
  void reresolve_upstream_on_lock(Resolver& resolver, std::string host);

  static constexpr std::chrono::milliseconds kTick{100};

 private:
  enum class Dir : std::uint8_t { none, c2u, u2c };

  // The Echo header at the front of d, or nullopt after counting and logging the drop.
  std::optional<EchoHeader> parse_echo_or_drop(Datagram& d, IpFamily family);
  void handle_client(Datagram& d, std::size_t i, Clock::TimePoint now);
  void handle_upstream(Datagram& d, std::size_t i, Clock::TimePoint now);
  void drop(DropReason reason, const Datagram& d, std::string_view why);
  Session* open_session(const IpEndpoint& key, const Datagram& d, Clock::TimePoint now);
  Result<UpstreamPort> take_upstream_port();
  void release_upstream_port(UpstreamPort port);
  void end_session(Session& s, std::string_view why);
  Outcome tick(Clock::TimePoint now);
  void apply_requests();
  void reresolve_on_lock();
  // Moves every upstream port to `upstream`; `context` starts the log line ("Re-resolved").
  void change_upstream(const IpEndpoint& upstream, std::string_view context);
  void log(LogLevel level, const std::string& line) const;

  [[nodiscard]] bool upstream_icmp() const { return config_.upstream_proto == Proto::icmp; }
  [[nodiscard]] bool listen_icmp() const { return config_.listen_proto == Proto::icmp; }
  [[nodiscard]] bool single() const { return config_.max_sessions == 1; }
  [[nodiscard]] bool log_drops() const { return config_.log_drops; }

  ForwarderConfig config_;
  Transport& transport_;
  const Clock& clock_;
  LogSink log_;
  SessionTable table_;
  std::optional<UpstreamPort> spare_;  // an open upstream port no session holds
  Resolver* lock_resolver_ = nullptr;  // set: re-resolve upstream_host_ when a client locks
  std::string upstream_host_;

  DatagramBatch batch_;
  std::array<Dir, DatagramBatch::kMaxBatch> dir_{};
  std::array<std::uint32_t, DatagramBatch::kMaxBatch> payload_len_{};

  StatsSnapshot stats_;
  Clock::TimePoint last_activity_{};
  Clock::TimePoint next_tick_{};

  std::mutex requests_mutex_;
  std::atomic<bool> has_requests_{false};
  std::optional<IpEndpoint> requested_upstream_;
  std::optional<IpEndpoint> requested_listen_;
};

}  // namespace etherpath::relay
