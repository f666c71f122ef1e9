// One JSON stats line: pkthere's classic keys plus sessions and drops by reason.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "relay/config.hpp"
#include "relay/relay_stats.hpp"

namespace etherpath::relay {

// What the line says besides the counters.
struct StatsContext {
  std::chrono::nanoseconds uptime{0};
  Proto client_proto = Proto::udp;
  Proto upstream_proto = Proto::udp;
  std::string engine = "socket";
  unsigned workers = 1;
  std::uint32_t max_sessions = 1;
};

nlohmann::json stats_json(const StatsSnapshot& s, const StatsContext& context);

}  // namespace etherpath::relay
