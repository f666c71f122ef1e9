// PacketRelay: one interface's engine and steering program, demultiplexing received frames to
// registered receivers (EtherConns, fast-path callbacks) and sending for them.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/vlan.hpp"
#include "datapath/engine.hpp"
#include "datapath/l2_header.hpp"
#include "datapath/l2_table.hpp"
#include "datapath/stats.hpp"
#include "datapath/steering.hpp"
#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::datapath {

// Gets the frames the relay demultiplexed to it. deliver() runs on a relay poll thread with the
// frame borrowed for the call only: copy what you keep, never block. Return false when there was
// no room (the relay counts RxBufferFull).
class Receiver {
 public:
  Receiver() = default;
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  Receiver(Receiver&&) = delete;
  Receiver& operator=(Receiver&&) = delete;
  virtual ~Receiver() = default;
  virtual bool deliver(const Frame& frame, const L2Header& header) = 0;
  // The relay stopped (stop(), or the interface went away): wake any reader.
  virtual void relay_stopped() = 0;
  // The memory deliver() writes first, which the relay prefetches a few frames ahead so that
  // with thousands of receivers the cache misses of a batch overlap (null: the object itself).
  [[nodiscard]] const void* hot_line() const { return hot_line_ != nullptr ? hot_line_ : this; }
  // Where the next deliver() will write (a queue slot), if known, read once hot_line() is in
  // cache: the relay prefetches it too. Called on a poll thread, like deliver().
  [[nodiscard]] virtual const void* next_write() const { return nullptr; }

 protected:
  void set_hot_line(const void* p) { hot_line_ = p; }

 private:
  const void* hot_line_ = nullptr;
};

enum class EngineKind { xdp, pcap };

struct RelayOptions {
  EngineKind engine = EngineKind::xdp;
  xdp::XdpMode xdp_mode = xdp::XdpMode::automatic;
  std::vector<unsigned> queues;  // empty: all of the interface's queues
  std::uint32_t frames_per_queue = 4096;
  std::uint32_t frame_size = 4096;
  bool busy_poll = false;
  bool replace_foreign = false;            // --xdp-replace: detach a foreign XDP program
  std::optional<std::string> pcap_filter;  // pcap engine: unset = etherconn's default filter
  bool mirror_to_default = false;          // a default receiver also gets copies of hits
  bool own_threads = true;                 // one poll thread per queue; false: call poll_once
  std::chrono::milliseconds poll_timeout{100};
  // Bind onto this relay's UMEM (same XDP mode), so on_batch callbacks can forward between the
  // two without a copy. It must outlive this relay.
  class PacketRelay* share_umem_with = nullptr;
};

// One registration: frames to `mac` on `vlans` with any of `ether_types`.
struct Registration {
  MacAddress mac;
  VlanStack vlans;
  std::vector<std::uint16_t> ether_types;
  bool receive_multicast = false;  // broadcast/multicast of these VLANs + EtherTypes too
  bool is_default = false;         // also the relay's default receiver for these VLANs + types
};

// etherconn's nine counters plus drops by reason.
struct RelayStats {
  std::uint64_t tx = 0;
  std::uint64_t rx_offered = 0;
  std::uint64_t rx_invalid = 0;
  std::uint64_t rx_buffer_full = 0;
  std::uint64_t rx_miss = 0;
  std::uint64_t rx = 0;
  std::uint64_t rx_default = 0;
  std::uint64_t rx_non_hit_multicast = 0;
  std::uint64_t rx_multicast_ignored = 0;
  std::uint64_t drop_truncated = 0;
  std::uint64_t drop_vlan_too_deep = 0;
  std::uint64_t tx_no_frame = 0;  // send() found no free frame
};

class PacketRelay {
 public:
  using BatchFn = std::function<void(std::size_t queue, FrameBatch& batch)>;

