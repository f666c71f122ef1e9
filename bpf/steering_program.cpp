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
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/mmap_region.hpp"
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
      {skel.maps.l2_slots, sizeof(std::uint32_t), sizeof(ep_l2_slot)},
      {skel.maps.bss, sizeof(std::uint32_t), sizeof(ep_map_counts)},
  };
  for (const auto& e : expected) {
    if (bpf_map__key_size(e.map) != e.key || bpf_map__value_size(e.map) != e.value) {
      return fail(Errc::malformed,
                  fmt::format("steering map {}: key/value size {}/{} but steer_abi.h says {}/{}",
                              bpf_map__name(e.map), bpf_map__key_size(e.map),
                              bpf_map__value_size(e.map), e.key, e.value));
    }
  }
  if (bpf_map__max_entries(skel.maps.l2_slots) != EP_L2_SLOT_COUNT) {
    return fail(Errc::malformed,
                fmt::format("steering map l2_slots: {} slots but steer_abi.h says {}",
                            bpf_map__max_entries(skel.maps.l2_slots), EP_L2_SLOT_COUNT));
  }
  return ok();
}

// The l2_slots bit of an EtherType (host order); 0: only l2_endpoints holds it.
std::uint16_t slot_bit(std::uint16_t ether_type) {
  switch (ether_type) {
    case 0x0806: return EP_L2_TYPE_ARP;
    case 0x0800: return EP_L2_TYPE_IPV4;
    case 0x86dd: return EP_L2_TYPE_IPV6;
    default: return 0;
  }
}

