// Helpers for pkthere's integration tests: a batched UDP echo server, a UDP client with
// deadlines, a pkthere run that reports its listening port, and the stats JSON of its output.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/ip_address.hpp"
#include "base/unique_fd.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::relay::testing {

inline UniqueFd udp_socket(const IpEndpoint& bind_to, int rcvbuf = 0) {
  UniqueFd fd(::socket(bind_to.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (rcvbuf > 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  }
  sockaddr_storage ss{};
  const socklen_t len = bind_to.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
    return UniqueFd{};
  }
  return fd;
}

inline IpEndpoint local_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);                        // NOLINT
  return IpEndpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value();  // NOLINT
}

inline bool send_to(int fd, const IpEndpoint& to, std::string_view data) {
  sockaddr_storage ss{};
  const socklen_t len = to.to_sockaddr(ss);
  return ::sendto(fd, data.data(), data.size(), 0,
                  reinterpret_cast<const sockaddr*>(&ss),  // NOLINT
                  len) == static_cast<ssize_t>(data.size());
}

struct Received {
  std::string data;
  IpEndpoint from;
};

// One datagram within `timeout`, or nullopt.
inline std::optional<Received> receive(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
    return std::nullopt;
  }
  std::string buf(70000, '\0');
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&ss), &len);  // NOLINT
  if (n < 0) {
    return std::nullopt;
  }
  buf.resize(static_cast<std::size_t>(n));
  return Received{
      buf, IpEndpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value()};  // NOLINT
}

// Echoes every datagram back to its sender, in batches, until destroyed.
class UdpEchoServer {
 public:
  explicit UdpEchoServer(const IpAddress& address)
      : fd_(udp_socket(IpEndpoint{address, 0}, 4 << 20)) {
    endpoint_ = local_endpoint(fd_.get());
    thread_ = std::thread([this] { loop(); });
  }
  UdpEchoServer(const UdpEchoServer&) = delete;
  UdpEchoServer& operator=(const UdpEchoServer&) = delete;
  UdpEchoServer(UdpEchoServer&&) = delete;
  UdpEchoServer& operator=(UdpEchoServer&&) = delete;
  ~UdpEchoServer() {
    stop_ = true;
    thread_.join();
  }
  [[nodiscard]] IpEndpoint endpoint() const { return endpoint_; }
  [[nodiscard]] std::uint64_t echoed() const { return echoed_.load(); }

 private:
  void loop() {
    constexpr std::size_t kBatch = 64;
    std::vector<std::string> bufs(kBatch, std::string(65536, '\0'));
    std::vector<iovec> iov(kBatch);
    std::vector<sockaddr_storage> names(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      for (std::size_t i = 0; i < kBatch; ++i) {
        iov[i] = iovec{bufs[i].data(), bufs[i].size()};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(fd_.get(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) {
        continue;
      }
      for (int i = 0; i < n; ++i) {
        iov[static_cast<std::size_t>(i)].iov_len = msgs[static_cast<std::size_t>(i)].msg_len;
      }
      const int sent = ::sendmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(n), 0);
      if (sent > 0) {
        echoed_ += static_cast<std::uint64_t>(sent);
      }
    }
  }

  UniqueFd fd_;
  IpEndpoint endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> echoed_{0};
  std::thread thread_;
};

// A pkthere child process; as root it runs with --user nobody (pkthere requires it).
class PkthereRun {
 public:
  // `launcher` goes before the binary (e.g. {"nice", "-n", "-10"}).
  static std::optional<PkthereRun> start(std::vector<std::string> args,
                                         const etherpath::testing::NetNs* ns = nullptr,
                                         std::vector<std::string> launcher = {}) {
    args.insert(args.begin(), PKTHERE_BINARY);
    args.insert(args.begin(), launcher.begin(), launcher.end());
    if (etherpath::testing::running_as_root()) {
      args.insert(args.end(), {"--user", "nobody"});
    }
    auto p = etherpath::testing::Process::spawn(args, ns);
    if (!p) {
      ADD_FAILURE() << p.error();
      return std::nullopt;
    }
    PkthereRun run(std::move(p).value());
    auto out = run.process.wait_for_output("Listening on ", std::chrono::seconds(5));
    if (!out) {
      ADD_FAILURE() << "no Listening line: " << run.process.out() << run.process.err();
      return std::nullopt;
    }
    // "Listening on UDP:127.0.0.1:40000, forwarding ..." -> the endpoint after "PROTO:".
    const auto at = out->find("Listening on ") + 13;
    const auto colon = out->find(':', at);
    const auto comma = out->find(',', colon);
    auto ep = IpEndpoint::parse(out->substr(colon + 1, comma - colon - 1));
    if (!ep) {
      ADD_FAILURE() << ep.error();
      return std::nullopt;
    }
    run.listen = *ep;
    return run;
  }

  // The last stats line of stdout.
  [[nodiscard]] nlohmann::json last_stats() const {
    const std::string out = process.out();
    std::size_t end = out.size();
    while (end > 0) {
      const auto start = out.rfind('\n', end - 1);
      const std::size_t from = start == std::string::npos ? 0 : start + 1;
      if (out.compare(from, 1, "{") == 0) {
        return nlohmann::json::parse(out.substr(from, end - from));
      }
      if (start == std::string::npos) {
        break;
      }
      end = start;
    }
    return {};
  }

  etherpath::testing::Process process;
  IpEndpoint listen;

 private:
  explicit PkthereRun(etherpath::testing::Process p) : process(std::move(p)) {}
};

}  // namespace etherpath::relay::testing