  // AF_XDP (with the steering program) or libpcap on `ifname`, poll threads started.
  static Result<std::unique_ptr<PacketRelay>> open(const std::string& ifname,
                                                   RelayOptions options = {});
  // Over a given engine and steering (null = none): the seam for unit tests with FakeEngine.
  static Result<std::unique_ptr<PacketRelay>> open_with(std::unique_ptr<Engine> engine,
                                                        std::unique_ptr<Steering> steering,
                                                        std::string ifname, MacAddress own_mac,
                                                        RelayOptions options = {});
  PacketRelay(const PacketRelay&) = delete;
  PacketRelay& operator=(const PacketRelay&) = delete;
  PacketRelay(PacketRelay&&) = delete;
  PacketRelay& operator=(PacketRelay&&) = delete;
  // stop(). Receivers must deregister (EtherConns be destroyed) before the relay is.
  ~PacketRelay();

  // Registers `receiver` (not owned) for every (mac, vlans, EtherType) of `reg`, in the relay's
  // table and the BPF maps. A key registered before moves to the new receiver (etherconn's
  // override). A MAC other than the interface's own turns promiscuous mode on.
  Status register_receiver(Receiver* receiver, const Registration& reg);
  // Removes every registration of `receiver`; when it returns, deliver() is not running and will
  // not be called again for it.
  void deregister(Receiver* receiver);
  // An address an emulated host owns: on AF_XDP the steering program then hands ARP requests and
  // neighbour solicitations for it (on this VLAN stack) to user space, where conn::Neighbor
  // answers; without it the kernel would get them and never answer. No-op on libpcap, which
  // sees everything anyway.
  Status add_owned(const VlanStack& vlans, const IpAddress& ip);
  Status remove_owned(const VlanStack& vlans, const IpAddress& ip);
  // The fast path: frames to (mac, vlans, ether_type) are handed to `fn` in batches on the poll
  // thread, to rewrite in place and transmit() here or on a relay sharing the UMEM. Frames left
  // in the batch when fn returns are released.
  Status on_batch(const MacAddress& mac, const VlanStack& vlans, std::uint16_t ether_type,
                  BatchFn fn);
  // The fast path for flows on the interface's OWN addresses: frames to the own MAC that match
  // `key` (steered by the program's L4 map) are handed to `fn` in batches like on_batch(); the
  // rest of the host's traffic stays with the kernel. One fn per (VLAN stack, IP family): the
  // first flow brings it, further flows pass an empty fn to join it; a second fn is refused.
  // fn must still check each frame's L4 header: the libpcap engine has no steering and hands it
  // every frame to the own MAC of that VLAN stack and family (the kernel keeps its copies).
  Status on_l4_batch(const L4Endpoint& key, BatchFn fn);
  // Stops steering `key`; the fast path stays until the relay stops.
  Status remove_l4(const L4Endpoint& key);

  // Sends a copy of `frame` (a whole Ethernet frame). The convenience path: one lock and one kick
  // per call, on a queue picked by the calling thread (so that senders on several threads use
  // several queues, and one thread's frames stay in order on one).
  Status send(ConstBytes frame);
  // Fast path: takes frames of this relay's pool (or one sharing it) for queue q; returns how
  // many it took and flushes. Safe from any thread (one lock per batch).
  std::size_t transmit(std::size_t q, FrameBatch& batch);
  // Frees frames that will not be sent (e.g. those transmit() left in a batch).
  void release(std::size_t q, FrameBatch& batch);

  // With own_threads = false: one receive/demux/flush round on queue q, waiting up to `timeout`.
  Status poll_once(std::size_t q, std::chrono::milliseconds timeout);
  // Stops the poll threads, tells receivers, detaches the program, frees the engine, restores
  // promiscuous mode. Idempotent.
  void stop();
  [[nodiscard]] bool stopped() const { return stopped_.load(); }
  // Why the relay stopped by itself (interface gone or down), if it did.
  [[nodiscard]] std::optional<Error> error() const;

