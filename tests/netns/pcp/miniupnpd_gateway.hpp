// miniupnpd 2.3.1 as a PCP gateway in namespaces of its own, shared by the pcp netns tests (see
// reference/miniupnpd-pcp-notes.md): client ns 10.98.1.2 <-> gateway ns (LAN 10.98.1.1, WAN
// 10.98.2.1, reported external address 11.98.2.1, never contacted) <-> wan ns 10.98.2.2.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "base/ip_address.hpp"
#include "pcp/client.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::pcp::test {

using namespace std::chrono_literals;
using etherpath::testing::NetNs;
using etherpath::testing::Process;
using etherpath::testing::VethPair;

inline constexpr const char* kMiniupnpd = "/usr/sbin/miniupnpd";
inline const IpAddress kClient = IpAddress::v4(0x0a620102U);    // 10.98.1.2
inline const IpAddress kGateway = IpAddress::v4(0x0a620101U);   // 10.98.1.1
inline const IpAddress kExternal = IpAddress::v4(0x0b620201U);  // 11.98.2.1

// The three namespaces, their links and a running miniupnpd. A test fixture derives from it and
// calls set_up() / tear_down(); failures are gtest failures (check HasFatalFailure()).
class MiniupnpdGateway {
 protected:
  // Skips the test when miniupnpd is missing. The LAN link's end a is the client's, b the
  // gateway's. `client_address` false leaves the client's end without 10.98.1.2 (for an emulated
  // host, which no OS interface has).
  void set_up(bool client_address = true) {
    if (::access(kMiniupnpd, X_OK) != 0) {
      GTEST_SKIP() << kMiniupnpd << " is missing (apt-get install miniupnpd miniupnpd-nftables)";
    }
    dir_ = std::filesystem::temp_directory_path() / etherpath::testing::unique_name("pcpmu");
    std::filesystem::create_directories(dir_);
    client_ = take(NetNs::create("pcc"));
    gw_ = take(NetNs::create("pcg"));
    wan_ = take(NetNs::create("pcw"));
    ASSERT_TRUE(client_ && gw_ && wan_);
    auto lan = VethPair::create(*client_, *gw_);
    ASSERT_TRUE(lan) << lan.error();
    lan_link_.emplace(std::move(*lan));
    auto wan = VethPair::create(*gw_, *wan_);
    ASSERT_TRUE(wan) << wan.error();
    wan_link_.emplace(std::move(*wan));
    if (client_address) {
      must(client_->exec(fmt::format("ip addr add 10.98.1.2/24 dev {}", lan_link_->a())));
    }
    must(gw_->exec(fmt::format("ip addr add 10.98.1.1/24 dev {} && ip addr add 10.98.2.1/24 dev {}",
                               lan_link_->b(), wan_link_->a())));
    must(wan_->exec(fmt::format("ip addr add 10.98.2.2/24 dev {}", wan_link_->b())));
    // miniupnpd 2.3.1 adds rules to these chains but does not create them (notes, obstacle 2).
    write("nft.conf", R"(table inet filter {
  chain miniupnpd { }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
}
)");
    must(gw_->exec("nft -f " + (dir_ / "nft.conf").string()));
    // system_uptime=no: the epoch starts again at 0 whenever miniupnpd restarts.
    write("miniupnpd.conf",
          fmt::format(R"(ext_ifname={}
ext_ip=11.98.2.1
listening_ip={}
enable_natpmp=yes
enable_upnp=no
secure_mode=no
system_uptime=no
lease_file={}
min_lifetime=120
max_lifetime=86400
uuid=00000000-0000-0000-0000-000000000098
allow 1024-65535 10.98.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
)",
                      wan_link_->a(), lan_link_->b(), (dir_ / "upnp.leases").string()));
    start_daemon();
  }

  void tear_down() {
    daemon_.reset();  // SIGTERM by PID, reaped
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  template <typename T>
  std::optional<T> take(Result<T> r) {
    if (!r) {
      ADD_FAILURE() << r.error();
      return std::nullopt;
    }
    return std::move(*r);
  }
  static void must(const Result<std::string>& r) { ASSERT_TRUE(r) << r.error(); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  void start_daemon() {
    auto p = Process::spawn({kMiniupnpd, "-d", "-vv", "-f", (dir_ / "miniupnpd.conf").string(),
                             "-P", (dir_ / "miniupnpd.pid").string()},
                            &*gw_);
    ASSERT_TRUE(p) << p.error();
    daemon_.emplace(std::move(*p));
    auto up = daemon_->wait_for_output("Listening for NAT-PMP/PCP", 5s, true);
    ASSERT_TRUE(up) << up.error() << daemon_->out();
    started_at_ = std::chrono::steady_clock::now();
  }

  void stop_daemon() {
    // miniupnpd 2.3.1 now and then sits out a SIGTERM (seen here: no "shutting down" for 5 s,
    // a race between its signal flag and select()); a second one, then SIGKILL, ends it.
    daemon_->signal(SIGTERM);
    auto st = daemon_->wait_for(2s);
    if (!st) {
      daemon_->signal(SIGTERM);
      st = daemon_->wait_for(1s);
    }
    if (!st) {
      daemon_->signal(SIGKILL);
      st = daemon_->wait_for(2s);
    }
    ASSERT_TRUE(st) << st.error() << "\nminiupnpd's log:\n" << daemon_->err();
    daemon_.reset();
  }

  [[nodiscard]] std::string nat_rules() const {
    return gw_->exec("nft list chain inet filter prerouting_miniupnpd").value_or("");
  }
  // A DNAT rule for `port` to `internal`:port.
  [[nodiscard]] bool has_rule(std::uint16_t port, const IpAddress& internal = kClient) const {
    const auto rules = nat_rules();
    return rules.find(fmt::format("dport {} ", port)) != std::string::npos &&
           rules.find(fmt::format("{}:{}", internal.to_string(), port)) != std::string::npos;
  }

  std::filesystem::path dir_;
  std::optional<NetNs> client_, gw_, wan_;
  std::optional<VethPair> lan_link_, wan_link_;
  std::optional<Process> daemon_;
  std::chrono::steady_clock::time_point started_at_;
};

// The assignment of the next alert that brings one within `timeout`; a failure is a test failure.
inline std::optional<Assignment> wait_assigned(MappingHandle& m, Clock::Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto alert = m.wait_alert(100ms);
    if (alert && alert->kind == Alert::Kind::assigned) {
      return alert->assignment;
    }
    if (alert && alert->state == State::failed) {
      ADD_FAILURE() << "mapping failed: " << alert->failure.value_or(Failure{}).reason;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace etherpath::pcp::test
