// etherpath-pcp: MAP, PEER and ANNOUNCE from the command line (design.md §4), from the host's own
// stack or, with --iface, from an emulated host (its own MAC, VLANs and address) through the
// datapath. Exit 0 on success, 1 on a runtime failure (refusal, no answer), 2 on a bad command
// line.
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/udp_transport.hpp"
#include "conn/rudp_conn.hpp"
#include "pcp/client.hpp"
#include "tools/common/emulated_host.hpp"
#include "tools/common/emulated_host_flags.hpp"
#include "tools/common/usage_error.hpp"

namespace {

using namespace etherpath;
using namespace std::chrono_literals;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int /*sig*/) {
  g_stop = 1;
}

// A bad command line: exit 2 with one line that names the flag.
using tool_common::checked;
using tool_common::usage;
using tool_common::UsageError;

template <typename T>
T parse_number(const std::string& flag, const std::string& text, T max) {
  unsigned long long v = 0;  // NOLINT(google-runtime-int): from_chars' widest unsigned
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v > max) {
    throw UsageError{fmt::format("{}: '{}' is not a number from 0 to {}", flag, text, max)};
  }
  return static_cast<T>(v);
}

IpAddress parse_ip(const std::string& flag, const std::string& text) {
  auto a = IpAddress::parse(text);
  if (!a) {
    throw UsageError{fmt::format("{}: '{}' is not an IPv4 or IPv6 address", flag, text)};
  }
  return *a;
}

pcp::Protocol parse_protocol(const std::string& text) {
  if (text == "tcp") {
    return pcp::Protocol::tcp;
  }
  if (text == "udp") {
    return pcp::Protocol::udp;
  }
  if (text == "all") {
    return pcp::Protocol::all;
  }
  try {
    return static_cast<pcp::Protocol>(parse_number<std::uint8_t>("--protocol", text, 255));
  } catch (const UsageError&) {
    throw UsageError{
        fmt::format("--protocol: '{}' is not tcp, udp, all or a number from 0 to 255", text)};
  }
}

// IP/LEN[:PORT], e.g. 11.1.2.0/24:7000 or 2001:db8::/32:443.
pcp::Filter parse_filter(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    throw UsageError{fmt::format("--filter: '{}' is not IP/LEN:PORT", text)};
  }
  const IpAddress address = parse_ip("--filter", text.substr(0, slash));
  const std::string rest = text.substr(slash + 1);
  const auto colon = rest.find(':');
  const auto len = parse_number<unsigned>("--filter", rest.substr(0, colon), 128);
  const std::uint16_t port =
      colon == std::string::npos
          ? 0
          : parse_number<std::uint16_t>("--filter", rest.substr(colon + 1), 65535);
  auto f = pcp::Filter::from_prefix(address, len, port);
  if (!f) {
    throw UsageError{fmt::format("--filter: {}", f.error().message())};
  }
  return *f;
}

// --iface: the host the requests leave from, and its PCP client's endpoint.
struct EmulatedSource {
  tool_common::EmulatedHostOptions host;
  IpEndpoint local;                  // the PCP client's address and port
  std::optional<IpAddress> gateway;  // the next hop, when the server is not on the link
};

EmulatedSource parse_emulated_host(const tool_common::EmulatedHostFlags& f,
                                   const IpAddress& server) {
  usage(f.require_iface_name());
  usage(f.require_mac_and_src());
  EmulatedSource o;
  o.host.iface = f.iface();
  const auto link = usage(f.parse_link(tool_common::MulticastMac::refuse));
  o.host.mac = link.mac;
  o.host.vlans = link.vlans;
  const IpAddress src = parse_ip("--src", f.src());
  if (src.is_unspecified() || src.is_multicast()) {
    throw UsageError{fmt::format("--src: {} is not a host's unicast address", f.src())};
  }
  if (src.family() != server.family()) {
    throw UsageError{
        fmt::format("--src: {} is not of the family of --server {}", f.src(), server.to_string())};
  }
  // An ephemeral port (RFC 6335's range) that two tools started side by side rarely share.
  o.local = IpEndpoint{src, static_cast<std::uint16_t>(49152 + ::getpid() % 16384)};
  if (!f.gateway().empty()) {
    o.gateway = parse_ip("--gateway", f.gateway());
    if (o.gateway->family() != server.family()) {
      throw UsageError{fmt::format("--gateway: {} is not of the family of --server {}", f.gateway(),
                                   server.to_string())};
    }
  }
  const auto engine = usage(f.parse_engine());
  o.host.engine = engine.engine;
  o.host.xdp_mode = engine.xdp_mode;
  return o;
}

