// pkthere: forward one client's (or, with --max-sessions, N clients') UDP/ICMP datagrams to an
// upstream, a drop-in for pkthere's CLI (design.md §4). Exit 0 on a timeout exit, 1 on a runtime
// failure, 2 on a bad command line, 130 on SIGINT/SIGTERM after a final stats line.
#include <fmt/format.h>
#include <linux/capability.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/clock.hpp"
#include "conn/neighbor.hpp"
#include "datapath/netlink/next_hop.hpp"
#include "datapath/packet_relay.hpp"
#include "relay/config.hpp"
#include "relay/datapath_transport.hpp"
#include "relay/forwarder.hpp"
#include "relay/resolver.hpp"
#include "relay/socket_transport.hpp"
#include "relay/stats_json.hpp"
#include "tools/pkthere/privileges.hpp"

namespace etherpath::pkthere {
namespace {

using relay::LogLevel;

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSignal = 130;

// Log lines: [INFO] to stdout, [WARN]/[DEBUG] to stderr, flushed per line so that a test reading
// the output while we run sees each line at once.
class Logger {
 public:
  void line(LogLevel level, const std::string& text) {
    const std::lock_guard lock(mutex_);
    std::FILE* out = level == LogLevel::info ? stdout : stderr;
    const char* tag = level == LogLevel::info   ? "[INFO]"
                      : level == LogLevel::warn ? "[WARN]"
                                                : "[DEBUG]";
    fmt::print(out, "{} {}\n", tag, text);
    std::fflush(out);
  }
  void raw(const std::string& text) {
    const std::lock_guard lock(mutex_);
    fmt::print(stdout, "{}\n", text);
    std::fflush(stdout);
  }

