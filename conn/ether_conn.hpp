// EtherConn: an L2 endpoint (MAC, VLAN stack, EtherTypes) on a PacketRelay, with socket-like
// sends and reads with deadlines (the convenience path of design.md §2).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <vector>

#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/ready_list.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::conn {

// etherconn's DefaultEtherTypes: ARP, IPv4, IPv6.
inline const std::vector<std::uint16_t> kDefaultEtherTypes = {0x0806, 0x0800, 0x86dd};

struct EtherConnOptions {
  MacAddress mac;
  VlanStack vlans;
  std::vector<std::uint16_t> ether_types = kDefaultEtherTypes;
  bool receive_multicast = false;  // broadcast/multicast of this VLAN stack + these types
  bool is_default = false;         // the relay's default receiver for this VLAN stack + types
  std::size_t queue_depth = 1024;  // received frames kept for read(); more are counted and dropped
  std::size_t max_frame = 2048;    // the largest frame a queue slot holds (at most 65,535)
  // Told when the receive queue goes from empty to non-empty, so that one consumer can serve
  // many conns (ReadyList::wait). Not owned; it must outlive the conn.
  ReadyList* ready_list = nullptr;
};

// What read() returns: the L2 payload went into the caller's buffer.
struct EtherPacket {
  std::size_t size = 0;       // bytes copied into the buffer
  std::size_t full_size = 0;  // the payload's size; > size when the buffer was too small
  MacAddress src;             // the remote end
  MacAddress dst;
  VlanStack vlans;
  std::uint16_t ether_type = 0;
  [[nodiscard]] bool truncated() const { return full_size > size; }
};

// The receive queue is a ring of fixed slots (queue_depth x max_frame, rounded to cache lines),
// allocated on the first delivered frame, so an idle host costs only this object and its keys in
// the relay (conn/README.md has the figures). The relay's poll threads append without a mutex
// (a spin flag serialises them when several queues deliver to one conn; a frame is one slot
// write and one index store) and wake a reader only when one is blocked in read(); readers take
// frames lock-free against the producers.
class EtherConn final : public datapath::Receiver {
 public:
  // Registers on `relay` (which must outlive the conn): one L2 key per EtherType.
  static Result<std::unique_ptr<EtherConn>> open(datapath::PacketRelay& relay,
                                                 EtherConnOptions options);
  ~EtherConn() override;  // deregisters
  EtherConn(const EtherConn&) = delete;
  EtherConn& operator=(const EtherConn&) = delete;
  EtherConn(EtherConn&&) = delete;
  EtherConn& operator=(EtherConn&&) = delete;

  [[nodiscard]] const EtherConnOptions& options() const { return options_; }

  // An IPv4 or IPv6 packet; the EtherType comes from the version nibble.
  Status send_ip(std::span<const std::byte> packet, const MacAddress& dst);
  // Any payload with the given EtherType.
  Status send(std::span<const std::byte> payload, std::uint16_t ether_type, const MacAddress& dst);

  // Waits up to `timeout` for a frame: Errc::timeout when none came, Errc::relay_stopped once the
  // relay stopped (and the queue is empty).
  Result<EtherPacket> read(std::span<std::byte> buffer, std::chrono::milliseconds timeout);
  // The next queued frame without waiting, or nothing: for drain loops (no error object is made).
  std::optional<EtherPacket> try_read(std::span<std::byte> buffer);

  // Frames dropped because the receive queue was full (or a frame was larger than max_frame).
  [[nodiscard]] std::uint64_t overflows() const;
  [[nodiscard]] std::size_t queued() const;
  // Whether the relay under the conn has stopped (after its last frame is read, read() says so).
  [[nodiscard]] bool stopped() const { return stopped_.load(); }
  // Bytes of the receive queue (0 until the first frame arrives).
  [[nodiscard]] std::size_t queue_bytes() const;

  // datapath::Receiver (called on the relay's poll threads)
  bool deliver(const datapath::Frame& frame, const datapath::L2Header& header) override;
  void relay_stopped() override;
  [[nodiscard]] const void* next_write() const override;

 private:
  friend class ReadyList;
  EtherConn(datapath::PacketRelay& relay, EtherConnOptions options);
  void clear_ready() { in_ready_.store(false); }
  void notify_ready();
  std::optional<EtherPacket> take(std::span<std::byte> buffer);  // read_mutex_ held

  // Each slot: the frame's length and payload offset (2 bytes each), then the frame, so a
  // minimum-size frame (60 bytes) and its header fill exactly one cache line.
  static constexpr std::size_t kSlotHeader = 4;

  // The ring's block is cache-line aligned, so that a minimum-size frame and its slot header
  // are one line, not two (with 65,536 hosts every line a frame touches is a miss).
  static constexpr std::align_val_t kRingAlign{64};
  struct RingDelete {
    void operator()(std::byte* p) const { ::operator delete[](p, kRingAlign); }
  };

  datapath::PacketRelay& relay_;
  EtherConnOptions options_;
  std::unique_ptr<std::byte[], RingDelete> ring_owner_;  // NOLINT(*-avoid-c-arrays): one block

  // What deliver() touches per frame, on one cache line (prefetched by the relay's demux):
  // written by the producers (poll threads); readers read the geometry and tail_ from it.
  alignas(64) std::atomic<bool> producing_{false};  // spin flag between poll threads
  std::atomic<bool> in_ready_{false};               // listed in ready_
  std::uint32_t tail_local_ = 0;                    // producers' copy of tail_
  std::uint32_t head_seen_ = 0;                     // last head_ they read (re-read when full)
  std::atomic<std::uint32_t> tail_{0};              // frames ever queued
  std::atomic<std::uint32_t> waiters_{0};           // readers asleep in read()
  std::uint32_t depth_ = 0;                         // frames the queue holds
  std::uint32_t mask_ = 0;                          // ring capacity (a power of two >= depth_) - 1
  std::uint32_t stride_ = 0;                        // bytes per slot
  std::uint32_t max_frame_ = 0;
  std::atomic<std::uint32_t> overflows_{0};
  // The queue, allocated lazily (ring_owner_ owns it); atomic because next_write() reads it
  // from any poll thread without the producers' flag.
  std::atomic<std::byte*> ring_{nullptr};
  ReadyList* ready_ = nullptr;
  std::uint32_t ready_index_ = 0;  // where ready_ listed this conn last (guarded by ready_'s lock)

  // Written by readers: per frame (head_), or only when they sleep.
  alignas(64) std::atomic<std::uint32_t> head_{0};  // frames ever taken
  std::mutex read_mutex_;                           // one reader at a time
  std::mutex wait_mutex_;
  std::condition_variable readable_;
  std::atomic<bool> stopped_{false};
};

}  // namespace etherpath::conn
