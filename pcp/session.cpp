// The PCP client state machine: retransmission (§8.1.1), response matching (§11.4, §12.3),
// renewal (§11.2.1), epoch checks (§8.5), ANNOUNCE (§14.1) and error retries (§7.4).
#include "pcp/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace etherpath::pcp {
namespace {

using std::chrono::duration_cast;
using Seconds = std::chrono::seconds;

bool awaits_answer(State s) {
  return s == State::starting || s == State::renewing || s == State::revoking;
}

Result<std::uint32_t> lifetime_seconds(Seconds lifetime) {
  if (lifetime.count() < 0 || lifetime.count() > std::numeric_limits<std::uint32_t>::max()) {
    return fail(Errc::invalid_argument,
                fmt::format("lifetime {} s is outside 0 .. 2^32-1", lifetime.count()));
  }
  return static_cast<std::uint32_t>(lifetime.count());
}

double to_seconds(Clock::Duration d) {
  return std::chrono::duration<double>(d).count();
}

// g++ warns on designated initialisers that leave members out, so these build the values.
Alert make_alert(Alert::Kind kind, State state, std::optional<Assignment> assignment = {},
                 std::optional<Failure> failure = {}) {
  Alert a;
  a.kind = kind;
  a.state = state;
  a.assignment = std::move(assignment);
  a.failure = std::move(failure);
  return a;
}

Failure make_failure(std::optional<ResultCode> code, Seconds lifetime, std::string reason) {
  Failure f;
  f.code = code;
  f.lifetime = lifetime;
  f.reason = std::move(reason);
  return f;
}

Failure result_failure(const Response& r) {
  return make_failure(r.result, Seconds(r.lifetime),
                      fmt::format("{}: {}", name(r.result), explain(r.result)));
}

}  // namespace

std::string_view name(State state) {
  switch (state) {
    case State::starting: return "starting";
    case State::running: return "running";
    case State::renewing: return "renewing";
    case State::backoff: return "backoff";
    case State::revoking: return "revoking";
    case State::revoked: return "revoked";
    case State::expired: return "expired";
    case State::failed: return "failed";
  }
  return "unknown";
}

Session::Session(SessionConfig config, DatagramTransport& transport, const Clock& clock,
                 RandomSource& random)
    : config_(config), transport_(transport), clock_(clock), random_(random) {}

Result<MappingId> Session::request(const InboundMap& map, RequestType type) {
  EP_TRY(const auto lifetime, lifetime_seconds(map.lifetime()));
  if (map.internal_port() == 0 && map.protocol() != Protocol::all && lifetime != 0) {
    return fail(Errc::invalid_argument,
                "internal port 0 (every port) needs protocol 'all' or lifetime 0 (RFC 6887 §11.1)");
  }
  Request r;
  r.opcode = Opcode::map;
  r.lifetime = lifetime;
  r.client_address = config_.client;
  r.info.protocol = map.protocol();
  r.info.internal_port = map.internal_port();
  r.info.external_port = map.external_port();
  r.info.external_address =
      map.external_address().value_or(IpAddress::any(config_.client.family()));
  r.options.third_party = map.third_party();
  r.options.prefer_failure = map.prefer_failure();
  r.options.filters = map.filters();
  if (map.nonce()) {
    r.info.nonce = *map.nonce();
  }
  return add(std::move(r), type);
}

Result<MappingId> Session::request(const OutboundMap& map, RequestType type) {
  EP_TRY(const auto lifetime, lifetime_seconds(map.lifetime()));
  if (map.internal_port() == 0) {
    return fail(Errc::invalid_argument, "PEER needs an internal port");
  }
  if (map.remote().port == 0 || map.remote().address.is_unspecified()) {
    return fail(Errc::invalid_argument, "PEER needs a remote address and port");
  }
  if (map.protocol() == Protocol::all) {
    return fail(Errc::invalid_argument, "PEER needs a protocol (tcp, udp, ...), not 'all'");
  }
  Request r;
  r.opcode = Opcode::peer;
  r.lifetime = lifetime;
  r.client_address = config_.client;
  r.info.protocol = map.protocol();
  r.info.internal_port = map.internal_port();
  r.info.external_port = map.external_port();
  r.info.external_address =
      map.external_address().value_or(IpAddress::any(config_.client.family()));
  r.info.remote_port = map.remote().port;
  r.info.remote_address = map.remote().address;
  r.options.third_party = map.third_party();
  if (map.nonce()) {
    r.info.nonce = *map.nonce();
  }
  return add(std::move(r), type);
}

