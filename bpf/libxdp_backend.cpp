// The real XdpBackend: libxdp 1.3 for attach/detach/query, libbpf for reading a program's
// owner record, mount(2) for bpffs. libxdp's messages are captured, not printed, while it works
// for us, so that errors can carry them and the dispatcher refusal can be reported.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "bpf/steer_abi.h"
#include "bpf/xdp_backend.hpp"

namespace etherpath::bpf {
namespace {

// Messages of the current thread's libxdp calls while a Capture is alive.
thread_local bool t_capturing = false;
thread_local std::string t_messages;
// Why libxdp refused its dispatcher. libxdp checks once per process and caches the answer, so
// the reason is kept for the process too.
std::atomic<int> g_dispatcher_errno{0};

constexpr std::size_t kMaxMessages = 8192;

int errno_from_text(std::string_view text) {
  for (int e = 1; e < 200; ++e) {
    if (text == std::strerror(e)) {
      return e;
    }
  }
  return 0;
}

void note_dispatcher_refusal(std::string_view line) {
  // libxdp 1.3: "libxdp: Compatibility check for dispatcher program failed: <strerror>" and, at
  // debug level, "libxdp: Failed to attach test program to dispatcher: <strerror>".
  for (std::string_view prefix : {"Compatibility check for dispatcher program failed: ",
                                  "Failed to attach test program to dispatcher: "}) {
    if (const auto at = line.find(prefix); at != std::string_view::npos) {
      auto rest = line.substr(at + prefix.size());
      while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) {
        rest.remove_suffix(1);
      }
      if (const int e = errno_from_text(rest); e != 0) {
        g_dispatcher_errno.store(e);
      }
    }
  }
  if (line.find("Can't use dispatcher without a working bpffs") != std::string_view::npos) {
    g_dispatcher_errno.store(ENOENT);
  }
}

__attribute__((format(printf, 2, 0))) int libxdp_print(enum libxdp_print_level level,
                                                       const char* format, va_list args) {
  char buf[512];
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  if (n < 0) {
    return 0;
  }
  const std::string_view line(buf);
  note_dispatcher_refusal(line);
  if (t_capturing) {
    if (t_messages.size() + line.size() < kMaxMessages) {
      t_messages.append(line);
    }
  } else if (level != LIBXDP_DEBUG) {
    // Outside our calls (other users of libxdp: the AF_XDP sockets) keep libxdp's default.
    std::fputs(buf, stderr);
  }
  return 0;
}

// libbpf warns about libxdp's .xdp_run_config section on every open; that one line is noise.
__attribute__((format(printf, 2, 0))) int libbpf_print(enum libbpf_print_level level,
                                                       const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) {
    return 0;
  }
  char buf[512];
  if (std::vsnprintf(buf, sizeof buf, format, args) < 0) {
    return 0;
  }
  if (std::strstr(buf, ".xdp_run_config") != nullptr) {
    return 0;
  }
  if (t_capturing) {
    if (t_messages.size() + std::strlen(buf) < kMaxMessages) {
      t_messages.append(buf);
    }
    return 0;
  }
  std::fputs(buf, stderr);
  return 0;
}

class Capture {
 public:
  Capture() : was_(t_capturing) { t_capturing = true; }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  Capture(Capture&&) = delete;
  Capture& operator=(Capture&&) = delete;
  ~Capture() { t_capturing = was_; }

 private:
  bool was_;
};

enum xdp_attach_mode to_libxdp(XdpMode mode) {
  return mode == XdpMode::native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

// The owner record of an etherpath program: its ".rodata.owner" map, if it has one.
std::optional<ProgramOwner> read_owner(int prog_fd) {
  if (prog_fd < 0) {
    return std::nullopt;
  }
  std::vector<std::uint32_t> map_ids(64);
  bpf_prog_info info{};
  info.nr_map_ids = static_cast<std::uint32_t>(map_ids.size());
  info.map_ids = reinterpret_cast<std::uintptr_t>(map_ids.data());  // NOLINT: the kernel ABI
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
    return std::nullopt;
  }
  const auto count = std::min<std::size_t>(info.nr_map_ids, map_ids.size());
  for (std::size_t i = 0; i < count; ++i) {
    UniqueFd map_fd(bpf_map_get_fd_by_id(map_ids[i]));
    if (!map_fd) {
      continue;
    }
    bpf_map_info map_info{};
    std::uint32_t map_len = sizeof map_info;
    if (bpf_obj_get_info_by_fd(map_fd.get(), &map_info, &map_len) != 0) {
      continue;
    }
    const std::string_view name(map_info.name);
    constexpr std::string_view kSuffix = "rodata.owner";
    if (name.size() < kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix ||
        map_info.value_size != sizeof(ep_owner)) {
      continue;
    }
    ep_owner owner{};
    const std::uint32_t key = 0;
    if (bpf_map_lookup_elem(map_fd.get(), &key, &owner) != 0 || owner.magic != EP_OWNER_MAGIC) {
      continue;
    }
    return ProgramOwner{owner.pid, owner.start_time, owner.abi_version};
  }
  return std::nullopt;
}

