// SessionTable: client lookups, upstream indexes, add/remove.
#include "relay/session_table.hpp"

#include <algorithm>

namespace etherpath::relay {

SessionTable::SessionTable(std::uint32_t capacity)
    : capacity_(std::max<std::uint32_t>(1, capacity)) {
  sessions_.reserve(std::min<std::uint32_t>(capacity_, 1024));
  by_client_.reserve(std::min<std::uint32_t>(capacity_, 1024));
}

std::uint32_t SessionTable::index_of(const Session& s) const {
  return static_cast<std::uint32_t>(&s - sessions_.data());
}

Session* SessionTable::find_client(const IpEndpoint& client) {
  if (capacity_ == 1) {
    // The single-client lock: one compare, no hashing.
    if (!sessions_.empty() && sessions_[0].live && same_endpoint(sessions_[0].client, client)) {
      return sessions_.data();
    }
    return nullptr;
  }
  const auto it = by_client_.find(client);
  return it == by_client_.end() ? nullptr : &sessions_[it->second];
}

Session* SessionTable::add(const IpEndpoint& client, Clock::TimePoint now) {
  if (full()) {
    return nullptr;
  }
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(sessions_.size());
    sessions_.emplace_back();
  }
  Session& s = sessions_[index];
  s = Session{};
  s.client = client;
  s.last_seen = now;
  s.live = true;
  if (capacity_ > 1) {
    by_client_.emplace(client, index);
  }
  ++size_;
  newest_ = static_cast<std::int32_t>(index);
  return &s;
}

void SessionTable::bind_upstream(Session& s, UpstreamPort upstream, bool icmp) {
  s.upstream = upstream;
  const auto index = static_cast<std::int32_t>(index_of(s));
  if (icmp) {
    if (by_echo_id_.empty()) {
      by_echo_id_.assign(65536, -1);
    }
    by_echo_id_[upstream.echo_id] = index;
  } else {
    if (upstream.port >= by_port_.size()) {
      by_port_.resize(upstream.port + 1U, -1);
    }
    by_port_[upstream.port] = index;
  }
}

void SessionTable::unbind_upstream(Session& s, bool icmp) {
  const auto index = static_cast<std::int32_t>(index_of(s));
  if (icmp) {
    if (!by_echo_id_.empty() && by_echo_id_[s.upstream.echo_id] == index) {
      by_echo_id_[s.upstream.echo_id] = -1;
    }
  } else if (s.upstream.port < by_port_.size() && by_port_[s.upstream.port] == index) {
    by_port_[s.upstream.port] = -1;
  }
  s.upstream = UpstreamPort{};
}

Session* SessionTable::find_by_port(PortId port) {
  if (port >= by_port_.size() || by_port_[port] < 0) {
    return nullptr;
  }
  return &sessions_[static_cast<std::size_t>(by_port_[port])];
}

Session* SessionTable::find_by_echo_id(std::uint16_t id) {
  if (by_echo_id_.empty() || by_echo_id_[id] < 0) {
    return nullptr;
  }
  return &sessions_[static_cast<std::size_t>(by_echo_id_[id])];
}

void SessionTable::remove(Session& s, bool icmp) {
  if (!s.live) {
    return;
  }
  if (s.upstream.port != kNoPort) {
    unbind_upstream(s, icmp);
  }
  const std::uint32_t index = index_of(s);
  if (capacity_ > 1) {
    by_client_.erase(s.client);
  }
  s.live = false;
  free_.push_back(index);
  --size_;
  if (newest_ == static_cast<std::int32_t>(index)) {
    newest_ = -1;
    // Fall back to any live session so that stats keep naming a client.
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      if (sessions_[i].live) {
        newest_ = static_cast<std::int32_t>(i);
      }
    }
  }
}

Session* SessionTable::newest() {
  return newest_ < 0 ? nullptr : &sessions_[static_cast<std::size_t>(newest_)];
}

}  // namespace etherpath::relay