  [[nodiscard]] const std::string& ifname() const { return ifname_; }
  [[nodiscard]] MacAddress own_mac() const { return own_mac_; }
  [[nodiscard]] bool promiscuous() const { return promiscuous_.load(); }
  [[nodiscard]] std::string engine_kind() const { return engine_kind_; }
  [[nodiscard]] std::string mode() const { return mode_; }
  [[nodiscard]] std::string steering_description() const;
  [[nodiscard]] std::size_t queue_count() const { return queue_count_; }
  // Null after stop().
  [[nodiscard]] Engine* engine() { return engine_.get(); }
  [[nodiscard]] RelayStats stats() const;
  // Counters, engine per-queue stats (XDP_STATISTICS), steering counters, mode: one JSON object.
  [[nodiscard]] nlohmann::json stats_json() const;

 private:
  struct RelayCounters {
    Counter tx, rx_offered, rx_invalid, rx_buffer_full, rx_miss, rx, rx_default,
        rx_non_hit_multicast, rx_multicast_ignored, drop_truncated, drop_vlan_too_deep, tx_no_frame;
  };
  struct QueueState {
    std::mutex mutex;  // guards the engine's queue (receive/release/alloc/transmit/flush)
    FrameBatch rx;
    std::vector<FrameBatch> staged;  // one per fast-path entry
    RelayCounters counters;
    // demux()'s per-batch scratch, kept here so that a batch does not zero it on the stack.
    std::array<L2ParseResult, FrameBatch::kCapacity> parsed;
    std::array<std::uint64_t, FrameBatch::kCapacity> hashes;
    std::array<L2Target, FrameBatch::kCapacity> targets;
  };
  struct Subscription {  // multicast and default receivers: VLAN IDs + EtherType
    Receiver* receiver = nullptr;
    std::uint16_t outer = VlanStack::kNoVlan;
    std::uint16_t inner = VlanStack::kNoVlan;
    std::uint16_t ether_type = 0;
  };

  PacketRelay() = default;
  Status start();
  void poll_loop(std::size_t q);
  void demux(std::size_t q, QueueState& qs);
  Status prepare_promiscuous();
  Status ensure_promiscuous(const MacAddress& mac);
  static bool matches(const Subscription& s, const L2Header& h);
  void notify_stopped();  // registry_mutex_ held (shared)
  std::size_t send_queue() const;

  std::string ifname_;
  MacAddress own_mac_;
  RelayOptions options_;
  std::string engine_kind_;
  std::string mode_;
  std::size_t queue_count_ = 0;
  std::unique_ptr<Steering> steering_;  // before engine_: the engine's program outlives it
  std::unique_ptr<Engine> engine_;
  std::vector<std::unique_ptr<QueueState>> queues_;
  // An AF_PACKET socket made at open() (in the interface's namespace, whichever thread later
  // registers) that holds PACKET_MR_PROMISC once needed; closing it undoes it.
  UniqueFd promisc_fd_;
  unsigned ifindex_ = 0;
  std::mutex promisc_mutex_;
  std::atomic<bool> promiscuous_{false};

  mutable std::shared_mutex registry_mutex_;  // poll threads take it shared, once per batch
  L2Table endpoints_;  // key -> receiver or fast path; flat, for 65,536 hosts (l2_table.hpp)
  // Each receiver's keys, so that deregister() is O(its keys), not O(all keys).
  std::unordered_map<Receiver*, std::vector<wire::L2Key>> receiver_keys_;
  std::vector<Subscription> multicast_;
  std::vector<Subscription> defaults_;
  std::vector<BatchFn> fast_paths_;
  std::vector<L4Endpoint> l4_endpoints_;  // a handful per relay: a vector is enough

  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex error_mutex_;
  std::optional<Error> error_;
  std::vector<std::thread> threads_;
};

}  // namespace etherpath::datapath