AttachedProgram describe(const xdp_program* prog) {
  const char* name = xdp_program__name(prog);
  return AttachedProgram{name != nullptr ? name : "", xdp_program__id(prog),
                         read_owner(xdp_program__fd(prog))};
}

// Field 22 of /proc/PID/stat: the start time in clock ticks; nullopt when PID is gone.
std::optional<std::uint64_t> process_start_time(std::uint32_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) {
    return std::nullopt;
  }
  // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) {
      return std::nullopt;
    }
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

AttachedProgram describe_id(std::uint32_t id) {
  AttachedProgram p;
  p.id = id;
  const UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) {
    return p;
  }
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0) {
    p.name = info.name;
  }
  p.owner = read_owner(fd.get());
  return p;
}

// The interface's program as the kernel reports it. A dispatcher is reported as the path with
// its own entry; query_dispatcher lists what runs inside it.
Result<std::optional<InterfaceXdp>> query_single(int ifindex) {
  bpf_xdp_query_opts opts{};
  opts.sz = sizeof opts;
  if (const int rc = bpf_xdp_query(ifindex, 0, &opts); rc != 0) {
    return fail_errno("reading the interface's XDP program", -rc);
  }
  InterfaceXdp state;
  std::uint32_t id = 0;
  if (opts.drv_prog_id != 0) {
    id = opts.drv_prog_id;
    state.mode = XdpMode::native;
  } else if (opts.skb_prog_id != 0) {
    id = opts.skb_prog_id;
    state.mode = XdpMode::generic;
  } else {
    return std::optional<InterfaceXdp>();  // nothing, or only a hardware-offloaded program
  }
  AttachedProgram program = describe_id(id);
  state.path =
      program.name == "xdp_dispatcher" ? AttachPath::dispatcher : AttachPath::single_program;
  state.programs.push_back(std::move(program));
  return std::optional<InterfaceXdp>(std::move(state));
}

// The programs inside libxdp's dispatcher (this leaks a descriptor of the dispatcher itself in
// libxdp 1.3.1, not of ours).
Result<std::optional<InterfaceXdp>> query_dispatcher(int ifindex) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (const long err = libxdp_get_error(mp); err != 0 || mp == nullptr) {
    if (err == -ENOENT || err == 0) {
      return std::optional<InterfaceXdp>();
    }
    return fail_errno("reading the interface's XDP dispatcher", static_cast<int>(-err));
  }
  InterfaceXdp state;
  state.mode = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? XdpMode::generic : XdpMode::native;
  state.path = xdp_multiprog__is_legacy(mp) ? AttachPath::single_program : AttachPath::dispatcher;
  for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
       p = xdp_multiprog__next_prog(p, mp)) {
    state.programs.push_back(describe(p));
  }
  xdp_multiprog__close(mp);
  return std::optional<InterfaceXdp>(std::move(state));
}

// Detaches program `id` if it is still the one attached in `mode` (XDP_FLAGS_REPLACE: a program
// attached meanwhile by someone else is left alone).
int detach_single(int ifindex, std::uint32_t id, XdpMode mode) {
  const UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) {
    return -errno;
  }
  bpf_xdp_attach_opts opts{};
  opts.sz = sizeof opts;
  opts.old_prog_fd = fd.get();
  const std::uint32_t flags =
      XDP_FLAGS_REPLACE | (mode == XdpMode::generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
  return bpf_xdp_attach(ifindex, -1, flags, &opts);  // 0 or -errno (libbpf 1.x)
}