// Nothing without --iface (where any emulated-host flag is an error); with it, the host's options.
std::optional<EmulatedSource> parse_emulated(const tool_common::EmulatedHostFlags& f,
                                             const IpAddress& server) {
  if (!f.iface_given()) {
    usage(f.refuse_without_iface());
    return std::nullopt;
  }
  return parse_emulated_host(f, server);
}

struct Command {
  pcp::Opcode opcode = pcp::Opcode::map;
  IpAddress server;
  std::uint16_t server_port = pcp::kServerPort;
  std::optional<IpAddress> client;
  std::uint16_t internal_port = 0;
  pcp::Protocol protocol = pcp::Protocol::all;
  std::chrono::seconds lifetime{120};
  std::optional<IpAddress> external;
  std::uint16_t external_port = 0;
  std::optional<IpAddress> third_party;
  bool prefer_failure = false;
  std::vector<pcp::Filter> filters;
  std::optional<IpEndpoint> remote;
  std::optional<pcp::Nonce> nonce;
  pcp::RequestType type = pcp::RequestType::once;
  pcp::Timers timers;
  bool json = false;
  std::optional<EmulatedSource> emulated;  // --iface: send from an emulated host
};

class Output {
 public:
  Output(const Command& cmd, const IpAddress& client) : cmd_(cmd), client_(client) {}

  void assigned(const pcp::Assignment& a, const pcp::Nonce& nonce) const {
    if (a.opcode == pcp::Opcode::announce) {
      if (cmd_.json) {
        emit({{"event", "announce"}, {"server", cmd_.server.to_string()}, {"epoch", a.epoch}});
      } else {
        fmt::print("ANNOUNCE server {} epoch {}\n", cmd_.server.to_string(), a.epoch);
      }
      return;
    }
    if (cmd_.json) {
      auto j = base("assigned", a.opcode, nonce);
      j["external_address"] = a.external_address.to_string();
      j["external_port"] = a.external_port;
      j["lifetime"] = a.lifetime.count();
      j["epoch"] = a.epoch;
      j["result"] = "SUCCESS";
      emit(j);
      return;
    }
    fmt::print("{} {} {} -> {}{} lifetime {} s epoch {} nonce {}\n", pcp::name(a.opcode),
               pcp::protocol_name(cmd_.protocol), internal(),
               IpEndpoint{a.external_address, a.external_port}.to_string(), remote_text(),
               a.lifetime.count(), a.epoch, pcp::to_hex(nonce));
  }

  void deleted(const pcp::Nonce& nonce) const {
    if (cmd_.json) {
      emit(base("deleted", cmd_.opcode, nonce));
    } else {
      fmt::print("{} {} {}{} deleted nonce {}\n", pcp::name(cmd_.opcode),
                 pcp::protocol_name(cmd_.protocol), internal(), remote_text(), pcp::to_hex(nonce));
    }
  }

  void failed(const pcp::Failure& f, std::string_view doing) const {
    if (cmd_.json) {
      nlohmann::json j{
          {"event", "error"}, {"opcode", pcp::name(cmd_.opcode)}, {"message", f.reason}};
      if (f.code) {
        j["result"] = pcp::name(*f.code);
        j["result_code"] = static_cast<unsigned>(*f.code);
        j["explanation"] = pcp::explain(*f.code);
        j["lifetime"] = f.lifetime.count();
      }
      emit(j);
    }
    fmt::print(stderr, "etherpath-pcp: {} {}: {}\n", pcp::name(cmd_.opcode), doing, f.reason);
  }

