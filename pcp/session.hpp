// Session: the PCP client's state machine for one server, single-threaded and free of real time.
// It sends through an injected DatagramTransport, reads time from an injected Clock and draws
// nonces and jitter from an injected RandomSource, so tests drive it with a FakeClock and a fake
// server. Client (client.hpp) runs it on a thread over kernel UDP.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/datagram_transport.hpp"
#include "pcp/mapping.hpp"
#include "pcp/random_source.hpp"

namespace etherpath::pcp {

using MappingId = std::uint32_t;

struct SessionConfig {
  IpAddress client;   // written into every request's client address field
  IpEndpoint server;  // address and port (5351) requests go to and answers must come from
  Timers timers;
};

// Counters of what the session saw and set aside; each names one reason.
struct SessionStats {
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t responses = 0;        // decoded answers from the server
  std::uint64_t malformed = 0;        // datagrams that did not decode
  std::uint64_t wrong_source = 0;     // not from the server's address and port
  std::uint64_t nonce_mismatch = 0;   // right opcode, protocol and port, other nonce
  std::uint64_t unmatched = 0;        // no pending request fits the answer
  std::uint64_t nat_pmp = 0;          // version 0 answers
  std::uint64_t epoch_resets = 0;     // epochs that failed §8.5's check
  std::uint64_t announces = 0;        // unsolicited ANNOUNCEs
  std::uint64_t ignored_options = 0;  // unknown optional options skipped
  std::string last_error;             // the last malformed datagram's or send's reason
};

class Session {
 public:
  // The transport, clock and random source must outlive the session.
  Session(SessionConfig config, DatagramTransport& transport, const Clock& clock,
          RandomSource& random);

  // Sends the first request now. Errors are for requests that cannot be made (port 0 ...).
  Result<MappingId> request(const InboundMap& map, RequestType type);
  Result<MappingId> request(const OutboundMap& map, RequestType type);
  Result<MappingId> request(const Announce& announce);
  // Asks again now with a new lifetime (same nonce); the state goes back to starting.
  Status renew(MappingId id, std::chrono::seconds lifetime);
  // Sends a delete (lifetime 0) and waits for the server to confirm it.
  Status revoke(MappingId id);
  // Stops tracking a mapping without telling the server (it lives until its lifetime ends).
  void forget(MappingId id);

  // Feeds one received datagram (from the request socket or the ANNOUNCE listener).
  void on_datagram(std::span<const std::uint8_t> bytes, const IpEndpoint& from);
  // Runs every timer due at clock.now(): retransmissions, renewals, expiries, retries.
  void on_timer();
  // When on_timer() next has something to do.
  [[nodiscard]] std::optional<Clock::TimePoint> next_deadline() const;

  [[nodiscard]] bool contains(MappingId id) const { return mappings_.contains(id); }
  [[nodiscard]] State state(MappingId id) const;
  [[nodiscard]] Nonce nonce(MappingId id) const;
  [[nodiscard]] unsigned transmissions(MappingId id) const;
  [[nodiscard]] std::optional<Assignment> assignment(MappingId id) const;
  [[nodiscard]] std::optional<Failure> failure(MappingId id) const;
  // Alerts since the last call, oldest first.
  std::vector<Alert> take_alerts(MappingId id);
  [[nodiscard]] const SessionStats& stats() const { return stats_; }

 private:
  struct Mapping {
    Request request;  // as sent; lifetime = what the user asked
    RequestType type = RequestType::once;
    unsigned renewals_left = 0;
    State state = State::starting;
    // The exchange in flight (starting, revoking): first send time, current RT, count.
    Clock::TimePoint first_sent{};
    Clock::Duration rt{};
    unsigned transmissions = 0;
    bool send_pending = false;  // starting, but the first send waits for `deadline`
    // The mapping held: when it was granted and for how long; renewal attempt number.
    Clock::TimePoint granted_at{};
    Clock::Duration granted{};
    unsigned renew_attempt = 0;
    Clock::TimePoint last_renewal{};
    std::optional<Clock::TimePoint> deadline;
    std::optional<Assignment> assignment;
    std::optional<Failure> failure;
    std::deque<Alert> alerts;
  };

  Result<MappingId> add(Request request, RequestType type);
  void transmit(Mapping& m);
  void start_exchange(Mapping& m, State state, Clock::Duration delay);
  static void set_state(Mapping& m, State s);
  static void fail_mapping(Mapping& m, Failure f);
  void schedule_after_grant(Mapping& m);
  void schedule_renewal(Mapping& m);
  void on_timer(Mapping& m, Clock::TimePoint now);
  void on_response(const Response& r);
  void on_announce(const Response& r);
  // RFC 6887 §8.5; true when the server's epoch is consistent with the last one seen.
  bool epoch_valid(std::uint32_t epoch);
  // The server lost its state: ask for every mapping held again, after `delay` (0-5 s jitter
  // for ANNOUNCE), except `except`.
  void rerequest_all(std::optional<MappingId> except, bool spread);
  Clock::Duration jitter(Clock::Duration d, double lo, double hi);
  Mapping& at(MappingId id);
  [[nodiscard]] const Mapping& at(MappingId id) const;

  SessionConfig config_;
  DatagramTransport& transport_;
  const Clock& clock_;
  RandomSource& random_;
  std::map<MappingId, Mapping> mappings_;
  MappingId next_id_ = 1;
  std::optional<std::uint32_t> prev_epoch_;
  Clock::TimePoint prev_epoch_at_{};
  SessionStats stats_;
};

}  // namespace etherpath::pcp
