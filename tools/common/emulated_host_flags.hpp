// EmulatedHostFlags: the command-line flags of a program that acts as an emulated host (--iface,
// --src-mac, --vlan, --tpid, --src, --gateway, --engine, --xdp-mode), added to a CLI11 app and
// checked with the same messages in every program ("--FLAG: ...", for an exit-2 line).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "datapath/packet_relay.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::tool_common {

// Each program says in its own words what the host is for; the checks are the same.
struct EmulatedHostFlagHelp {
  std::string iface;
  std::string src_mac;
  std::string vlan;
  std::string tpid;
  std::string src;
  std::string gateway;
  std::string engine;
  std::string xdp_mode;
  std::string group;  // the help section; empty: the app's default one
};

// Whether --src-mac may be a multicast MAC (a host's is not; some programs never checked).
enum class MulticastMac { allow, refuse };

// The host's link: its MAC and VLAN stack.
struct EmulatedLink {
  MacAddress mac;
  VlanStack vlans;
};

// The datapath the host's relay runs on.
struct EmulatedEngine {
  datapath::EngineKind engine = datapath::EngineKind::xdp;
  datapath::xdp::XdpMode xdp_mode = datapath::xdp::XdpMode::automatic;
};

// The flags as given. The checks are separate steps because the programs run them in different
// orders around their own (the family of --src against their destination, for one); every error
// is Errc::invalid_argument whose message() is the whole line after "PROGRAM: ".
class EmulatedHostFlags {
 public:
  void add_to(CLI::App& app, const EmulatedHostFlagHelp& help);

  // --iface was on the command line, even as "".
  [[nodiscard]] bool iface_given() const {
    return iface_option_ != nullptr && iface_option_->count() > 0;
  }
  [[nodiscard]] const std::string& iface() const { return iface_; }
  [[nodiscard]] const std::string& src() const { return src_; }
  [[nodiscard]] const std::string& gateway() const { return gateway_; }

  // Without an emulated host: the first of the other flags that was given is an error.
  [[nodiscard]] Status refuse_without_iface() const;
  // "--iface: empty interface name" for --iface "".
  [[nodiscard]] Status require_iface_name() const;
  // --src-mac and --src, which an emulated host cannot do without.
  [[nodiscard]] Status require_mac_and_src() const;
  // --src-mac, then --tpid (88a8 when not given), then --vlan.
  [[nodiscard]] Result<EmulatedLink> parse_link(MulticastMac multicast) const;
  // --engine (xdp when not given), then --xdp-mode (auto when not given).
  [[nodiscard]] Result<EmulatedEngine> parse_engine() const;

 private:
  CLI::Option* iface_option_ = nullptr;
  std::string iface_;
  std::string src_mac_;
  std::string vlan_;
  std::string tpid_;
  std::string src_;
  std::string gateway_;
  std::string engine_;
  std::string xdp_mode_;
};

}  // namespace etherpath::tool_common
