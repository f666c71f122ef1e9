// EmulatedHostFlags: the flags' checks and their exit-2 messages, which the programs' tests pin.
#include "tools/common/emulated_host_flags.hpp"

#include <fmt/core.h>

#include <utility>

namespace etherpath::tool_common {

namespace {

// A flag's value that did not parse: "--FLAG: what the parser said".
template <typename T>
Result<T> named(Result<T> r, const char* flag) {
  if (!r) {
    return fail(Errc::invalid_argument, fmt::format("{}: {}", flag, r.error().message()));
  }
  return r;
}

}  // namespace

void EmulatedHostFlags::add_to(CLI::App& app, const EmulatedHostFlagHelp& help) {
  const auto add = [&](const char* name, std::string& value, const std::string& text) {
    CLI::Option* option = app.add_option(name, value, text);
    if (!help.group.empty()) {
      option->group(help.group);
    }
    return option;
  };
  iface_option_ = add("--iface", iface_, help.iface);
  add("--src-mac", src_mac_, help.src_mac);
  add("--vlan", vlan_, help.vlan);
  add("--tpid", tpid_, help.tpid);
  add("--src", src_, help.src);
  add("--gateway", gateway_, help.gateway);
  add("--engine", engine_, help.engine);
  add("--xdp-mode", xdp_mode_, help.xdp_mode);
}

Status EmulatedHostFlags::refuse_without_iface() const {
  for (const auto& [flag, value] :
       {std::pair{"--src-mac", &src_mac_}, std::pair{"--vlan", &vlan_}, std::pair{"--tpid", &tpid_},
        std::pair{"--src", &src_}, std::pair{"--gateway", &gateway_},
        std::pair{"--engine", &engine_}, std::pair{"--xdp-mode", &xdp_mode_}}) {
    if (!value->empty()) {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: only with --iface (an emulated host)", flag));
    }
  }
  return ok();
}

Status EmulatedHostFlags::require_iface_name() const {
  if (iface_.empty()) {
    return fail(Errc::invalid_argument, "--iface: empty interface name");
  }
  return ok();
}

Status EmulatedHostFlags::require_mac_and_src() const {
  if (src_mac_.empty()) {
    return fail(Errc::invalid_argument, "--src-mac: required with --iface");
  }
  if (src_.empty()) {
    return fail(Errc::invalid_argument, "--src: required with --iface");
  }
  return ok();
}

Result<EmulatedLink> EmulatedHostFlags::parse_link(MulticastMac multicast) const {
  EmulatedLink link;
  EP_TRY(link.mac, named(MacAddress::parse(src_mac_), "--src-mac"));
  if (multicast == MulticastMac::refuse && link.mac.is_multicast()) {
    return fail(Errc::invalid_argument,
                fmt::format("--src-mac: {} is a multicast MAC, not a host's", src_mac_));
  }
  std::uint16_t outer_tpid = kTpid8021ad;
  if (!tpid_.empty()) {
    EP_TRY(outer_tpid, named(parse_tpid(tpid_), "--tpid"));
  }
  EP_TRY(link.vlans, named(VlanStack::parse(vlan_, outer_tpid), "--vlan"));
  return link;
}

Result<EmulatedEngine> EmulatedHostFlags::parse_engine() const {
  EmulatedEngine e;
  if (engine_.empty() || engine_ == "xdp") {
    e.engine = datapath::EngineKind::xdp;
  } else if (engine_ == "pcap") {
    e.engine = datapath::EngineKind::pcap;
  } else {
    return fail(Errc::invalid_argument, fmt::format("--engine: '{}' is not xdp or pcap", engine_));
  }
  EP_TRY(e.xdp_mode, named(datapath::xdp::parse_xdp_mode(xdp_mode_.empty() ? "auto" : xdp_mode_),
                           "--xdp-mode"));
  return e;
}

}  // namespace etherpath::tool_common
