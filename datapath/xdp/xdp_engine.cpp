// XdpEngine: queue discovery, the zero-copy -> native copy -> generic fallback, link checks.
#include "datapath/xdp/xdp_engine.hpp"

#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <thread>

namespace etherpath::datapath::xdp {

std::string_view to_string(XdpMode mode) {
  switch (mode) {
    case XdpMode::automatic: return "auto";
    case XdpMode::zero_copy: return "zero-copy";
    case XdpMode::native_copy: return "native-copy";
    case XdpMode::generic: return "generic";
  }
  return "?";
}

Result<XdpMode> parse_xdp_mode(std::string_view text) {
  if (text == "auto") {
    return XdpMode::automatic;
  }
  if (text == "zc" || text == "zero-copy") {
    return XdpMode::zero_copy;
  }
  if (text == "copy" || text == "native-copy" || text == "native") {
    return XdpMode::native_copy;
  }
  if (text == "skb" || text == "generic") {
    return XdpMode::generic;
  }
  return fail(Errc::invalid_argument,
              "XDP mode '" + std::string(text) + "': expected auto, zc, copy or skb");
}

namespace {

void fill_ifr_name(ifreq& ifr, const std::string& ifname) {
  std::memset(&ifr, 0, sizeof ifr);
  const std::size_t n = std::min(ifname.size(), std::size_t{IFNAMSIZ - 1});
  std::memcpy(ifr.ifr_name, ifname.data(), n);
}

}  // namespace

Result<unsigned> interface_queue_count(const std::string& ifname) {
  const UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket for ethtool");
  }
  ethtool_channels channels{};
  channels.cmd = ETHTOOL_GCHANNELS;
  ifreq ifr{};
  fill_ifr_name(ifr, ifname);
  ifr.ifr_data = reinterpret_cast<char*>(&channels);  // NOLINT: the ioctl ABI takes a char*
  if (::ioctl(fd.get(), SIOCETHTOOL, &ifr) != 0) {
    if (errno == EOPNOTSUPP) {
      return 1U;  // no channels API: one queue, as libxdp assumes too
    }
    return fail_errno(ifname + ": ethtool channels");
  }
  const unsigned n = std::max(channels.rx_count, channels.combined_count);
  return std::max(n, 1U);
}

Result<std::unique_ptr<XdpEngine>> XdpEngine::create(const XdpEngineOptions& options) {
  std::unique_ptr<XdpEngine> e(new XdpEngine());
  e->ifname_ = options.ifname;
  EP_TRY(e->link_, LinkState::open(options.ifname));
  e->ifindex_ = e->link_.ifindex();
  e->program_ = options.program;
  if (options.shared_umem && options.mode == XdpMode::automatic) {
    return fail(Errc::invalid_argument,
                options.ifname + ": a shared UMEM needs an explicit XDP mode (the first engine's)");
  }
  std::vector<XdpMode> candidates;
  if (options.mode == XdpMode::automatic) {
    candidates = {XdpMode::zero_copy, XdpMode::native_copy, XdpMode::generic};
  } else {
    candidates = {options.mode};
  }
  for (const XdpMode m : candidates) {
    Status st = e->try_mode(options, m);
    // The kernel frees a closed socket's hold on its queue after an RCU grace period, so a bind
    // right after another socket on the queue closed can see EBUSY for a moment.
    for (int retry = 0; retry < 50 && !st && st.error().is_errno(EBUSY); ++retry) {
      e->teardown();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      st = e->try_mode(options, m);
    }
    if (st) {
      e->mode_ = m;
      return e;
    }
    e->teardown();
    if (options.mode != XdpMode::automatic) {
      return fail(st.error().wrap(options.ifname + ": XDP mode " + std::string(to_string(m)) +
                                  " (forced) failed"));
    }
    e->fallback_log_.push_back(std::string(to_string(m)) + ": " + st.error().message());
  }
  std::string all;
  for (const auto& line : e->fallback_log_) {
    all += (all.empty() ? "" : "; ") + line;
  }
  return fail(Errc::unsupported, options.ifname + ": no AF_XDP mode works: " + all);
}

Status XdpEngine::try_mode(const XdpEngineOptions& options, XdpMode mode) {
  const bool generic = mode == XdpMode::generic;
  int map_fd = -1;
  if (program_ != nullptr) {
    EP_TRY(map_fd, program_->attach(ifname_, generic));
    program_attached_ = true;
  }
  std::vector<unsigned> queues = options.queues;
  if (queues.empty()) {
    EP_TRY(const unsigned n, interface_queue_count(ifname_));
    for (unsigned q = 0; q < n; ++q) {
      queues.push_back(q);
    }
  }
  if (options.shared_umem) {
    umem_ = options.shared_umem;
  } else {
    UmemOptions u;
    u.frame_count = options.frames_per_queue * static_cast<std::uint32_t>(queues.size());
    u.frame_size = options.frame_size;
    u.headroom = options.headroom;
    u.fill_size = options.fill_size != 0
                      ? options.fill_size
                      : std::bit_floor(std::max<std::uint32_t>(options.frames_per_queue / 2, 64));
    u.comp_size = u.fill_size;
    EP_TRY(umem_, Umem::create(u));
  }
  std::uint32_t prior_prog = 0;
  if (program_ == nullptr) {
    ::bpf_xdp_query_id(static_cast<int>(ifindex_), 0, &prior_prog);
  }
  for (const unsigned q : queues) {
    XskSocketOptions so = options.socket;
    so.zero_copy = mode == XdpMode::zero_copy;
    so.generic = generic;
    so.xsks_map_fd = map_fd;
    EP_TRY(auto sock, XskSocket::create(ifname_, q, umem_, so));
    if (program_ == nullptr && prior_prog == 0 && !builtin_attach_flags_) {
      builtin_attach_flags_ = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    }
    sockets_.push_back(std::move(sock));
  }
  return ok();
}

void XdpEngine::teardown() {
  sockets_.clear();
  umem_.reset();
  if (builtin_attach_flags_) {
    // libxdp never detaches its built-in program when the sockets go; we attached it, so we do.
    ::bpf_xdp_detach(static_cast<int>(ifindex_), *builtin_attach_flags_, nullptr);
    builtin_attach_flags_.reset();
  }
  if (program_attached_) {
    program_->detach();
    program_attached_ = false;
  }
}

XdpEngine::~XdpEngine() {
  teardown();
}

Result<bool> XdpEngine::wait(std::size_t q, std::chrono::milliseconds timeout) {
  auto ready = sockets_[q]->wait(static_cast<int>(timeout.count()));
  if (!ready) {
    // A dead device shows up as a socket error; say which interface it was.
    EP_TRY_STATUS(check_link());
    return fail(std::move(ready).error().wrap(ifname_));
  }
  if (!*ready) {
    EP_TRY_STATUS(check_link());
  }
  return *ready;
}

}  // namespace etherpath::datapath::xdp
