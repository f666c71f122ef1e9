// SteeringProgram: loads the embedded steering program, attaches it through libxdp, and keeps
// its maps.
#include "bpf/steering_program.hpp"

// clang-format off
#include "bpf/steer_abi.h"  // the skeleton names struct ep_owner
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <xdp/libxdp.h>
// clang-format on

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"
#include "bpf/percpu_array.hpp"

// The skeleton must sit between its prologue and epilogue.
// clang-format off
#include "bpf/skeleton_prologue.hpp"
#include "steer_bpf.skel.h"  // NOLINT: generated C
#include "bpf/skeleton_epilogue.hpp"
// clang-format on

namespace etherpath::bpf {
namespace {

constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";

bool same_netns(int fd) {
  struct stat mine {};
  struct stat theirs {};
  if (::stat(kThreadNetns, &mine) != 0 || ::fstat(fd, &theirs) != 0) {
    return true;  // cannot tell: stay where we are
  }
  return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

std::string errno_name(int err) {
  err = err < 0 ? -err : err;
  if (const char* name = strerrorname_np(err); name != nullptr) {
    return name;
  }
  return fmt::format("errno {}", err);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  for (auto& c : s) {
    if (c == '\n') {
      c = ';';
    }
  }
  return s;
}

template <typename Key>
Status update(int fd, const Key& key, std::uint32_t endpoint_id, const char* map) {
  const ep_endpoint value{endpoint_id, 0};
  if (fd < 0) {
    return fail(Errc::closed, fmt::format("{}: the steering program is not loaded", map));
  }
  if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0) {
    const int err = errno;
    if (err == E2BIG || err == ENOMEM) {
      return fail(Errc::no_space, fmt::format("{}: the map is full", map));
    }
    return fail_errno(fmt::format("{}: adding a key", map), err);
  }
  return ok();
}

template <typename Key>
Status remove(int fd, const Key& key, const char* map) {
  if (fd < 0) {
    return fail(Errc::closed, fmt::format("{}: the steering program is not loaded", map));
  }
  if (bpf_map_delete_elem(fd, &key) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return fail(Errc::not_found, fmt::format("{}: no such key", map));
    }
    return fail_errno(fmt::format("{}: removing a key", map), err);
  }
  return ok();
}

// The loaded maps must have the layouts steer_abi.h declares (a stale build would not).
Status check_layout(const steer_bpf& skel) {
  struct Expect {
    const bpf_map* map;
    std::size_t key;
    std::size_t value;
  };
  const Expect expected[] = {
      {skel.maps.l2_endpoints, sizeof(ep_l2_key), sizeof(ep_endpoint)},
      {skel.maps.l4_endpoints, sizeof(ep_l4_key), sizeof(ep_endpoint)},
      {skel.maps.owned_addrs, sizeof(ep_owned_key), sizeof(ep_endpoint)},
      {skel.maps.multicast_subs, sizeof(ep_vlan_etype_key), sizeof(ep_endpoint)},
      {skel.maps.default_rx, sizeof(ep_vlan_etype_key), sizeof(ep_endpoint)},
      {skel.maps.stats, sizeof(std::uint32_t), sizeof(std::uint64_t)},
  };
  for (const auto& e : expected) {
    if (bpf_map__key_size(e.map) != e.key || bpf_map__value_size(e.map) != e.value) {
      return fail(Errc::malformed,
                  fmt::format("steering map {}: key/value size {}/{} but steer_abi.h says {}/{}",
                              bpf_map__name(e.map), bpf_map__key_size(e.map),
                              bpf_map__value_size(e.map), e.key, e.value));
    }
  }
  return ok();
}

}  // namespace

std::string_view to_string(XdpAction action) {
  switch (action) {
    case XdpAction::aborted: return "XDP_ABORTED";
    case XdpAction::drop: return "XDP_DROP";
    case XdpAction::pass: return "XDP_PASS";
    case XdpAction::tx: return "XDP_TX";
    case XdpAction::redirect: return "XDP_REDIRECT";
  }
  return "XDP_?";
}

struct SteeringProgram::State {
  steer_bpf* skel = nullptr;
  xdp_program* prog = nullptr;
  std::shared_ptr<XdpBackend> backend;
  std::string ifname;
  int ifindex = 0;
  bool attached = false;
  XdpMode mode = XdpMode::native;
  AttachPath path = AttachPath::single_program;
  std::string report;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  State(State&&) = delete;
  State& operator=(State&&) = delete;
  UniqueFd netns;  // the network namespace it was attached in
  ~State() {
    if (attached && backend) {
      detach_in_netns();
    }
    xdp_program__close(prog);  // does not close the skeleton's object (it is external)
    steer_bpf__destroy(skel);
  }

