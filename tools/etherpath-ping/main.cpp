// etherpath-ping: ping from an emulated host (its own MAC, VLANs and address, ARP/NDP done by
// etherpath) or, without --iface, through the kernel's ping or raw sockets (design.md §4). The
// output is iputils ping's. Exit 0 when any reply came, 1 when none (or on a runtime failure),
// 2 on a bad command line; SIGINT/SIGTERM end it with the summary.
#include <fmt/core.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "base/unique_fd.hpp"
#include "tools/common/emulated_host_flags.hpp"
#include "tools/common/usage_error.hpp"
#include "tools/etherpath-ping/emulated_pinger.hpp"
#include "tools/etherpath-ping/kernel_pinger.hpp"
#include "tools/etherpath-ping/ping_report.hpp"
#include "tools/etherpath-ping/ping_session.hpp"

namespace {

using namespace etherpath;        // NOLINT(google-build-using-namespace): a program's main file
using namespace etherpath::ping;  // NOLINT(google-build-using-namespace)

constexpr int kExitNoReply = 1;
constexpr int kExitUsage = 2;

std::atomic<bool> g_stop{false};  // lock-free, so a signal handler may store to it
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_signal(int /*sig*/) {
  g_stop.store(true);
}

using tool_common::checked;
using tool_common::usage;
using tool_common::UsageError;

struct Options {
  std::string host;
  PingTarget target;
  SessionOptions session;
  bool verbose = false;
  std::optional<EmulatedPingerOptions> emulated;
};

std::uint64_t parse_unsigned(const char* flag, const std::string& text, const char* what) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw UsageError{fmt::format("{}: '{}' is not {}", flag, text, what)};
  }
  return v;
}

// Seconds as iputils takes them ("0.2"); `positive` refuses 0.
std::chrono::microseconds parse_seconds(const char* flag, const std::string& text, bool positive) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const bool bad = text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) ||
                   v < 0 || (positive && v <= 0) || v > 3600.0 * 24;
  if (bad) {
    throw UsageError{fmt::format("{}: '{}' is not a number of seconds{}", flag, text,
                                 positive ? " > 0" : " >= 0")};
  }
  return std::chrono::microseconds(static_cast<long long>(std::llround(v * 1e6)));
}

// DEST: an address, or a name the resolver knows (of `family` when one is required).
IpAddress resolve_destination(const std::string& host, int family) {
  if (auto a = IpAddress::parse(host)) {
    if ((family == AF_INET && !a->is_v4()) || (family == AF_INET6 && !a->is_v6())) {
      throw UsageError{fmt::format("DEST: '{}': Address family for hostname not supported", host)};
    }
    return *a;
  }
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_RAW;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    throw UsageError{fmt::format("DEST: '{}': {}", host, ::gai_strerror(rc))};
  }
  auto ep = IpEndpoint::from_sockaddr(found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (!ep) {
    throw UsageError{fmt::format("DEST: '{}': {}", host, ep.error().message())};
  }
  return ep->address;
}

// The interface's MTU in the calling process's namespace, if the interface exists.
std::optional<unsigned> interface_mtu(const std::string& iface) {
  const etherpath::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  if (!fd || iface.size() >= sizeof ifr.ifr_name) {
    return std::nullopt;
  }
  std::memcpy(ifr.ifr_name, iface.c_str(), iface.size());
  if (::ioctl(fd.get(), SIOCGIFMTU, &ifr) != 0) {  // NOLINT(cppcoreguidelines-pro-type-vararg)
    return std::nullopt;
  }
  return static_cast<unsigned>(ifr.ifr_mtu);
}

// The name of a reply's source, for a DEST given by name (iputils prints "name (address)").
std::string reverse_name(const IpAddress& a) {
  static std::optional<std::pair<IpAddress, std::string>> last;
  if (last && last->first == a) {
    return last->second;
  }
  sockaddr_storage ss{};
  const socklen_t len = IpEndpoint{a, 0}.to_sockaddr(ss);
  std::array<char, NI_MAXHOST> name{};
  std::string result;
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len,  // NOLINT
                    name.data(), name.size(), nullptr, 0, NI_NAMEREQD) == 0) {
    result = name.data();
  }
  last.emplace(a, result);
  return result;
}

