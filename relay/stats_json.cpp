// Stats as JSON: uptime_s, locked, client_addr, ..., c2u_/u2c_ figures, sessions, drops_*.
#include "relay/stats_json.hpp"

namespace etherpath::relay {
namespace {

void put_direction(nlohmann::json& j, const std::string& prefix, const DirectionStats& d) {
  j[prefix + "pkts"] = d.pkts;
  j[prefix + "bytes"] = d.bytes;
  j[prefix + "bytes_max"] = d.bytes_max;
  j[prefix + "drops_oversize"] = d.drops_oversize;
  j[prefix + "us_avg"] = d.us_avg();
  j[prefix + "us_ewma"] = d.us_ewma;
  j[prefix + "us_max"] = d.us_max;
  j[prefix + "errs"] = d.errs;
}

}  // namespace

nlohmann::json stats_json(const StatsSnapshot& s, const StatsContext& context) {
  nlohmann::json j;
  j["uptime_s"] = std::chrono::duration<double>(context.uptime).count();
  j["locked"] = s.sessions > 0;
  j["client_addr"] = s.client ? nlohmann::json(s.client->to_string()) : nlohmann::json(nullptr);
  j["client_proto"] = std::string(to_string(context.client_proto));
  j["upstream_addr"] = s.upstream.to_string();
  j["upstream_proto"] = std::string(to_string(context.upstream_proto));
  put_direction(j, "c2u_", s.c2u);
  put_direction(j, "u2c_", s.u2c);
  j["sessions"] = s.sessions;
  j["max_sessions"] = context.max_sessions;
  j["sessions_opened"] = s.sessions_opened;
  j["sessions_expired"] = s.sessions_expired;
  j["echo_timeouts"] = s.echo_timeouts;
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    j["drops_" + std::string(to_string(static_cast<DropReason>(i)))] = s.drops[i];
  }
  j["engine"] = context.engine;
  j["workers"] = context.workers;
  return j;
}

}  // namespace etherpath::relay