  // Detaches in the namespace the program was attached in: libxdp finds the interface by
  // ifindex over netlink in the calling thread's namespace, and the owner may be destroyed on
  // another thread (or after the thread that attached left its namespace). 0 or -errno, and
  // libxdp's messages.
  std::pair<int, std::string> detach_in_netns() {
    attached = false;
    const auto run = [this] {
      const int rc = backend->detach(prog, ifindex, mode);
      return std::make_pair(rc, backend->take_messages());
    };
    if (!netns || same_netns(netns.get())) {
      return run();
    }
    std::pair<int, std::string> out{-EINVAL, ""};
    std::thread worker([&] {
      if (::setns(netns.get(), CLONE_NEWNET) != 0) {
        out = {-errno, "entering the network namespace of the interface"};
        return;
      }
      out = run();
    });
    worker.join();
    return out;
  }

  [[nodiscard]] int map_fd(const bpf_map* map) const {
    return skel != nullptr ? bpf_map__fd(map) : -1;
  }
};

// Opens the embedded object and stamps it with this process as its owner.
Result<std::unique_ptr<SteeringProgram::State>> SteeringProgram::open_state() {
  install_library_printers();
  auto state = std::make_unique<SteeringProgram::State>();
  state->skel = steer_bpf__open();
  if (state->skel == nullptr) {
    return fail_errno("opening the embedded steering program");
  }
  const ProgramOwner me = current_process_owner();
  auto& owner = state->skel->rodata_owner->ep_owner;
  owner.magic = EP_OWNER_MAGIC;
  owner.pid = me.pid;
  owner.abi_version = EP_ABI_VERSION;
  owner.start_time = me.start_time;
  return state;
}

Result<SteeringProgram> SteeringProgram::load_unattached() {
  EP_TRY(auto state, open_state());
  if (const int err = steer_bpf__load(state->skel); err != 0) {
    return fail_errno("loading the steering program (BPF verifier or privileges)", -err);
  }
  EP_TRY_STATUS(check_layout(*state->skel));
  return SteeringProgram(std::move(state));
}