Result<MappingId> Session::request(const Announce& /*announce*/) {
  Request r;
  r.opcode = Opcode::announce;
  r.lifetime = 0;
  r.client_address = config_.client;
  return add(std::move(r), RequestType::once);
}

Result<MappingId> Session::add(Request request, RequestType type) {
  if (request.opcode != Opcode::announce && request.info.nonce == Nonce{}) {
    // 96 random bits (§11.1): only the host that made a mapping can change or delete it.
    const std::uint64_t a = random_.next();
    const std::uint64_t b = random_.next();
    for (std::size_t i = 0; i < 8; ++i) {
      request.info.nonce[i] = static_cast<std::uint8_t>(a >> (8U * i));
    }
    for (std::size_t i = 0; i < 4; ++i) {
      request.info.nonce[8 + i] = static_cast<std::uint8_t>(b >> (8U * i));
    }
  }
  EP_TRY(auto probe, encode(request));  // refuse what cannot go on the wire before tracking it
  (void)probe;
  const MappingId id = next_id_++;
  Mapping& m = mappings_[id];
  m.request = std::move(request);
  m.type = type;
  m.renewals_left = type.kind() == RequestType::Kind::repeat ? type.count() : 0;
  m.state = State::starting;
  m.alerts.push_back(make_alert(Alert::Kind::state_changed, State::starting));
  start_exchange(m, State::starting, Clock::Duration::zero());
  return id;
}

Status Session::renew(MappingId id, std::chrono::seconds lifetime) {
  if (!contains(id)) {
    return fail(Errc::not_found, fmt::format("mapping {}", id));
  }
  Mapping& m = at(id);
  if (m.request.opcode == Opcode::announce) {
    return fail(Errc::invalid_argument, "an ANNOUNCE cannot be renewed");
  }
  EP_TRY(m.request.lifetime, lifetime_seconds(lifetime));
  start_exchange(m, State::starting, Clock::Duration::zero());
  return ok();
}

Status Session::revoke(MappingId id) {
  if (!contains(id)) {
    return fail(Errc::not_found, fmt::format("mapping {}", id));
  }
  Mapping& m = at(id);
  if (m.request.opcode == Opcode::announce) {
    return fail(Errc::invalid_argument, "an ANNOUNCE cannot be revoked");
  }
  start_exchange(m, State::revoking, Clock::Duration::zero());
  return ok();
}

void Session::forget(MappingId id) {
  mappings_.erase(id);
}

Session::Mapping& Session::at(MappingId id) {
  return mappings_.at(id);
}
const Session::Mapping& Session::at(MappingId id) const {
  return mappings_.at(id);
}

State Session::state(MappingId id) const {
  return at(id).state;
}
Nonce Session::nonce(MappingId id) const {
  return at(id).request.info.nonce;
}
unsigned Session::transmissions(MappingId id) const {
  return at(id).transmissions;
}
std::optional<Assignment> Session::assignment(MappingId id) const {
  return at(id).assignment;
}
std::optional<Failure> Session::failure(MappingId id) const {
  return at(id).failure;
}

std::vector<Alert> Session::take_alerts(MappingId id) {
  auto it = mappings_.find(id);
  if (it == mappings_.end()) {
    return {};
  }
  std::vector<Alert> out(it->second.alerts.begin(), it->second.alerts.end());
  it->second.alerts.clear();
  return out;
}

Clock::Duration Session::jitter(Clock::Duration d, double lo, double hi) {
  return duration_cast<Clock::Duration>(std::chrono::duration<double, Clock::Duration::period>(
      static_cast<double>(d.count()) * random_.uniform(lo, hi)));
}

void Session::set_state(Mapping& m, State s) {
  if (m.state == s) {
    return;
  }
  m.state = s;
  const bool failing = s == State::backoff || s == State::failed;
  m.alerts.push_back(
      make_alert(Alert::Kind::state_changed, s, std::nullopt, failing ? m.failure : std::nullopt));
}

