// VlanPeer: turns the kernel stack behind a veth into a peer on a VLAN stack (802.1Q or QinQ),
// with tc clsact programs that pop the tags on ingress and push them on egress. This kernel has
// no 802.1Q module, so this is how tagged traffic gets a real kernel peer in tests (#4, #8).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "base/vlan.hpp"
#include "tests/support/netns.hpp"

struct vlan_peer_bpf;  // the generated skeleton

namespace etherpath::testing {

struct VlanPeerCounters {
  std::uint64_t rx_accepted = 0;      // tagged exactly as configured, tags popped
  std::uint64_t drop_untagged = 0;    // fewer tags than configured
  std::uint64_t drop_other_vlan = 0;  // another ID or TPID: the kernel never sees it
  std::uint64_t drop_too_deep = 0;    // more tags than configured
  std::uint64_t tx_tagged = 0;        // frames the kernel sent, tags pushed
  std::uint64_t errors = 0;           // pop/push failures
};

class VlanPeer {
 public:
  // Attaches to `ifname` inside `ns` and turns off txvlan and tx-vlan-stag-hw-insert there, so
  // pushed tags go out in-band. The stack must have 1 or 2 tags.
  static Result<VlanPeer> attach(const NetNs& ns, const std::string& ifname,
                                 const VlanStack& vlans);
  VlanPeer(VlanPeer&& other) noexcept;
  VlanPeer& operator=(VlanPeer&& other) noexcept = delete;
  VlanPeer(const VlanPeer&) = delete;
  VlanPeer& operator=(const VlanPeer&) = delete;
  ~VlanPeer();  // removes the clsact qdisc (and with it both programs)

  [[nodiscard]] Result<VlanPeerCounters> counters() const;

 private:
  struct SkeletonDeleter {
    void operator()(vlan_peer_bpf* skel) const;
  };
  VlanPeer() = default;
  std::unique_ptr<vlan_peer_bpf, SkeletonDeleter> skel_;
  const NetNs* ns_ = nullptr;
  std::string ifname_;
};

}  // namespace etherpath::testing
