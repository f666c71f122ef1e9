// EmulatedHost: relay, Neighbor and EtherConn opened in dependency order, so that a failure
// halfway unwinds what was opened, and closed in the reverse one.
#include "tools/common/emulated_host.hpp"

#include <fmt/core.h>

namespace etherpath::tool_common {

Result<std::unique_ptr<EmulatedHost>> EmulatedHost::open(const EmulatedHostOptions& options) {
  std::unique_ptr<EmulatedHost> h(new EmulatedHost(options));
  datapath::RelayOptions ro;
  ro.engine = options.engine;
  ro.xdp_mode = options.xdp_mode;
  // A tool's host sends a frame now and then: a small UMEM is plenty.
  ro.frames_per_queue = 1024;
  EP_TRY(h->relay_, datapath::PacketRelay::open(options.iface, ro));
  EP_TRY(h->neighbor_, conn::Neighbor::open(*h->relay_));
  conn::EtherConnOptions co;
  co.mac = options.mac;
  co.vlans = options.vlans;
  if (options.max_frame) {
    co.max_frame = *options.max_frame;
  }
  co.queue_depth = 256;
  EP_TRY(h->conn_, conn::EtherConn::open(*h->relay_, co));
  return h;
}

EmulatedHost::~EmulatedHost() {
  if (owned_) {
    neighbor_->remove_owned(station(), *owned_);
  }
  conn_.reset();
  neighbor_.reset();
  relay_.reset();
}

Status EmulatedHost::own(const IpAddress& address) {
  if (owned_) {
    return fail(Errc::already_exists,
                fmt::format("the emulated host owns {} already", owned_->to_string()));
  }
  EP_TRY_STATUS(neighbor_->add_owned(station(), address));
  owned_ = address;
  return ok();
}

std::string EmulatedHost::describe(std::string_view address) const {
  return fmt::format("emulated host {} vlan '{}'{}{} on {} ({}, {})", options_.mac.to_string(),
                     options_.vlans.to_string(), address.empty() ? "" : " ", address,
                     options_.iface, relay_->engine_kind(), relay_->mode());
}

}  // namespace etherpath::tool_common