  void state(pcp::State s, const std::optional<pcp::Failure>& f) const {
    if (cmd_.json) {
      nlohmann::json j{{"event", "state"}, {"state", pcp::name(s)}};
      if (f) {
        j["message"] = f->reason;
      }
      emit(j);
    } else if (s == pcp::State::backoff && f) {
      fmt::print(stderr, "etherpath-pcp: {}; asking again in {} s\n", f->reason,
                 f->lifetime.count());
    }
  }

 private:
  [[nodiscard]] std::string internal() const {
    return IpEndpoint{cmd_.third_party.value_or(client_), cmd_.internal_port}.to_string();
  }
  [[nodiscard]] std::string remote_text() const {
    return cmd_.remote ? " remote " + cmd_.remote->to_string() : "";
  }
  [[nodiscard]] nlohmann::json base(const char* event, pcp::Opcode opcode,
                                    const pcp::Nonce& nonce) const {
    nlohmann::json j{{"event", event},
                     {"opcode", pcp::name(opcode)},
                     {"protocol", pcp::protocol_name(cmd_.protocol)},
                     {"client", client_.to_string()},
                     {"internal_port", cmd_.internal_port},
                     {"nonce", pcp::to_hex(nonce)}};
    if (cmd_.third_party) {
      j["third_party"] = cmd_.third_party->to_string();
    }
    if (cmd_.remote) {
      j["remote"] = cmd_.remote->to_string();
    }
    return j;
  }
  static void emit(const nlohmann::json& j) { std::cout << j.dump() << '\n' << std::flush; }

  const Command& cmd_;
  IpAddress client_;
};

Result<pcp::MappingHandle> send_request(pcp::Handle& client, const Command& cmd) {
  if (cmd.opcode == pcp::Opcode::announce) {
    return client.request(pcp::Announce{});
  }
  if (cmd.opcode == pcp::Opcode::peer) {
    pcp::OutboundMap peer(cmd.internal_port, *cmd.remote, cmd.lifetime);
    peer.protocol(cmd.protocol).external_port(cmd.external_port);
    if (cmd.external) {
      peer.external_address(*cmd.external);
    }
    if (cmd.third_party) {
      peer.third_party(*cmd.third_party);
    }
    if (cmd.nonce) {
      peer.nonce(*cmd.nonce);
    }
    return client.request(peer, cmd.type);
  }
  pcp::InboundMap map(cmd.internal_port, cmd.lifetime);
  map.protocol(cmd.protocol).external_port(cmd.external_port).prefer_failure(cmd.prefer_failure);
  if (cmd.external) {
    map.external_address(*cmd.external);
  }
  if (cmd.third_party) {
    map.third_party(*cmd.third_party);
  }
  for (const auto& f : cmd.filters) {
    map.filter(f);
  }
  if (cmd.nonce) {
    map.nonce(*cmd.nonce);
  }
  return client.request(map, cmd.type);
}

// Deletes the mapping on SIGINT/SIGTERM and waits (bounded) for the server to confirm.
int revoke_and_exit(pcp::MappingHandle& mapping, const Output& out) {
  if (auto s = mapping.revoke(); !s) {
    fmt::print(stderr, "etherpath-pcp: delete: {}\n", s.error().message());
    return 1;
  }
  for (int i = 0; i < 100 && mapping.state() == pcp::State::revoking; ++i) {
    (void)mapping.wait_alert(100ms);
  }
  if (mapping.state() == pcp::State::revoked) {
    out.deleted(mapping.nonce());
    return 0;
  }
  out.failed(mapping.failure().value_or(pcp::Failure{std::nullopt, 0s, "no answer to the delete"}),
             "delete");
  return 1;
}

// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts) while it lives, so
// that only the main thread sees them: a relay's poll threads and the client's thread are never
// interrupted, and the main loop deletes the mapping through them.
class SignalsToMainThread {
 public:
  SignalsToMainThread() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  SignalsToMainThread(const SignalsToMainThread&) = delete;
  SignalsToMainThread& operator=(const SignalsToMainThread&) = delete;
  SignalsToMainThread(SignalsToMainThread&&) = delete;
  SignalsToMainThread& operator=(SignalsToMainThread&&) = delete;
  ~SignalsToMainThread() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_{};
};

int run(const Command& cmd) {
  // Declared before the client, so that it outlives the client's thread and its transport.
  std::unique_ptr<tool_common::EmulatedHost> host;
  std::optional<SignalsToMainThread> blocked(std::in_place);
  pcp::ClientOptions options;
  IpAddress client_address;
  if (cmd.emulated) {
    auto opened = tool_common::EmulatedHost::open(cmd.emulated->host);
    if (!opened) {
      // The relay's error names the interface.
      fmt::print(stderr, "etherpath-pcp: --iface: {}\n", opened.error().message());
      return 1;
    }
    host = std::move(*opened);
    conn::RUDPConnOptions ro;
    ro.local = cmd.emulated->local;
    ro.gateway = cmd.emulated->gateway;
    ro.resolve_timeout = 3000ms;
    // With the Neighbor, the local address becomes owned: ARP/NDP for it is answered (on AF_XDP
    // through the steering program's owned map), and our own request for the next hop teaches
    // the server or gateway our MAC before its answer needs it. The host outlives the conn: it
    // is declared before the client that takes it.
    auto transport = conn::RUDPConn::open(host->conn(), ro, &host->neighbor());
    if (!transport) {
      fmt::print(stderr, "etherpath-pcp: --src {}: {}\n", cmd.emulated->local.address.to_string(),
                 transport.error().message());
      return 1;
    }
    options.transport = std::unique_ptr<DatagramTransport>(std::move(*transport));
    fmt::print(stderr, "etherpath-pcp: from {}\n", host->describe(cmd.emulated->local.to_string()));
    client_address = cmd.client.value_or(cmd.emulated->local.address);
  } else if (cmd.client) {
    client_address = *cmd.client;
  } else {
    auto routed = UdpTransport::route_source(cmd.server);
    if (!routed) {
      fmt::print(stderr, "etherpath-pcp: --server {}: {}\n", cmd.server.to_string(),
                 routed.error().message());
      return 1;
    }
    client_address = *routed;
  }
  options.timers = cmd.timers;
  options.server_port = cmd.server_port;
  // The ANNOUNCE listener is a kernel socket on port 5350, i.e. the host's own stack, not the
  // emulated host's; from an emulated host a server restart shows in the next answer's epoch.
  options.listen_announce = !cmd.emulated && cmd.type.kind() != pcp::RequestType::Kind::once;
  auto client = pcp::Client::start(client_address, cmd.server, std::move(options));
  if (!client) {
    fmt::print(stderr, "etherpath-pcp: {}\n", client.error().message());
    return 1;
  }
  blocked.reset();  // every thread is started: signals may come now
  for (const auto& w : client->warnings()) {
    fmt::print(stderr, "etherpath-pcp: warning: {}\n", w);
  }
  auto mapping = send_request(*client, cmd);
  if (!mapping) {
    fmt::print(stderr, "etherpath-pcp: {}\n", mapping.error().message());
    return 1;
  }
  const Output out(cmd, client_address);
  const bool stays = cmd.type.kind() != pcp::RequestType::Kind::once;
  while (true) {
    if (g_stop != 0) {
      return stays ? revoke_and_exit(*mapping, out) : 130;
    }
    auto alert = mapping->wait_alert(100ms);
    if (!alert) {
      continue;
    }
    if (alert->kind == pcp::Alert::Kind::assigned && alert->assignment) {
      out.assigned(*alert->assignment, mapping->nonce());
      if (!stays) {
        return 0;
      }
      continue;
    }
    switch (alert->state) {
      case pcp::State::revoked: out.deleted(mapping->nonce()); return 0;
      case pcp::State::failed: {
        const auto f = alert->failure.value_or(pcp::Failure{});
        const bool del = cmd.lifetime.count() == 0;
        out.failed(
            f, f.code ? (del ? "delete refused" : "refused") : (del ? "delete failed" : "failed"));
        return 1;
      }
      case pcp::State::expired:
        if (cmd.json) {
          out.state(alert->state, std::nullopt);
        } else {
          fmt::print("{} expired\n", pcp::name(cmd.opcode));
        }
        // Repeat ends this way by design; keep-alive only when renewals went unanswered.
        return cmd.type.kind() == pcp::RequestType::Kind::repeat ? 0 : 1;
      default: out.state(alert->state, alert->failure); break;
    }
  }
}