void Session::fail_mapping(Mapping& m, Failure f) {
  m.failure = std::move(f);
  m.deadline.reset();
  m.send_pending = false;
  m.state = State::starting;  // so that set_state always reports the failure
  set_state(m, State::failed);
}

void Session::transmit(Mapping& m) {
  Request r = m.request;
  if (m.state == State::revoking) {
    r.lifetime = 0;
  }
  auto bytes = encode(r);
  ++m.transmissions;
  if (!bytes) {
    ++stats_.send_errors;
    stats_.last_error = bytes.error().message();
    return;
  }
  auto sent = transport_.send_to(as_bytes(std::span<const std::uint8_t>(*bytes)), config_.server);
  if (!sent) {
    // A lost send is a lost datagram: the retransmission timer covers it.
    ++stats_.send_errors;
    stats_.last_error = sent.error().message();
    return;
  }
  ++stats_.sent;
}

// A new exchange (first request, re-request, renew(), revoke()): RT starts at IRT (§8.1.1).
void Session::start_exchange(Mapping& m, State state, Clock::Duration delay) {
  set_state(m, state);
  m.transmissions = 0;
  m.rt = Clock::Duration::zero();
  const auto now = clock_.now();
  if (delay > Clock::Duration::zero()) {
    m.send_pending = true;
    m.deadline = now + delay;
    return;
  }
  m.send_pending = false;
  m.first_sent = now;
  transmit(m);
  m.rt = jitter(config_.timers.irt, 0.9, 1.1);
  m.deadline = now + m.rt;
  if (config_.timers.mrd > Clock::Duration::zero()) {
    m.deadline = std::min(*m.deadline, m.first_sent + config_.timers.mrd);
  }
}

void Session::schedule_after_grant(Mapping& m) {
  const auto now = clock_.now();
  const auto expiry = m.granted_at + m.granted;
  m.renew_attempt = 0;
  const bool renews = m.type.kind() == RequestType::Kind::keep_alive ||
                      (m.type.kind() == RequestType::Kind::repeat && m.renewals_left > 0);
  if (!renews) {
    m.deadline = expiry;
    return;
  }
  // First renewal at a random point between 1/2 and 5/8 of the lifetime (§11.2.1).
  auto t = now + jitter(m.granted, 0.5, 0.625);
  t = std::max(t, now + config_.timers.min_renew_interval);
  m.deadline = t < expiry ? t : expiry;
}

// After renewal attempt k (1, 2, ...) with no answer: the next between 1-2^-(k+1) and
// 1-2^-(k+1)+2^-(k+3) of the lifetime (3/4..7/8, 7/8..15/16, ...), never closer than 4 s to the
// last one; past the expiry the mapping just expires.
void Session::schedule_renewal(Mapping& m) {
  const auto expiry = m.granted_at + m.granted;
  const double k = m.renew_attempt;
  const double base = 1.0 - std::pow(2.0, -(k + 1.0));
  const double span = std::pow(2.0, -(k + 3.0));
  auto t = m.granted_at + jitter(m.granted, base, base + span);
  t = std::max(t, m.last_renewal + config_.timers.min_renew_interval);
  m.deadline = t < expiry ? t : expiry;
}

void Session::on_timer() {
  const auto now = clock_.now();
  for (auto& [id, m] : mappings_) {
    if (m.deadline && *m.deadline <= now) {
      on_timer(m, now);
    }
  }
}

