// Namespaces, veth pairs and child processes for privileged tests (see netns.hpp).
#include "tests/support/netns.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/unique_fd.hpp"

namespace etherpath::testing {
namespace {

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `ip netns exec` gives the command a fresh /sys without bpffs; mount it for each command.
std::string with_bpffs(const std::string& cmd) {
  return "{ mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; } 2>/dev/null; " + cmd;
}

Result<MacAddress> read_mac(const std::string& ns, const std::string& ifname) {
  EP_TRY(auto out, run(fmt::format("ip -n {} -o link show dev {}", ns, ifname)));
  const auto at = out.find("link/ether ");
  if (at == std::string::npos) {
    return fail(Errc::not_found, fmt::format("no MAC on {} in {}", ifname, ns));
  }
  return MacAddress::parse(std::string_view(out).substr(at + 11, 17));
}

}  // namespace

bool running_as_root() {
  return ::geteuid() == 0;
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  // 5 chars of prefix, 5 hex digits of pid, up to 5 hex digits of counter: <= 15.
  const unsigned pid = static_cast<unsigned>(::getpid()) & 0xfffffU;
  return fmt::format("{}{:05x}{:x}", prefix.substr(0, 5), pid, counter.fetch_add(1) & 0xfffffU);
}

Result<std::string> run(const std::string& shell_command) {
  std::array<int, 2> out_pipe{};
  std::array<int, 2> err_pipe{};
  if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0 || ::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    return fail_errno("pipe");
  }
  UniqueFd out_r(out_pipe[0]);
  UniqueFd out_w(out_pipe[1]);
  UniqueFd err_r(err_pipe[0]);
  UniqueFd err_w(err_pipe[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return fail_errno("fork");
  }
  if (pid == 0) {
    ::dup2(out_w.get(), STDOUT_FILENO);
    ::dup2(err_w.get(), STDERR_FILENO);
    ::execl("/bin/sh", "sh", "-c", shell_command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  out_w.reset();
  err_w.reset();
  std::string out;
  std::string err;
  std::array<pollfd, 2> fds{{{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}}};
  std::array<char, 4096> buf{};
  int open_streams = 2;
  while (open_streams > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
        if (n <= 0) {
          fds[i].fd = -1;
          --open_streams;
        } else {
          (i == 0 ? out : err).append(buf.data(), static_cast<std::size_t>(n));
        }
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!err.empty() && err.back() == '\n') {
      err.pop_back();
    }
    return fail(Errc::invalid_argument,
                fmt::format("`{}` failed (status {}): {}", shell_command,
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), err));
  }
  return out;
}

Result<NetNs> NetNs::create(std::string_view prefix) {
  std::string name = unique_name(prefix);
  EP_TRY(auto added, run("ip netns add " + name));
  (void)added;
  NetNs ns(std::move(name));  // from here on the destructor removes it
  EP_TRY(auto up, run(fmt::format("ip -n {} link set lo up", ns.name_)));
  (void)up;
  return ns;
}

NetNs& NetNs::operator=(NetNs&& other) noexcept {
  if (this != &other) {
    if (!name_.empty()) {
      (void)run("ip netns del " + name_);
    }
    name_ = std::move(other.name_);
    other.name_.clear();
  }
  return *this;
}

NetNs::~NetNs() {
  if (!name_.empty()) {
    // Processes still inside keep the namespace alive, but its name is gone either way.
    (void)run("ip netns del " + name_);
  }
}

Result<std::string> NetNs::exec(const std::string& shell_command) const {
  return run(exec_prefix() + "sh -c " + shell_quote(with_bpffs(shell_command)));
}

Status NetNs::enter_this_thread() const {
  const std::string path = "/run/netns/" + name_;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return fail_errno("open " + path);
  }
  if (::setns(fd.get(), CLONE_NEWNET) != 0) {
    return fail_errno("setns " + name_);
  }
  return ok();
}

