// RelayInNetns and NetnsPair: relays opened and closed inside a test's namespace.
#include "tests/support/relay_in_netns.hpp"

namespace etherpath::testing {

std::string engine_name(TestEngine engine) {
  switch (engine) {
    case TestEngine::xdp: return "xdp";
    case TestEngine::pcap: return "pcap";
    case TestEngine::xdp_generic: return "xdp_generic";
  }
  return "unknown";
}

datapath::RelayOptions test_relay_options(TestEngine engine) {
  datapath::RelayOptions o;
  o.engine = engine == TestEngine::pcap ? datapath::EngineKind::pcap : datapath::EngineKind::xdp;
  o.xdp_mode = engine == TestEngine::xdp_generic ? datapath::xdp::XdpMode::generic
                                                 : datapath::xdp::XdpMode::native_copy;
  o.frames_per_queue = 1024;
  return o;
}

Result<RelayInNetns> RelayInNetns::open(const NetNs& ns, const std::string& ifname,
                                        const datapath::RelayOptions& options) {
  EP_TRY(auto relay, in_netns(ns, [&] { return datapath::PacketRelay::open(ifname, options); }));
  return RelayInNetns(ns, std::move(relay));
}

RelayInNetns& RelayInNetns::operator=(RelayInNetns&& other) noexcept {
  if (this != &other) {
    reset();
    ns_ = other.ns_;
    relay_ = std::move(other.relay_);
  }
  return *this;
}

void RelayInNetns::reset() {
  if (relay_) {
    in_netns(*ns_, [&] { relay_.reset(); });
  }
}

Result<NetnsPair> NetnsPair::create(std::string_view prefix_a, std::string_view prefix_b,
                                    VethOptions options) {
  EP_TRY(auto a, NetNs::create(prefix_a));
  EP_TRY(auto b, NetNs::create(prefix_b));
  EP_TRY(auto veth, VethPair::create(a, b, options));
  return NetnsPair{std::move(a), std::move(b), std::move(veth)};
}

}  // namespace etherpath::testing
