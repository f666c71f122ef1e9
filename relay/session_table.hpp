// SessionTable: the forwarder's clients. Capacity 1 is pkthere's single-client lock; more makes
// a relay where each client has its own upstream port (UDP) or echo identifier (ICMP).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"
#include "base/ip_address.hpp"
#include "relay/echo_tracker.hpp"
#include "relay/transport.hpp"

namespace etherpath::relay {

struct Session {
  // The client: its address and UDP port, or for an ICMP listener its Echo identifier.
  IpEndpoint client;
  UpstreamPort upstream;
  Clock::TimePoint last_seen{};
  std::uint16_t last_client_seq = 0;  // an ICMP client's last request: replies carry it back
  std::uint16_t next_seq = 0;         // requests this session makes up for a UDP client
  EchoTracker echoes;
  bool live = false;
};

class SessionTable {
 public:
  // `capacity` sessions at most. Lookups by client are O(1); by upstream port or echo id they
  // index arrays, so the per-packet path never allocates. Adding a session may allocate.
  explicit SessionTable(std::uint32_t capacity);

  [[nodiscard]] std::uint32_t capacity() const { return capacity_; }
  [[nodiscard]] std::uint32_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ >= capacity_; }

  Session* find_client(const IpEndpoint& client);
  // A new session for `client` (not yet in the table); nullptr when full.
  Session* add(const IpEndpoint& client, Clock::TimePoint now);
  // Indexes the session's upstream port and, for ICMP, its echo id.
  void bind_upstream(Session& s, UpstreamPort upstream, bool icmp);
  // Forgets the upstream indexes (the port is about to close or be replaced).
  void unbind_upstream(Session& s, bool icmp);
  Session* find_by_port(PortId port);
  Session* find_by_echo_id(std::uint16_t id);
  void remove(Session& s, bool icmp);

  // Calls f(Session&) for every live session; f may not add or remove.
  template <typename F>
  void for_each(F&& f) {
    for (auto& s : sessions_) {
      if (s.live) {
        f(s);
      }
    }
  }
  // The most recently created live session (the locked client in single mode), or nullptr.
  Session* newest();

 private:
  std::uint32_t index_of(const Session& s) const;

  std::uint32_t capacity_;
  std::uint32_t size_ = 0;
  std::vector<Session> sessions_;    // grows to capacity as clients come
  std::vector<std::uint32_t> free_;  // reusable indexes into sessions_
  std::unordered_map<IpEndpoint, std::uint32_t> by_client_;
  std::vector<std::int32_t> by_port_;     // PortId -> session index, -1 none
  std::vector<std::int32_t> by_echo_id_;  // echo id -> session index (65536, lazily)
  std::int32_t newest_ = -1;
};

}  // namespace etherpath::relay
