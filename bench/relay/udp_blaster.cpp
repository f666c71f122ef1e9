// udp_blaster: a sendmmsg UDP generator for the relay benchmark. Sends fixed-size datagrams to
// one destination from one source for a duration and prints what it sent.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/ip_address.hpp"
#include "base/unique_fd.hpp"

int run(int argc, char** argv) {
  using namespace etherpath;
  CLI::App app{"udp_blaster: sendmmsg UDP generator (relay benchmark)", "udp_blaster"};
  std::string dst_text;
  std::string src_text = "0.0.0.0:0";
  unsigned frame = 64;
  double seconds = 5;
  unsigned batch = 64;
  app.add_option("--dst", dst_text, "destination IP:PORT")->required();
  app.add_option("--src", src_text, "source IP:PORT (fixed, so the relay sees one client)");
  app.add_option("--frame", frame, "Ethernet frame size without FCS (64 -> 18-byte payload)");
  app.add_option("--seconds", seconds, "how long to send");
  app.add_option("--batch", batch, "datagrams per sendmmsg")->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);
  auto dst = IpEndpoint::parse(dst_text);
  auto src = IpEndpoint::parse(src_text);
  if (!dst || !src) {
    fmt::print(stderr, "{}\n", dst ? src.error().message() : dst.error().message());
    return 2;
  }
  const unsigned headers = 14 + (dst->address.is_v4() ? 20 : 40) + 8;
  const std::size_t payload = frame > headers ? frame - headers : 0;
  UniqueFd fd(::socket(dst->address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, 0));
  sockaddr_storage local{};
  const socklen_t local_len = src->to_sockaddr(local);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), local_len) != 0) {  // NOLINT
    std::perror("bind");
    return 1;
  }
  sockaddr_storage remote{};
  const socklen_t remote_len = dst->to_sockaddr(remote);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), remote_len) != 0) {  // NOLINT
    std::perror("connect");
    return 1;
  }
  std::vector<char> data(payload, 'b');
  std::vector<iovec> iov(batch, iovec{data.data(), data.size()});
  std::vector<mmsghdr> msgs(batch);
  for (unsigned i = 0; i < batch; ++i) {
    msgs[i].msg_hdr = msghdr{};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < stop) {
    const int n = ::sendmmsg(fd.get(), msgs.data(), batch, 0);
    if (n > 0) {
      sent += static_cast<std::uint64_t>(n);
    } else {
      ++errors;  // ECONNREFUSED after an ICMP error, ENOBUFS: keep going
    }
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("sent={} pps={:.0f} payload={} errors={}\n", sent, static_cast<double>(sent) / took,
             payload, errors);
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