void Session::on_timer(Mapping& m, Clock::TimePoint now) {
  m.deadline.reset();
  const auto& t = config_.timers;
  switch (m.state) {
    case State::starting:
    case State::revoking: {
      if (m.send_pending) {
        m.send_pending = false;
        m.first_sent = now;
        transmit(m);
        m.rt = jitter(t.irt, 0.9, 1.1);
      } else {
        const bool out_of_tries = t.mrc != 0 && m.transmissions >= t.mrc;
        const bool out_of_time = t.mrd > Clock::Duration::zero() && now - m.first_sent >= t.mrd;
        if (out_of_tries || out_of_time) {
          fail_mapping(m, make_failure(std::nullopt, Seconds(0),
                                       fmt::format("no answer from {} after {} transmission(s) "
                                                   "in {:.1f} s",
                                                   config_.server.to_string(), m.transmissions,
                                                   to_seconds(now - m.first_sent))));
          return;
        }
        transmit(m);
        // RT = (1 + RAND) * MIN(2 * RTprev, MRT), RAND in [-0.1, +0.1] (§8.1.1).
        m.rt = jitter(std::min(2 * m.rt, t.mrt), 0.9, 1.1);
      }
      m.deadline = now + m.rt;
      if (t.mrd > Clock::Duration::zero()) {
        m.deadline = std::min(*m.deadline, m.first_sent + t.mrd);
      }
      return;
    }
    case State::running:
    case State::renewing: {
      if (now >= m.granted_at + m.granted) {
        set_state(m, State::expired);
        return;
      }
      if (m.state == State::running && m.type.kind() == RequestType::Kind::repeat) {
        --m.renewals_left;
      }
      set_state(m, State::renewing);
      m.last_renewal = now;
      transmit(m);
      ++m.renew_attempt;
      schedule_renewal(m);
      return;
    }
    case State::backoff: start_exchange(m, State::starting, Clock::Duration::zero()); return;
    case State::revoked:
    case State::expired:
    case State::failed: return;
  }
}

std::optional<Clock::TimePoint> Session::next_deadline() const {
  std::optional<Clock::TimePoint> out;
  for (const auto& [id, m] : mappings_) {
    if (m.deadline && (!out || *m.deadline < *out)) {
      out = m.deadline;
    }
  }
  return out;
}

void Session::on_datagram(std::span<const std::uint8_t> bytes, const IpEndpoint& from) {
  if (from != config_.server) {
    ++stats_.wrong_source;
    return;
  }
  if (is_nat_pmp(bytes)) {
    // A NAT-PMP gateway answers a PCP request with its own version 0 UNSUPP_VERSION (§9).
    ++stats_.nat_pmp;
    for (auto& [id, m] : mappings_) {
      if (awaits_answer(m.state) && !m.send_pending) {
        fail_mapping(m, make_failure(std::nullopt, Seconds(0),
                                     fmt::format("{} answered with NAT-PMP (version 0): it speaks "
                                                 "NAT-PMP (RFC 6886), not PCP; use a NAT-PMP "
                                                 "client",
                                                 config_.server.address.to_string())));
      }
    }
    return;
  }
  auto decoded = decode_response(bytes);
  if (!decoded) {
    ++stats_.malformed;
    stats_.last_error = decoded.error().message();
    return;
  }
  ++stats_.responses;
  stats_.ignored_options += decoded->ignored_options;
  if (decoded->opcode == Opcode::announce) {
    on_announce(*decoded);
  } else {
    on_response(*decoded);
  }
}

