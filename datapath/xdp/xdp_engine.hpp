// XdpEngine: the AF_XDP Engine, one XskSocket per interface queue over one (possibly shared) Umem.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "datapath/engine.hpp"
#include "datapath/link_state.hpp"
#include "datapath/xdp/umem.hpp"
#include "datapath/xdp/xsk_socket.hpp"

namespace etherpath::datapath::xdp {

// How AF_XDP runs: design.md §2's fallback order is zero_copy -> native_copy -> generic.
enum class XdpMode {
  automatic,    // try each in that order and report what worked
  zero_copy,    // native (driver) XDP, XDP_ZEROCOPY bind
  native_copy,  // native (driver) XDP, XDP_COPY bind
  generic,      // skb-mode XDP, XDP_COPY bind
};

// "zero-copy", "native-copy", "generic", "auto".
std::string_view to_string(XdpMode mode);
// The --xdp-mode text: auto | zc | copy | skb (also the to_string forms).
Result<XdpMode> parse_xdp_mode(std::string_view text);

// The XDP program that redirects into the engine's sockets: our steering program in production
// (PacketRelay adapts bpf::SteeringProgram to it), something simpler in tests. The engine calls
// attach() for each mode it tries and registers its sockets in the returned XSKMAP. It must
// outlive the engine.
class XskProgram {
 public:
  XskProgram() = default;
  XskProgram(const XskProgram&) = delete;
  XskProgram& operator=(const XskProgram&) = delete;
  XskProgram(XskProgram&&) = delete;
  XskProgram& operator=(XskProgram&&) = delete;
  virtual ~XskProgram() = default;
  // Attaches on the interface in native (generic = false) or skb mode; returns the XSKMAP fd.
  virtual Result<int> attach(const std::string& ifname, bool generic) = 0;
  // Undoes attach(); the engine calls it when a mode fails and it tries the next.
  virtual void detach() = 0;
};

struct XdpEngineOptions {
  std::string ifname;
  std::vector<unsigned> queues;  // interface queue ids; empty = every queue the device has
  XdpMode mode = XdpMode::automatic;
  // UMEM per engine: frames_per_queue x queues chunks, fill rings of frames_per_queue / 2.
  std::uint32_t frames_per_queue = 4096;
  std::uint32_t frame_size = 4096;  // 2048 or 4096
  // Fill (and completion) ring entries, a power of two; 0 = frames_per_queue / 2, which leaves
  // the other half of a queue's frames for TX. A receive-only user may post them all.
  std::uint32_t fill_size = 0;
  std::uint32_t headroom = 0;  // extra bytes in front of each packet (UmemOptions::headroom)
  // Bind onto another engine's UMEM (xsk_socket__create_shared), so frames received there can be
  // sent here without a copy. Then `mode` must be that engine's mode (no fallback: libxdp cannot
  // retry a failed first bind on a UMEM).
  std::shared_ptr<Umem> shared_umem;
  XskSocketOptions socket;  // ring sizes, busy poll, need_wakeup (zero_copy/generic/map are set
                            // by the engine)
  XskProgram* program = nullptr;  // null: libxdp's built-in program (detached again at the end)
};

class XdpEngine final : public Engine {
 public:
  static Result<std::unique_ptr<XdpEngine>> create(const XdpEngineOptions& options);
  ~XdpEngine() override;

  [[nodiscard]] std::string_view kind() const override { return "xdp"; }
  [[nodiscard]] std::string mode() const override { return std::string(to_string(mode_)); }
  [[nodiscard]] XdpMode xdp_mode() const { return mode_; }
  // What each mode tried before the one in use said, for the report ("zero-copy: ...: EOPNOTSUPP").
  [[nodiscard]] const std::vector<std::string>& fallback_log() const { return fallback_log_; }
  [[nodiscard]] std::size_t queue_count() const override { return sockets_.size(); }
  [[nodiscard]] unsigned queue_id(std::size_t q) const override { return sockets_[q]->queue_id(); }
  [[nodiscard]] const std::string& ifname() const { return ifname_; }
  [[nodiscard]] const std::shared_ptr<Umem>& umem() const { return umem_; }
  [[nodiscard]] XskSocket& socket(std::size_t q) { return *sockets_[q]; }

  std::size_t receive(std::size_t q, FrameBatch& batch) override {
    return sockets_[q]->receive(batch, static_cast<std::uint16_t>(q));
  }
  void release(std::size_t q, FrameBatch& batch) override { sockets_[q]->release(batch); }
  std::size_t alloc(std::size_t q, FrameBatch& batch, std::size_t n) override {
    return sockets_[q]->alloc(batch, n);
  }
  std::size_t transmit(std::size_t q, FrameBatch& batch) override {
    return sockets_[q]->transmit(batch);
  }
  void flush(std::size_t q) override { sockets_[q]->flush(); }
  Result<bool> wait(std::size_t q, std::chrono::milliseconds timeout) override;
  [[nodiscard]] bool shares_pool(const void* pool) const override {
    return pool == &umem_->frame_pool();
  }
  [[nodiscard]] QueueStats stats(std::size_t q) const override { return sockets_[q]->stats(); }

  // Closes queue q's socket early (the others keep running); later calls on q are invalid.
  void close_queue(std::size_t q) { sockets_[q].reset(); }
  // Checks that the interface still exists and is up: an error naming it otherwise.
  [[nodiscard]] Status check_link() const { return link_.check(); }

 private:
  XdpEngine() = default;
  Status try_mode(const XdpEngineOptions& options, XdpMode mode);
  void teardown();

  std::string ifname_;
  unsigned ifindex_ = 0;
  XdpMode mode_ = XdpMode::automatic;
  std::vector<std::string> fallback_log_;
  XskProgram* program_ = nullptr;
  bool program_attached_ = false;
  // libxdp's built-in program was attached by us (none was there before): detach it at the end.
  std::optional<std::uint32_t> builtin_attach_flags_;
  std::shared_ptr<Umem> umem_;
  std::vector<std::unique_ptr<XskSocket>> sockets_;  // after umem_: destroyed first
  LinkState link_;
};

// The number of queues a device has (ethtool channels: the larger of rx and combined; 1 when the
// driver does not say).
Result<unsigned> interface_queue_count(const std::string& ifname);

}  // namespace etherpath::datapath::xdp
