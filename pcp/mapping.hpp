// What a PCP client asks for (InboundMap = MAP, OutboundMap = PEER, Announce), how long it keeps
// it (RequestType), and what it reports back (State, Assignment, Failure, Alert).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/ip_address.hpp"
#include "pcp/message.hpp"

namespace etherpath::pcp {

// MAP (§11): let hosts outside reach internal_port. Built the pcp-rs way, by chaining:
// InboundMap(6000, 120s).protocol(Protocol::tcp).external_port(6000).
class InboundMap {
 public:
  InboundMap(std::uint16_t internal_port, std::chrono::seconds lifetime)
      : internal_port_(internal_port), lifetime_(lifetime) {}

  InboundMap& protocol(Protocol p) { return set(protocol_, p); }
  InboundMap& external_address(const IpAddress& a) { return set(external_address_, a); }
  InboundMap& external_port(std::uint16_t p) { return set(external_port_, p); }
  InboundMap& third_party(const IpAddress& a) { return set(third_party_, a); }
  InboundMap& prefer_failure(bool on = true) { return set(prefer_failure_, on); }
  InboundMap& filter(const Filter& f) {
    filters_.push_back(f);
    return *this;
  }
  // Reuse the nonce of an existing mapping, to refresh or delete one made earlier.
  InboundMap& nonce(const Nonce& n) { return set(nonce_, n); }

  [[nodiscard]] std::uint16_t internal_port() const { return internal_port_; }
  [[nodiscard]] std::chrono::seconds lifetime() const { return lifetime_; }
  [[nodiscard]] Protocol protocol() const { return protocol_; }
  [[nodiscard]] const std::optional<IpAddress>& external_address() const {
    return external_address_;
  }
  [[nodiscard]] std::uint16_t external_port() const { return external_port_; }
  [[nodiscard]] const std::optional<IpAddress>& third_party() const { return third_party_; }
  [[nodiscard]] bool prefer_failure() const { return prefer_failure_; }
  [[nodiscard]] const std::vector<Filter>& filters() const { return filters_; }
  [[nodiscard]] const std::optional<Nonce>& nonce() const { return nonce_; }

 private:
  template <typename T, typename V>
  InboundMap& set(T& field, const V& value) {
    field = value;
    return *this;
  }
  std::uint16_t internal_port_;
  std::chrono::seconds lifetime_;
  Protocol protocol_ = Protocol::all;
  std::optional<IpAddress> external_address_;  // suggestion
  std::uint16_t external_port_ = 0;            // suggestion, 0 = none
  std::optional<IpAddress> third_party_;
  bool prefer_failure_ = false;
  std::vector<Filter> filters_;
  std::optional<Nonce> nonce_;
};

// PEER (§12): create or learn the mapping an outbound flow to `remote` uses.
class OutboundMap {
 public:
  OutboundMap(std::uint16_t internal_port, const IpEndpoint& remote, std::chrono::seconds lifetime)
      : internal_port_(internal_port), remote_(remote), lifetime_(lifetime) {}

  OutboundMap& protocol(Protocol p) { return set(protocol_, p); }
  OutboundMap& external_address(const IpAddress& a) { return set(external_address_, a); }
  OutboundMap& external_port(std::uint16_t p) { return set(external_port_, p); }
  OutboundMap& third_party(const IpAddress& a) { return set(third_party_, a); }
  OutboundMap& nonce(const Nonce& n) { return set(nonce_, n); }

  [[nodiscard]] std::uint16_t internal_port() const { return internal_port_; }
  [[nodiscard]] const IpEndpoint& remote() const { return remote_; }
  [[nodiscard]] std::chrono::seconds lifetime() const { return lifetime_; }
  [[nodiscard]] Protocol protocol() const { return protocol_; }
  [[nodiscard]] const std::optional<IpAddress>& external_address() const {
    return external_address_;
  }
  [[nodiscard]] std::uint16_t external_port() const { return external_port_; }
  [[nodiscard]] const std::optional<IpAddress>& third_party() const { return third_party_; }
  [[nodiscard]] const std::optional<Nonce>& nonce() const { return nonce_; }

