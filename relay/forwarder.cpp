// Forwarder: classify each received datagram, rewrite it in place for the other side, send the
// batch, count; timers for idle sessions, echo timeouts and stats.
#include "relay/forwarder.hpp"

#include <fmt/format.h>

#include "relay/icmp_echo.hpp"

namespace etherpath::relay {
namespace {

double micros(Clock::Duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

std::string client_text(Proto proto, const IpEndpoint& key) {
  // An ICMP client is its address plus Echo identifier: "ICMP:10.0.0.1 id 7".
  if (proto == Proto::icmp) {
    return fmt::format("{} id {}", key.address.to_string(), key.port);
  }
  return key.to_string();
}

}  // namespace

Forwarder::Forwarder(const ForwarderConfig& config, Transport& transport, const Clock& clock,
                     LogSink log)
    : config_(config),
      transport_(transport),
      clock_(clock),
      log_(std::move(log)),
      table_(config_.max_sessions) {
  stats_.upstream = config_.upstream;
  last_activity_ = clock_.now();
  next_tick_ = last_activity_ + kTick;
}

void Forwarder::log(LogLevel level, const std::string& line) const {
  if (log_) {
    log_(level, line);
  }
}

Status Forwarder::start() {
  EP_TRY(auto port, transport_.open_upstream(config_.upstream, config_.upstream.port));
  spare_ = port;
  last_activity_ = clock_.now();
  next_tick_ = last_activity_ + kTick;
  return ok();
}

Result<UpstreamPort> Forwarder::take_upstream_port() {
  if (spare_) {
    const UpstreamPort p = *spare_;
    spare_.reset();
    return p;
  }
  // Later sessions take whatever identifier the transport can give (0 = any).
  return transport_.open_upstream(config_.upstream, 0);
}

void Forwarder::release_upstream_port(UpstreamPort port) {
  if (port.port == kNoPort) {
    return;
  }
  // Keep one port open for the next client (pkthere keeps its upstream socket across relocks).
  if (!spare_) {
    spare_ = port;
    return;
  }
  transport_.close_upstream(port.port);
}

// Callers format their reason only when drops are logged (`log_drops() ? fmt::format(..) : {}`),
// so a flood of refused datagrams costs no allocation.
void Forwarder::drop(DropReason reason, const Datagram& d, std::string_view why) {
  ++stats_.drops[static_cast<std::size_t>(reason)];
  if (config_.log_drops) {
    // "from unexpected ..." reasons name the peer themselves (pkthere's wording).
    if (why.starts_with("unexpected")) {
      log(LogLevel::debug, fmt::format("dropping packet from {}", why));
    } else {
      log(LogLevel::debug, fmt::format("dropping packet from {}: {}", d.peer.to_string(), why));
    }
  }
}

Session* Forwarder::open_session(const IpEndpoint& key, const Datagram& d, Clock::TimePoint now) {
  if (table_.full()) {
    if (single()) {
      drop(DropReason::wrong_client, d,
           log_drops() ? fmt::format("unexpected client peer {} (locked to {})",
                                     client_text(config_.listen_proto, key),
                                     client_text(config_.listen_proto, table_.newest()->client))
                       : std::string());
    } else {
      drop(DropReason::session_limit, d,
           log_drops() ? fmt::format("session limit reached ({}): new client {} refused",
                                     table_.capacity(), client_text(config_.listen_proto, key))
                       : std::string());
    }
    return nullptr;
  }
  if (table_.empty() && lock_resolver_ != nullptr) {
    reresolve_on_lock();
  }
  auto port = take_upstream_port();
  if (!port) {
    ++stats_.drops[static_cast<std::size_t>(DropReason::upstream_open)];
    log(LogLevel::warn,
        fmt::format("cannot open an upstream port for client {}: {}",
                    client_text(config_.listen_proto, key), port.error().message()));
    return nullptr;
  }
  Session* s = table_.add(key, now);
  table_.bind_upstream(*s, *port, upstream_icmp());
  ++stats_.sessions_opened;
  if (single()) {
    // Connected mode ties the listener to the client so the kernel drops everyone else. A raw
    // ICMP listener stays unconnected (pkthere forces that too): it filters by address only.
    const bool connect = config_.connected && !listen_icmp();
    if (connect) {
      if (auto st = transport_.connect_listener(key); !st) {
        log(LogLevel::warn, fmt::format("connect to client failed: {}", st.error().message()));
      }
    }
    log(LogLevel::info,
        fmt::format("Locked to single client {} ({})", client_text(config_.listen_proto, key),
                    connect ? "connected" : "not connected"));
  } else {
    log(LogLevel::info,
        fmt::format("New session for client {} ({}/{}), upstream {}",
                    client_text(config_.listen_proto, key), table_.size(), table_.capacity(),
                    upstream_icmp() ? fmt::format("echo id {}", port->echo_id)
                                    : fmt::format("port {}", port->port)));
  }
  return s;
}

void Forwarder::end_session(Session& s, std::string_view why) {
  const UpstreamPort port = s.upstream;
  const IpEndpoint client = s.client;
  stats_.echo_timeouts += s.echoes.pending();
  table_.remove(s, upstream_icmp());
  release_upstream_port(port);
  ++stats_.sessions_expired;
  if (single()) {
    if (config_.connected && !listen_icmp()) {
      (void)transport_.connect_listener(std::nullopt);
    }
    log(LogLevel::info, fmt::format("{}: dropping locked client; waiting for a new client", why));
  } else {
    log(LogLevel::info, fmt::format("{}: dropping session for client {} ({} left)", why,
                                    client_text(config_.listen_proto, client), table_.size()));
  }
}

std::optional<EchoHeader> Forwarder::parse_echo_or_drop(Datagram& d, IpFamily family) {
  const EchoParse parsed = parse_echo(d.payload(), family);
  if (!parsed.header) {
    const bool truncated = parsed.error == EchoParseError::truncated;
    drop(truncated ? DropReason::malformed : DropReason::mismatch, d,
         truncated ? "invalid ICMP Echo header (missing or truncated)"
                   : "ICMP Echo direction or identity mismatch");
  }
  return parsed.header;
}

void Forwarder::handle_client(Datagram& d, std::size_t i, Clock::TimePoint now) {
  IpEndpoint key = d.peer;
  std::uint16_t client_seq = 0;
  if (listen_icmp()) {
    const auto header = parse_echo_or_drop(d, config_.listen.address.family());
    if (!header) {
      return;
    }
    const EchoHeader& h = *header;
    if (h.kind != EchoKind::request || (config_.listen.port != 0 && h.id != config_.listen.port)) {
      drop(DropReason::mismatch, d, "ICMP Echo direction or identity mismatch");
      return;
    }
    // On one host the listener also sees the requests this relay sends upstream: not a client.
    if (upstream_icmp() && config_.listen.port == 0 && d.peer.address == config_.upstream.address &&
        table_.find_by_echo_id(h.id) != nullptr) {
      drop(DropReason::mismatch, d, "own upstream echo seen on the listener");
      return;
    }
    key = IpEndpoint{d.peer.address, h.id};
    client_seq = h.seq;
    d.pull_front(kIcmpEchoHeaderSize);
  }
  if (d.length > config_.max_payload) {
    ++stats_.c2u.drops_oversize;
    if (config_.log_drops) {
      log(LogLevel::debug, fmt::format("dropping packet from {}: payload {} > --max-payload {}",
                                       d.peer.to_string(), d.length, config_.max_payload));
    }
    return;
  }
  Session* s = table_.find_client(key);
  if (s == nullptr) {
    s = open_session(key, d, now);
    if (s == nullptr) {
      return;
    }
  }
  payload_len_[i] = d.length;
  if (upstream_icmp()) {
    const std::uint16_t seq = listen_icmp() ? client_seq : s->next_seq++;
    if (!d.push_front(kIcmpEchoHeaderSize)) {
      drop(DropReason::malformed, d, "no headroom for an ICMP Echo header");
      return;
    }
    write_echo(d.payload(), config_.upstream.address.family(),
               EchoHeader{EchoKind::request, s->upstream.echo_id, seq});
    stats_.echo_timeouts += s->echoes.sent(seq, now);
    d.peer = IpEndpoint{config_.upstream.address, 0};
  } else {
    d.peer = config_.upstream;
  }
  if (listen_icmp()) {
    s->last_client_seq = client_seq;
  }
  d.port = s->upstream.port;
  d.verdict = Verdict::forward;
  dir_[i] = Dir::c2u;
  s->last_seen = now;
}

void Forwarder::handle_upstream(Datagram& d, std::size_t i, Clock::TimePoint now) {
  Session* s = nullptr;
  std::uint16_t reply_seq = 0;
  if (upstream_icmp()) {
    const auto header = parse_echo_or_drop(d, config_.upstream.address.family());
    if (!header) {
      return;
    }
    const EchoHeader& h = *header;
    if (h.kind != EchoKind::reply) {
      drop(DropReason::mismatch, d, "ICMP Echo direction or identity mismatch");
      return;
    }
    s = table_.find_by_echo_id(h.id);
    if (s == nullptr || s->upstream.port != d.port) {
      // A raw upstream socket sees every echo reply on the host; most are not ours.
      drop(DropReason::no_session, d,
           log_drops() ? fmt::format("no session for echo id {}", h.id) : std::string());
      return;
    }
    if (d.peer.address != config_.upstream.address) {
      drop(DropReason::wrong_upstream, d,
           log_drops() ? fmt::format("unexpected upstream peer {}", d.peer.address.to_string())
                       : std::string());
      return;
    }
    (void)s->echoes.answered(h.seq);
    reply_seq = h.seq;
    d.pull_front(kIcmpEchoHeaderSize);
  } else {
    s = table_.find_by_port(d.port);
    if (s == nullptr) {
      drop(DropReason::no_session, d, "upstream datagram for no live session");
      return;
    }
    if (!same_endpoint(d.peer, config_.upstream)) {
      drop(DropReason::wrong_upstream, d,
           log_drops() ? fmt::format("unexpected upstream peer {}", d.peer.to_string())
                       : std::string());
      return;
    }
  }
  if (d.length > config_.max_payload) {
    ++stats_.u2c.drops_oversize;
    if (config_.log_drops) {
      log(LogLevel::debug, fmt::format("dropping packet from {}: payload {} > --max-payload {}",
                                       d.peer.to_string(), d.length, config_.max_payload));
    }
    return;
  }
  payload_len_[i] = d.length;
  if (listen_icmp()) {
    const std::uint16_t seq = upstream_icmp() ? reply_seq : s->last_client_seq;
    if (!d.push_front(kIcmpEchoHeaderSize)) {
      drop(DropReason::malformed, d, "no headroom for an ICMP Echo header");
      return;
    }
    // The client's own identifier goes back to it, whatever id the upstream leg used.
    write_echo(d.payload(), config_.listen.address.family(),
               EchoHeader{EchoKind::reply, s->client.port, seq});
    d.peer = IpEndpoint{s->client.address, 0};
  } else {
    d.peer = s->client;
  }
  d.port = kListenerPort;
  d.verdict = Verdict::forward;
  dir_[i] = Dir::u2c;
  s->last_seen = now;
}

Result<Outcome> Forwarder::poll(std::chrono::milliseconds wait) {
  EP_TRY(auto n, transport_.receive(batch_, wait));
  const Clock::TimePoint received = clock_.now();
  Clock::TimePoint now = received;  // one clock read fewer per round: the last one taken
  bool any_forwarded = false;
  for (std::size_t i = 0; i < n; ++i) {
    Datagram& d = batch_[i];
    dir_[i] = Dir::none;
    d.verdict = Verdict::drop;
    if (d.port == kListenerPort) {
      handle_client(d, i, received);
    } else {
      handle_upstream(d, i, received);
    }
    any_forwarded = any_forwarded || d.verdict == Verdict::forward;
  }
  if (any_forwarded) {
    transport_.send(batch_);
    const Clock::TimePoint done = clock_.now();
    const double us = micros(done - received);
    for (std::size_t i = 0; i < n; ++i) {
      if (dir_[i] == Dir::none) {
        continue;
      }
      DirectionStats& ds = dir_[i] == Dir::c2u ? stats_.c2u : stats_.u2c;
      if (batch_[i].verdict == Verdict::sent) {
        ds.forwarded(payload_len_[i], us);
      } else {
        ++ds.errs;
      }
    }
    last_activity_ = received;
    now = done;
  }
  if (now >= next_tick_) {
    next_tick_ = now + kTick;
    return tick(now);
  }
  return Outcome::running;
}

Outcome Forwarder::tick(Clock::TimePoint now) {
  if (has_requests_.load(std::memory_order_acquire)) {
    apply_requests();
  }
  const bool timeouts = config_.timeout.count() > 0;
  table_.for_each(
      [&](Session& s) { stats_.echo_timeouts += s.echoes.expire(now, config_.echo_timeout); });
  if (timeouts) {
    // Collect first: ending a session changes the table under for_each.
    std::array<Session*, 64> expired{};
    bool more = true;
    while (more) {
      std::size_t count = 0;
      more = false;
      table_.for_each([&](Session& s) {
        if (now - s.last_seen >= config_.timeout) {
          if (count < expired.size()) {
            expired[count++] = &s;
          } else {
            more = true;
          }
        }
      });
      for (std::size_t k = 0; k < count; ++k) {
        if (config_.on_timeout == OnTimeout::exit && table_.size() == 1) {
          // The last session: exit with it still in the stats (pkthere's final line names the
          // client it served).
          log(LogLevel::info,
              fmt::format("Idle timeout reached ({}s): exiting", config_.timeout.count()));
          return Outcome::timeout_exit;
        }
        end_session(*expired[k],
                    fmt::format("Idle timeout reached ({}s)", config_.timeout.count()));
      }
    }
    if (config_.on_timeout == OnTimeout::exit && table_.empty() &&
        now - last_activity_ >= config_.timeout) {
      log(LogLevel::info,
          fmt::format("Idle timeout reached ({}s): exiting", config_.timeout.count()));
      return Outcome::timeout_exit;
    }
  }
  return Outcome::running;
}

Result<Outcome> Forwarder::run(const std::atomic<bool>& stop,
                               const std::function<void(const StatsSnapshot&)>& on_tick) {
  Clock::TimePoint next_publish = clock_.now();
  while (!stop.load(std::memory_order_relaxed)) {
    EP_TRY(auto outcome, poll(kTick));
    const Clock::TimePoint now = clock_.now();
    if (on_tick && (now >= next_publish || outcome != Outcome::running)) {
      next_publish = now + kTick;
      on_tick(snapshot());
    }
    if (outcome != Outcome::running) {
      return outcome;
    }
  }
  if (on_tick) {
    on_tick(snapshot());
  }
  return Outcome::running;
}

StatsSnapshot Forwarder::snapshot() {
  StatsSnapshot s = stats_;
  s.sessions = table_.size();
  const Session* newest = table_.newest();
  if (newest != nullptr) {
    s.client = newest->client;
  } else {
    s.client.reset();
  }
  if (s.client && listen_icmp()) {
    s.client->port = newest->client.port;
  }
  s.upstream = config_.upstream;
  return s;
}

void Forwarder::request_upstream(const IpEndpoint& upstream) {
  const std::lock_guard lock(requests_mutex_);
  requested_upstream_ = upstream;
  has_requests_.store(true, std::memory_order_release);
}

void Forwarder::request_listener(const IpEndpoint& listen) {
  const std::lock_guard lock(requests_mutex_);
  requested_listen_ = listen;
  has_requests_.store(true, std::memory_order_release);
}

void Forwarder::apply_requests() {
  std::optional<IpEndpoint> upstream;
  std::optional<IpEndpoint> listen;
  {
    const std::lock_guard lock(requests_mutex_);
    upstream = std::exchange(requested_upstream_, std::nullopt);
    listen = std::exchange(requested_listen_, std::nullopt);
    has_requests_.store(false, std::memory_order_release);
  }
  if (listen && *listen != config_.listen) {
    // A new listener address: the clients of the old one cannot reach us any more.
    if (auto st = transport_.rebind_listener(*listen); !st) {
      log(LogLevel::warn, fmt::format("Periodic re-resolve: cannot move the listener to {}: {}",
                                      listen->to_string(), st.error().message()));
    } else {
      log(LogLevel::info,
          fmt::format("Periodic re-resolve: listener moved to {}", listen->to_string()));
      config_.listen = *listen;
      std::array<Session*, 64> all{};
      while (!table_.empty()) {
        std::size_t count = 0;
        table_.for_each([&](Session& s) {
          if (count < all.size()) {
            all[count++] = &s;
          }
        });
        for (std::size_t k = 0; k < count; ++k) {
          end_session(*all[k], "Listener re-resolved");
        }
      }
    }
  }
  if (upstream && *upstream != config_.upstream) {
    change_upstream(*upstream, "Periodic re-resolve");
  }
}

void Forwarder::reresolve_upstream_on_lock(Resolver& resolver, std::string host) {
  lock_resolver_ = &resolver;
  upstream_host_ = std::move(host);
}

void Forwarder::reresolve_on_lock() {
  auto ip = lock_resolver_->resolve(upstream_host_, "--there");
  if (!ip) {
    // pkthere keeps the address it has and forwards there; we also say why.
    log(LogLevel::warn, fmt::format("Re-resolve on lock: {}", ip.error().context()));
    return;
  }
  // pkthere compares addresses only: the port (or echo id) is --there's, fixed.
  const IpEndpoint fresh{*ip, config_.upstream.port};
  if (fresh != config_.upstream) {
    change_upstream(fresh, "Re-resolved");
  }
}

void Forwarder::change_upstream(const IpEndpoint& upstream, std::string_view context) {
  const bool family_changed = upstream.address.family() != config_.upstream.address.family();
  log(LogLevel::info,
      fmt::format("{}: upstream {} -> {}{}", context, config_.upstream.to_string(),
                  upstream.to_string(),
                  family_changed ? " (family changed; upstream socket swapped)" : ""));
  config_.upstream = upstream;
  stats_.upstream = upstream;
  // Reopen every upstream port towards the new address (a family change needs new sockets).
  if (spare_) {
    transport_.close_upstream(spare_->port);
    spare_.reset();
  }
  table_.for_each([&](Session& s) {
    const UpstreamPort old = s.upstream;
    table_.unbind_upstream(s, upstream_icmp());
    transport_.close_upstream(old.port);
    auto port = transport_.open_upstream(config_.upstream, old.echo_id);
    if (port) {
      table_.bind_upstream(s, *port, upstream_icmp());
    } else {
      log(LogLevel::warn,
          fmt::format("{}: cannot reopen the upstream port: {}", context, port.error().message()));
      s.last_seen = Clock::TimePoint{};  // expires at this tick (periodic) or the next
    }
  });
  if (table_.empty()) {
    if (auto port = transport_.open_upstream(config_.upstream, config_.upstream.port)) {
      spare_ = *port;
    }
  }
}

}  // namespace etherpath::relay