Result<VethPair> VethPair::create(const NetNs& ns_a, const NetNs& ns_b, VethOptions options) {
  VethPair v;
  v.ns_a_ = ns_a.name();
  v.ns_b_ = ns_b.name();
  v.a_ = unique_name("va");
  v.b_ = unique_name("vb");
  const std::string q = options.queues > 1
                            ? fmt::format(" numtxqueues {0} numrxqueues {0}", options.queues)
                            : std::string();
  EP_TRY(auto made, run(fmt::format("ip -n {} link add {}{} type veth peer name {}{} netns {}",
                                    v.ns_a_, v.a_, q, v.b_, q, v.ns_b_)));
  (void)made;
  VethPair owned(std::move(v));  // from here on the destructor deletes it
  EP_TRY(auto up_a,
         run(fmt::format("ip -n {} link set {} mtu {} up", owned.ns_a_, owned.a_, options.mtu)));
  EP_TRY(auto up_b,
         run(fmt::format("ip -n {} link set {} mtu {} up", owned.ns_b_, owned.b_, options.mtu)));
  (void)up_a;
  (void)up_b;
  EP_TRY(owned.mac_a_, read_mac(owned.ns_a_, owned.a_));
  EP_TRY(owned.mac_b_, read_mac(owned.ns_b_, owned.b_));
  return owned;
}

VethPair::VethPair(VethPair&& other) noexcept
    : ns_a_(std::move(other.ns_a_)),
      ns_b_(std::move(other.ns_b_)),
      a_(std::move(other.a_)),
      b_(std::move(other.b_)),
      mac_a_(other.mac_a_),
      mac_b_(other.mac_b_) {
  other.a_.clear();
}

VethPair::~VethPair() {
  if (!a_.empty()) {
    // Fails harmlessly when a test already deleted it (fault tests do).
    (void)run(fmt::format("ip -n {} link del {} 2>/dev/null", ns_a_, a_));
  }
}

Result<Process> Process::spawn(std::vector<std::string> argv, const NetNs* ns) {
  if (argv.empty()) {
    return fail(Errc::invalid_argument, "spawn: empty argv");
  }
  Process p;
  std::array<char, 32> out_tmpl{"/tmp/ep-proc-out-XXXXXX"};
  std::array<char, 32> err_tmpl{"/tmp/ep-proc-err-XXXXXX"};
  UniqueFd out_fd(::mkstemp(out_tmpl.data()));
  UniqueFd err_fd(::mkstemp(err_tmpl.data()));
  if (!out_fd || !err_fd) {
    return fail_errno("mkstemp");
  }
  p.out_path_ = out_tmpl.data();
  p.err_path_ = err_tmpl.data();
  UniqueFd ns_fd;
  if (ns != nullptr) {
    ns_fd.reset(::open(("/run/netns/" + ns->name()).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns_fd) {
      return fail_errno("open netns " + ns->name());
    }
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return fail_errno("fork");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(126);
    }
    if (ns_fd && ::setns(ns_fd.get(), CLONE_NEWNET) != 0) {
      ::_exit(125);
    }
    ::dup2(out_fd.get(), STDOUT_FILENO);
    ::dup2(err_fd.get(), STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  p.pid_ = pid;
  return p;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(other.status_),
      out_path_(std::move(other.out_path_)),
      err_path_(std::move(other.err_path_)) {
  other.out_path_.clear();
  other.err_path_.clear();
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    signal(SIGTERM);
    if (!wait_for(std::chrono::seconds(2))) {
      signal(SIGKILL);
      (void)wait_for(std::chrono::seconds(5));
    }
  }
  if (!out_path_.empty()) {
    ::unlink(out_path_.c_str());
  }
  if (!err_path_.empty()) {
    ::unlink(err_path_.c_str());
  }
}

bool Process::running() {
  if (status_ || pid_ <= 0) {
    return false;
  }
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

Result<int> Process::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::timeout, fmt::format("pid {} still running", pid_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!status_) {
    return fail(Errc::not_found, "process was never started");
  }
  return *status_;
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, sig);
  }
}

Result<std::string> Process::wait_for_output(std::string_view needle,
                                             std::chrono::milliseconds timeout,
                                             bool on_stderr) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::string text = on_stderr ? err() : out();
    if (text.find(needle) != std::string::npos) {
      return text;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::timeout, fmt::format("'{}' not seen; output so far: {}", needle, text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Process::out() const {
  return read_file(out_path_);
}
std::string Process::err() const {
  return read_file(err_path_);
}

}  // namespace etherpath::testing
