// PcapEngine: the libpcap Engine (one queue), for interfaces or hosts where AF_XDP is unavailable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "datapath/engine.hpp"
#include "datapath/link_state.hpp"

struct pcap;
struct pcap_pkthdr;

namespace etherpath::datapath::pcap {

// etherconn's default: ARP, IPv4 and IPv6, untagged, 802.1Q or QinQ. Written nested because
// libpcap's `vlan` shifts the offsets of everything after it in the expression.
inline constexpr const char* kDefaultFilter =
    "arp or ip or ip6 or (vlan and (arp or ip or ip6 or (vlan and (arp or ip or ip6))))";

struct PcapEngineOptions {
  std::string ifname;
  // A BPF filter string; unset = kDefaultFilter, "" = everything.
  std::optional<std::string> filter;
  bool promiscuous = false;
  std::uint32_t frames = 1024;      // buffers in the engine's pool
  std::uint32_t frame_size = 2048;  // also the snap length; at most FramePool::kMaxChunkSize
  std::uint32_t headroom = 256;     // as AF_XDP copy mode: room to prepend headers
  int buffer_bytes = 4 << 20;       // the kernel ring (TPACKET_V3 block memory)
};

// libpcap in immediate mode, non-blocking, incoming direction only (so it does not see its own
// injected frames). Received packets are copied into the engine's frame pool (pcap hands out
// its own buffer only for the duration of a callback); pcap_dispatch takes up to a batch at a
// time. The kernel keeps its own copy of everything: pcap sees, it does not steal.
class PcapEngine final : public Engine {
 public:
  static Result<std::unique_ptr<PcapEngine>> create(const PcapEngineOptions& options);
  ~PcapEngine() override;
  PcapEngine(const PcapEngine&) = delete;
  PcapEngine& operator=(const PcapEngine&) = delete;
  PcapEngine(PcapEngine&&) = delete;
  PcapEngine& operator=(PcapEngine&&) = delete;

  [[nodiscard]] std::string_view kind() const override { return "pcap"; }
  [[nodiscard]] std::string mode() const override { return "pcap immediate"; }
  [[nodiscard]] std::size_t queue_count() const override { return 1; }
  [[nodiscard]] unsigned queue_id(std::size_t /*q*/) const override { return 0; }
  std::size_t receive(std::size_t q, FrameBatch& batch) override;
  void release(std::size_t q, FrameBatch& batch) override;
  std::size_t alloc(std::size_t q, FrameBatch& batch, std::size_t n) override;
  // pcap_inject per frame (one syscall each: libpcap has no batch send).
  std::size_t transmit(std::size_t q, FrameBatch& batch) override;
  void flush(std::size_t /*q*/) override {}
  Result<bool> wait(std::size_t q, std::chrono::milliseconds timeout) override;
  [[nodiscard]] bool shares_pool(const void* pool) const override { return pool == &pool_; }
  [[nodiscard]] QueueStats stats(std::size_t q) const override;
  [[nodiscard]] const std::string& filter() const { return filter_; }

 private:
  PcapEngine() = default;
  static void on_packet(unsigned char* user, const ::pcap_pkthdr* header,
                        const unsigned char* bytes);

  ::pcap* handle_ = nullptr;
  int selectable_fd_ = -1;
  std::string filter_;
  PcapEngineOptions options_;
  LinkState link_;
  std::vector<std::byte> arena_;
  FramePool pool_;                        // over arena_
  std::vector<std::uint64_t> free_;       // chunk offsets; reserved once
  FrameBatch* dispatch_batch_ = nullptr;  // the batch pcap_dispatch fills, during the call only
  QueueStats counters_;
};

}  // namespace etherpath::datapath::pcap
