// Helpers for pkthere's real-peer tests across ThreeNamespaces: dnsmasq upstream, dig query files,
// and the command line and set-up of the xdp/pcap engines.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/netns/relay/three_namespaces.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::relay::testing {

inline std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// dnsmasq in `ns` on port 53 of each address in `listen`, answering example.test with `answer4`
// (A) and, unless empty, `answer6` (AAAA); ready once it answers a query of its own.
inline std::optional<etherpath::testing::Process> spawn_dnsmasq(
    const etherpath::testing::NetNs& ns, const std::vector<std::string>& listen,
    const std::string& answer4 = "10.9.9.9", const std::string& answer6 = "fd00::9") {
  using etherpath::testing::Process;
  std::vector<std::string> argv = {"dnsmasq",          "--keep-in-foreground", "-C",
                                   "/dev/null",        "--no-resolv",          "--no-hosts",
                                   "--bind-interfaces"};
  for (const auto& address : listen) {
    argv.push_back(fmt::format("--listen-address={}", address));
  }
  argv.insert(argv.end(), {"--port=53", fmt::format("--address=/example.test/{}", answer4)});
  if (!answer6.empty()) {
    argv.push_back(fmt::format("--address=/example.test/{}", answer6));
  }
  argv.emplace_back("--pid-file=");
  auto p = Process::spawn(std::move(argv), &ns);
  if (!p) {
    ADD_FAILURE() << p.error();
    return std::nullopt;
  }
  for (int i = 0; i < 50; ++i) {
    if (ns.exec(fmt::format("dig @{} ready.example.test A +tries=1 +timeout=1 +short | grep -q {}",
                            listen.front(), answer4))) {
      return std::move(p).value();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "dnsmasq did not come up: " << p->err();
  return std::nullopt;
}

// dnsmasq answering example.test (A and AAAA) on the upstream side, port 53.
inline std::optional<etherpath::testing::Process> start_dnsmasq(const ThreeNamespaces& t) {
  return spawn_dnsmasq(*t.upstream, {ThreeNamespaces::kUpstream4});
}

class TempDir {
 public:
  TempDir() : path_(etherpath::testing::run("mktemp -d /tmp/ep-relay-XXXXXX").value()) {
    path_.erase(path_.find_last_not_of('\n') + 1);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() { (void)etherpath::testing::run("rm -rf " + path_); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `queries` names, A and AAAA in turn, in a dig -f file.
inline std::string query_file(const std::string& dir, const std::string& name, int queries) {
  std::string lines;
  for (int i = 0; i < queries; ++i) {
    lines += fmt::format("h{}.example.test {}\n", i, i % 2 == 0 ? "A" : "AAAA");
  }
  std::string path = fmt::format("{}/{}", dir, name);
  auto r = etherpath::testing::run(fmt::format("printf '%s' '{}' > {}", lines, path));
  EXPECT_TRUE(r) << r.error();
  return path;
}

// One dig process from one fixed source port to the relay's UDP 5354.
inline std::string dig_command(const std::string& port, const std::string& file) {
  return fmt::format("dig -b {}#{} @{} -p 5354 -f {} +tries=1 +timeout=2 +noall +comments",
                     ThreeNamespaces::kClient4, port, ThreeNamespaces::kRelayClientSide4, file);
}

// veth hands frames of local senders over with the checksum only started (TX checksum offload):
// the kernel on the other end trusts that, but AF_XDP and libpcap see the partial value, and
// pkthere's datapath checks every checksum. Senders on a wire always finish them; here the
// client's and upstream's veths are told to as well.
inline bool prepare_for_datapath(const ThreeNamespaces& t) {
  auto c = t.client->exec("ethtool -K " + t.client_relay->a() + " tx off > /dev/null");
  auto u = t.upstream->exec("ethtool -K " + t.relay_upstream->b() + " tx off > /dev/null");
  if (!c || !u) {
    ADD_FAILURE() << "ethtool: " << (c ? u.error() : c.error());
    return false;
  }
  return true;
}

// The datapath engine's flags in front of `args`: the client-side and upstream-side veths of the
// relay namespace, and the upstream's MAC as the next hop unless pkthere is to look it up.
inline std::vector<std::string> datapath_args(const ThreeNamespaces& t, const std::string& engine,
                                              std::vector<std::string> args,
                                              bool give_next_hop = true) {
  if (engine == "socket") {
    return args;
  }
  std::vector<std::string> out{"--engine",          engine,          "--iface",
                               t.client_relay->b(), "--there-iface", t.relay_upstream->a()};
  if (give_next_hop) {
    out.insert(out.end(), {"--next-hop-mac", t.relay_upstream->mac_b().to_string()});
  }
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

// Whether any interface of the relay namespace still has an XDP program.
inline bool has_xdp_program(const ThreeNamespaces& t) {
  auto links = t.relay->exec("ip link show");
  return !links || links->find("xdp") != std::string::npos;
}

}  // namespace etherpath::relay::testing