Result<SteeringProgram> SteeringProgram::attach(std::string_view ifname, SteeringOptions options) {
  const std::string name(ifname);
  auto backend =
      options.backend ? options.backend : std::shared_ptr<XdpBackend>(make_libxdp_backend());
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) {
    return fail(Errc::not_found, fmt::format("{}: no such interface", name));
  }
  const int ifindex = static_cast<int>(index);
  EP_TRY_STATUS(backend->ensure_bpffs());

  // Decide first, act after: a foreign program must leave everything as it was.
  EP_TRY(auto existing, backend->query(ifindex));
  std::vector<std::uint32_t> to_detach;
  std::vector<std::string> notes;
  if (existing) {
    const ProgramOwner me = current_process_owner();
    for (const auto& p : existing->programs) {
      const bool ours = p.name == EP_PROG_NAME || p.owner.has_value();
      if (ours) {
        if (p.owner && *p.owner == me) {
          return fail(Errc::busy,
                      fmt::format("{}: this process already has etherpath's steering program "
                                  "(id {}) attached; share that SteeringProgram",
                                  name, p.id));
        }
        if (p.owner && backend->owner_alive(*p.owner)) {
          return fail(Errc::busy,
                      fmt::format("{}: etherpath's steering program (id {}) is in use by running "
                                  "process {}; stop it first",
                                  name, p.id, p.owner->pid));
        }
        to_detach.push_back(p.id);
        notes.push_back(
            p.owner && p.owner->pid != 0
                ? fmt::format("replaced a stale etherpath program (id {}) of process {}", p.id,
                              p.owner->pid)
                : fmt::format("replaced a stale etherpath program (id {})", p.id));
      } else if (existing->path == AttachPath::single_program) {
        if (!options.replace_foreign) {
          return fail(Errc::busy,
                      fmt::format("{}: a foreign XDP program '{}' (id {}, {} mode) is attached; "
                                  "etherpath leaves it alone: detach it (ip link set dev {} xdp "
                                  "off) or ask to replace it (--xdp-replace)",
                                  name, p.name, p.id, to_string(existing->mode), name));
        }
        to_detach.push_back(p.id);
        notes.push_back(fmt::format("replaced foreign program '{}' (id {})", p.name, p.id));
      }
      // A foreign program inside libxdp's dispatcher shares the interface with us: kept.
    }
  }

  EP_TRY(auto state, open_state());
  state->backend = backend;
  state->ifname = name;
  state->ifindex = ifindex;
  state->netns = UniqueFd(::open(kThreadNetns, O_RDONLY | O_CLOEXEC));
  xdp_program_opts opts{};
  opts.sz = sizeof opts;
  opts.obj = state->skel->obj;
  opts.prog_name = EP_PROG_NAME;
  state->prog = xdp_program__create(&opts);
  if (const long err = libxdp_get_error(state->prog); err != 0) {
    state->prog = nullptr;
    return fail_errno(
        fmt::format("{}: preparing the steering program: {}", name, trim(backend->take_messages())),
        static_cast<int>(-err));
  }

  for (const auto id : to_detach) {
    if (const int rc = backend->detach_existing(ifindex, id); rc != 0 && rc != -ENOENT) {
      return fail_errno(fmt::format("{}: detaching XDP program id {}: {}", name, id,
                                    trim(backend->take_messages())),
                        -rc);
    }
  }

  std::vector<XdpMode> modes;
  if (options.mode) {
    modes.push_back(*options.mode);
  } else {
    modes = {XdpMode::native, XdpMode::generic};
  }
  std::vector<std::string> refusals;  // "native refused: EOPNOTSUPP", for the report
  std::vector<std::string> details;   // the same with libxdp's messages, for the error
  int last_err = 0;
  for (const auto mode : modes) {
    backend->take_messages();
    const int rc = backend->attach(state->prog, ifindex, mode);
    const std::string messages = trim(backend->take_messages());
    if (rc == 0) {
      state->attached = true;
      state->mode = mode;
      break;
    }
    last_err = -rc;
    refusals.push_back(fmt::format("{} refused: {}", to_string(mode), errno_name(rc)));
    details.push_back(messages.empty() ? refusals.back()
                                       : fmt::format("{} ({})", refusals.back(), messages));
  }
  if (!state->attached) {
    return fail(Error(std::error_code(last_err, std::generic_category()),
                      fmt::format("{}: attaching the XDP steering program failed: {}", name,
                                  fmt::join(details, "; "))));
  }

  EP_TRY(auto now, backend->query(ifindex));
  state->path = now ? now->path : AttachPath::single_program;
  std::string report =
      fmt::format("{} XDP, {}", to_string(state->mode),
                  state->path == AttachPath::dispatcher ? "libxdp dispatcher" : "single program");
  std::vector<std::string> why = refusals;
  if (state->path == AttachPath::single_program) {
    const int err = backend->dispatcher_error();
    why.push_back(err != 0 ? fmt::format("dispatcher refused: {}", errno_name(err))
                           : std::string("dispatcher not used"));
  }
  if (!why.empty()) {
    report += fmt::format(" ({})", fmt::join(why, "; "));
  }
  for (const auto& n : notes) {
    report += "; " + n;
  }
  state->report = std::move(report);
  if (bpf_program__fd(state->skel->progs.etherpath_steer) >= 0) {
    EP_TRY_STATUS(check_layout(*state->skel));
  }
  return SteeringProgram(std::move(state));
}

SteeringProgram::SteeringProgram(std::unique_ptr<State> state) : state_(std::move(state)) {}
SteeringProgram::SteeringProgram(SteeringProgram&& other) noexcept = default;
SteeringProgram& SteeringProgram::operator=(SteeringProgram&& other) noexcept = default;
SteeringProgram::~SteeringProgram() = default;

int SteeringProgram::xsks_map_fd() const {
  return state_ ? state_->map_fd(state_->skel->maps.xsks_map) : -1;
}
int SteeringProgram::program_fd() const {
  return state_ && state_->skel != nullptr ? bpf_program__fd(state_->skel->progs.etherpath_steer)
                                           : -1;
}
std::uint32_t SteeringProgram::program_id() const {
  const int fd = program_fd();
  if (fd < 0) {
    return 0;
  }
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}
bool SteeringProgram::attached() const {
  return state_ && state_->attached;
}
const std::string& SteeringProgram::ifname() const {
  static const std::string kNone;
  return state_ ? state_->ifname : kNone;
}
int SteeringProgram::ifindex() const {
  return state_ ? state_->ifindex : 0;
}
XdpMode SteeringProgram::mode() const {
  return state_ ? state_->mode : XdpMode::native;
}
AttachPath SteeringProgram::attach_path() const {
  return state_ ? state_->path : AttachPath::single_program;
}
std::string SteeringProgram::describe_attach() const {
  if (!state_ || !state_->attached) {
    return "not attached";
  }
  return state_->report;
}

