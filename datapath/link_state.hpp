// Interface liveness checks shared by the engines: gone (unregistered) or administratively down.
#pragma once

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace etherpath::datapath {

// Watches one interface by index through an AF_INET datagram socket's ioctls (two syscalls per
// check; engines call it when a wait times out, never per packet). Create it in the interface's
// network namespace: the socket stays bound to that namespace.
class LinkState {
 public:
  static Result<LinkState> open(const std::string& ifname);
  [[nodiscard]] const std::string& ifname() const { return ifname_; }
  [[nodiscard]] unsigned ifindex() const { return ifindex_; }
  // Errc::closed with "IFNAME: the interface went away" or "IFNAME: the interface is down".
  [[nodiscard]] Status check() const;

 private:
  std::string ifname_;
  unsigned ifindex_ = 0;
  UniqueFd fd_;
};

}  // namespace etherpath::datapath
