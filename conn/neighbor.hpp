// Neighbor: ARP and NDP on the wire for a relay's emulated hosts: answers requests and
// solicitations for owned addresses with the requester's VLANs, resolves other addresses with
// retries into a NeighborCache, and announces owned addresses (gratuitous ARP, unsolicited NA).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "conn/neighbor_cache.hpp"
#include "conn/neighbor_frames.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::conn {

// One Neighbor per relay. Broadcast ARP requests (per VLAN stack) and solicitations (per
// solicited-node group) reach it through its own registrations and are answered on its worker
// thread; unicast ARP/NDP reaches each host's EtherConn, whose reader hands it to handle().
//
// On the AF_XDP engine the steering program passes ARP requests and solicitations to the kernel
// unless their target is in its owned-address map; add_owned() puts each owned address there
// (PacketRelay::add_owned). On libpcap it sees everything.
class Neighbor final : public datapath::Receiver {
 public:
  // The relay and clock must outlive the Neighbor.
  static Result<std::unique_ptr<Neighbor>> open(datapath::PacketRelay& relay,
                                                NeighborOptions options = {},
                                                Clock& clock = SteadyClock::instance());
  Neighbor(const Neighbor&) = delete;
  Neighbor& operator=(const Neighbor&) = delete;
  Neighbor(Neighbor&&) = delete;
  Neighbor& operator=(Neighbor&&) = delete;
  ~Neighbor() override;  // deregisters, stops the worker

  // `ip` belongs to `station` (its MAC and VLANs): requests for it get answered. O(1) apart
  // from the relay registration of its broadcast/solicited-node key (once per VLAN stack/group).
  Status add_owned(const Station& station, const IpAddress& ip);
  void remove_owned(const Station& station, const IpAddress& ip);
  [[nodiscard]] std::optional<MacAddress> owner(const VlanStack& vlans, const IpAddress& ip) const;

  // A gratuitous ARP (IPv4) or an unsolicited NA (IPv6) for an owned address.
  Status announce(const Station& station, const IpAddress& ip);

  // For a station whose frames go to a fast path (PacketRelay::on_batch) instead of an EtherConn
  // of its own, as pkthere's emulated hosts: unicast ARP to its MAC (the kernel's NUD probes,
  // RFC 1122 §2.3.2.1, RFC 4861 §7.3.3) otherwise has no receiver and goes unanswered, and the
  // peer's entry goes STALE -> PROBE -> FAILED. This registers (its MAC, VLANs, ARP) to the
  // Neighbor. Not for a station with an EtherConn registered for ARP: the key would move here.
  // A no-op for the interface's own MAC untagged, whose ARP belongs to the kernel.
  // Unicast NDP shares the fast path's IPv6 key: the fast path hands it over with offer().
  Status receive_unicast_arp(const Station& station);

  // Whether `frame` (a whole Ethernet frame) is ARP, or a neighbour solicitation or advertisement
  // (IPv6 without extension headers, as NDP is sent): a few loads, no parse.
  [[nodiscard]] static bool is_neighbor_frame(ConstBytes frame);
  // For a fast path (PacketRelay::on_batch callback, on a poll thread) that got a frame it does
  // not forward: when it is ARP/NDP it is copied and answered on the Neighbor's thread (the
  // unicast NS of a peer's NUD probe reaches the fast path, whose key is the host's MAC and
  // IPv6), and true is returned; the caller still owns (and releases) the frame. Never blocks
  // on anything but a short lock, never sends. False for other frames and when the ring is full.
  bool offer(ConstBytes frame);

  // A frame a host's EtherConn received (or ours): learns its sender and answers it when it asks
  // for an address `self_mac` owns (any owned address when `self_mac` is null). True when the
  // frame was ARP or NDP, i.e. consumed.
  bool handle(const wire::ParsedFrame& frame, const std::optional<MacAddress>& self_mac);

  // The learnt MAC of `ip` on `vlans`, if any.
  [[nodiscard]] std::optional<MacAddress> lookup(const VlanStack& vlans, const IpAddress& ip) const;

  // Resolves `target` for `self` (sending from `src_ip`), retrying as NeighborOptions say. Between
  // requests it calls `pump` (which should read the host's conn for about the given time and
  // hand ARP/NDP frames to handle()), or waits when `pump` is empty. Errc::timeout when the
  // deadline passes, Errc::not_found when the retries went unanswered.
  using Pump = std::function<void(std::chrono::milliseconds)>;
  Result<MacAddress> resolve(const Station& self, const IpAddress& src_ip, const IpAddress& target,
                             std::chrono::milliseconds timeout, const Pump& pump = {});

  // One ARP request / neighbour solicitation for `target` from `self`, whatever the cache holds:
  // the target learns `self` from it (RFC 826 merge, RFC 4861 §7.2.3), e.g. a peer on AF_XDP,
  // where requests for emulated addresses do not reach us yet.
  Status probe(const Station& self, const IpAddress& src_ip, const IpAddress& target) {
    return send_request(self, src_ip, target);
  }

  [[nodiscard]] std::uint64_t answered() const;
  [[nodiscard]] std::uint64_t requests_sent() const;
  [[nodiscard]] std::size_t owned_count() const;

  // datapath::Receiver
  bool deliver(const datapath::Frame& frame, const datapath::L2Header& header) override;
  void relay_stopped() override;

 private:
  static constexpr std::size_t kRingSlots = 64;
  static constexpr std::size_t kSlotBytes = 2048;
  Neighbor(datapath::PacketRelay& relay, NeighborOptions options, Clock& clock);
  void run();
  Status send_request(const Station& self, const IpAddress& src_ip, const IpAddress& target);
  Status ensure_registered(const MacAddress& mac, const VlanStack& vlans, std::uint16_t type);
  bool enqueue(ConstBytes data);  // into ring_, for worker_

  datapath::PacketRelay& relay_;
  Clock& clock_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable learnt_;
  NeighborCache cache_;
  std::unordered_map<NeighborKey, MacAddress, NeighborKeyHash> owned_;
  std::unordered_map<wire::L2Key, unsigned>
      registered_;  // relay keys, by owned addresses using them
  std::uint64_t answered_ = 0;
  std::uint64_t requests_sent_ = 0;

  // Frames from the poll threads, answered on worker_ (deliver() must not block or send).
  std::mutex ring_mutex_;
  std::condition_variable ring_ready_;
  std::vector<std::array<std::byte, kSlotBytes>> ring_;
  std::array<std::size_t, kRingSlots> ring_sizes_{};
  std::size_t ring_head_ = 0;
  std::size_t ring_count_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace etherpath::conn
