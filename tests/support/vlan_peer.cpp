// Loads vlan_peer.bpf.c through its skeleton and attaches it with libbpf's tc API.
#include "tests/support/vlan_peer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "bpf/percpu_array.hpp"
#include "tests/support/vlan_peer_abi.h"

// The skeleton must sit between its prologue and epilogue.
// clang-format off
#include "bpf/skeleton_prologue.hpp"
#include "vlan_peer_bpf.skel.h"  // NOLINT: generated C
#include "bpf/skeleton_epilogue.hpp"
// clang-format on

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
  EP_TRY(const auto sums, bpf::sum_percpu_array(fd, VLAN_PEER_COUNTER_COUNT));
  return VlanPeerCounters{
      .rx_accepted = sums[VLAN_PEER_RX_ACCEPTED],
      .drop_untagged = sums[VLAN_PEER_DROP_UNTAGGED],
      .drop_other_vlan = sums[VLAN_PEER_DROP_OTHER_VLAN],
      .drop_too_deep = sums[VLAN_PEER_DROP_TOO_DEEP],
      .tx_tagged = sums[VLAN_PEER_TX_TAGGED],
      .errors = sums[VLAN_PEER_DROP_POP_FAILED] + sums[VLAN_PEER_DROP_PUSH_FAILED]};
}

}  // namespace etherpath::testing
