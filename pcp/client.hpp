// Client: pcp-rs's API over Session. start() opens the sockets and a thread that runs the state
// machine; the Handle asks for mappings; each MappingHandle watches and steers one of them.
//
//   auto pcp = pcp::Client::start(client_addr, server_addr);
//   auto map = pcp->request(pcp::InboundMap(6000, 120s).protocol(pcp::Protocol::tcp),
//                           pcp::RequestType::keep_alive);
//   while (auto alert = map->wait_alert(10s)) { ... }
//   map->revoke();
//
// Unlike pcp-rs, dropping a MappingHandle does not delete the mapping on the server (a one-shot
// `etherpath-pcp map` must outlive the process); revoke() does. The client's threads stop when
// the Handle and every MappingHandle are gone.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "base/clock.hpp"
#include "base/datagram_transport.hpp"
#include "pcp/mapping.hpp"
#include "pcp/random_source.hpp"
#include "pcp/session.hpp"

namespace etherpath::pcp {

struct ClientOptions {
  Timers timers;
  std::uint16_t server_port = kServerPort;
  // Listen for unsolicited ANNOUNCEs on port 5350 (multicast 224.0.0.1 / ff02::1 and unicast).
  bool listen_announce = true;
  // Injected seams; defaults: UDP on client:0, UDP on *:5350, SteadyClock, SystemRandom.
  std::unique_ptr<DatagramTransport> transport;
  std::unique_ptr<DatagramTransport> announce_transport;
  const Clock* clock = nullptr;
  std::unique_ptr<RandomSource> random;
};

class MappingHandle;

// Shared with every MappingHandle; the client thread stops when the last of them goes.
class Handle {
 public:
  Result<MappingHandle> request(const InboundMap& map, RequestType type);
  Result<MappingHandle> request(const OutboundMap& map, RequestType type);
  Result<MappingHandle> request(const Announce& announce);
  // Something the client could not do on its own (the ANNOUNCE listener's bind, a receive
  // error); empty when all is well.
  [[nodiscard]] std::vector<std::string> warnings() const;
  [[nodiscard]] SessionStats stats() const;
  [[nodiscard]] IpEndpoint local_endpoint() const;
  // Stops the thread now (handles stay valid and report their last state).
  void shutdown();

  struct Impl;
  explicit Handle(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

class MappingHandle {
 public:
  [[nodiscard]] State state() const;
  [[nodiscard]] Nonce nonce() const;
  [[nodiscard]] std::optional<Assignment> assignment() const;
  [[nodiscard]] std::optional<Failure> failure() const;
  Status renew(std::chrono::seconds lifetime);
  Status revoke();
  std::optional<Alert> poll_alert();
  // Waits up to `timeout` for the next alert.
  std::optional<Alert> wait_alert(Clock::Duration timeout);

  MappingHandle(std::shared_ptr<Handle::Impl> impl, MappingId id)
      : impl_(std::move(impl)), id_(id) {}

 private:
  std::shared_ptr<Handle::Impl> impl_;
  MappingId id_;
};

class Client {
 public:
  // Starts a client for one server. `client` is the address written into requests (the one
  // the server sees as the source); requests go to server:5351.
  static Result<Handle> start(const IpAddress& client, const IpAddress& server,
                              ClientOptions options = {});
};

}  // namespace etherpath::pcp
