// pkthere's configuration: the typed options, and their validation from command-line text with
// pkthere's error texts (each names its flag). Shared by tools/pkthere and the tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"

namespace etherpath::relay {

enum class Proto : std::uint8_t { udp, icmp };
enum class OnTimeout : std::uint8_t { drop, exit };
enum class ReresolveMode : std::uint8_t { upstream, listen, both, none };
enum class EngineKind : std::uint8_t { automatic, socket, xdp, pcap };

std::string_view to_string(Proto p);
std::string_view to_string(OnTimeout t);
std::string_view to_string(ReresolveMode m);

// "PROTO:HOST:ID" as typed: HOST is still text (a --there name resolves later).
struct EndpointSpec {
  Proto proto = Proto::udp;
  std::string host;
  std::uint16_t id = 0;

  [[nodiscard]] std::string to_string() const;
};

// Parses "UDP:127.0.0.1:53", "icmp:[::1]:7", "UDP:dns.example:53"; errors name `flag`.
Result<EndpointSpec> parse_endpoint_spec(std::string_view text, std::string_view flag);

// Largest payload a protocol and family can carry (UDPv4 65507, UDPv6 65527, ICMPv4 65496,
// ICMPv6 65516: pkthere's caps); a relay between two sides takes the smaller of the two.
std::uint32_t max_payload_cap(Proto proto, IpFamily family);

// What the Forwarder needs: resolved endpoints and its limits.
struct ForwarderConfig {
  Proto listen_proto = Proto::udp;
  IpEndpoint listen;  // id 0 on an ICMP listener = any echo id
  Proto upstream_proto = Proto::udp;
  IpEndpoint upstream;
  std::chrono::seconds timeout{10};
  OnTimeout on_timeout = OnTimeout::drop;
  std::uint32_t max_payload = 1500;
  std::uint32_t max_sessions = 1;
  std::chrono::milliseconds echo_timeout{5000};
  bool log_drops = false;
  bool connected = true;  // --debug no-connect turns it off
};

struct DebugFlags {
  bool no_connect = false;
  bool log_drops = false;
  bool log_handles = false;
  bool fast_stats = false;
};

// The command line as text, one vector per flag so that repeats can be reported by name.
struct RawOptions {
  std::vector<std::string> here, there, timeout_secs, on_timeout, stats_interval_mins, max_payload,
      workers, reresolve_secs, reresolve_mode, user, group, debug, engine, iface, there_iface,
      queues, xdp_mode, next_hop_mac, max_sessions, echo_timeout_ms, here_mac, here_vlan, there_mac,
      there_vlan, there_src, spin_us;
  bool no_stats = false;
};

// Everything pkthere runs with, validated; hosts not yet resolved.
struct PkthereOptions {
  EndpointSpec here;
  EndpointSpec there;
  std::chrono::seconds timeout{10};
  OnTimeout on_timeout = OnTimeout::drop;
  // nullopt = no stats; 0 s = every second.
  std::optional<std::chrono::seconds> stats_interval = std::chrono::minutes(60);
  std::uint32_t max_payload = 1500;
  unsigned workers = 1;
  std::chrono::seconds reresolve_every{0};
  ReresolveMode reresolve_mode = ReresolveMode::upstream;
  std::optional<std::string> user;
  std::optional<std::string> group;
  DebugFlags debug;
  EngineKind engine = EngineKind::automatic;
  std::optional<std::string> iface;
  std::optional<std::string> there_iface;  // the upstream's interface when not --iface
  unsigned queues = 0;                     // the datapath's queues 0..N-1; 0 = all of them
  std::string xdp_mode = "auto";           // auto|zc|copy|skb
  std::optional<MacAddress> next_hop_mac;  // else looked up in the kernel's tables
  std::optional<MacAddress> here_mac;      // an emulated listener host's MAC (xdp/pcap)
  VlanStack here_vlans;                    // and its VLAN tags
  std::optional<MacAddress> there_mac;     // an emulated upstream-side host: MAC,
  VlanStack there_vlans;                   // tags
  std::optional<IpAddress> there_src;      // and address
  std::uint32_t max_sessions = 1;
  std::chrono::milliseconds echo_timeout{5000};
  // xdp/pcap: how long the forwarder keeps checking the rings after the last frame before it
  // blocks (--spin-us): a round trip's reply inside this window is taken without a wake-up.
  static constexpr std::uint32_t kDefaultSpinUs = 100;
  std::chrono::microseconds spin{kDefaultSpinUs};
};

// Validates the text of every flag; the error is one line that names the flag (exit status 2).
Result<PkthereOptions> validate_options(const RawOptions& raw);

// The checks that need resolved addresses: per-family --max-payload cap, the listener ==
// upstream port conflict. Also one line naming the flag.
Status check_resolved(const PkthereOptions& options, const IpEndpoint& here,
                      const IpEndpoint& there);

}  // namespace etherpath::relay
