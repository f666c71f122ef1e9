// Merging of forwarder statistics across workers, and drop reason names.
#include "relay/relay_stats.hpp"

namespace etherpath::relay {

std::string_view to_string(DropReason r) {
  switch (r) {
    case DropReason::wrong_client: return "wrong_client";
    case DropReason::session_limit: return "session_limit";
    case DropReason::wrong_upstream: return "wrong_upstream";
    case DropReason::malformed: return "malformed";
    case DropReason::mismatch: return "mismatch";
    case DropReason::no_session: return "no_session";
    case DropReason::upstream_open: return "upstream_open";
  }
  return "unknown";
}

void DirectionStats::merge(const DirectionStats& o) {
  const auto total = pkts + o.pkts;
  if (total != 0) {
    us_ewma = (us_ewma * static_cast<double>(pkts) + o.us_ewma * static_cast<double>(o.pkts)) /
              static_cast<double>(total);
  }
  pkts = total;
  bytes += o.bytes;
  bytes_max = std::max(bytes_max, o.bytes_max);
  drops_oversize += o.drops_oversize;
  errs += o.errs;
  us_sum += o.us_sum;
  us_max = std::max(us_max, o.us_max);
}

void StatsSnapshot::merge(const StatsSnapshot& o) {
  c2u.merge(o.c2u);
  u2c.merge(o.u2c);
  for (std::size_t i = 0; i < drops.size(); ++i) {
    drops[i] += o.drops[i];
  }
  echo_timeouts += o.echo_timeouts;
  sessions += o.sessions;
  sessions_opened += o.sessions_opened;
  sessions_expired += o.sessions_expired;
  if (!client) {
    client = o.client;
  }
}

}  // namespace etherpath::relay