 private:
  template <typename T, typename V>
  OutboundMap& set(T& field, const V& value) {
    field = value;
    return *this;
  }
  std::uint16_t internal_port_;
  IpEndpoint remote_;
  std::chrono::seconds lifetime_;
  Protocol protocol_ = Protocol::all;
  std::optional<IpAddress> external_address_;
  std::uint16_t external_port_ = 0;
  std::optional<IpAddress> third_party_;
  std::optional<Nonce> nonce_;
};

// ANNOUNCE (§14.1): ask the server for its epoch.
struct Announce {};

// How long the client keeps a mapping: until its lifetime ends (once), through n renewals, or
// until revoked (keep_alive).
class RequestType {
 public:
  enum class Kind : std::uint8_t { once, repeat, keep_alive };
  static const RequestType once;
  static const RequestType keep_alive;
  static constexpr RequestType repeat(unsigned n) { return {Kind::repeat, n}; }

  [[nodiscard]] constexpr Kind kind() const { return kind_; }
  [[nodiscard]] constexpr unsigned count() const { return count_; }
  friend constexpr bool operator==(RequestType, RequestType) = default;

 private:
  constexpr RequestType(Kind kind, unsigned count) : kind_(kind), count_(count) {}
  Kind kind_;
  unsigned count_;
};
inline constexpr RequestType RequestType::once{RequestType::Kind::once, 0};
inline constexpr RequestType RequestType::keep_alive{RequestType::Kind::keep_alive, 0};

enum class State : std::uint8_t {
  starting,  // request sent, no answer yet (retransmitting IRT .. MRT)
  running,   // granted (or, for ANNOUNCE, answered); a renewal or the expiry is scheduled
  renewing,  // renewal sent, the mapping still holds until its lifetime ends
  backoff,   // NETWORK_FAILURE or NO_RESOURCES: asking again when the error's lifetime ends
  revoking,  // delete (lifetime 0) sent, waiting for the server to confirm
  revoked,   // the server confirmed the delete
  expired,   // the lifetime ended without a renewal
  failed,    // an error result, no answer in MRC/MRD, or a server that does not speak PCP v2
};
std::string_view name(State state);
// States after which nothing more happens.
constexpr bool is_final(State s) {
  return s == State::revoked || s == State::expired || s == State::failed;
}

// What the server granted (MAP and PEER alike) or, for ANNOUNCE, only its epoch.
struct Assignment {
  Opcode opcode = Opcode::map;
  IpAddress external_address;
  std::uint16_t external_port = 0;
  std::chrono::seconds lifetime{0};
  std::uint32_t epoch = 0;
  Response response;  // the whole answer, for anyone who needs more
};

struct Failure {
  std::optional<ResultCode> code;  // nothing when no result code came (timeout, NAT-PMP)
  std::chrono::seconds lifetime{0};
  std::string reason;  // one line: "NOT_AUTHORIZED: the server refused ..."
};

struct Alert {
  enum class Kind : std::uint8_t { state_changed, assigned };
  Kind kind = Kind::state_changed;
  State state = State::starting;         // the state after the event
  std::optional<Assignment> assignment;  // for Kind::assigned
  std::optional<Failure> failure;        // for backoff and failed
};

// RFC 6887 §8.1.1 retransmission parameters, plus the renewal floor of §11.2.1.
struct Timers {
  Clock::Duration irt = std::chrono::seconds(3);
  Clock::Duration mrt = std::chrono::seconds(1024);
  unsigned mrc = 0;                               // transmissions before giving up; 0 = no limit
  Clock::Duration mrd = Clock::Duration::zero();  // time before giving up; 0 = no limit
  Clock::Duration min_renew_interval = std::chrono::seconds(4);
  // An unsolicited ANNOUNCE makes every client re-request at once; spread them out.
  Clock::Duration announce_delay_max = std::chrono::seconds(5);
};

}  // namespace etherpath::pcp
