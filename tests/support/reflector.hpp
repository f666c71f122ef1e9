// Reflector: an XDP program on a veth that swaps MACs, IPs and UDP ports and sends each IPv4/IPv6
// frame back with XDP_TX, so a generator's --rx path can be tested without a device under test.
// Frames sent back by XDP_TX reach the other end only if its NAPI runs, which on veth needs a
// native XDP program there (XdpPass, if the other end has none of its own; GRO does not do it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "tests/support/netns.hpp"

struct reflector_bpf;  // the generated skeleton

namespace etherpath::testing {

struct ReflectorCounters {
  std::uint64_t reflected = 0;
  std::uint64_t passed = 0;
  std::uint64_t truncated = 0;
};

class Reflector {
 public:
  // Attaches in native (driver) mode to `ifname` inside `ns`.
  static Result<Reflector> attach(const NetNs& ns, const std::string& ifname);
  Reflector(Reflector&& other) noexcept;
  Reflector& operator=(Reflector&& other) noexcept = delete;
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;
  ~Reflector();  // detaches

  [[nodiscard]] Result<ReflectorCounters> counters() const;

  struct SkeletonDeleter {
    void operator()(reflector_bpf* skel) const;
  };

 private:
  Reflector() = default;
  std::unique_ptr<reflector_bpf, SkeletonDeleter> skel_;
  const NetNs* ns_ = nullptr;
  std::string ifname_;
};

// An XDP program that passes everything, attached in native mode: it makes veth run NAPI, which
// frames arriving by XDP_TX or XDP_REDIRECT need (as for a kernel peer of a live-frames
// generator). Detached in the destructor.
class XdpPass {
 public:
  static Result<XdpPass> attach(const NetNs& ns, const std::string& ifname);
  XdpPass(XdpPass&& other) noexcept;
  XdpPass& operator=(XdpPass&& other) noexcept = delete;
  XdpPass(const XdpPass&) = delete;
  XdpPass& operator=(const XdpPass&) = delete;
  ~XdpPass();

 private:
  XdpPass() = default;
  std::unique_ptr<reflector_bpf, Reflector::SkeletonDeleter> skel_;
  const NetNs* ns_ = nullptr;
  std::string ifname_;
};

}  // namespace etherpath::testing
