// A PacketRelay opened inside a test's namespace and closed there, and two namespaces joined by
// a veth: the setup the datapath, conn and rudp netns tests each wrote out for themselves.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "datapath/packet_relay.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::testing {

// Which engine a test runs on. Every conn-layer test runs on AF_XDP and on libpcap; generic
// (skb) XDP is there for the tests that also check that mode.
enum class TestEngine { xdp, pcap, xdp_generic };

[[nodiscard]] std::string engine_name(TestEngine engine);

// The options the netns tests open relays with: the engine, native copy mode for AF_XDP (the
// only AF_XDP mode veth has, see veth-afxdp-facts.md) and 1,024 frames per queue.
[[nodiscard]] datapath::RelayOptions test_relay_options(TestEngine engine);

// A PacketRelay on an interface inside `ns`. Its steering program is detached by netlink in the
// namespace of the thread that closes it, so the destructor (and reset()) close it inside `ns`
// too. The namespace must outlive it; conns on it must go first.
class RelayInNetns {
 public:
  static Result<RelayInNetns> open(const NetNs& ns, const std::string& ifname,
                                   const datapath::RelayOptions& options);
  static Result<RelayInNetns> open(const NetNs& ns, const std::string& ifname, TestEngine engine) {
    return open(ns, ifname, test_relay_options(engine));
  }
  RelayInNetns() = default;
  RelayInNetns(const RelayInNetns&) = delete;
  RelayInNetns& operator=(const RelayInNetns&) = delete;
  RelayInNetns(RelayInNetns&& other) noexcept = default;
  RelayInNetns& operator=(RelayInNetns&& other) noexcept;
  ~RelayInNetns() { reset(); }

  // Closes the relay (inside its namespace) now.
  void reset();
  [[nodiscard]] explicit operator bool() const { return relay_ != nullptr; }
  [[nodiscard]] datapath::PacketRelay& operator*() const { return *relay_; }
  [[nodiscard]] datapath::PacketRelay* operator->() const { return relay_.get(); }
  [[nodiscard]] datapath::PacketRelay* get() const { return relay_.get(); }

 private:
  RelayInNetns(const NetNs& ns, std::unique_ptr<datapath::PacketRelay> relay)
      : ns_(&ns), relay_(std::move(relay)) {}
  const NetNs* ns_ = nullptr;
  std::unique_ptr<datapath::PacketRelay> relay_;
};

// Two fresh namespaces joined by one veth pair (end a in a, end b in b). The veth goes before
// the namespaces; relays on it must go before it.
struct NetnsPair {
  static Result<NetnsPair> create(std::string_view prefix_a = "ta",
                                  std::string_view prefix_b = "tb", VethOptions options = {});
  NetNs a;
  NetNs b;
  VethPair veth;
};

}  // namespace etherpath::testing
