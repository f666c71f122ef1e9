// TestXskProgram: a five-instruction XDP program (redirect to xsks_map[rx_queue_index], else
// pass) for datapath tests that must not depend on bpf/'s steering program or libxdp's own.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <array>
#include <string>

#include "base/unique_fd.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::datapath::xdp {

class TestXskProgram final : public XskProgram {
 public:
  ~TestXskProgram() override { detach(); }

  Result<int> attach(const std::string& ifname, bool generic) override {
    ifindex_ = static_cast<int>(::if_nametoindex(ifname.c_str()));
    if (ifindex_ == 0) {
      return fail(Errc::not_found, ifname + ": no such interface");
    }
    map_.reset(::bpf_map_create(BPF_MAP_TYPE_XSKMAP, "xsks_map", 4, 4, 64, nullptr));
    if (!map_) {
      return fail_errno("XSKMAP create");
    }
    const std::array<bpf_insn, 6> insns{{
        // r2 = ctx->rx_queue_index (struct xdp_md offset 16)
        {BPF_LDX | BPF_MEM | BPF_W, 2, 1, 16, 0},
        // r1 = the XSKMAP (a two-slot 64-bit immediate)
        {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_.get()},
        {0, 0, 0, 0, 0},
        // r3 = XDP_PASS: the action when the queue has no socket
        {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    }};
    prog_.reset(::bpf_prog_load(BPF_PROG_TYPE_XDP, "ep_test_xsk", "GPL", insns.data(), insns.size(),
                                nullptr));
    if (!prog_) {
      return fail_errno("load the test XDP program");
    }
    flags_ = (generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE) | XDP_FLAGS_UPDATE_IF_NOEXIST;
    if (const int err = ::bpf_xdp_attach(ifindex_, prog_.get(), flags_, nullptr); err != 0) {
      prog_.reset();
      map_.reset();
      return fail_errno(ifname + ": attach the test XDP program", -err);
    }
    attached_ = true;
    return map_.get();
  }

  void detach() override {
    if (attached_) {
      ::bpf_xdp_detach(ifindex_, flags_ & ~XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
      attached_ = false;
    }
    prog_.reset();
    map_.reset();
  }

 private:
  int ifindex_ = 0;
  std::uint32_t flags_ = 0;
  bool attached_ = false;
  UniqueFd map_;
  UniqueFd prog_;
};

}  // namespace etherpath::datapath::xdp
