// DatapathTransport: the relay Transport over PacketRelay's fast path (AF_XDP or libpcap). Frames
// are received, handed to the Forwarder as datagrams that point into them, and sent on with new
// headers written in their headroom: no copy, and no allocation, lock or syscall per packet.
#pragma once

#include <poll.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/vlan.hpp"
#include "conn/wire/drop_reason.hpp"
#include "datapath/packet_relay.hpp"
#include "datapath/stats.hpp"
#include "relay/config.hpp"
#include "relay/frame_rewrite.hpp"
#include "relay/transport.hpp"

namespace etherpath::relay {

struct DatapathTransportOptions {
  Proto listen_proto = Proto::udp;
  IpEndpoint listen;  // an address of the client-side interface; UDP port 0 = any free port
  Proto upstream_proto = Proto::udp;
  // Our address towards the upstream; unset = the one the kernel's routes pick for `upstream`.
  std::optional<IpAddress> upstream_local;
  IpEndpoint upstream;      // where upstream datagrams go (only its address is used here)
  MacAddress next_hop_mac;  // the upstream's next hop on the upstream-side interface
  // Looks up the next hop again when the forwarder moves the upstream to another address (a
  // re-resolve of --there); unset = next_hop_mac stays for the run (--next-hop-mac). Called on the
  // forwarder's thread and may block while the kernel resolves the neighbour.
  std::function<Result<MacAddress>(const IpAddress&)> resolve_next_hop;
  bool connected = true;  // a locked client filters the listener (as a connected socket)
  // An emulated listener: `listen` is no address of the interface but a host of its own with
  // this MAC and VLAN stack (ARP/NDP for it answered by a conn::Neighbor the caller runs). Its
  // frames come by L2 key (on_batch), and no kernel socket reserves its port.
  std::optional<MacAddress> listen_mac;
  VlanStack listen_vlans;
  // The same for our upstream-side address (`upstream_local`, then required): upstream ports are
  // picked here, not by kernel sockets.
  std::optional<MacAddress> upstream_mac;
  VlanStack upstream_vlans;
  std::uint16_t first_echo_id = 0;  // upstream echo ids are handed out from here (0 = from pid)
  // Frames an emulated host's key brought that are no datagram of ours: ARP/NDP among them (a
  // peer's unicast NUD probe arrives in the host's IPv6 key) go to the ARP/NDP responder, i.e.
  // conn::Neighbor::offer() of the Neighbor on that side (0 = client side, 1 = upstream side).
  // It copies what it takes; true when taken. Called on the thread polling the relays.
  std::function<bool(std::size_t side, ConstBytes frame)> neighbor_frames;
  // When receive() finds nothing, it checks the AF_XDP rings again for up to this long before it
  // blocks in poll(2): a frame that arrives meanwhile (the reply of a round trip, the next burst)
  // is taken without a wake-up, which costs tens of microseconds on a VM. 0 = block at once.
  std::chrono::microseconds spin{0};
};

// Counts of frames the transport refused, by reason, and of the filters it applied.
struct DatapathCounters {
  std::array<datapath::Counter, wire::kDropReasonCount> malformed;  // matched a key, then broken
  // Of malformed[bad_udp_checksum]: frames whose checksum holds only the pseudo-header sum,
  // i.e. a sender whose (veth) checksum offload never ran: `ethtool -K <peer> tx off`.
  datapath::Counter checksum_offloaded;
  datapath::Counter not_ours;            // libpcap: frames to the own MAC for no flow of ours
  datapath::Counter filtered_connected;  // from another peer than the locked client
  datapath::Counter no_client_mac;       // a reply to a client whose MAC was never seen
  datapath::Counter no_headroom;         // the headers would not fit in front of the payload
  datapath::Counter tx_refused;          // the TX ring (or pcap_inject) did not take a frame
  datapath::Counter tx_copied;           // sent by copy (two libpcap interfaces share no pool)
};

class DatapathTransport final : public Transport {
 public:
  // `client_side` carries the listener; `upstream_side` (the same relay, or one sharing its
  // UMEM) the upstream ports. Both were opened with own_threads = false and must outlive the
  // transport; the transport drives them from receive(). Reserves the listener's UDP port with a
  // kernel socket.
  static Result<std::unique_ptr<DatapathTransport>> open(const DatapathTransportOptions& options,
                                                         datapath::PacketRelay& client_side,
                                                         datapath::PacketRelay& upstream_side);
  ~DatapathTransport() override;
  DatapathTransport(const DatapathTransport&) = delete;
  DatapathTransport& operator=(const DatapathTransport&) = delete;
  DatapathTransport(DatapathTransport&&) = delete;
  DatapathTransport& operator=(DatapathTransport&&) = delete;

  [[nodiscard]] IpEndpoint listen_address() const { return options_.listen; }
  [[nodiscard]] IpAddress upstream_local() const { return *options_.upstream_local; }
  [[nodiscard]] std::optional<MacAddress> listen_mac() const { return options_.listen_mac; }
  // The upstream's next hop, when it is known only once the transport runs (an emulated
  // upstream-side host resolves it with its conn::Neighbor, whose answers come in through our
  // keys). Not while receive()/send() run on another thread.
  void set_next_hop_mac(const MacAddress& mac) { options_.next_hop_mac = mac; }

