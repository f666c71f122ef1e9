// SteeringProgram: the one owner of etherpath's XDP steering program (bpf/steer.bpf.c) on one
// interface: the loaded skeleton, its libxdp attachment and its maps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "bpf/counters.hpp"
#include "bpf/steering_keys.hpp"
#include "bpf/xdp_backend.hpp"

namespace etherpath::bpf {

struct SteeringOptions {
  // Force native or generic XDP; unset tries native, then generic.
  std::optional<XdpMode> mode;
  // Detach a foreign (non-etherpath) program instead of failing (the tools' --xdp-replace).
  bool replace_foreign = false;
  // Test seam: the libxdp calls. Null uses the real backend.
  std::shared_ptr<XdpBackend> backend;
};

// XDP actions (linux/bpf.h enum xdp_action).
enum class XdpAction : std::uint32_t { aborted = 0, drop = 1, pass = 2, tx = 3, redirect = 4 };
std::string_view to_string(XdpAction action);

struct TestRunResult {
  XdpAction action = XdpAction::aborted;
  std::vector<std::byte> frame;   // the frame as the program left it
  std::uint32_t duration_ns = 0;  // the kernel's mean run time per repetition
};

struct TestRunOptions {
  unsigned ifindex = 0;      // 0: no device; needed for rx_queue > 0
  unsigned rx_queue = 0;     // ctx->rx_queue_index
  std::uint32_t repeat = 1;  // runs on the same frame (for timing: duration_ns is their mean)
};

// Move-only. The destructor detaches (when attached) and frees the program and its maps.
// Map updates are thread-safe (each is one bpf syscall); the object itself is not.
class SteeringProgram {
 public:
  // Loads the program and attaches it to `ifname`:
  //  - mounts bpffs when missing (an error says so if that fails);
  //  - replaces a stale etherpath program whose process is gone; fails with Errc::busy, naming
  //    the program, if a foreign program is attached (or a live etherpath process owns it),
  //    changing nothing, unless options.replace_foreign;
  //  - libxdp tries its dispatcher (XDP_RUN_CONFIG) and falls back to a single program;
  //  - native mode, then generic, unless options.mode forces one (then it fails if refused).
  static Result<SteeringProgram> attach(std::string_view ifname, SteeringOptions options = {});
  // Loaded but attached nowhere: for BPF_PROG_TEST_RUN (test_run) and map tests.
  static Result<SteeringProgram> load_unattached();

  SteeringProgram(SteeringProgram&& other) noexcept;
  SteeringProgram& operator=(SteeringProgram&& other) noexcept;
  SteeringProgram(const SteeringProgram&) = delete;
  SteeringProgram& operator=(const SteeringProgram&) = delete;
  ~SteeringProgram();

  // The XSKMAP, indexed by queue id: xsk_socket__update_xskmap(xsk, xsks_map_fd()).
  [[nodiscard]] int xsks_map_fd() const;
  [[nodiscard]] int program_fd() const;
  [[nodiscard]] std::uint32_t program_id() const;
  [[nodiscard]] bool attached() const;
  [[nodiscard]] const std::string& ifname() const;
  [[nodiscard]] int ifindex() const;
  [[nodiscard]] XdpMode mode() const;
  [[nodiscard]] AttachPath attach_path() const;
  // E.g. "native XDP, single program (dispatcher refused: EPERM)"; notes a replaced program.
  [[nodiscard]] std::string describe_attach() const;

  // Map updates. add_* inserts or overwrites; remove_* of a missing key is Errc::not_found.
  // endpoint_id is stored as the value for user space's bookkeeping; the program ignores it.
  Status add_l2(const L2Key& key, std::uint32_t endpoint_id = 0);
  Status remove_l2(const L2Key& key);
  Status add_l4(const L4Key& key, std::uint32_t endpoint_id = 0);
  Status remove_l4(const L4Key& key);
  Status add_owned(const OwnedKey& key, std::uint32_t endpoint_id = 0);
  Status remove_owned(const OwnedKey& key);
  // Broadcast and multicast frames of this VLAN stack + EtherType go to user space (and no
  // longer to the kernel: XDP cannot clone).
  Status add_multicast(const VlanEtherTypeKey& key, std::uint32_t endpoint_id = 0);
  Status remove_multicast(const VlanEtherTypeKey& key);
  // A default receiver takes EVERY unicast frame of this VLAN stack + EtherType that no
  // endpoint matched, away from the kernel. For untagged IPv4 or IPv6 that is the host's own
  // traffic (SSH included): add_default logs a warning to stderr then.
  Status add_default(const VlanEtherTypeKey& key, std::uint32_t endpoint_id = 0);
  Status remove_default(const VlanEtherTypeKey& key);

  // The counters summed over CPUs.
  [[nodiscard]] Result<Counters> read_counters() const;
  // How many L2 keys live in l2_endpoints rather than l2_slots (EtherTypes without a slot bit,
  // and keys that found no slot within EP_L2_MAX_PROBES of their home): 0 for the usual hosts.
  [[nodiscard]] std::uint32_t l2_fallback_keys() const;

  // BPF_PROG_TEST_RUN: runs the program once on `frame` without any interface.
  [[nodiscard]] Result<TestRunResult> test_run(std::span<const std::byte> frame,
                                               TestRunOptions options = {}) const;

  // Detaches from the interface (idempotent); the maps stay usable until destruction.
  Status detach();

 private:
  struct State;
  explicit SteeringProgram(std::unique_ptr<State> state);
  static Result<std::unique_ptr<State>> open_state();
  // Errc::closed unless the program is loaded and its shared maps are mapped.
  [[nodiscard]] Status loaded(const char* map) const;
  std::unique_ptr<State> state_;
};

}  // namespace etherpath::bpf
