// udp_rtt: UDP ping-pong with one datagram outstanding (RTT p50/p99 in microseconds), and the
// matching echo server (--echo) for the upstream side of the relay benchmark.
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/ip_address.hpp"
#include "base/unique_fd.hpp"

namespace {

using namespace etherpath;

UniqueFd bound_socket(const IpEndpoint& local) {
  UniqueFd fd(::socket(local.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, 0));
  sockaddr_storage ss{};
  const socklen_t len = local.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {  // NOLINT
    std::perror("bind");
    return UniqueFd{};
  }
  return fd;
}

int echo(const IpEndpoint& at) {
  UniqueFd fd = bound_socket(at);
  if (!fd) {
    return 1;
  }
  std::vector<char> buf(65536);
  while (true) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd.get(), buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &len);  // NOLINT
    if (n >= 0) {
      ::sendto(fd.get(), buf.data(), static_cast<std::size_t>(n), 0,
               reinterpret_cast<sockaddr*>(&from), len);  // NOLINT
    }
  }
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"udp_rtt: UDP ping-pong RTT client, or its echo server (relay benchmark)",
               "udp_rtt"};
  std::string dst_text;
  std::string src_text = "0.0.0.0:0";
  std::string echo_text;
  unsigned count = 2000;
  unsigned size = 18;
  app.add_option("--dst", dst_text, "where to ping (IP:PORT)");
  app.add_option("--src", src_text, "source IP:PORT");
  app.add_option("--echo", echo_text, "run as the echo server on IP:PORT instead");
  app.add_option("--count", count, "round trips");
  app.add_option("--size", size, "payload bytes");
  CLI11_PARSE(app, argc, argv);
  if (!echo_text.empty()) {
    auto at = IpEndpoint::parse(echo_text);
    return at ? echo(*at) : 2;
  }
  auto dst = IpEndpoint::parse(dst_text);
  auto src = IpEndpoint::parse(src_text);
  if (!dst || !src) {
    fmt::print(stderr, "--dst/--src: bad endpoint\n");
    return 2;
  }
  UniqueFd fd = bound_socket(*src);
  sockaddr_storage remote{};
  const socklen_t remote_len = dst->to_sockaddr(remote);
  if (!fd ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), remote_len) != 0) {  // NOLINT
    std::perror("connect");
    return 1;
  }
  std::vector<char> out(size, 'r');
  std::vector<char> in(65536);
  std::vector<double> rtts;
  rtts.reserve(count);
  unsigned lost = 0;
  for (unsigned i = 0; i < count; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::send(fd.get(), out.data(), out.size(), 0) < 0) {
      ++lost;
      continue;
    }
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0 || ::recv(fd.get(), in.data(), in.size(), 0) < 0) {
      ++lost;
      continue;
    }
    rtts.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  if (rtts.empty()) {
    fmt::print("rtt_p50_us=nan rtt_p99_us=nan lost={}\n", lost);
    return 1;
  }
  std::sort(rtts.begin(), rtts.end());
  const auto at = [&](double q) {
    return rtts[std::min(rtts.size() - 1,
                         static_cast<std::size_t>(q * static_cast<double>(rtts.size())))];
  };
  fmt::print("rtt_p50_us={:.1f} rtt_p99_us={:.1f} lost={}\n", at(0.50), at(0.99), lost);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
