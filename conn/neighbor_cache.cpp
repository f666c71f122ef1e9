// NeighborCache: states, expiry, retries and eviction.
#include "conn/neighbor_cache.hpp"

#include <algorithm>

namespace etherpath::conn {

std::optional<MacAddress> NeighborCache::lookup(const NeighborKey& key,
                                                Clock::TimePoint now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.state != State::reachable ||
      now - it->second.updated >= options_.reachable_time) {
    return std::nullopt;
  }
  return it->second.mac;
}

NeighborCache::Entry& NeighborCache::insert(const NeighborKey& key, Clock::TimePoint now) {
  if (auto it = entries_.find(key); it != entries_.end()) {
    return it->second;
  }
  if (options_.capacity > 0 && entries_.size() >= options_.capacity) {
    // Bounded: the entry touched longest ago makes room. O(n), but only when full.
    const auto oldest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
    entries_.erase(oldest);
  }
  Entry& e = entries_[key];
  e.updated = now;
  return e;
}

void NeighborCache::learn(const NeighborKey& key, const MacAddress& mac, Clock::TimePoint now) {
  Entry& e = insert(key, now);
  e.state = State::reachable;
  e.mac = mac;
  e.updated = now;
  e.requests_sent = 0;
}

ResolveStep NeighborCache::step(const NeighborKey& key, Clock::TimePoint now) {
  Entry& e = insert(key, now);
  switch (e.state) {
    case State::reachable:
      if (now - e.updated < options_.reachable_time) {
        return ResolveStep::have_mac;
      }
      // Expired: resolve again from scratch.
      e.state = State::incomplete;
      e.requests_sent = 0;
      break;
    case State::failed:
      if (now - e.updated < options_.failed_hold) {
        return ResolveStep::failed;
      }
      e.state = State::incomplete;
      e.requests_sent = 0;
      break;
    case State::incomplete: break;
  }
  if (e.requests_sent == 0 || now - e.updated >= options_.retry_interval) {
    if (e.requests_sent >= options_.max_requests) {
      e.state = State::failed;
      e.updated = now;
      return ResolveStep::failed;
    }
    ++e.requests_sent;
    e.updated = now;
    return ResolveStep::send_request;
  }
  return ResolveStep::wait;
}

std::optional<Clock::TimePoint> NeighborCache::next_attempt(const NeighborKey& key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.state != State::incomplete) {
    return std::nullopt;
  }
  return it->second.updated + options_.retry_interval;
}

}  // namespace etherpath::conn