 private:
  std::mutex mutex_;
};

int usage_error(const std::string& message) {
  fmt::print(stderr, "{}\n", message);
  return kExitUsage;
}

struct Parsed {
  relay::RawOptions raw;
  std::optional<int> exit_code;  // set when parsing already decided (help, errors)
};

Parsed parse_command_line(int argc, char** argv) {
  Parsed p;
  relay::RawOptions& r = p.raw;
  CLI::App app{
      "pkthere: forward UDP/ICMP between one client (or --max-sessions N clients) and "
      "an upstream (etherpath)",
      "pkthere"};
  app.allow_extras();
  auto opt = [&](const char* name, std::vector<std::string>& into, const char* help) {
    return app.add_option(name, into, help)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  opt("--here", r.here, "listener PROTO:HOST:ID (UDP port or ICMP echo id; 0 = any id)");
  opt("--there", r.there, "upstream PROTO:HOST:ID (host names resolve)");
  opt("--timeout-secs", r.timeout_secs,
      "idle timeout per session in seconds (default 10, 0 = none)");
  opt("--on-timeout", r.on_timeout, "drop|exit (default drop)");
  opt("--stats-interval-mins", r.stats_interval_mins,
      "JSON stats every N minutes (default 60, 0 = every second)");
  app.add_flag("--no-stats", r.no_stats, "no JSON stats lines");
  opt("--max-payload", r.max_payload, "drop larger payloads (default 1500)");
  opt("--workers", r.workers, "worker sockets with SO_REUSEPORT (default 1)");
  opt("--reresolve-secs", r.reresolve_secs, "re-resolve host names every N seconds (0 = never)");
  opt("--reresolve-mode", r.reresolve_mode, "upstream|listen|both|none (default upstream)");
  opt("--user", r.user, "drop privileges to USER after binding (required as root)");
  opt("--group", r.group, "and to GROUP");
  opt("--debug", r.debug, "no-connect|log-drops|log-handles|fast-stats (repeatable, comma list)")
      ->delimiter(',');
  opt("--engine", r.engine,
      "auto|socket|xdp|pcap (default auto: xdp with --iface, else socket). xdp: AF_XDP, only "
      "our UDP ports and echo ids are steered to pkthere, the host keeps the rest. pcap: libpcap "
      "sees copies, the kernel still gets every frame: UDP ports are reserved with kernel sockets "
      "(so it sends no port-unreachable), and an ICMP listener needs "
      "net.ipv4.icmp_echo_ignore_all=1 (or the kernel answers the pings too)");
  opt("--iface", r.iface,
      "client-side interface for the xdp/pcap engines; --here must be one of its addresses");
  opt("--there-iface", r.there_iface,
      "upstream-side interface for the xdp/pcap engines (default --iface); xdp shares one UMEM "
      "across both, so frames are forwarded without a copy");
  opt("--queues", r.queues, "xdp: use the interface's queues 0..N-1 (default all)");
  opt("--xdp-mode", r.xdp_mode, "auto|zc|copy|skb (default auto: the fastest that works)");
  opt("--here-mac", r.here_mac,
      "xdp/pcap: --here is an emulated host with this MAC, not an address of --iface; pkthere "
      "answers ARP/NDP for it");
  opt("--here-vlan", r.here_vlan,
      "the emulated listener's VLAN tags: 100 (802.1Q) or 100.20 (QinQ, outer 802.1ad)");
  opt("--there-mac", r.there_mac,
      "xdp/pcap: send to the upstream from an emulated host with this MAC (and --there-src), "
      "not from an address of the upstream-side interface; pkthere answers ARP/NDP for it");
  opt("--there-vlan", r.there_vlan, "the emulated upstream-side host's VLAN tags");
  opt("--there-src", r.there_src, "the emulated upstream-side host's address");
  opt("--next-hop-mac", r.next_hop_mac,
      "the upstream's next-hop MAC for the xdp/pcap engines (default: the kernel's route and "
      "neighbour tables; with --there-mac, ARP/NDP for --there from the emulated host, on its "
      "VLANs: the upstream must be on its link)");
  opt("--spin-us", r.spin_us,
      "xdp/pcap: after the last frame, keep checking the rings this many microseconds before "
      "blocking (default 100; 0 = block at once): a reply within it is taken without a wake-up, "
      "at the price of that much CPU after each burst");
  opt("--max-sessions", r.max_sessions,
      "clients served at once (default 1 = the single-client lock)");
  opt("--echo-timeout-ms", r.echo_timeout_ms,
      "an ICMP echo without a reply this long counts as timed out (default 5000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print(stdout, "{}", app.help());
    p.exit_code = 0;
    return p;
  } catch (const CLI::ParseError& e) {
    const std::string what = e.what();
    const auto colon = what.find(':');
    if (what.find("required") != std::string::npos && what.find("missing") != std::string::npos &&
        colon != std::string::npos) {
      p.exit_code = usage_error(fmt::format("{} requires a value", what.substr(0, colon)));
    } else {
      p.exit_code = usage_error(fmt::format("invalid command line: {}", what));
    }
    return p;
  }
  const auto extras = app.remaining();
  if (!extras.empty()) {
    p.exit_code = usage_error(fmt::format("unknown arg: {}", extras.front()));
  }
  return p;
}

std::string endpoint_text(relay::Proto proto, const IpEndpoint& e) {
  return fmt::format("{}:{}", relay::to_string(proto), e.to_string());
}

// The capabilities the socket engine still needs after dropping root.
std::vector<int> needed_capabilities(const relay::PkthereOptions& o, const IpEndpoint& here) {
  std::vector<int> caps;
  const bool rebinds =
      o.reresolve_every.count() > 0 && (o.reresolve_mode == relay::ReresolveMode::listen ||
                                        o.reresolve_mode == relay::ReresolveMode::both);
  // Raw ICMP upstream sockets for new sessions (and the fallback when ping sockets are refused),
  // and a raw listener reopened by a re-resolve.
  if (o.there.proto == relay::Proto::icmp || (rebinds && o.here.proto == relay::Proto::icmp)) {
    caps.push_back(CAP_NET_RAW);
  }
  if (rebinds && o.here.proto == relay::Proto::udp && here.port != 0 && here.port < 1024) {
    caps.push_back(CAP_NET_BIND_SERVICE);
  }
  return caps;
}

struct Worker {
  std::unique_ptr<relay::Transport> transport;  // null when the datapath's is used
  std::unique_ptr<relay::Forwarder> forwarder;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::optional<Error> error;
  relay::Outcome outcome = relay::Outcome::running;
};

// Frames of a UMEM shared by two interfaces beyond their two fill rings: the relays' own sends.
constexpr std::uint32_t kOwnSendFrames = 256;

// The xdp/pcap engines: PacketRelays on --iface (and --there-iface) driven by one
// DatapathTransport from the forwarder's thread. Members die in reverse order: the Neighbors
// deregister, the transport goes before the relays it borrows, the upstream relay before the
// client relay whose UMEM it shares.
struct Datapath {
  std::unique_ptr<datapath::PacketRelay> client;    // destroyed last: the other shares its UMEM
  std::unique_ptr<datapath::PacketRelay> upstream;  // null when the upstream is on --iface too
  std::unique_ptr<relay::DatapathTransport> transport;
  std::unique_ptr<conn::Neighbor> neighbor;           // answers ARP/NDP for an emulated listener
  std::unique_ptr<conn::Neighbor> upstream_neighbor;  // and for the emulated upstream side
  std::optional<MacAddress> there_mac;                // the emulated upstream-side host's
  conn::Station there_station;                        // it (MAC, VLANs),
  IpAddress there_src;                                // its address,
  conn::Neighbor* there_neighbor = nullptr;           // and the Neighbor answering for it
  MacAddress next_hop;

  static bool wanted(const relay::PkthereOptions& o) {
    return o.engine == relay::EngineKind::xdp || o.engine == relay::EngineKind::pcap;
  }
  static std::string engine_name(const relay::PkthereOptions& o) {
    return o.engine == relay::EngineKind::xdp    ? "xdp"
           : o.engine == relay::EngineKind::pcap ? "pcap"
                                                 : "socket";
  }
  [[nodiscard]] datapath::PacketRelay& upstream_relay() const {
    return upstream ? *upstream : *client;
  }

  Status open(const relay::PkthereOptions& o, const IpEndpoint& here, const IpEndpoint& there) {
    datapath::RelayOptions ro;
    ro.engine =
        o.engine == relay::EngineKind::xdp ? datapath::EngineKind::xdp : datapath::EngineKind::pcap;
    EP_TRY(ro.xdp_mode, datapath::xdp::parse_xdp_mode(o.xdp_mode));
    for (unsigned q = 0; q < o.queues; ++q) {
      ro.queues.push_back(q);
    }
    ro.own_threads = false;  // the forwarder's thread polls, run to completion
    const bool two_interfaces = o.there_iface && *o.there_iface != *o.iface;
    if (two_interfaces && ro.engine == datapath::EngineKind::xdp) {
      // One UMEM for both sockets, and each fill ring takes half of frames_per_queue: frames
      // beyond that stay free for what the relays send themselves (ARP/NDP answers of emulated
      // hosts), and the upstream side's fill ring starts full, so that its first completions
      // are free frames (a ring short of frames would take them all back).
      ro.frames_per_queue += kOwnSendFrames;
    }
    EP_TRY(client, datapath::PacketRelay::open(*o.iface, ro));
    if (two_interfaces) {
      // The upstream side binds onto the client side's UMEM and its fill ring takes frames the
      // client side's did not. A few are set aside first for the client relay's own sends (an
      // emulated listener's ARP/NDP answers) and put back into its cache once the other socket
      // is filled.
      datapath::FrameBatch spare;
      if (ro.engine == datapath::EngineKind::xdp) {
        ro.share_umem_with = client.get();
        client->engine()->alloc(0, spare, datapath::FrameBatch::capacity());
      }
      auto opened = datapath::PacketRelay::open(*o.there_iface, ro);
      client->release(0, spare);
      if (!opened) {
        return fail(std::move(opened).error());
      }
      upstream = std::move(opened).value();
    }
    if (o.next_hop_mac) {
      next_hop = *o.next_hop_mac;
    } else if (!o.there_mac) {
      // The kernel's route and neighbour tables, resolving now (as root) when the entry is
      // missing; looked up again when a re-resolve moves --there (below). An emulated
      // upstream-side host resolves with its own Neighbor instead, once it runs (below).
      EP_TRY(next_hop, datapath::netlink::resolve_next_hop(upstream_relay().ifname(), there.address,
                                                           std::chrono::milliseconds(3000)));
    }
    relay::DatapathTransportOptions to;
    to.listen_proto = o.here.proto;
    to.listen = here;
    to.upstream_proto = o.there.proto;
    to.upstream = there;
    to.next_hop_mac = next_hop;
    if (!o.next_hop_mac && o.there_mac) {
      // The emulated host's own ARP/NDP on its VLANs (the relay kernel has no route there, and
      // would ask untagged): on the forwarder's thread when a re-resolve moves --there.
      to.resolve_next_hop = [this](const IpAddress& address) { return resolve_emulated(address); };
    } else if (!o.next_hop_mac) {
      // When a re-resolve moves --there, the next hop is looked up again (kept capabilities:
      // CAP_NET_ADMIN lets the kernel be asked to resolve a missing entry).
      to.resolve_next_hop = [ifname = upstream_relay().ifname()](const IpAddress& address) {
        return datapath::netlink::resolve_next_hop(ifname, address,
                                                   std::chrono::milliseconds(3000));
      };
    }
    to.connected = !o.debug.no_connect;
    to.listen_mac = o.here_mac;
    to.listen_vlans = o.here_vlans;
    to.upstream_mac = o.there_mac;
    to.upstream_vlans = o.there_vlans;
    to.upstream_local = o.there_src;
    // ARP/NDP that reaches an emulated host's fast path (a peer's unicast NUD probe) goes to
    // the Neighbor of that side; the Neighbors are opened below, before the forwarder runs.
    to.neighbor_frames = [this](std::size_t side, ConstBytes frame) {
      conn::Neighbor* n = side == 0 ? neighbor.get() : upstream_neighbor.get();
      if (n == nullptr && !upstream) {  // one interface: one Neighbor, whichever host made it
        n = neighbor ? neighbor.get() : upstream_neighbor.get();
      }
      return n != nullptr && n->offer(frame);
    };
    to.spin = o.spin;
    EP_TRY(transport, relay::DatapathTransport::open(to, *client, upstream_relay()));
    if (o.here_mac) {
      EP_TRY(neighbor, conn::Neighbor::open(*client));
      const conn::Station station{*o.here_mac, o.here_vlans};
      EP_TRY_STATUS(neighbor->add_owned(station, here.address));
      if (here.address.is_v4()) {
        // Unicast ARP (NUD probes) to the host's MAC: the fast path takes only its IPv4 key.
        EP_TRY_STATUS(neighbor->receive_unicast_arp(station));
      }
      // Peers that cached another MAC for the address learn ours now.
      (void)neighbor->announce(station, here.address);
    }
    if (o.there_mac) {
      there_mac = o.there_mac;
      conn::Neighbor* n = neighbor.get();
      if (upstream || n == nullptr) {
        EP_TRY(upstream_neighbor, conn::Neighbor::open(upstream_relay()));
        n = upstream_neighbor.get();
      }
      const conn::Station station{*o.there_mac, o.there_vlans};
      EP_TRY_STATUS(n->add_owned(station, *o.there_src));
      if (o.there_src->is_v4()) {
        EP_TRY_STATUS(n->receive_unicast_arp(station));
      }
      (void)n->announce(station, *o.there_src);
      there_station = station;
      there_src = *o.there_src;
      there_neighbor = n;
      if (!o.next_hop_mac) {
        // The upstream is on the emulated host's link (there is no gateway option): its MAC
        // comes from the host's own request, on --there-vlan, as a real host's would.
        EP_TRY(next_hop, resolve_emulated(there.address));
        transport->set_next_hop_mac(next_hop);
      }
    }
    return ok();
  }

  // The MAC of `address` for the emulated upstream-side host, from its Neighbor's cache or by
  // ARP/NDP from --there-src on its VLANs. The relays are polled here (own_threads = false): the
  // answer comes in on the host's keys (unicast ARP, or the transport's IPv6 key, which hands
  // NDP to the Neighbor); other frames polled meanwhile are dropped, as during any resolve.
  Result<MacAddress> resolve_emulated(const IpAddress& address) const {
    datapath::PacketRelay& relay = upstream_relay();
    const auto pump = [&relay](std::chrono::milliseconds slice) {
      const std::size_t queues = relay.queue_count();
      for (std::size_t q = 0; q < queues; ++q) {
        (void)relay.poll_once(q, q == 0 ? slice : std::chrono::milliseconds(0));
      }
    };
    auto mac = there_neighbor->resolve(there_station, there_src, address,
                                       std::chrono::milliseconds(3000), pump);
    if (!mac) {
      return fail(
          Error(mac.error().code(),
                fmt::format("{}: next hop {} from the emulated host {}: {}", relay.ifname(),
                            address.to_string(), there_src.to_string(), mac.error().context())));
    }
    return mac;
  }

  [[nodiscard]] std::string describe() const {
    const datapath::PacketRelay& u = upstream_relay();
    std::string line =
        fmt::format("Engine: {} on {} (mode {}, steering: {})", client->engine_kind(),
                    client->ifname(), client->mode(), client->steering_description());
    if (neighbor) {
      line += fmt::format("; listener emulated as {} with MAC {}",
                          transport->listen_address().address.to_string(),
                          transport->listen_mac()->to_string());
    }
    if (there_mac) {
      line += fmt::format("; upstream side emulated with MAC {}", there_mac->to_string());
    }
    line += fmt::format("; upstream via {} from {}, next hop {}", u.ifname(),
                        transport->upstream_local().to_string(), next_hop.to_string());
    return line;
  }

  // AF_XDP after --user: the program must still be detached at exit. libxdp detaches over
  // netlink (CAP_NET_ADMIN) after looking the program up by id (BPF_PROG_GET_FD_BY_ID:
  // CAP_SYS_ADMIN; CAP_BPF is not enough on 6.18, measured). New upstream ports are map updates
  // on fds we hold and need nothing more. libpcap needs nothing after its handles are open.
  [[nodiscard]] static std::vector<int> needed_capabilities(const relay::PkthereOptions& o) {
    if (o.engine != relay::EngineKind::xdp) {
      return {};
    }
    return {CAP_NET_ADMIN, CAP_SYS_ADMIN};
  }

  // NOLINTNEXTLINE(readability-convert-member-functions-to-static): reads the members
  void add_stats(nlohmann::json& j) const {
    if (!transport) {
      return;
    }
    const nlohmann::json t = transport->stats_json();
    j["drops_malformed_frames"] = t["malformed_total"];
    j["datapath"] = t;
    j["xdp_mode"] = client->engine_kind() == "xdp" ? client->mode() : std::string("none");
    j["steering_attach"] = client->steering_description();
    nlohmann::json ifs = nlohmann::json::array();
    ifs.push_back(client->stats_json());
    if (upstream) {
      ifs.push_back(upstream->stats_json());
    }
    j["interfaces"] = ifs;
  }
};

// pkthere re-resolves --there on every lock (before the client's first datagram goes on) when
// --reresolve-mode lets it move the upstream, whatever --reresolve-secs says.
void reresolve_on_lock(const relay::PkthereOptions& o, relay::Forwarder& forwarder) {
  if (o.reresolve_mode == relay::ReresolveMode::upstream ||
      o.reresolve_mode == relay::ReresolveMode::both) {
    forwarder.reresolve_upstream_on_lock(relay::SystemResolver::instance(), o.there.host);
  }
}

int run(int argc, char** argv) {
  Parsed parsed = parse_command_line(argc, argv);
  if (parsed.exit_code) {
    return *parsed.exit_code;
  }
  auto validated = relay::validate_options(parsed.raw);
  if (!validated) {
    return usage_error(validated.error().context());
  }
  const relay::PkthereOptions o = std::move(validated).value();
  auto here_ip = relay::resolve_host(o.here.host, "--here");
  if (!here_ip) {
    return usage_error(here_ip.error().context());
  }
  auto there_ip = relay::resolve_host(o.there.host, "--there");
  if (!there_ip) {
    return usage_error(there_ip.error().context());
  }
  const IpEndpoint here{*here_ip, o.here.id};
  const IpEndpoint there{*there_ip, o.there.id};
  if (auto st = relay::check_resolved(o, here, there); !st) {
    return usage_error(st.error().context());
  }
  const bool root = ::geteuid() == 0;
  if (root && !o.user) {
    return usage_error("--user: must specify --user when running as root");
  }

  // SIGINT/SIGTERM go to sigtimedwait in this thread only. Blocked before the Listening line,
  // so a signal right after it still gets the final stats line and 130; workers inherit it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Logger logger;
  const relay::LogSink sink = [&logger](LogLevel level, const std::string& text) {
    logger.line(level, text);
  };
  SteadyClock& clock = SteadyClock::instance();
  const auto started = clock.now();

  // Sockets first (the raw ICMP listener and upstream need root), privileges dropped after.
  // The datapath's relays outlive the workers (their transports borrow them).
  Datapath dp;
  std::vector<std::unique_ptr<Worker>> workers;
  IpEndpoint bound = here;
  relay::ForwarderConfig fc;
  fc.listen_proto = o.here.proto;
  fc.upstream_proto = o.there.proto;
  fc.upstream = there;
  fc.timeout = o.timeout;
  fc.on_timeout = o.on_timeout;
  fc.max_payload = o.max_payload;
  fc.max_sessions = o.max_sessions;
  fc.echo_timeout = o.echo_timeout;
  fc.log_drops = o.debug.log_drops;
  fc.connected = !o.debug.no_connect;
  std::string engine_line;
  if (Datapath::wanted(o)) {
    if (auto st = dp.open(o, here, there); !st) {
      fmt::print(stderr, "[ERROR] {}\n", st.error().message());
      return kExitRuntime;
    }
    bound = dp.transport->listen_address();
    fc.listen = bound;
    auto worker = std::make_unique<Worker>();
    worker->forwarder = std::make_unique<relay::Forwarder>(fc, *dp.transport, clock, sink);
    reresolve_on_lock(o, *worker->forwarder);
    if (auto st = worker->forwarder->start(); !st) {
      fmt::print(stderr, "[ERROR] --there {}: {}\n", o.there.to_string(), st.error().message());
      return kExitRuntime;
    }
    workers.push_back(std::move(worker));
    engine_line = dp.describe();
  }
  for (unsigned w = 0; w < o.workers && !Datapath::wanted(o); ++w) {
    relay::SocketTransportOptions so;
    so.listen_proto = o.here.proto;
    so.listen = w == 0 ? here : bound;  // later workers join the first one's (ephemeral) port
    so.upstream_proto = o.there.proto;
    so.connected = !o.debug.no_connect;
    so.reuse_port = o.workers > 1;
    so.max_payload = o.max_payload;
    so.echo_id_offset = static_cast<std::uint16_t>(w);
    so.echo_id_step = static_cast<std::uint16_t>(o.workers);
    auto transport = relay::SocketTransport::open(so);
    if (!transport) {
      fmt::print(stderr, "[ERROR] --here {}: {}\n", o.here.to_string(),
                 transport.error().message());
      return kExitRuntime;
    }
    if (w == 0) {
      bound = (*transport)->listen_address();
    }
    fc.listen = bound;
    auto worker = std::make_unique<Worker>();
    auto* socket_transport = transport->get();
    worker->transport = std::move(transport).value();
    worker->forwarder = std::make_unique<relay::Forwarder>(fc, *worker->transport, clock, sink);
    reresolve_on_lock(o, *worker->forwarder);
    if (auto st = worker->forwarder->start(); !st) {
      fmt::print(stderr, "[ERROR] --there {}: {}\n", o.there.to_string(), st.error().message());
      return kExitRuntime;
    }
    if (o.debug.log_handles) {
      logger.line(
          LogLevel::debug,
          fmt::format("worker {}: listener {} bound, upstream socket {}, echo ids from {} "
                      "step {}",
                      w, endpoint_text(o.here.proto, bound), socket_transport->upstream_kind(),
                      so.echo_id_offset, so.echo_id_step));
    }
    if (w == 0) {
      engine_line =
          fmt::format("Engine: socket, upstream socket: {}", socket_transport->upstream_kind());
    }
    workers.push_back(std::move(worker));
  }

  logger.line(LogLevel::info,
              fmt::format("Listening on {}, forwarding to upstream {}; waiting for first client",
                          endpoint_text(o.here.proto, bound), endpoint_text(o.there.proto, there)));
  logger.line(LogLevel::info, fmt::format("Timeout: {}s, on-timeout: {}", o.timeout.count(),
                                          relay::to_string(o.on_timeout)));
  logger.line(LogLevel::info, fmt::format("Workers: {}", workers.size()));
  logger.line(LogLevel::info, fmt::format("Max sessions: {}", o.max_sessions));
  logger.line(LogLevel::info,
              fmt::format("Re-resolve every: {}s (0=disabled)", o.reresolve_every.count()));
  logger.line(LogLevel::info, engine_line);

  if (o.user || o.group) {
    if (!root) {
      logger.line(LogLevel::warn, "--user/--group ignored: not running as root");
    } else {
      const auto caps =
          Datapath::wanted(o) ? Datapath::needed_capabilities(o) : needed_capabilities(o, here);
      if (auto st = drop_privileges(*o.user, o.group, caps); !st) {
        fmt::print(stderr, "[ERROR] --user: {}\n", st.error().message());
        return kExitRuntime;
      }
      logger.line(
          LogLevel::info,
          fmt::format("Dropped privileges to user {}{}", *o.user,
                      caps.empty() ? "" : fmt::format(" (kept {} capabilities)", caps.size())));
    }
  }

  relay::StatsBoard board(workers.size());
  std::atomic<bool> stop{false};
  for (std::size_t i = 0; i < workers.size(); ++i) {
    Worker& w = *workers[i];
    w.thread = std::thread([&w, &board, &stop, i] {
      auto result = w.forwarder->run(
          stop, [&board, i](const relay::StatsSnapshot& s) { board.publish(i, s); });
      if (result) {
        w.outcome = *result;
      } else {
        w.error = result.error();
      }
      w.finished.store(true);
    });
  }

  relay::StatsContext context;
  context.client_proto = o.here.proto;
  context.upstream_proto = o.there.proto;
  context.workers = static_cast<unsigned>(workers.size());
  context.engine = Datapath::engine_name(o);
  context.max_sessions = o.max_sessions;
  auto print_stats = [&] {
    context.uptime = clock.now() - started;
    nlohmann::json j = relay::stats_json(board.merged(), context);
    dp.add_stats(j);
    logger.raw(j.dump());
  };

  const auto stats_every =
      o.stats_interval ? std::max<Clock::Duration>(*o.stats_interval, std::chrono::seconds(1))
                       : Clock::Duration::max();
  auto next_stats = o.stats_interval ? started + stats_every : Clock::TimePoint::max();
  auto next_resolve =
      o.reresolve_every.count() > 0 ? started + o.reresolve_every : Clock::TimePoint::max();
  int exit_code = 0;
  bool warned_offload = false;
  const timespec tick{0, 100'000'000};
  while (true) {
    siginfo_t info{};
    if (::sigtimedwait(&signals, &info, &tick) > 0) {
      exit_code = kExitSignal;
      break;
    }
    std::size_t finished = 0;
    bool failed = false;
    for (auto& w : workers) {
      if (w->finished.load()) {
        ++finished;
        failed = failed || w->error.has_value();
      }
    }
    if (failed) {
      exit_code = kExitRuntime;
      break;
    }
    if (finished == workers.size()) {
      exit_code = 0;  // every worker reached its timeout exit
      break;
    }
    const auto now = clock.now();
    if (now >= next_stats) {
      next_stats = now + stats_every;
      print_stats();
    }
    if (!warned_offload && dp.transport && dp.transport->checksum_offloaded() > 0) {
      // The usual veth trap, said once: frames are dropped as bad and the user should know why.
      warned_offload = true;
      logger.line(LogLevel::warn,
                  fmt::format("{}: UDP frames arrive with only the pseudo-header checksum (the "
                              "sender's checksum offload never ran, as on veth): they are dropped "
                              "as bad_udp_checksum; on the sending peer run `ethtool -K <dev> tx "
                              "off`",
                              o.iface.value_or("")));
    }
    if (now >= next_resolve) {
      next_resolve = now + o.reresolve_every;
      const bool up = o.reresolve_mode == relay::ReresolveMode::upstream ||
                      o.reresolve_mode == relay::ReresolveMode::both;
      const bool listen = o.reresolve_mode == relay::ReresolveMode::listen ||
                          o.reresolve_mode == relay::ReresolveMode::both;
      if (up) {
        if (auto ip = relay::resolve_host(o.there.host, "--there")) {
          for (auto& w : workers) {
            w->forwarder->request_upstream(IpEndpoint{*ip, o.there.id});
          }
        } else {
          logger.line(LogLevel::warn, ip.error().context());
        }
      }
      if (listen) {
        if (auto ip = relay::resolve_host(o.here.host, "--here")) {
          for (auto& w : workers) {
            w->forwarder->request_listener(IpEndpoint{*ip, bound.port});
          }
        } else {
          logger.line(LogLevel::warn, ip.error().context());
        }
      }
    }
  }
  stop.store(true);
  for (auto& w : workers) {
    w->thread.join();
    if (w->error) {
      fmt::print(stderr, "[ERROR] {}\n", w->error->message());
    }
  }
  if (o.stats_interval) {
    print_stats();
  }
  return exit_code;
}

}  // namespace
}  // namespace etherpath::pkthere

int main(int argc, char** argv) {
  try {
    return etherpath::pkthere::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[ERROR] %s\n", e.what());
    return 1;
  }
}