int real_main(int argc, char** argv) {
  CLI::App app{"etherpath-pcp: PCP (RFC 6887) client: MAP, PEER and ANNOUNCE"};
  app.fallthrough();
  app.require_subcommand(1);
  auto* map_cmd = app.add_subcommand("map", "ask for an inbound mapping (MAP)");
  auto* peer_cmd = app.add_subcommand("peer", "ask for or learn an outbound mapping (PEER)");
  auto* announce_cmd = app.add_subcommand("announce", "ask the server for its epoch (ANNOUNCE)");
  (void)announce_cmd;

  std::string server;
  std::string server_port;
  std::string client;
  std::string internal_port;
  std::string protocol = "all";
  std::string lifetime = "120";
  std::string external;
  std::string external_port;
  std::string third_party;
  std::string remote;
  std::string nonce;
  std::string repeat;
  std::string mrc;
  std::string mrd = "30";
  std::vector<std::string> filters;
  bool prefer_failure = false;
  bool once = false;
  bool keepalive = false;
  bool json = false;
  tool_common::EmulatedHostFlags host;
  app.add_option("--server", server, "PCP server address (requests go to port 5351)")->required();
  app.add_option("--server-port", server_port, "server port (default 5351; for test servers)");
  app.add_option("--client", client, "client address in requests (default: the routed source)");
  app.add_option("--internal-port", internal_port, "internal port (map, peer)");
  app.add_option("--protocol", protocol, "tcp|udp|all|NUM (default all)");
  app.add_option("--lifetime", lifetime, "requested lifetime in seconds (default 120; 0 deletes)");
  app.add_option("--external", external, "suggested external address");
  app.add_option("--external-port", external_port, "suggested external port");
  app.add_option("--third-party", third_party, "map for this internal address (THIRD_PARTY)");
  app.add_flag("--prefer-failure", prefer_failure, "fail rather than take another port (map)");
  app.add_option("--filter", filters, "only this remote may use the mapping: IP/LEN:PORT (map)");
  app.add_option("--remote", remote, "remote peer IP:PORT (peer)");
  app.add_option("--nonce", nonce, "reuse this 24-hex-digit nonce (refresh or delete a mapping)");
  auto* once_opt = app.add_flag("--once", once, "ask once and exit (default)");
  auto* repeat_opt = app.add_option("--repeat", repeat, "renew N times, then let it expire");
  auto* keep_opt = app.add_flag("--keepalive", keepalive, "renew until SIGINT, then delete");
  once_opt->excludes(repeat_opt)->excludes(keep_opt);
  repeat_opt->excludes(keep_opt);
  app.add_option("--mrc", mrc, "give up after N transmissions (default: no limit)");
  app.add_option("--mrd", mrd, "give up after S seconds without an answer (default 30; 0 = never)");
  app.add_flag("--json", json, "one JSON object per event");
  host.add_to(
      app, {.iface = "send from an emulated host on this interface (a MAC, VLANs and address "
                     "that no OS interface has; etherpath does its ARP/NDP)",
            .src_mac = "the emulated host's MAC (required with --iface)",
            .vlan = "its VLAN stack: VID (802.1Q) or OUTER.INNER (QinQ)",
            .tpid = "outer TPID of QinQ: 88a8 (default) or 8100",
            .src = "its address, the PCP client's (required with --iface; the family of --server)",
            .gateway = "the next hop, when --server is not on the link",
            .engine = "xdp (AF_XDP, default) or pcap (libpcap)",
            .xdp_mode = "auto|copy|skb|zc for the xdp engine (default auto)",
            .group = "Emulated host (through the datapath)"});
  app.footer(
      "From an emulated host, requests leave from --src, port 49152 + the pid modulo 16384, and "
      "its answers come back to the same; unsolicited ANNOUNCEs (port 5350) are not listened for, "
      "a server restart shows in the epoch of the next answer instead.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "etherpath-pcp: {}\n", e.what());
    return 2;
  }

  Command cmd;
  try {
    cmd.opcode = peer_cmd->parsed()  ? pcp::Opcode::peer
                 : map_cmd->parsed() ? pcp::Opcode::map
                                     : pcp::Opcode::announce;
    const bool is_map = cmd.opcode == pcp::Opcode::map;
    const bool is_peer = cmd.opcode == pcp::Opcode::peer;
    cmd.server = parse_ip("--server", server);
    if (!server_port.empty()) {
      cmd.server_port = parse_number<std::uint16_t>("--server-port", server_port, 65535);
    }
    if (!client.empty()) {
      cmd.client = parse_ip("--client", client);
    }
    if (cmd.opcode != pcp::Opcode::announce) {
      if (internal_port.empty()) {
        throw UsageError{
            fmt::format("--internal-port is required for {}", is_map ? "map" : "peer")};
      }
      cmd.internal_port = parse_number<std::uint16_t>("--internal-port", internal_port, 65535);
    }
    cmd.protocol = parse_protocol(protocol);
    cmd.lifetime =
        std::chrono::seconds(parse_number<std::uint32_t>("--lifetime", lifetime, 0xffffffffU));
    if (!external.empty()) {
      cmd.external = parse_ip("--external", external);
    }
    if (!external_port.empty()) {
      cmd.external_port = parse_number<std::uint16_t>("--external-port", external_port, 65535);
    }
    if (!third_party.empty()) {
      cmd.third_party = parse_ip("--third-party", third_party);
    }
    if (prefer_failure && !is_map) {
      throw UsageError{"--prefer-failure: only for map"};
    }
    cmd.prefer_failure = prefer_failure;
    if (!filters.empty() && !is_map) {
      throw UsageError{"--filter: only for map"};
    }
    for (const auto& f : filters) {
      cmd.filters.push_back(parse_filter(f));
    }
    if (is_peer) {
      if (remote.empty()) {
        throw UsageError{"--remote is required for peer"};
      }
      auto ep = IpEndpoint::parse(remote);
      if (!ep || ep->port == 0) {
        throw UsageError{fmt::format("--remote: '{}' is not IP:PORT", remote)};
      }
      cmd.remote = *ep;
    } else if (!remote.empty()) {
      throw UsageError{"--remote: only for peer"};
    }
    if (!nonce.empty()) {
      auto n = pcp::parse_nonce(nonce);
      if (!n) {
        throw UsageError{fmt::format("--nonce: {}", n.error().message())};
      }
      cmd.nonce = *n;
    }
    if (!repeat.empty()) {
      cmd.type = pcp::RequestType::repeat(parse_number<unsigned>("--repeat", repeat, 1000000));
    } else if (keepalive) {
      cmd.type = pcp::RequestType::keep_alive;
    }
    if (cmd.opcode == pcp::Opcode::announce && cmd.type != pcp::RequestType::once) {
      throw UsageError{"--keepalive/--repeat: not for announce"};
    }
    if (!mrc.empty()) {
      cmd.timers.mrc = parse_number<unsigned>("--mrc", mrc, 1000000);
    }
    cmd.timers.mrd = std::chrono::seconds(parse_number<unsigned>("--mrd", mrd, 86400));
    cmd.json = json;
    cmd.emulated = parse_emulated(host, cmd.server);
  } catch (const UsageError& e) {
    fmt::print(stderr, "etherpath-pcp: {}\n", e.message);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: blocking waits return and see the flag
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return run(cmd);
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return real_main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "etherpath-pcp: {}\n", e.what());
    return 1;
  }
}
