// Loads reflector.bpf.c through its skeleton and attaches it with libbpf.
#include "tests/support/reflector.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <vector>

#include "bpf/percpu_array.hpp"
#include "tests/support/reflector_abi.h"

// The skeleton must sit between its prologue and epilogue.
// clang-format off
#include "bpf/skeleton_prologue.hpp"
#include "reflector_bpf.skel.h"  // NOLINT: generated C
#include "bpf/skeleton_epilogue.hpp"
// clang-format on

namespace etherpath::testing {

void Reflector::SkeletonDeleter::operator()(reflector_bpf* skel) const {
  reflector_bpf__destroy(skel);
}

namespace {

// Attaches prog_fd in native mode to ifname inside ns.
Status attach_native(const NetNs& ns, const std::string& ifname, int prog_fd) {
  return in_netns(ns, [&]() -> Status {
    const unsigned ifindex = ::if_nametoindex(ifname.c_str());
    if (ifindex == 0) {
      return fail_errno("xdp: " + ifname);
    }
    if (const int err =
            bpf_xdp_attach(static_cast<int>(ifindex), prog_fd, XDP_FLAGS_DRV_MODE, nullptr);
        err != 0) {
      return fail_errno("xdp: attach to " + ifname, -err);
    }
    return ok();
  });
}

void detach(const NetNs& ns, const std::string& ifname) {
  // Fails harmlessly when the veth is already gone.
  (void)ns.exec(fmt::format("ip link set dev {} xdp off 2>/dev/null", ifname));
}

}  // namespace

Result<Reflector> Reflector::attach(const NetNs& ns, const std::string& ifname) {
  Reflector r;
  r.skel_.reset(reflector_bpf__open_and_load());
  if (!r.skel_) {
    return fail_errno("reflector: open and load");
  }
  EP_TRY_STATUS(attach_native(ns, ifname, bpf_program__fd(r.skel_->progs.reflector)));
  r.ns_ = &ns;
  r.ifname_ = ifname;
  return r;
}

Reflector::Reflector(Reflector&& other) noexcept
    : skel_(std::move(other.skel_)), ns_(other.ns_), ifname_(std::move(other.ifname_)) {
  other.ns_ = nullptr;
}

Reflector::~Reflector() {
  if (ns_ != nullptr && skel_) {
    detach(*ns_, ifname_);
  }
}

Result<ReflectorCounters> Reflector::counters() const {
  const int fd = bpf_map__fd(skel_->maps.reflector_counters);
  EP_TRY(const auto sums, bpf::sum_percpu_array(fd, REFLECTOR_COUNTER_COUNT));
  return ReflectorCounters{.reflected = sums[REFLECTOR_REFLECTED],
                           .passed = sums[REFLECTOR_PASSED],
                           .truncated = sums[REFLECTOR_TRUNCATED]};
}

Result<XdpPass> XdpPass::attach(const NetNs& ns, const std::string& ifname) {
  XdpPass p;
  p.skel_.reset(reflector_bpf__open_and_load());
  if (!p.skel_) {
    return fail_errno("xdp_pass: open and load");
  }
  EP_TRY_STATUS(attach_native(ns, ifname, bpf_program__fd(p.skel_->progs.xdp_pass)));
  p.ns_ = &ns;
  p.ifname_ = ifname;
  return p;
}

XdpPass::XdpPass(XdpPass&& other) noexcept
    : skel_(std::move(other.skel_)), ns_(other.ns_), ifname_(std::move(other.ifname_)) {
  other.ns_ = nullptr;
}

XdpPass::~XdpPass() {
  if (ns_ != nullptr && skel_) {
    detach(*ns_, ifname_);
  }
}

}  // namespace etherpath::testing
