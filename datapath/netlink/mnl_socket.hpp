// MnlSocket: the one owner of a NETLINK_ROUTE socket (libmnl), for request/answer exchanges.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "base/result.hpp"

struct mnl_socket;

namespace etherpath::datapath::netlink {

// One netlink message as bytes, starting with its nlmsghdr. std::vector's storage is aligned
// for nlmsghdr, which libmnl reads in place.
using NetlinkMessage = std::vector<std::byte>;

// A NETLINK_ROUTE socket bound in the network namespace of the thread that opens it. Not
// thread-safe: one exchange at a time. Every receive is bounded by a 2 s timeout, so a kernel
// that never answers is an error rather than a hang.
class MnlSocket {
 public:
  static Result<MnlSocket> open();

  // Sends `request` (this socket stamps its sequence number) and returns the answer's data
  // messages, up to the kernel's ACK (requests) or NLMSG_DONE (dumps). Requests that are not
  // dumps get NLM_F_ACK here, so every exchange has a clear end. An NLMSG_ERROR comes back as
  // its errno, with the kernel's extended-ack text when it sent one.
  Result<std::vector<NetlinkMessage>> exchange(NetlinkMessage request);

 private:
  struct Closer {
    void operator()(mnl_socket* socket) const;
  };
  explicit MnlSocket(mnl_socket* socket);

  std::unique_ptr<mnl_socket, Closer> socket_;
  unsigned portid_ = 0;
  unsigned seq_ = 0;
};

}  // namespace etherpath::datapath::netlink