void Session::on_response(const Response& r) {
  const auto now = clock_.now();
  if (!r.has_info) {
    // A bare header carries no nonce; only a version refusal can be acted on (§9).
    if (r.result != ResultCode::unsupp_version) {
      ++stats_.unmatched;
      return;
    }
    for (auto& [id, m] : mappings_) {
      if (awaits_answer(m.state) && !m.send_pending && m.request.opcode == r.opcode) {
        fail_mapping(m, result_failure(r));
      }
    }
    return;
  }
  std::optional<MappingId> match;
  bool candidate = false;
  for (auto& [id, m] : mappings_) {
    const auto& q = m.request;
    if (!awaits_answer(m.state) || m.send_pending || q.opcode != r.opcode ||
        q.info.protocol != r.info.protocol || q.info.internal_port != r.info.internal_port) {
      continue;
    }
    if (q.opcode == Opcode::peer && (q.info.remote_port != r.info.remote_port ||
                                     q.info.remote_address != r.info.remote_address)) {
      continue;
    }
    candidate = true;
    if (q.info.nonce == r.info.nonce) {  // all 96 bits (§11.4)
      match = id;
      break;
    }
  }
  if (!match) {
    ++(candidate ? stats_.nonce_mismatch : stats_.unmatched);
    return;
  }
  if (!epoch_valid(r.epoch)) {
    ++stats_.epoch_resets;
    rerequest_all(match, false);
  }
  Mapping& m = at(*match);
  if (r.result == ResultCode::success) {
    if (m.state == State::revoking && r.lifetime != 0) {
      return;  // a late answer to the renewal before the delete
    }
    Assignment a;
    a.opcode = r.opcode;
    a.external_address = r.info.external_address;
    a.external_port = r.info.external_port;
    a.lifetime = Seconds(r.lifetime);
    a.epoch = r.epoch;
    a.response = r;
    m.assignment = a;
    m.failure.reset();
    m.deadline.reset();
    if (r.lifetime == 0) {  // a confirmed delete, or the server ended the mapping
      set_state(m, State::revoked);
      return;
    }
    m.granted_at = now;
    m.granted = Seconds(r.lifetime);
    m.state = State::running;
    m.alerts.push_back(make_alert(Alert::Kind::assigned, State::running, std::move(a)));
    schedule_after_grant(m);
    return;
  }
  Failure f = result_failure(r);
  if (is_short_lifetime_error(r.result) && m.state != State::revoking) {
    // The condition should clear: ask again once the error's lifetime is over (§7.4).
    m.failure = std::move(f);
    m.state = State::starting;
    set_state(m, State::backoff);
    m.deadline = now + std::max<Clock::Duration>(Seconds(r.lifetime), config_.timers.irt);
    return;
  }
  fail_mapping(m, std::move(f));
}

void Session::on_announce(const Response& r) {
  Mapping* pending = nullptr;
  MappingId pending_id = 0;
  for (auto& [id, m] : mappings_) {
    if (m.request.opcode == Opcode::announce && m.state == State::starting && !m.send_pending) {
      pending = &m;
      pending_id = id;
      break;
    }
  }
  if (pending != nullptr) {
    // The answer to our own ANNOUNCE: it tells the epoch; an invalid one means lost state.
    if (!epoch_valid(r.epoch)) {
      ++stats_.epoch_resets;
      rerequest_all(pending_id, false);
    }
    if (r.result != ResultCode::success) {
      fail_mapping(*pending, result_failure(r));
      return;
    }
    Assignment a;
    a.opcode = Opcode::announce;
    a.epoch = r.epoch;
    a.response = r;
    pending->assignment = a;
    pending->deadline.reset();
    pending->state = State::running;
    pending->alerts.push_back(make_alert(Alert::Kind::assigned, State::running, std::move(a)));
    return;
  }
  if (r.result != ResultCode::success) {
    ++stats_.unmatched;
    return;
  }
  // Unsolicited (§14.1.3): the server restarted or changed; every mapping is asked for again.
  ++stats_.announces;
  (void)epoch_valid(r.epoch);
  rerequest_all(std::nullopt, true);
}

bool Session::epoch_valid(std::uint32_t epoch) {
  const auto now = clock_.now();
  const auto prev = prev_epoch_;
  const auto prev_at = prev_epoch_at_;
  prev_epoch_ = epoch;
  prev_epoch_at_ = now;
  if (!prev) {
    return true;  // the first epoch seen is valid by definition
  }
  if (std::uint64_t{epoch} + 1 < *prev) {
    return false;  // time went backwards by more than a second
  }
  const double client_delta = to_seconds(now - prev_at);
  const double server_delta = static_cast<double>(epoch) - static_cast<double>(*prev);
  return !(client_delta + 2 < server_delta - server_delta / 16 ||
           server_delta + 2 < client_delta - client_delta / 16);
}

void Session::rerequest_all(std::optional<MappingId> except, bool spread) {
  for (auto& [id, m] : mappings_) {
    if ((except && id == *except) || m.request.opcode == Opcode::announce) {
      continue;
    }
    if (m.state != State::running && m.state != State::renewing) {
      continue;  // starting ones are asking already; the others hold nothing
    }
    const auto delay =
        spread ? jitter(config_.timers.announce_delay_max, 0.0, 1.0) : Clock::Duration::zero();
    start_exchange(m, State::starting, delay);
  }
}

}  // namespace etherpath::pcp
