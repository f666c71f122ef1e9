// Test support for privileged tests: network namespaces, veth pairs and child processes, each an
// RAII owner with a name unique to this run, removed in its destructor (also when a test fails).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/mac_address.hpp"
#include "base/result.hpp"

namespace etherpath::testing {

// Creating namespaces, veths and XDP attachments needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
bool running_as_root();

// Skips the current GoogleTest test, with the reason, unless the test runs as root.
#define EP_SKIP_UNLESS_ROOT()                                                                 \
  do {                                                                                        \
    if (!::etherpath::testing::running_as_root()) {                                           \
      GTEST_SKIP() << "needs root to create network namespaces and veth pairs (run as root)"; \
    }                                                                                         \
  } while (false)

// prefix + pid + counter, at most 15 characters (IFNAMSIZ - 1), unique within this run and
// across concurrently running test processes.
std::string unique_name(std::string_view prefix);

// Runs `/bin/sh -c shell_command`; returns its stdout, or an error with its exit status and stderr.
Result<std::string> run(const std::string& shell_command);

// A network namespace (`ip netns add`), loopback up. Commands run in it through exec() see a
// bpffs at /sys/fs/bpf: `ip netns exec` mounts a fresh /sys without one, so exec() mounts it.
class NetNs {
 public:
  static Result<NetNs> create(std::string_view prefix = "ep");
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;
  NetNs(NetNs&& other) noexcept : name_(std::move(other.name_)) { other.name_.clear(); }
  NetNs& operator=(NetNs&& other) noexcept;
  ~NetNs();

  [[nodiscard]] const std::string& name() const { return name_; }
  // `ip netns exec NAME` with bpffs mounted, then `sh -c shell_command`; returns stdout.
  [[nodiscard]] Result<std::string> exec(const std::string& shell_command) const;
  // "ip netns exec NAME " for composing commands that do not need bpffs.
  [[nodiscard]] std::string exec_prefix() const { return "ip netns exec " + name_ + " "; }
  // Moves the calling thread into this namespace (setns CLONE_NEWNET). Threads it creates later
  // inherit it; sockets it opens stay in it. Use it on a thread of its own (see in_netns).
  [[nodiscard]] Status enter_this_thread() const;

 private:
  explicit NetNs(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

struct VethOptions {
  unsigned queues = 1;  // numtxqueues/numrxqueues on both ends
  unsigned mtu = 1500;
};

// One veth pair: end a in ns_a, end b in ns_b, both up. Deleted in the destructor (deleting one
// end deletes both). Declare it after the NetNs objects it lives in, so it goes first.
class VethPair {
 public:
  static Result<VethPair> create(const NetNs& ns_a, const NetNs& ns_b, VethOptions options = {});
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;
  VethPair(VethPair&& other) noexcept;
  VethPair& operator=(VethPair&& other) noexcept = delete;
  ~VethPair();

  [[nodiscard]] const std::string& a() const { return a_; }
  [[nodiscard]] const std::string& b() const { return b_; }
  [[nodiscard]] const std::string& ns_a() const { return ns_a_; }
  [[nodiscard]] const std::string& ns_b() const { return ns_b_; }
  [[nodiscard]] MacAddress mac_a() const { return mac_a_; }
  [[nodiscard]] MacAddress mac_b() const { return mac_b_; }

 private:
  VethPair() = default;
  std::string ns_a_, ns_b_, a_, b_;
  MacAddress mac_a_, mac_b_;
};

// Runs fn inside ns on a fresh thread and returns what it returns. Sockets, AF_XDP sockets and
// XDP attachments made inside fn stay in ns. If entering the namespace fails, the test fails
// with the reason and fn's return type is default-constructed where possible.
template <typename F>
auto in_netns(const NetNs& ns, F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  Status entered;
  if constexpr (std::is_void_v<R>) {
    std::thread t([&] {
      entered = ns.enter_this_thread();
      if (entered) {
        fn();
      }
    });
    t.join();
  } else {
    std::optional<R> out;
    std::thread t([&] {
      entered = ns.enter_this_thread();
      if (entered) {
        out.emplace(fn());
      }
    });
    t.join();
    if (!out) {
      if constexpr (std::is_constructible_v<R, Unexpected>) {
        return R(fail(entered.error()));
      } else {
        return R{};
      }
    }
    return std::move(*out);
  }
}

// A child process, optionally inside a namespace. stdout and stderr go to files that out()/err()
// read at any time. The destructor sends SIGTERM, then SIGKILL after 2 s, and reaps it (by PID).
// The child also gets SIGKILL if the test process dies first (PR_SET_PDEATHSIG).
class Process {
 public:
  static Result<Process> spawn(std::vector<std::string> argv, const NetNs* ns = nullptr);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept = delete;
  ~Process();

  [[nodiscard]] pid_t pid() const { return pid_; }
  // The exit status (or 128 + signal number) once the process ended within `timeout`.
  [[nodiscard]] Result<int> wait_for(std::chrono::milliseconds timeout);
  // True while it has not been reaped.
  [[nodiscard]] bool running();
  void signal(int sig) const;
  // Waits until stdout (or stderr) contains `needle`; returns the whole stream then.
  [[nodiscard]] Result<std::string> wait_for_output(std::string_view needle,
                                                    std::chrono::milliseconds timeout,
                                                    bool on_stderr = false) const;
  [[nodiscard]] std::string out() const;
  [[nodiscard]] std::string err() const;

 private:
  Process() = default;
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

}  // namespace etherpath::testing
