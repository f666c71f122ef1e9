// Validation of pkthere's flags from their text, with pkthere's error texts.
#include "relay/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace etherpath::relay {
namespace {

Unexpected bad(std::string message) {
  return fail(Errc::invalid_argument, std::move(message));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The single value of a flag, or nullopt when absent; an error when given more than once.
Result<std::optional<std::string>> single(const std::vector<std::string>& values,
                                          std::string_view flag) {
  if (values.size() > 1) {
    return bad(fmt::format("{} specified multiple times", flag));
  }
  if (values.empty()) {
    return std::optional<std::string>{};
  }
  return std::optional<std::string>{values.front()};
}

Result<std::uint64_t> parse_u64(std::string_view text, std::string_view flag) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return bad(fmt::format("invalid {}: '{}' is not a non-negative integer", flag, text));
  }
  return v;
}

// An optional unsigned flag with a default and an inclusive range.
Result<std::uint64_t> number_flag(const std::vector<std::string>& values, std::string_view flag,
                                  std::uint64_t fallback, std::uint64_t lo, std::uint64_t hi) {
  EP_TRY(auto text, single(values, flag));
  if (!text) {
    return fallback;
  }
  EP_TRY(auto v, parse_u64(*text, flag));
  if (v < lo || v > hi) {
    return bad(fmt::format("{} must be between {} and {} (got {})", flag, lo, hi, v));
  }
  return v;
}

}  // namespace

std::string_view to_string(Proto p) {
  return p == Proto::udp ? "UDP" : "ICMP";
}
std::string_view to_string(OnTimeout t) {
  return t == OnTimeout::drop ? "Drop" : "Exit";
}
std::string_view to_string(ReresolveMode m) {
  switch (m) {
    case ReresolveMode::upstream: return "upstream";
    case ReresolveMode::listen: return "listen";
    case ReresolveMode::both: return "both";
    case ReresolveMode::none: return "none";
  }
  return "none";
}

std::string EndpointSpec::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return v6 ? fmt::format("{}:[{}]:{}", relay::to_string(proto), host, id)
            : fmt::format("{}:{}:{}", relay::to_string(proto), host, id);
}

Result<EndpointSpec> parse_endpoint_spec(std::string_view text, std::string_view flag) {
  const auto shape = [&] {
    return bad(fmt::format("{} must be UDP:<ip>:<port> or ICMP:<ip>:<id> (got '{}')", flag, text));
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return shape();
  }
  EndpointSpec spec;
  const std::string proto = lower(text.substr(0, colon));
  if (proto == "udp") {
    spec.proto = Proto::udp;
  } else if (proto == "icmp") {
    spec.proto = Proto::icmp;
  } else {
    return shape();
  }
  std::string_view rest = text.substr(colon + 1);
  std::string_view id_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return shape();
    }
    spec.host = std::string(rest.substr(1, close - 1));
    id_text = rest.substr(close + 2);
    if (spec.host.empty() || spec.host.find(':') == std::string::npos) {
      return shape();
    }
  } else {
    const auto last = rest.rfind(':');
    if (last == std::string_view::npos) {
      return shape();
    }
    spec.host = std::string(rest.substr(0, last));
    id_text = rest.substr(last + 1);
    if (spec.host.find(':') != std::string::npos) {
      return bad(fmt::format("{}: IPv6 addresses must use brackets, as in {}:[::1]:{} (got '{}')",
                             flag, to_string(spec.proto), id_text, text));
    }
  }
  if (spec.host.empty()) {
    return shape();
  }
  unsigned id = 0;
  const auto* end = id_text.data() + id_text.size();
  const auto [ptr, ec] = std::from_chars(id_text.data(), end, id);
  if (id_text.empty() || ec != std::errc() || ptr != end || id > 65535) {
    return shape();
  }
  spec.id = static_cast<std::uint16_t>(id);
  return spec;
}

std::uint32_t max_payload_cap(Proto proto, IpFamily family) {
  if (proto == Proto::udp) {
    return family == IpFamily::v4 ? 65507 : 65527;
  }
  return family == IpFamily::v4 ? 65496 : 65516;
}

