// Loads reflector.bpf.c through its skeleton and attaches it with libbpf.
#include "tests/support/reflector.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <vector>

#include "tests/support/reflector_abi.h"
// The generated skeleton is C written for C compilers: quiet our C++ warnings for it alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "reflector_bpf.skel.h"  // NOLINT: generated C
#pragma GCC diagnostic pop

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
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return fail_errno("libbpf_num_possible_cpus", -cpus);
  }
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  auto sum = [&](std::uint32_t key) -> Result<std::uint64_t> {
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) {
      return fail_errno("reflector: read counters");
    }
    std::uint64_t total = 0;
    for (auto v : per_cpu) {
      total += v;
    }
    return total;
  };
  ReflectorCounters c;
  EP_TRY(c.reflected, sum(REFLECTOR_REFLECTED));
  EP_TRY(c.passed, sum(REFLECTOR_PASSED));
  EP_TRY(c.truncated, sum(REFLECTOR_TRUNCATED));
  return c;
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
