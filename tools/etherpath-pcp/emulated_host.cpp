// EmulatedHost: relay, Neighbor, EtherConn and RUDPConn opened in dependency order, so a failure
// halfway unwinds what was opened.
#include "tools/etherpath-pcp/emulated_host.hpp"

#include <fmt/core.h>

#include "conn/rudp_conn.hpp"

namespace etherpath::pcp_tool {

Result<std::unique_ptr<EmulatedHost>> EmulatedHost::open(const EmulatedHostOptions& options) {
  std::unique_ptr<EmulatedHost> h(new EmulatedHost(options));
  datapath::RelayOptions ro;
  ro.engine = options.engine;
  ro.xdp_mode = options.xdp_mode;
  // A PCP client sends a datagram now and then: a small UMEM is plenty.
  ro.frames_per_queue = 1024;
  EP_TRY(h->relay_, datapath::PacketRelay::open(options.iface, ro));
  EP_TRY(h->neighbor_, conn::Neighbor::open(*h->relay_));
  conn::EtherConnOptions co;
  co.mac = options.mac;
  co.vlans = options.vlans;
  co.queue_depth = 256;
  EP_TRY(h->conn_, conn::EtherConn::open(*h->relay_, co));
  return h;
}

EmulatedHost::~EmulatedHost() {
  conn_.reset();
  neighbor_.reset();
  relay_.reset();
}

Result<std::unique_ptr<DatagramTransport>> EmulatedHost::open_transport() {
  conn::RUDPConnOptions ro;
  ro.local = options_.local;
  ro.gateway = options_.gateway;
  ro.resolve_timeout = options_.resolve_timeout;
  // With the Neighbor, the local address becomes owned: ARP/NDP for it is answered (on AF_XDP
  // through the steering program's owned map), and our own request for the next hop teaches the
  // server or gateway our MAC before its answer needs it.
  EP_TRY(auto udp, conn::RUDPConn::open(*conn_, ro, neighbor_.get()));
  return std::unique_ptr<DatagramTransport>(std::move(udp));
}

std::string EmulatedHost::describe() const {
  return fmt::format("emulated host {} vlan '{}' {} on {} ({}, {})", options_.mac.to_string(),
                     options_.vlans.to_string(), options_.local.to_string(), options_.iface,
                     relay_->engine_kind(), relay_->mode());
}

}  // namespace etherpath::pcp_tool
