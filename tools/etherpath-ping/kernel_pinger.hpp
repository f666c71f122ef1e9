// KernelPinger: echoes through the host's own stack, as iputils ping does: an unprivileged ping
// socket (SOCK_DGRAM, IPPROTO_ICMP[V6]) where net.ipv4.ping_group_range admits our group, else a
// raw socket. Errors quoted by ICMP come from the socket's error queue (IP_RECVERR).
#pragma once

#include <array>
#include <memory>

#include "base/unique_fd.hpp"
#include "tools/etherpath-ping/pinger.hpp"

namespace etherpath::ping {

enum class SocketKind : std::uint8_t { automatic, ping, raw };

struct KernelPingerOptions {
  IpAddress destination;
  std::uint16_t identifier = 0;  // raw sockets only; the kernel picks a ping socket's
  SocketKind kind = SocketKind::automatic;
};

class KernelPinger final : public Pinger {
 public:
  static Result<std::unique_ptr<KernelPinger>> open(const KernelPingerOptions& options);

  Status send(std::uint16_t sequence, ConstBytes data) override;
  Result<std::optional<EchoEvent>> receive(std::chrono::milliseconds timeout) override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] bool raw() const { return raw_; }

 private:
  static constexpr std::size_t kMaxPacket = 65536 + 60;
  KernelPinger(UniqueFd fd, const KernelPingerOptions& options, bool raw, std::string why);
  Result<std::optional<EchoEvent>> read_error_queue();
  Result<std::optional<EchoEvent>> read_packet();

  UniqueFd fd_;
  KernelPingerOptions options_;
  bool raw_;
  bool v6_;
  std::string why_;  // why this kind of socket, for -v
  std::unique_ptr<std::array<std::byte, kMaxPacket>> buffer_;
};

}  // namespace etherpath::ping
