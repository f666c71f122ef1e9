// The threaded PCP client: one thread receives answers and runs timers, one listens for
// ANNOUNCEs; callers' requests go out at once from their own thread under the same lock.
#include "pcp/client.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "base/udp_transport.hpp"

namespace etherpath::pcp {
namespace {

// How long a receive may block before the thread looks at new deadlines and the stop flag.
constexpr auto kPollSlice = std::chrono::milliseconds(100);

}  // namespace

struct Handle::Impl {
  std::unique_ptr<DatagramTransport> transport;
  std::unique_ptr<DatagramTransport> announce;
  std::unique_ptr<RandomSource> random;
  const Clock* clock = nullptr;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::optional<Session> session;
  std::map<MappingId, std::deque<Alert>> alerts;
  std::vector<std::string> warnings;
  std::atomic<bool> stop{false};
  std::thread worker;
  std::thread listener;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;
  ~Impl() { shutdown(); }

  void shutdown() {
    stop = true;
    if (worker.joinable()) {
      worker.join();
    }
    if (listener.joinable()) {
      listener.join();
    }
  }

  // Moves the session's new alerts to the handles' queues and wakes waiters. Lock held.
  void collect() {
    for (auto& [id, queue] : alerts) {
      for (auto& a : session->take_alerts(id)) {
        queue.push_back(std::move(a));
      }
    }
    cv.notify_all();
  }

  void warn(const std::string& w) {
    if (warnings.size() < 16) {
      warnings.push_back(w);
    }
  }

  void receive_loop(DatagramTransport& from, bool runs_timers) {
    std::array<std::uint8_t, kMaxMessageSize + 4> buffer{};
    while (!stop) {
      Clock::Duration wait = kPollSlice;
      if (runs_timers) {
        const std::lock_guard lock(mu);
        session->on_timer();
        collect();
        if (auto deadline = session->next_deadline()) {
          wait = std::clamp<Clock::Duration>(*deadline - clock->now(), Clock::Duration::zero(),
                                             kPollSlice);
        }
      }
      auto got = from.recv_from(as_writable(std::span<std::uint8_t>(buffer)), wait);
      if (!got) {
        if (!got.error().is(Errc::timeout) && !got.error().is_errno(EINTR)) {
          const std::lock_guard lock(mu);
          warn(got.error().message());
          std::this_thread::sleep_for(kPollSlice);  // a broken socket must not spin
        }
        continue;
      }
      const std::lock_guard lock(mu);
      // A datagram over 1100 bytes is not PCP; hand over what fits and let the decoder say so.
      session->on_datagram(std::span<const std::uint8_t>(buffer.data(), got->size), got->from);
      collect();
    }
  }

  Result<MappingHandle> track(std::shared_ptr<Impl> self, Result<MappingId> id) {
    if (!id) {
      return fail(std::move(id).error());
    }
    alerts[*id];
    collect();
    return MappingHandle(std::move(self), *id);
  }
};

Result<Handle> Client::start(const IpAddress& client, const IpAddress& server,
                             ClientOptions options) {
  auto impl = std::make_shared<Handle::Impl>();
  impl->clock = options.clock != nullptr ? options.clock : &SteadyClock::instance();
  impl->random = options.random ? std::move(options.random) : std::make_unique<SystemRandom>();
  if (options.transport) {
    impl->transport = std::move(options.transport);
  } else {
    EP_TRY(auto udp, UdpTransport::open(IpEndpoint{client, 0}));
    impl->transport = std::make_unique<UdpTransport>(std::move(udp));
  }
  if (options.announce_transport) {
    impl->announce = std::move(options.announce_transport);
  } else if (options.listen_announce) {
    // All-hosts groups (§14.1.3); SO_REUSEADDR so several clients on a host all hear them.
    const auto group =
        client.is_v4() ? IpAddress::v4(0xe0000001U) : IpAddress::parse("ff02::1").value();
    auto udp = UdpTransport::open(
        IpEndpoint{IpAddress::any(client.family()), kAnnouncePort},
        UdpTransportOptions{
            .reuse_address = true, .multicast_group = group, .multicast_interface = client});
    if (udp) {
      impl->announce = std::make_unique<UdpTransport>(std::move(*udp));
    } else {
      impl->warn(
          fmt::format("no ANNOUNCE listener on port {}: {}", kAnnouncePort, udp.error().message()));
    }
  }
  impl->session.emplace(SessionConfig{.client = client,
                                      .server = IpEndpoint{server, options.server_port},
                                      .timers = options.timers},
                        *impl->transport, *impl->clock, *impl->random);
  Handle::Impl* raw = impl.get();  // threads borrow; the handles own (joined in ~Impl)
  impl->worker = std::thread([raw] { raw->receive_loop(*raw->transport, true); });
  if (impl->announce) {
    impl->listener = std::thread([raw] { raw->receive_loop(*raw->announce, false); });
  }
  return Handle(std::move(impl));
}

Result<MappingHandle> Handle::request(const InboundMap& map, RequestType type) {
  const std::lock_guard lock(impl_->mu);
  return impl_->track(impl_, impl_->session->request(map, type));
}

Result<MappingHandle> Handle::request(const OutboundMap& map, RequestType type) {
  const std::lock_guard lock(impl_->mu);
  return impl_->track(impl_, impl_->session->request(map, type));
}

Result<MappingHandle> Handle::request(const Announce& announce) {
  const std::lock_guard lock(impl_->mu);
  return impl_->track(impl_, impl_->session->request(announce));
}

std::vector<std::string> Handle::warnings() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->warnings;
}

SessionStats Handle::stats() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->session->stats();
}

IpEndpoint Handle::local_endpoint() const {
  return impl_->transport->local_endpoint();
}

void Handle::shutdown() {
  impl_->shutdown();
}

State MappingHandle::state() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->session->state(id_);
}

Nonce MappingHandle::nonce() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->session->nonce(id_);
}

std::optional<Assignment> MappingHandle::assignment() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->session->assignment(id_);
}

std::optional<Failure> MappingHandle::failure() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->session->failure(id_);
}

Status MappingHandle::renew(std::chrono::seconds lifetime) {
  const std::lock_guard lock(impl_->mu);
  auto s = impl_->session->renew(id_, lifetime);
  impl_->collect();
  return s;
}

Status MappingHandle::revoke() {
  const std::lock_guard lock(impl_->mu);
  auto s = impl_->session->revoke(id_);
  impl_->collect();
  return s;
}

std::optional<Alert> MappingHandle::poll_alert() {
  const std::lock_guard lock(impl_->mu);
  auto& queue = impl_->alerts[id_];
  if (queue.empty()) {
    return std::nullopt;
  }
  Alert a = std::move(queue.front());
  queue.pop_front();
  return a;
}

std::optional<Alert> MappingHandle::wait_alert(Clock::Duration timeout) {
  std::unique_lock lock(impl_->mu);
  auto& queue = impl_->alerts[id_];
  if (!impl_->cv.wait_for(lock, timeout, [&] { return !queue.empty(); })) {
    return std::nullopt;
  }
  Alert a = std::move(queue.front());
  queue.pop_front();
  return a;
}

}  // namespace etherpath::pcp