// The program reads types concurrently: it is the one field stored and loaded atomically, and
// stored last (release), so a reader that sees a bit sees the key written before it.
std::uint16_t load_types(const ep_l2_slot& s) {
  return std::atomic_ref<const std::uint16_t>(s.types).load(std::memory_order_acquire);
}
void store_types(ep_l2_slot& s, std::uint16_t types) {
  std::atomic_ref<std::uint16_t>(s.types).store(types, std::memory_order_release);
}
void store_count(std::uint32_t& count, std::uint32_t value) {
  std::atomic_ref<std::uint32_t>(count).store(value, std::memory_order_release);
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
  // l2_slots and ep_counts, mapped once the program is loaded (map_shared()).
  MmapRegion slots_region;
  MmapRegion counts_region;
  std::mutex maps_mutex;  // serialises the slot table and the counts (read-modify-write)
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

  // Maps l2_slots and .bss (ep_counts) into this process. The skeleton maps .bss only when it
  // loads the object itself, not when libxdp does, so both are mapped here for either path.
  Status map_shared() {
    EP_TRY(slots_region, MmapRegion::map_fd(bpf_map__fd(skel->maps.l2_slots),
                                            std::size_t{EP_L2_SLOT_COUNT} * sizeof(ep_l2_slot), 0,
                                            PROT_READ | PROT_WRITE));
    EP_TRY(counts_region, MmapRegion::map_fd(bpf_map__fd(skel->maps.bss), sizeof(ep_map_counts), 0,
                                             PROT_READ | PROT_WRITE));
    return ok();
  }
  // Not const: the slots are written through it (the mapping itself does not change).
  [[nodiscard]] ep_l2_slot* slots() {  // NOLINT(readability-make-member-function-const)
    return static_cast<ep_l2_slot*>(slots_region.data());
  }
  [[nodiscard]] const ep_l2_slot* slots() const {
    return static_cast<const ep_l2_slot*>(slots_region.data());
  }
  [[nodiscard]] ep_map_counts* counts() const {
    return static_cast<ep_map_counts*>(counts_region.data());
  }

  // Where `key` is in l2_slots (a live slot or its tombstone), and the first slot an insert may
  // take (tombstone or empty) within EP_L2_MAX_PROBES of its home.
  struct Probe {
    std::optional<std::uint32_t> match;
    std::optional<std::uint32_t> free;
  };
  [[nodiscard]] Probe probe(const L2SlotKey& key) const {
    Probe p;
    std::uint32_t i = key.home();
    for (int n = 0; n < EP_L2_MAX_PROBES; ++n, i = ep_l2_next(i)) {
      const ep_l2_slot& s = slots()[i];
      const std::uint16_t types = load_types(s);
      if (types == 0) {
        if (!p.free) {
          p.free = i;
        }
        break;
      }
      if (key.same(s)) {
        p.match = i;
        break;
      }
      if (types == EP_L2_SLOT_USED && !p.free) {
        p.free = i;
      }
    }
    return p;
  }

  // A tombstone followed (ep_l2_next) by an empty slot lies on no key's probe path (every path
  // that reaches it would go on into the empty slot): it and the tombstones right before it on
  // its lane become empty, so that churn does not lengthen the probes.
  void reclaim(std::uint32_t i) {
    if (load_types(slots()[ep_l2_next(i)]) != 0) {
      return;
    }
    while (load_types(slots()[i]) == EP_L2_SLOT_USED) {
      store_types(slots()[i], 0);
      i = (i - EP_L2_GROUP_SLOTS) & EP_L2_SLOT_MASK;
    }
  }

  // l2_slots first; keys that find no slot near their home, and EtherTypes without a bit, go to
  // l2_endpoints.
  Status add_l2(const ep_l2_key& key, std::uint16_t bit, std::uint32_t id) {
    const std::lock_guard lock(maps_mutex);
    if (bit != 0) {
      const L2SlotKey k = to_slot_key(key);
      const Probe p = probe(k);
      if (p.match) {
        ep_l2_slot& s = slots()[*p.match];
        s.id = id;
        store_types(s, static_cast<std::uint16_t>(load_types(s) | bit));
        return ok();
      }
      if (p.free) {
        ep_l2_slot& s = slots()[*p.free];
        s.mac_lo = k.mac_lo;
        s.mac_hi = k.mac_hi;
        s.vlans = k.vlans;
        s.id = id;
        store_types(s, static_cast<std::uint16_t>(EP_L2_SLOT_USED | bit));
        return ok();
      }
    }
    return add_counted(map_fd(skel->maps.l2_endpoints), key, id, "l2_endpoints",
                       counts()->l2_fallback);
  }

  Status remove_l2(const ep_l2_key& key, std::uint16_t bit) {
    const std::lock_guard lock(maps_mutex);
    bool found = false;
    if (bit != 0) {
      const Probe p = probe(to_slot_key(key));
      if (p.match) {
        ep_l2_slot& s = slots()[*p.match];
        const std::uint16_t types = load_types(s);
        if ((types & bit) != 0) {
          store_types(s, static_cast<std::uint16_t>(types & ~bit));
          found = true;
          reclaim(*p.match);
        }
      }
    }
    // An EtherType that once found no slot may be in l2_endpoints (too).
    if (counts()->l2_fallback != 0) {
      Status st = remove_counted(map_fd(skel->maps.l2_endpoints), key, "l2_endpoints",
                                 counts()->l2_fallback);
      if (st) {
        found = true;
      } else if (!st.error().is(Errc::not_found)) {
        return st;
      }
    }
    if (!found) {
      return fail(Errc::not_found, "l2_endpoints: no such key");
    }
    return ok();
  }

  // Map updates that keep ep_counts in step (maps_mutex held).
  template <typename Key>
  Status add_counted(int fd, const Key& key, std::uint32_t id, const char* name,
                     std::uint32_t& count) {
    ep_endpoint old{};
    const bool existed = fd >= 0 && bpf_map_lookup_elem(fd, &key, &old) == 0;
    EP_TRY_STATUS(update(fd, key, id, name));
    if (!existed) {
      store_count(count, count + 1);
    }
    return ok();
  }
  template <typename Key>
  Status remove_counted(int fd, const Key& key, const char* name, std::uint32_t& count) {
    EP_TRY_STATUS(remove(fd, key, name));
    store_count(count, count - 1);
    return ok();
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
  EP_TRY_STATUS(state->map_shared());
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
    EP_TRY_STATUS(state->map_shared());
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
  EP_TRY_STATUS(loaded("l2_endpoints"));
  return state_->add_l2(to_abi(key), slot_bit(key.ethertype), endpoint_id);
}
Status SteeringProgram::remove_l2(const L2Key& key) {
  EP_TRY_STATUS(loaded("l2_endpoints"));
  return state_->remove_l2(to_abi(key), slot_bit(key.ethertype));
}
Status SteeringProgram::add_l4(const L4Key& key, std::uint32_t endpoint_id) {
  EP_TRY_STATUS(loaded("l4_endpoints"));
  const std::lock_guard lock(state_->maps_mutex);
  return state_->add_counted(state_->map_fd(state_->skel->maps.l4_endpoints), to_abi(key),
                             endpoint_id, "l4_endpoints", state_->counts()->l4);
}
Status SteeringProgram::remove_l4(const L4Key& key) {
  EP_TRY_STATUS(loaded("l4_endpoints"));
  const std::lock_guard lock(state_->maps_mutex);
  return state_->remove_counted(state_->map_fd(state_->skel->maps.l4_endpoints), to_abi(key),
                                "l4_endpoints", state_->counts()->l4);
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
  EP_TRY_STATUS(loaded("default_rx"));
  const std::lock_guard lock(state_->maps_mutex);
  return state_->add_counted(state_->map_fd(state_->skel->maps.default_rx), to_abi(key),
                             endpoint_id, "default_rx", state_->counts()->defaults);
}
Status SteeringProgram::remove_default(const VlanEtherTypeKey& key) {
  EP_TRY_STATUS(loaded("default_rx"));
  const std::lock_guard lock(state_->maps_mutex);
  return state_->remove_counted(state_->map_fd(state_->skel->maps.default_rx), to_abi(key),
                                "default_rx", state_->counts()->defaults);
}

Status SteeringProgram::loaded(const char* map) const {
  if (!state_ || !state_->slots_region.valid() || !state_->counts_region.valid()) {
    return fail(Errc::closed, fmt::format("{}: the steering program is not loaded", map));
  }
  return ok();
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

std::uint32_t SteeringProgram::l2_fallback_keys() const {
  if (!loaded("l2_endpoints")) {
    return 0;
  }
  const std::lock_guard lock(state_->maps_mutex);
  return state_->counts()->l2_fallback;
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
  opts.repeat = static_cast<int>(std::clamp<std::uint32_t>(options.repeat, 1, 1U << 30U));
  if (bpf_prog_test_run_opts(fd, &opts) != 0) {
    return fail_errno(fmt::format("BPF_PROG_TEST_RUN on a {}-byte frame", frame.size()));
  }
  out.resize(opts.data_size_out);
  return TestRunResult{static_cast<XdpAction>(opts.retval), std::move(out), opts.duration};
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