Result<PkthereOptions> validate_options(const RawOptions& raw) {
  PkthereOptions o;
  EP_TRY(auto here, single(raw.here, "--here"));
  EP_TRY(auto there, single(raw.there, "--there"));
  if (!here) {
    return bad("missing required flag: --here PROTO:HOST:ID");
  }
  if (!there) {
    return bad("missing required flag: --there PROTO:HOST:ID");
  }
  EP_TRY(o.here, parse_endpoint_spec(*here, "--here"));
  EP_TRY(o.there, parse_endpoint_spec(*there, "--there"));
  if (o.there.proto == Proto::udp && o.there.id == 0) {
    return bad(
        fmt::format("--there {} is invalid: UDP upstream requires a fixed remote "
                    "destination port",
                    o.there.to_string()));
  }

  EP_TRY(auto timeout, number_flag(raw.timeout_secs, "--timeout-secs", 10, 0,
                                   std::numeric_limits<std::uint32_t>::max()));
  o.timeout = std::chrono::seconds(timeout);

  EP_TRY(auto on_timeout, single(raw.on_timeout, "--on-timeout"));
  if (on_timeout) {
    const std::string v = lower(*on_timeout);
    if (v == "drop") {
      o.on_timeout = OnTimeout::drop;
    } else if (v == "exit") {
      o.on_timeout = OnTimeout::exit;
    } else {
      return bad(fmt::format("--on-timeout must be drop|exit (got '{}')", *on_timeout));
    }
  }

  EP_TRY(auto stats_mins,
         number_flag(raw.stats_interval_mins, "--stats-interval-mins", 60, 0, 1000000));
  o.stats_interval = std::chrono::minutes(stats_mins);
  if (raw.no_stats) {
    o.stats_interval.reset();
  }

  EP_TRY(auto max_payload, number_flag(raw.max_payload, "--max-payload", 1500, 0, 65535));
  o.max_payload = static_cast<std::uint32_t>(max_payload);

  EP_TRY(auto workers, number_flag(raw.workers, "--workers", 1, 1, 256));
  o.workers = static_cast<unsigned>(workers);
  if (o.workers > 1 && o.here.proto == Proto::icmp) {
    return bad("--workers above 1 needs a UDP listener (every raw ICMP socket sees every echo)");
  }

  EP_TRY(auto reresolve, number_flag(raw.reresolve_secs, "--reresolve-secs", 0, 0,
                                     std::numeric_limits<std::uint32_t>::max()));
  o.reresolve_every = std::chrono::seconds(reresolve);
  EP_TRY(auto mode, single(raw.reresolve_mode, "--reresolve-mode"));
  if (mode) {
    const std::string v = lower(*mode);
    if (v == "upstream") {
      o.reresolve_mode = ReresolveMode::upstream;
    } else if (v == "listen") {
      o.reresolve_mode = ReresolveMode::listen;
    } else if (v == "both") {
      o.reresolve_mode = ReresolveMode::both;
    } else if (v == "none") {
      o.reresolve_mode = ReresolveMode::none;
    } else {
      return bad(
          fmt::format("--reresolve-mode must be upstream|listen|both|none (got '{}')", *mode));
    }
  }

  EP_TRY(o.user, single(raw.user, "--user"));
  EP_TRY(o.group, single(raw.group, "--group"));
  if ((o.user && o.user->empty()) || (o.group && o.group->empty())) {
    return bad(o.user && o.user->empty() ? "--user requires a value" : "--group requires a value");
  }

  for (const auto& item : raw.debug) {
    const std::string v = lower(item);
    if (v == "no-connect") {
      o.debug.no_connect = true;
    } else if (v == "log-drops") {
      o.debug.log_drops = true;
    } else if (v == "log-handles") {
      o.debug.log_handles = true;
    } else if (v == "fast-stats") {
      o.debug.fast_stats = true;
    } else {
      return bad(fmt::format(
          "--debug expects no-connect, log-drops, log-handles, or fast-stats (got '{}')", item));
    }
  }
  if (o.debug.fast_stats && o.stats_interval) {
    o.stats_interval = std::chrono::seconds(0);
  }

  EP_TRY(auto engine, single(raw.engine, "--engine"));
  EP_TRY(o.iface, single(raw.iface, "--iface"));
  if (engine) {
    const std::string v = lower(*engine);
    if (v == "auto") {
      o.engine = EngineKind::automatic;
    } else if (v == "socket") {
      o.engine = EngineKind::socket;
    } else if (v == "xdp") {
      o.engine = EngineKind::xdp;
    } else if (v == "pcap") {
      o.engine = EngineKind::pcap;
    } else {
      return bad(fmt::format("--engine must be auto|socket|xdp|pcap (got '{}')", *engine));
    }
  }
  if (o.engine == EngineKind::automatic) {
    o.engine = o.iface ? EngineKind::xdp : EngineKind::socket;
  }
  EP_TRY(o.there_iface, single(raw.there_iface, "--there-iface"));
  EP_TRY(auto queues, number_flag(raw.queues, "--queues", 0, 1, 256));
  EP_TRY(auto xdp_mode, single(raw.xdp_mode, "--xdp-mode"));
  EP_TRY(auto next_hop, single(raw.next_hop_mac, "--next-hop-mac"));
  if (o.engine == EngineKind::socket) {
    // The datapath flags mean nothing to kernel sockets; refuse rather than ignore them.
    const char* flag = o.iface               ? "--iface"
                       : o.there_iface       ? "--there-iface"
                       : !raw.queues.empty() ? "--queues"
                       : xdp_mode            ? "--xdp-mode"
                       : next_hop            ? "--next-hop-mac"
                                             : nullptr;
    if (flag != nullptr) {
      return bad(fmt::format("{} needs --engine xdp or pcap, not socket", flag));
    }
  } else {
    const char* name = o.engine == EngineKind::xdp ? "xdp" : "pcap";
    if (!o.iface) {
      return bad(fmt::format("--engine {} needs --iface (the client-side interface)", name));
    }
    if (!raw.workers.empty() && o.workers > 1) {
      return bad(
          fmt::format("--workers needs --engine socket (--engine {} polls every queue in "
                      "one thread)",
                      name));
    }
    if (o.engine == EngineKind::pcap && (xdp_mode || !raw.queues.empty())) {
      return bad(
          fmt::format("{} needs --engine xdp, not pcap", xdp_mode ? "--xdp-mode" : "--queues"));
    }
  }
  EP_TRY(auto spin_us,
         number_flag(raw.spin_us, "--spin-us", PkthereOptions::kDefaultSpinUs, 0, 1000000));
  if (o.engine == EngineKind::socket && !raw.spin_us.empty()) {
    return bad("--spin-us needs --engine xdp or pcap, not socket");
  }
  o.spin = std::chrono::microseconds(spin_us);
  o.queues = static_cast<unsigned>(queues);
  if (xdp_mode) {
    const std::string v = lower(*xdp_mode);
    if (v != "auto" && v != "zc" && v != "copy" && v != "skb") {
      return bad(fmt::format("--xdp-mode must be auto|zc|copy|skb (got '{}')", *xdp_mode));
    }
    o.xdp_mode = v;
  }
  EP_TRY(auto here_mac, single(raw.here_mac, "--here-mac"));
  EP_TRY(auto here_vlan, single(raw.here_vlan, "--here-vlan"));
  if ((here_mac || here_vlan) && o.engine == EngineKind::socket) {
    return bad(fmt::format("{} needs --engine xdp or pcap, not socket",
                           here_mac ? "--here-mac" : "--here-vlan"));
  }
  if (here_vlan && !here_mac) {
    return bad("--here-vlan needs --here-mac (tags belong to an emulated listener host)");
  }
  if (here_mac) {
    auto mac = MacAddress::parse(*here_mac);
    if (!mac || mac->is_multicast()) {
      return bad(fmt::format("--here-mac: invalid unicast MAC address '{}'", *here_mac));
    }
    o.here_mac = *mac;
  }
  if (here_vlan) {
    auto vlans = VlanStack::parse(*here_vlan);
    if (!vlans) {
      return bad(fmt::format("--here-vlan: {}", vlans.error().context()));
    }
    o.here_vlans = *vlans;
  }
  EP_TRY(auto there_mac, single(raw.there_mac, "--there-mac"));
  EP_TRY(auto there_vlan, single(raw.there_vlan, "--there-vlan"));
  EP_TRY(auto there_src, single(raw.there_src, "--there-src"));
  if ((there_mac || there_vlan || there_src) && o.engine == EngineKind::socket) {
    return bad(fmt::format("{} needs --engine xdp or pcap, not socket", there_mac ? "--there-mac"
                                                                        : there_vlan
                                                                            ? "--there-vlan"
                                                                            : "--there-src"));
  }
  if ((there_vlan || there_src) && !there_mac) {
    return bad(fmt::format("{} needs --there-mac (an emulated upstream-side host)",
                           there_vlan ? "--there-vlan" : "--there-src"));
  }
  if (there_mac) {
    auto mac = MacAddress::parse(*there_mac);
    if (!mac || mac->is_multicast()) {
      return bad(fmt::format("--there-mac: invalid unicast MAC address '{}'", *there_mac));
    }
    o.there_mac = *mac;
    if (!there_src) {
      return bad("--there-mac needs --there-src (the emulated host's address)");
    }
    auto src = IpAddress::parse(*there_src);
    if (!src) {
      return bad(fmt::format("--there-src: invalid address '{}'", *there_src));
    }
    o.there_src = *src;
  }
  if (there_vlan) {
    auto vlans = VlanStack::parse(*there_vlan);
    if (!vlans) {
      return bad(fmt::format("--there-vlan: {}", vlans.error().context()));
    }
    o.there_vlans = *vlans;
  }
  if (next_hop) {
    auto mac = MacAddress::parse(*next_hop);
    if (!mac) {
      return bad(fmt::format("--next-hop-mac: invalid MAC address '{}'", *next_hop));
    }
    o.next_hop_mac = *mac;
  }

  EP_TRY(auto sessions, number_flag(raw.max_sessions, "--max-sessions", 1, 1, 65535));
  o.max_sessions = static_cast<std::uint32_t>(sessions);
  EP_TRY(auto echo_ms, number_flag(raw.echo_timeout_ms, "--echo-timeout-ms", 5000, 1,
                                   std::numeric_limits<std::uint32_t>::max()));
  o.echo_timeout = std::chrono::milliseconds(echo_ms);

  // The per-family caps and the port conflict, where the hosts are literal addresses already.
  auto here_ip = IpAddress::parse(o.here.host);
  auto there_ip = IpAddress::parse(o.there.host);
  if (here_ip && there_ip) {
    EP_TRY_STATUS(
        check_resolved(o, IpEndpoint{*here_ip, o.here.id}, IpEndpoint{*there_ip, o.there.id}));
  } else {
    const std::uint32_t cap = std::min(here_ip ? max_payload_cap(o.here.proto, here_ip->family())
                                               : max_payload_cap(o.here.proto, IpFamily::v6),
                                       there_ip ? max_payload_cap(o.there.proto, there_ip->family())
                                                : max_payload_cap(o.there.proto, IpFamily::v6));
    if (o.max_payload > cap) {
      return bad(
          fmt::format("--max-payload {} exceeds the maximum supported by the selected "
                      "protocols and address families ({})",
                      o.max_payload, cap));
    }
  }
  return o;
}

Status check_resolved(const PkthereOptions& options, const IpEndpoint& here,
                      const IpEndpoint& there) {
  const std::uint32_t cap = std::min(max_payload_cap(options.here.proto, here.address.family()),
                                     max_payload_cap(options.there.proto, there.address.family()));
  if (options.max_payload > cap) {
    return bad(
        fmt::format("--max-payload {} exceeds the maximum supported by the selected "
                    "protocols and address families ({})",
                    options.max_payload, cap));
  }
  const bool same_port = options.here.proto == options.there.proto && here.port == there.port;
  const bool same_host = here.address == there.address ||
                         (here.address.is_unspecified() && there.address.is_loopback() &&
                          here.address.family() == there.address.family());
  if (same_port && same_host) {
    return bad(
        fmt::format("Port conflict: --here {} and --there {} are the same endpoint; they "
                    "must be different to avoid loops",
                    options.here.to_string(), options.there.to_string()));
  }
  return ok();
}

}  // namespace etherpath::relay
