// Loads vlan_peer.bpf.c through its skeleton and attaches it with libbpf's tc API.
#include "tests/support/vlan_peer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "tests/support/vlan_peer_abi.h"
// The generated skeleton is C written for C compilers: quiet our C++ warnings for it alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "vlan_peer_bpf.skel.h"  // NOLINT: generated C
#pragma GCC diagnostic pop

namespace etherpath::testing {

void VlanPeer::SkeletonDeleter::operator()(vlan_peer_bpf* skel) const {
  vlan_peer_bpf__destroy(skel);
}

Result<VlanPeer> VlanPeer::attach(const NetNs& ns, const std::string& ifname,
                                  const VlanStack& vlans) {
  if (vlans.empty() || vlans.size() > VLAN_PEER_MAX_DEPTH) {
    return fail(Errc::invalid_argument, "VlanPeer needs 1 or 2 tags");
  }
  // Pushed tags must go out in the frame, not as veth offload metadata.
  EP_TRY(auto off, ns.exec(fmt::format("ethtool -K {} txvlan off tx-vlan-stag-hw-insert off "
                                       ">/dev/null",
                                       ifname)));
  (void)off;
  VlanPeer peer;
  peer.ns_ = &ns;
  peer.ifname_ = ifname;
  peer.skel_.reset(vlan_peer_bpf__open());
  if (!peer.skel_) {
    return fail_errno("vlan_peer: open skeleton");
  }
  auto& cfg = const_cast<vlan_peer_config&>(peer.skel_->rodata->cfg);  // NOLINT: set before load
  cfg.depth = static_cast<__u32>(vlans.size());
  for (std::size_t i = 0; i < vlans.size(); ++i) {
    cfg.tags[i].tpid = vlans[i].tpid;
    cfg.tags[i].id = vlans[i].id;
    cfg.tags[i].pcp = vlans[i].pcp;
  }
  if (const int err = vlan_peer_bpf__load(peer.skel_.get()); err != 0) {
    return fail_errno("vlan_peer: load", -err);
  }
  const int ingress_fd = bpf_program__fd(peer.skel_->progs.vlan_peer_ingress);
  const int egress_fd = bpf_program__fd(peer.skel_->progs.vlan_peer_egress);
  // tc attachments live in the namespace, so make them from a thread inside it.
  const Status attached = in_netns(ns, [&]() -> Status {
    const unsigned ifindex = ::if_nametoindex(ifname.c_str());
    if (ifindex == 0) {
      return fail_errno("vlan_peer: " + ifname);
    }
    bpf_tc_hook hook{};
    hook.sz = sizeof hook;
    hook.ifindex = static_cast<int>(ifindex);
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    if (const int err = bpf_tc_hook_create(&hook); err != 0 && err != -EEXIST) {
      return fail_errno("vlan_peer: clsact on " + ifname, -err);
    }
    for (const auto& [point, fd] :
         {std::pair{BPF_TC_INGRESS, ingress_fd}, {BPF_TC_EGRESS, egress_fd}}) {
      hook.attach_point = point;
      bpf_tc_opts opts{};
      opts.sz = sizeof opts;
      opts.prog_fd = fd;
      if (const int err = bpf_tc_attach(&hook, &opts); err != 0) {
        return fail_errno("vlan_peer: attach on " + ifname, -err);
      }
    }
    return ok();
  });
  if (!attached) {
    return fail(attached.error());
  }
  return peer;
}

VlanPeer::VlanPeer(VlanPeer&& other) noexcept
    : skel_(std::move(other.skel_)), ns_(other.ns_), ifname_(std::move(other.ifname_)) {
  other.ns_ = nullptr;
}

VlanPeer::~VlanPeer() {
  if (ns_ != nullptr && skel_) {
    // Fails harmlessly when the veth is already gone.
    (void)ns_->exec(fmt::format("tc qdisc del dev {} clsact 2>/dev/null", ifname_));
  }
}

Result<VlanPeerCounters> VlanPeer::counters() const {
  const int fd = bpf_map__fd(skel_->maps.vlan_peer_counters);
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return fail_errno("libbpf_num_possible_cpus", -cpus);
  }
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  auto sum = [&](std::uint32_t key) -> Result<std::uint64_t> {
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) {
      return fail_errno("vlan_peer: read counters");
    }
    std::uint64_t total = 0;
    for (auto v : per_cpu) {
      total += v;
    }
    return total;
  };
  VlanPeerCounters c;
  EP_TRY(c.rx_accepted, sum(VLAN_PEER_RX_ACCEPTED));
  EP_TRY(c.drop_untagged, sum(VLAN_PEER_DROP_UNTAGGED));
  EP_TRY(c.drop_other_vlan, sum(VLAN_PEER_DROP_OTHER_VLAN));
  EP_TRY(c.drop_too_deep, sum(VLAN_PEER_DROP_TOO_DEEP));
  EP_TRY(c.tx_tagged, sum(VLAN_PEER_TX_TAGGED));
  EP_TRY(const std::uint64_t pop_failed, sum(VLAN_PEER_DROP_POP_FAILED));
  EP_TRY(const std::uint64_t push_failed, sum(VLAN_PEER_DROP_PUSH_FAILED));
  c.errors = pop_failed + push_failed;
  return c;
}

}  // namespace etherpath::testing
