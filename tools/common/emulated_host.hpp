// EmulatedHost: a host that no OS interface has (its own MAC, VLAN stack and addresses) on an
// interface: a PacketRelay, a conn::Neighbor that answers ARP/NDP and resolves next hops, and a
// conn::EtherConn for its frames, owned together so that they go in the right order.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/ether_conn.hpp"
#include "conn/neighbor.hpp"
#include "datapath/packet_relay.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::tool_common {

struct EmulatedHostOptions {
  std::string iface;
  MacAddress mac;
  VlanStack vlans;
  datapath::EngineKind engine = datapath::EngineKind::xdp;
  datapath::xdp::XdpMode xdp_mode = datapath::xdp::XdpMode::automatic;
  std::optional<std::size_t> max_frame;  // the EtherConn's largest frame; its default otherwise
};

class EmulatedHost {
 public:
  // Opens the relay on the interface (in the calling thread's namespace) and the host on it.
  static Result<std::unique_ptr<EmulatedHost>> open(const EmulatedHostOptions& options);
  EmulatedHost(const EmulatedHost&) = delete;
  EmulatedHost& operator=(const EmulatedHost&) = delete;
  EmulatedHost(EmulatedHost&&) = delete;
  EmulatedHost& operator=(EmulatedHost&&) = delete;
  ~EmulatedHost();

  // Makes the address the host's until it goes: requests for it (ARP, NDP) reach the Neighbor;
  // on AF_XDP this also puts it in the steering program's owned map (PacketRelay::add_owned).
  // For a host that answers for its address itself (a conn::RUDPConn given the Neighbor owns
  // its local address), this is not needed.
  Status own(const IpAddress& address);

  [[nodiscard]] const EmulatedHostOptions& options() const { return options_; }
  [[nodiscard]] conn::Station station() const { return {options_.mac, options_.vlans}; }
  [[nodiscard]] datapath::PacketRelay& relay() { return *relay_; }
  [[nodiscard]] conn::Neighbor& neighbor() { return *neighbor_; }
  [[nodiscard]] conn::EtherConn& conn() { return *conn_; }

  // "emulated host 02:00:..:14 vlan '100' ADDRESS on veth0 (xdp, native copy)"; no ADDRESS (and
  // no space for it) when `address` is empty.
  [[nodiscard]] std::string describe(std::string_view address = {}) const;

 private:
  explicit EmulatedHost(EmulatedHostOptions options) : options_(std::move(options)) {}

  EmulatedHostOptions options_;
  // Destroyed in reverse: the host's registrations go before the relay.
  std::unique_ptr<datapath::PacketRelay> relay_;
  std::unique_ptr<conn::Neighbor> neighbor_;
  std::unique_ptr<conn::EtherConn> conn_;
  std::optional<IpAddress> owned_;
};

}  // namespace etherpath::tool_common
