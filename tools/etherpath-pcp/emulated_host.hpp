// EmulatedHost: the host etherpath-pcp sends from with --iface (design.md §4): a PacketRelay on
// the interface, an EtherConn with the host's own MAC and VLANs, a Neighbor that answers ARP/NDP
// for its address and resolves the next hop, and a RUDPConn on ADDRESS:PORT for the PCP client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/datagram_transport.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/ether_conn.hpp"
#include "conn/neighbor.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::pcp_tool {

struct EmulatedHostOptions {
  std::string iface;
  MacAddress mac;
  VlanStack vlans;
  IpEndpoint local;                  // the PCP client's address and port
  std::optional<IpAddress> gateway;  // the next hop, when the server is not on the link
  datapath::EngineKind engine = datapath::EngineKind::xdp;
  datapath::xdp::XdpMode xdp_mode = datapath::xdp::XdpMode::automatic;
  std::chrono::milliseconds resolve_timeout{3000};
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

  // The host's UDP endpoint (a conn::RUDPConn; its address is owned by the Neighbor while it
  // lives). The host must outlive it: whoever takes it (the PCP client) must go first.
  Result<std::unique_ptr<DatagramTransport>> open_transport();

  // "02:00:..:14 vlan '100' on veth0 (xdp, native copy)", for a verbose start line.
  [[nodiscard]] std::string describe() const;

 private:
  explicit EmulatedHost(EmulatedHostOptions options) : options_(std::move(options)) {}

  EmulatedHostOptions options_;
  // Destroyed in reverse: the host's registrations go before the relay.
  std::unique_ptr<datapath::PacketRelay> relay_;
  std::unique_ptr<conn::Neighbor> neighbor_;
  std::unique_ptr<conn::EtherConn> conn_;
};

}  // namespace etherpath::pcp_tool