class LibxdpBackend final : public XdpBackend {
 public:
  Status ensure_bpffs() override {
    const char* env = std::getenv("LIBXDP_BPFFS");
    const std::string path = env != nullptr && *env != '\0' ? env : "/sys/fs/bpf";
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC) {
      return ok();
    }
    if (::mount("bpf", path.c_str(), "bpf", 0, "mode=0700") != 0) {
      return fail_errno(
          fmt::format("bpffs is not mounted at {} and mounting it failed (as root: "
                      "mount -t bpf bpf {})",
                      path, path));
    }
    return ok();
  }

  // Single programs are queried and detached with libbpf: libxdp 1.3.1's
  // xdp_multiprog__get_from_ifindex (used by its query and detach) leaks a file descriptor of
  // the attached program on every call (fixed upstream after 1.3.1), which would keep our
  // program loaded for the life of the process. libxdp is used only for its dispatcher.
  Result<std::optional<InterfaceXdp>> query(int ifindex) override {
    const Capture capture;
    EP_TRY(auto attached, query_single(ifindex));
    if (!attached || attached->programs.empty() || attached->path == AttachPath::single_program) {
      return attached;
    }
    return query_dispatcher(ifindex);
  }

  int attach(xdp_program* prog, int ifindex, XdpMode mode) override {
    const Capture capture;
    return xdp_program__attach(prog, ifindex, to_libxdp(mode), 0);
  }

  int detach(xdp_program* prog, int ifindex, XdpMode mode) override {
    const Capture capture;
    const std::uint32_t id = xdp_program__id(prog);
    bpf_xdp_query_opts opts{};
    opts.sz = sizeof opts;
    if (const int rc = bpf_xdp_query(ifindex, 0, &opts); rc != 0) {
      return rc;
    }
    if (opts.drv_prog_id == id || opts.skb_prog_id == id) {
      return detach_single(ifindex, id,
                           opts.skb_prog_id == id ? XdpMode::generic : XdpMode::native);
    }
    // Not the interface's program: one of libxdp's dispatcher (or gone already).
    return xdp_program__detach(prog, ifindex, to_libxdp(mode), 0);
  }

  int detach_existing(int ifindex, std::uint32_t prog_id) override {
    const Capture capture;
    bpf_xdp_query_opts opts{};
    opts.sz = sizeof opts;
    if (const int rc = bpf_xdp_query(ifindex, 0, &opts); rc != 0) {
      return rc;
    }
    if (opts.drv_prog_id == prog_id || opts.skb_prog_id == prog_id) {
      return detach_single(ifindex, prog_id,
                           opts.skb_prog_id == prog_id ? XdpMode::generic : XdpMode::native);
    }
    // An entry of libxdp's dispatcher.
    xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
    if (const long err = libxdp_get_error(mp); err != 0 || mp == nullptr) {
      return err != 0 ? static_cast<int>(err) : -ENOENT;
    }
    int rc = -ENOENT;
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
         p = xdp_multiprog__next_prog(p, mp)) {
      if (xdp_program__id(p) == prog_id) {
        rc = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
        break;
      }
    }
    xdp_multiprog__close(mp);
    return rc;
  }

  int dispatcher_error() override { return g_dispatcher_errno.load(); }

  std::string take_messages() override { return std::exchange(t_messages, std::string()); }

  bool owner_alive(const ProgramOwner& owner) override {
    const auto start = process_start_time(owner.pid);
    return start.has_value() && *start == owner.start_time;
  }
};

}  // namespace

void install_library_printers() {
  static std::once_flag once;
  std::call_once(once, [] {
    libxdp_set_print(libxdp_print);
    libbpf_set_print(libbpf_print);
  });
}

std::unique_ptr<XdpBackend> make_libxdp_backend() {
  install_library_printers();
  return std::make_unique<LibxdpBackend>();
}

ProgramOwner current_process_owner() {
  const auto pid = static_cast<std::uint32_t>(::getpid());
  return ProgramOwner{pid, process_start_time(pid).value_or(0), EP_ABI_VERSION};
}

std::string_view to_string(XdpMode mode) {
  return mode == XdpMode::native ? "native" : "generic";
}

}  // namespace etherpath::bpf