// Returns the options, or the exit code when parsing decided (help, bad input).
std::variant<Options, int> parse_command_line(int argc, char** argv) {
  CLI::App app{"etherpath-ping: ping from an emulated host or through kernel sockets (etherpath)",
               "etherpath-ping"};
  std::string count = "0";
  std::string interval = "1";
  std::string linger = "10";
  std::string size = "56";
  bool numeric = false;
  bool v4_only = false;
  bool v6_only = false;
  tool_common::EmulatedHostFlags host;
  Options o;
  app.add_option("destination", o.host, "address or name to ping")->required();
  app.add_option("-c,--count", count, "stop after N requests (default and 0: until interrupted)");
  app.add_option("-i,--interval", interval, "seconds between requests (default 1)");
  app.add_option("-W,--timeout", linger, "seconds to wait for a reply when none came (default 10)");
  app.add_option("-s,--size", size, "data bytes after the ICMP header (default 56)");
  app.add_flag("-n,--numeric", numeric, "print addresses only");
  app.add_flag("-v,--verbose", o.verbose, "say how echoes travel (socket kind or datapath)");
  auto* v4_flag = app.add_flag("-4", v4_only, "IPv4 only");
  app.add_flag("-6", v6_only, "IPv6 only")->excludes(v4_flag);
  host.add_to(app, {.iface = "ping from an emulated host on this interface",
                    .src_mac = "the emulated host's MAC",
                    .vlan = "its VLAN stack: VID (802.1Q) or OUTER.INNER (QinQ)",
                    .tpid = "outer TPID of QinQ: 88a8 (default) or 8100",
                    .src = "its IPv4 or IPv6 address",
                    .gateway = "the next hop, when DEST is not on the link",
                    .engine = "xdp (default) or pcap",
                    .xdp_mode = "auto|copy|skb|zc for the xdp engine",
                    .group = {}});
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "etherpath-ping: {}\n", e.what());
    return kExitUsage;
  }
  try {
    o.session.count = parse_unsigned("-c", count, "a count (0 = until interrupted)");
    o.session.interval = parse_seconds("-i", interval, false);
    o.session.linger = parse_seconds("-W", linger, true);
    const std::uint64_t data_size = parse_unsigned("-s", size, "a number of data bytes");
    const std::string& iface = host.iface();
    const bool emulated = !iface.empty();
    if (!emulated) {
      usage(host.refuse_without_iface());
    }
    if (host.iface_given()) {
      usage(host.require_iface_name());
    }
    std::optional<IpAddress> source;
    if (emulated) {
      usage(host.require_mac_and_src());
      source = checked(IpAddress::parse(host.src()), "--src");
    }
    int family = AF_UNSPEC;
    if (v4_only || (source && source->is_v4())) {
      family = AF_INET;
    }
    if (v6_only || (source && source->is_v6())) {
      family = AF_INET6;
    }
    if (v4_only && source && source->is_v6()) {
      throw UsageError{"--src: not an IPv4 address, as -4 asks"};
    }
    if (v6_only && source && source->is_v4()) {
      throw UsageError{"--src: not an IPv6 address, as -6 asks"};
    }
    const IpAddress dest = resolve_destination(o.host, family);
    o.target = PingTarget{o.host, dest, numeric || IpAddress::parse(o.host).has_value()};
    // The largest echo an IP datagram holds; an emulated host does not fragment, so its
    // interface's MTU bounds it instead.
    std::uint64_t max_size = dest.is_v4() ? 65507 : 65527;
    if (emulated) {
      if (auto mtu = interface_mtu(iface)) {
        const unsigned headers = dest.is_v4() ? 28 : 48;
        max_size = *mtu > headers ? *mtu - headers : 0;
      }
    }
    if (data_size > max_size) {
      throw UsageError{fmt::format("-s: {} is more than {} data bytes{}", data_size, max_size,
                                   emulated ? " (the MTU of " + iface + ", no fragments)" : "")};
    }
    o.session.size = static_cast<std::size_t>(data_size);
    if (emulated) {
      EmulatedPingerOptions e;
      e.host.iface = iface;
      const auto link = usage(host.parse_link(tool_common::MulticastMac::allow));
      e.host.mac = link.mac;
      e.host.vlans = link.vlans;
      e.source = *source;
      e.destination = dest;
      if (!host.gateway().empty()) {
        e.gateway = checked(IpAddress::parse(host.gateway()), "--gateway");
        if (e.gateway->family() != dest.family()) {
          throw UsageError{"--gateway: not of the same IP family as DEST"};
        }
      }
      const auto engine = usage(host.parse_engine());
      e.host.engine = engine.engine;
      e.host.xdp_mode = engine.xdp_mode;
      e.identifier = static_cast<std::uint16_t>(::getpid() & 0xffff);
      o.emulated = e;
    }
  } catch (const UsageError& e) {
    fmt::print(stderr, "etherpath-ping: {}\n", e.message);
    return kExitUsage;
  }
  return o;
}

int run(const Options& o) {
  std::unique_ptr<Pinger> pinger;
  std::string source;
  if (o.emulated) {
    auto p = EmulatedPinger::open(*o.emulated);
    if (!p) {
      fmt::print(stderr, "etherpath-ping: {}: {}\n", o.emulated->host.iface, p.error().message());
      return kExitNoReply;
    }
    pinger = std::move(*p);
    source = o.emulated->source.to_string() + " " + o.emulated->host.iface;
  } else {
    auto p = KernelPinger::open({.destination = o.target.address,
                                 .identifier = static_cast<std::uint16_t>(::getpid() & 0xffff)});
    if (!p) {
      fmt::print(stderr, "etherpath-ping: {}\n", p.error().message());
      return kExitNoReply;
    }
    pinger = std::move(*p);
  }
  if (o.verbose) {
    fmt::print(stderr, "etherpath-ping: {}\n", pinger->describe());
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: a blocking wait returns and the loop sees the flag
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  PingReport report(o.target, o.session.size, o.session.size >= 16, source, reverse_name);
  PingSession session(*pinger, report, o.session, stdout, g_stop);
  return session.run();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto parsed = parse_command_line(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) {
      return *code;
    }
    return run(std::get<Options>(parsed));
  } catch (const std::exception& e) {
    fmt::print(stderr, "etherpath-ping: {}\n", e.what());
    return kExitNoReply;
  }
}
