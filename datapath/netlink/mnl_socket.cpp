// MnlSocket: libmnl socket setup and one request/answer exchange with the kernel's rtnetlink.
#include "datapath/netlink/mnl_socket.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace etherpath::datapath::netlink {
namespace {

// Big enough for one dump skb: the kernel fills dumps up to the reader's buffer, at most 32 KiB.
constexpr std::size_t kReceiveBufferSize = 32768;

const nlmsghdr* header_of(const NetlinkMessage& message) {
  // std::vector storage comes from operator new, aligned for any scalar type; libmnl reads the
  // header in place, as the kernel laid it out.
  return static_cast<const nlmsghdr*>(static_cast<const void*>(message.data()));
}

int collect_extack_text(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate(attr, MNL_TYPE_STRING) == 0) {
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

// The errno of an NLMSG_ERROR and, when the kernel sent one, its extended-ack text.
Error error_from(const nlmsghdr* nlh) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) {
    return {Errc::malformed, "netlink: truncated error message"};
  }
  nlmsgerr err{};
  std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
  std::string text;
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    // With NETLINK_CAP_ACK the request is not echoed (NLM_F_CAPPED): the TLVs follow the header.
    const std::size_t offset =
        (nlh->nlmsg_flags & NLM_F_CAPPED) != 0 ? sizeof(nlmsgerr) : sizeof(int) + err.msg.nlmsg_len;
    if (offset <= mnl_nlmsg_get_payload_len(nlh)) {
      mnl_attr_parse(nlh, static_cast<unsigned>(offset), collect_extack_text, &text);
    }
  }
  return Error::from_errno(text.empty() ? "netlink" : "netlink: " + text, -err.error);
}

}  // namespace

void MnlSocket::Closer::operator()(mnl_socket* socket) const {
  mnl_socket_close(socket);
}

MnlSocket::MnlSocket(mnl_socket* socket) : socket_(socket) {}

Result<MnlSocket> MnlSocket::open() {
  mnl_socket* raw = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (raw == nullptr) {
    return fail_errno("netlink: opening a NETLINK_ROUTE socket");
  }
  MnlSocket socket(raw);
  if (mnl_socket_bind(raw, 0, MNL_SOCKET_AUTOPID) < 0) {
    return fail_errno("netlink: binding the NETLINK_ROUTE socket");
  }
  socket.portid_ = mnl_socket_get_portid(raw);
  // Extended acks carry the kernel's reason ("No device specified") into our errors; capped
  // acks keep the request out of every error message. Both are optional: older kernels ignore
  // them, and the errno alone still says what failed.
  int on = 1;
  mnl_socket_setsockopt(raw, NETLINK_EXT_ACK, &on, sizeof(on));
  mnl_socket_setsockopt(raw, NETLINK_CAP_ACK, &on, sizeof(on));
  timeval limit{.tv_sec = 2, .tv_usec = 0};
  if (::setsockopt(mnl_socket_get_fd(raw), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)) != 0) {
    return fail_errno("netlink: setting a receive timeout");
  }
  return socket;
}

Result<std::vector<NetlinkMessage>> MnlSocket::exchange(NetlinkMessage request) {
  if (request.size() < sizeof(nlmsghdr)) {
    return fail(Errc::invalid_argument, "netlink: a request shorter than its header");
  }
  const unsigned seq = ++seq_;
  nlmsghdr header{};
  std::memcpy(&header, request.data(), sizeof(header));
  const bool dump = (header.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  header.nlmsg_seq = seq;
  header.nlmsg_flags =
      static_cast<std::uint16_t>(header.nlmsg_flags | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK));
  std::memcpy(request.data(), &header, sizeof(header));
  if (mnl_socket_sendto(socket_.get(), request.data(), request.size()) < 0) {
    return fail_errno("netlink: sending a request");
  }

  std::vector<NetlinkMessage> answer;
  NetlinkMessage buffer(kReceiveBufferSize);
  for (;;) {
    const ssize_t got = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return fail(Errc::timeout, "netlink: no answer within 2 s");
      }
      return fail_errno("netlink: receiving an answer");
    }
    int left = static_cast<int>(got);
    for (const nlmsghdr* nlh = header_of(buffer); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      // A late answer to an earlier exchange that timed out is not ours to read.
      if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, portid_)) {
        continue;
      }
      switch (nlh->nlmsg_type) {
        case NLMSG_NOOP: continue;
        case NLMSG_OVERRUN: return fail(Errc::no_space, "netlink: the answer overran");
        case NLMSG_ERROR: {
          Error e = error_from(nlh);
          if (e.is_errno(0)) {
            return answer;  // the ACK that ends a request
          }
          return fail(std::move(e));
        }
        case NLMSG_DONE: {
          // A dump's end; it carries an errno when the dump itself failed.
          int status = 0;
          if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(status)) {
            std::memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
          }
          if (status < 0) {
            return fail_errno("netlink: dump", -status);
          }
          return answer;
        }
        default: {
          const auto* first = static_cast<const std::byte*>(static_cast<const void*>(nlh));
          answer.emplace_back(first, first + nlh->nlmsg_len);
        }
      }
    }
  }
}

}  // namespace etherpath::datapath::netlink
