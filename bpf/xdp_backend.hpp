// XdpBackend: the few libxdp/libbpf/system calls SteeringProgram::attach makes, behind an
// interface so that the attach decisions (stale, foreign, dispatcher or single program, mode
// fallback) and their report can be unit-tested with a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

struct xdp_program;  // libxdp

namespace etherpath::bpf {

enum class XdpMode { native, generic };                // drv / skb
enum class AttachPath { dispatcher, single_program };  // how libxdp attached it

std::string_view to_string(XdpMode mode);  // "native" / "generic"

// Who loaded an etherpath program (ep_owner in bpf/steer_abi.h).
struct ProgramOwner {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks since boot, /proc/PID/stat field 22
  std::uint32_t abi_version = 0;
  friend bool operator==(const ProgramOwner&, const ProgramOwner&) = default;
};

// One XDP program on an interface.
struct AttachedProgram {
  std::string name;
  std::uint32_t id = 0;
  std::optional<ProgramOwner> owner;  // set when it carries etherpath's .rodata.owner
};

// What an interface has attached now.
struct InterfaceXdp {
  XdpMode mode = XdpMode::native;
  AttachPath path = AttachPath::single_program;
  std::vector<AttachedProgram> programs;  // one for a single program; the dispatcher's list else
};

class XdpBackend {
 public:
  XdpBackend() = default;
  XdpBackend(const XdpBackend&) = delete;
  XdpBackend& operator=(const XdpBackend&) = delete;
  XdpBackend(XdpBackend&&) = delete;
  XdpBackend& operator=(XdpBackend&&) = delete;
  virtual ~XdpBackend() = default;

  // bpffs mounted at /sys/fs/bpf (or $LIBXDP_BPFFS), mounting it when missing.
  virtual Status ensure_bpffs() = 0;
  // What is attached to ifindex; nullopt when nothing is.
  virtual Result<std::optional<InterfaceXdp>> query(int ifindex) = 0;
  // xdp_program__attach: libxdp tries its dispatcher, and falls back to a single program when
  // the kernel refuses it. 0 or -errno.
  virtual int attach(xdp_program* prog, int ifindex, XdpMode mode) = 0;
  // Detaches prog (attached by attach()). 0 or -errno.
  virtual int detach(xdp_program* prog, int ifindex, XdpMode mode) = 0;
  // Detaches one program that someone else attached: the whole single program, or that entry
  // of the dispatcher. 0 or -errno.
  virtual int detach_existing(int ifindex, std::uint32_t prog_id) = 0;
  // Why libxdp did not use its dispatcher, as an errno (EPERM here), or 0 when it did not say.
  virtual int dispatcher_error() = 0;
  // libxdp's messages since the last call (they are not printed: errors carry them).
  virtual std::string take_messages() = 0;
  // Whether the process that loaded an etherpath program is still running.
  virtual bool owner_alive(const ProgramOwner& owner) = 0;
};

// The real backend over libxdp 1.3 and libbpf 1.1.
std::unique_ptr<XdpBackend> make_libxdp_backend();

// Routes libxdp's and libbpf's messages through etherpath (once per process): captured while
// etherpath's own calls run, libxdp's defaults otherwise, and libbpf's warning about libxdp's
// .xdp_run_config section silenced.
void install_library_printers();

// This process as an ep_owner records it.
ProgramOwner current_process_owner();

}  // namespace etherpath::bpf
