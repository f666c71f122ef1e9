// FakeTransport: an in-memory Transport for Forwarder tests (queued datagrams in, sent ones out).
#pragma once

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "relay/transport.hpp"

namespace etherpath::relay::testing {

struct Wire {
  PortId port = kListenerPort;
  IpEndpoint peer;
  std::vector<std::byte> bytes;

  [[nodiscard]] std::string text() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT
  }
};

inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

class FakeTransport final : public Transport {
 public:
  static constexpr std::uint32_t kSlot = 4096;

  void deliver(PortId port, IpEndpoint peer, std::vector<std::byte> bytes) {
    inbox.push_back(Wire{port, peer, std::move(bytes)});
  }

  Result<std::size_t> receive(DatagramBatch& batch, std::chrono::milliseconds /*wait*/) override {
    batch.clear();
    buffers_.resize(DatagramBatch::kMaxBatch * kSlot);
    while (!inbox.empty() && !batch.full()) {
      const std::size_t slot = batch.size();
      Wire w = std::move(inbox.front());
      inbox.pop_front();
      Datagram& d = batch.push_back();
      d.buffer = buffers_.data() + slot * kSlot;
      d.capacity = kSlot;
      d.offset = kMinHeadroom;
      d.length = static_cast<std::uint32_t>(w.bytes.size());
      if (!w.bytes.empty()) {  // memcpy from an empty vector's null data() is UB even for 0 bytes
        std::memcpy(d.buffer + d.offset, w.bytes.data(), w.bytes.size());
      }
      d.peer = w.peer;
      d.port = w.port;
      d.frame = slot;
    }
    return batch.size();
  }

  void send(DatagramBatch& batch) override {
    for (auto& d : batch.items()) {
      if (d.verdict != Verdict::forward) {
        continue;
      }
      if (fail_sends) {
        d.verdict = Verdict::failed;
        continue;
      }
      const auto p = d.payload();
      sent.push_back(Wire{d.port, d.peer, std::vector<std::byte>(p.begin(), p.end())});
      d.verdict = Verdict::sent;
    }
  }

  Result<UpstreamPort> open_upstream(const IpEndpoint& remote,
                                     std::uint16_t wanted_echo_id) override {
    if (fail_opens) {
      return fail(Errc::unsupported, "fake: cannot open");
    }
    const PortId id = next_port_++;
    const std::uint16_t echo = wanted_echo_id != 0 ? wanted_echo_id : next_echo_id_++;
    open_ports[id] = remote;
    return UpstreamPort{id, echo};
  }
  void close_upstream(PortId port) override {
    open_ports.erase(port);
    closed.push_back(port);
  }
  Status connect_listener(const std::optional<IpEndpoint>& client) override {
    listener_connects.push_back(client);
    return ok();
  }
  Status rebind_listener(const IpEndpoint& listen) override {
    rebinds.push_back(listen);
    return ok();
  }

  std::deque<Wire> inbox;
  std::vector<Wire> sent;
  std::map<PortId, IpEndpoint> open_ports;
  std::vector<PortId> closed;
  std::vector<std::optional<IpEndpoint>> listener_connects;
  std::vector<IpEndpoint> rebinds;
  bool fail_sends = false;
  bool fail_opens = false;

 private:
  std::vector<std::byte> buffers_;
  PortId next_port_ = 1;
  std::uint16_t next_echo_id_ = 40000;
};

}  // namespace etherpath::relay::testing