Status SteeringProgram::add_l2(const L2Key& key, std::uint32_t endpoint_id) {
  return update(state_->map_fd(state_->skel->maps.l2_endpoints), to_abi(key), endpoint_id,
                "l2_endpoints");
}
Status SteeringProgram::remove_l2(const L2Key& key) {
  return remove(state_->map_fd(state_->skel->maps.l2_endpoints), to_abi(key), "l2_endpoints");
}
Status SteeringProgram::add_l4(const L4Key& key, std::uint32_t endpoint_id) {
  return update(state_->map_fd(state_->skel->maps.l4_endpoints), to_abi(key), endpoint_id,
                "l4_endpoints");
}
Status SteeringProgram::remove_l4(const L4Key& key) {
  return remove(state_->map_fd(state_->skel->maps.l4_endpoints), to_abi(key), "l4_endpoints");
}
Status SteeringProgram::add_owned(const OwnedKey& key, std::uint32_t endpoint_id) {
  return update(state_->map_fd(state_->skel->maps.owned_addrs), to_abi(key), endpoint_id,
                "owned_addrs");
}
Status SteeringProgram::remove_owned(const OwnedKey& key) {
  return remove(state_->map_fd(state_->skel->maps.owned_addrs), to_abi(key), "owned_addrs");
}
Status SteeringProgram::add_multicast(const VlanEtherTypeKey& key, std::uint32_t endpoint_id) {
  return update(state_->map_fd(state_->skel->maps.multicast_subs), to_abi(key), endpoint_id,
                "multicast_subs");
}
Status SteeringProgram::remove_multicast(const VlanEtherTypeKey& key) {
  return remove(state_->map_fd(state_->skel->maps.multicast_subs), to_abi(key), "multicast_subs");
}
Status SteeringProgram::add_default(const VlanEtherTypeKey& key, std::uint32_t endpoint_id) {
  if (key.vlans.empty() && (key.ethertype == 0x0800 || key.ethertype == 0x86dd)) {
    std::fprintf(stderr,
                 "etherpath: warning: %s: a default receiver for untagged %s takes the host's own "
                 "%s traffic away from the kernel\n",
                 ifname().c_str(), key.ethertype == 0x0800 ? "IPv4" : "IPv6",
                 key.ethertype == 0x0800 ? "IPv4" : "IPv6");
  }
  return update(state_->map_fd(state_->skel->maps.default_rx), to_abi(key), endpoint_id,
                "default_rx");
}
Status SteeringProgram::remove_default(const VlanEtherTypeKey& key) {
  return remove(state_->map_fd(state_->skel->maps.default_rx), to_abi(key), "default_rx");
}

Result<Counters> SteeringProgram::read_counters() const {
  const int fd = state_->map_fd(state_->skel->maps.stats);
  if (fd < 0) {
    return fail(Errc::closed, "stats: the steering program is not loaded");
  }
  EP_TRY(const auto sums, sum_percpu_array(fd, kCounterCount));
  Counters counters;
  std::copy(sums.begin(), sums.end(), counters.values.begin());
  return counters;
}

Result<TestRunResult> SteeringProgram::test_run(std::span<const std::byte> frame,
                                                TestRunOptions options) const {
  const int fd = program_fd();
  if (fd < 0) {
    return fail(Errc::closed, "test run: the steering program is not loaded");
  }
  // Room for a program that grows the frame (this one does not).
  std::vector<std::byte> out(frame.size() + 256);
  xdp_md ctx{};
  ctx.ingress_ifindex = options.ifindex;
  ctx.rx_queue_index = options.rx_queue;
  // The kernel checks the context against the data: no metadata, data_end at the frame's end.
  ctx.data_end = static_cast<std::uint32_t>(frame.size());
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<std::uint32_t>(frame.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<std::uint32_t>(out.size());
  if (options.ifindex != 0 || options.rx_queue != 0) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof ctx;
  }
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(fd, &opts) != 0) {
    return fail_errno(fmt::format("BPF_PROG_TEST_RUN on a {}-byte frame", frame.size()));
  }
  out.resize(opts.data_size_out);
  return TestRunResult{static_cast<XdpAction>(opts.retval), std::move(out)};
}

Status SteeringProgram::detach() {
  if (!state_ || !state_->attached) {
    return ok();
  }
  const auto [rc, messages] = state_->detach_in_netns();
  // ENOENT/ENODEV: the program or the interface is gone already (deleted under us): detached.
  if (rc != 0 && rc != -ENOENT && rc != -ENODEV) {
    return fail_errno(
        fmt::format("{}: detaching the XDP steering program: {}", state_->ifname, trim(messages)),
        -rc);
  }
  return ok();
}

}  // namespace etherpath::bpf