  Result<std::size_t> receive(DatagramBatch& batch, std::chrono::milliseconds wait) override;
  void send(DatagramBatch& batch) override;
  Result<UpstreamPort> open_upstream(const IpEndpoint& remote,
                                     std::uint16_t wanted_echo_id) override;
  void close_upstream(PortId id) override;
  Status connect_listener(const std::optional<IpEndpoint>& client) override;
  Status rebind_listener(const IpEndpoint& listen) override;

  // Thread-safe: drops by reason and filter counts (pkthere's stats line).
  [[nodiscard]] nlohmann::json stats_json() const;
  [[nodiscard]] std::uint64_t malformed_total() const;
  [[nodiscard]] std::uint64_t checksum_offloaded() const {
    return counters_.checksum_offloaded.get();
  }

 private:
  struct Port {
    bool open = false;
    bool icmp = false;
    std::uint16_t id = 0;  // local UDP port or echo id
    UniqueFd reservation;  // the kernel socket holding the UDP port
  };
  // A received frame lent to the forwarder until the next receive().
  struct Held {
    datapath::Frame frame;
    RxFrame rx;
    std::uint32_t rx_base = 0;  // where the received frame started in its chunk
    std::uint8_t relay = 0;     // 0 = client side, 1 = upstream side
    bool taken = false;         // transmitted: no longer ours to release
  };
  struct ClientMac {
    IpAddress ip;
    MacAddress mac;
    bool valid = false;
  };

  DatapathTransport(DatapathTransportOptions options, datapath::PacketRelay& client_side,
                    datapath::PacketRelay& upstream_side);
  Status start();
  // Registers `key` on the relay with this transport's batch function (the first flow of a
  // family) or joining it (later flows).
  Status steer(std::size_t relay, const datapath::L4Endpoint& key);
  void on_frames(std::size_t relay, std::size_t queue, datapath::FrameBatch& frames);
  // The port a frame belongs to, or kNoPort.
  [[nodiscard]] PortId match(std::size_t relay, const IpAddress& dst, std::uint8_t protocol,
                             std::uint16_t port, std::uint8_t icmp_type) const;
  [[nodiscard]] datapath::L4Endpoint listener_key() const;
  [[nodiscard]] datapath::L4Endpoint upstream_key(const Port& p) const;
  // Hands an ARP/NDP frame to options_.neighbor_frames; true when it took it.
  [[nodiscard]] bool offer_neighbor(std::size_t relay, ConstBytes frame) const {
    return options_.neighbor_frames && options_.neighbor_frames(relay, frame);
  }
  void release_held();
  void rebalance();
  // Makes relay r's TX ring go out now (copy mode sends at most 32 frames per sendto) and reaps
  // its completions, so the frames are free again before the next receive.
  void drain_tx(std::size_t r);
  // One non-blocking round over every queue, starting where the last one stopped.
  Status round(const DatagramBatch& batch);
  // The AF_XDP sockets of every source, for poll(2); 0 when a source is not AF_XDP (libpcap).
  std::size_t xdp_poll_fds(std::array<pollfd, 64>& fds);
  void learn_client(const IpAddress& ip, const MacAddress& mac);
  [[nodiscard]] std::optional<MacAddress> client_mac(const IpAddress& ip) const;
  [[nodiscard]] static Result<UniqueFd> reserve_udp(const IpEndpoint& local);
  [[nodiscard]] static std::uint8_t icmp_protocol(const IpAddress& a) {
    return a.is_v4() ? kProtoIcmp : kProtoIcmpv6;
  }

  DatapathTransportOptions options_;
  std::array<datapath::PacketRelay*, 2> relays_{};
  std::size_t relay_count_ = 1;  // 2 when the upstream side is another interface
  // Which (relay, family) already has our batch function.
  std::array<std::array<bool, 2>, 2> has_fn_{};
  std::vector<Port> ports_;        // [0] is the listener
  std::vector<PortId> udp_ports_;  // upstream UDP port -> PortId, 65536 entries
  std::vector<PortId> echo_ids_;   // upstream echo id -> PortId, 65536 entries
  std::uint16_t next_echo_id_ = 1;
  std::uint16_t next_udp_port_ = 49152;  // for an emulated upstream-side address
  std::optional<IpEndpoint> connected_client_;

  // One receive's frames; sized once.
  std::array<Held, DatagramBatch::kMaxBatch> held_{};
  std::size_t held_count_ = 0;
  DatagramBatch* rx_batch_ = nullptr;  // the batch being filled, during receive() only
  std::size_t next_source_ = 0;        // round robin over (relay, queue)
  std::uint32_t streak_ = 0;           // rounds the first source in a row had frames
  std::vector<std::pair<std::size_t, std::size_t>> sources_;
  std::array<ClientMac, 256> client_macs_{};
  const ClientMac* last_learned_ = nullptr;  // the slot learn_client() wrote or found last
  // The headers of the last UDP flow to the client [0] and to the upstream [1].
  std::array<UdpHeaderTemplate, 2> templates_{};
  std::uint16_t ipv4_id_ = 0;
  // TX staging per relay, and which datagram each staged frame carries.
  std::array<datapath::FrameBatch, 2> tx_{};
  std::array<std::array<std::uint8_t, datapath::FrameBatch::kCapacity>, 2> tx_items_{};
  std::array<datapath::FrameBatch, 2> release_{};
  // Frames of relay r's queue that left on the other relay (shared UMEM): their completions land
  // in the other socket's cache, so as many free frames are handed back to r's fill ring.
  std::array<std::size_t, 2> owed_{};

  DatapathCounters counters_;
};

}  // namespace etherpath::relay
