// Attaching the steering program on a veth in a fresh namespace (label netns, root): the report,
// native and generic mode, a foreign program (clear error, nothing changed, or replaced when
// asked), a stale program of a SIGKILLed process (replaced), a live one (left alone), nothing of
// ours left after detach, and the dispatcher (skipped here, with the command that shows why).
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "bpf/steering_program.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::bpf {
namespace {

using namespace std::chrono_literals;
using testing::NetNs;
using testing::Process;
using testing::VethPair;

// "prog/xdp id 42 name etherpath_steer" from `ip link show`, or "" when nothing is attached.
std::string xdp_line(const NetNs& ns, const std::string& ifname) {
  auto out = testing::run(ns.exec_prefix() + "ip -d link show dev " + ifname);
  if (!out) {
    return "error: " + out.error().message();
  }
  const auto at = out->find("prog/xdp");
  if (at == std::string::npos) {
    return "";
  }
  return out->substr(at, out->find('\n', at) - at);
}

bool kernel_has_prog(std::uint32_t id) {
  return static_cast<bool>(testing::run("bpftool prog show id " + std::to_string(id) + " 2>&1"));
}

bool kernel_has_map(std::uint32_t id) {
  return static_cast<bool>(testing::run("bpftool map show id " + std::to_string(id) + " 2>&1"));
}

class SteerAttach : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("epba");
    ASSERT_TRUE(a) << a.error();
    auto b = NetNs::create("epbb");
    ASSERT_TRUE(b) << b.error();
    ns_a_.emplace(std::move(a).value());
    ns_b_.emplace(std::move(b).value());
    auto veth = VethPair::create(*ns_a_, *ns_b_);
    ASSERT_TRUE(veth) << veth.error();
    veth_.emplace(std::move(veth).value());
  }
  void TearDown() override {
    veth_.reset();
    ns_b_.reset();
    ns_a_.reset();
  }

  Result<SteeringProgram> attach(SteeringOptions options = {}) {
    return testing::in_netns(*ns_a_, [&] { return SteeringProgram::attach(veth_->a(), options); });
  }
  [[nodiscard]] std::string xdp() const { return xdp_line(*ns_a_, veth_->a()); }

  std::optional<NetNs> ns_a_, ns_b_;
  std::optional<VethPair> veth_;
};

TEST_F(SteerAttach, AttachesNativeAndReportsHow) {
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_TRUE(program->attached());
  EXPECT_EQ(program->mode(), XdpMode::native);
  EXPECT_GE(program->xsks_map_fd(), 0);
  const std::string report = program->describe_attach();
  EXPECT_EQ(report.rfind("native XDP, ", 0), 0U) << report;
  if (program->attach_path() == AttachPath::single_program) {
    // libxdp's dispatcher is refused on this kernel (see DispatcherPath below).
    EXPECT_NE(report.find("single program (dispatcher refused: "), std::string::npos) << report;
  }
  const std::string line = xdp();
  EXPECT_NE(line.find("name etherpath_steer"), std::string::npos) << line;
  EXPECT_NE(line.find("id " + std::to_string(program->program_id())), std::string::npos) << line;
}

TEST_F(SteerAttach, GenericWhenForced) {
  SteeringOptions options;  // (g++ 12 warns on designated initialisers that omit members)
  options.mode = XdpMode::generic;
  auto program = attach(options);
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(program->mode(), XdpMode::generic);
  EXPECT_EQ(program->describe_attach().rfind("generic XDP, ", 0), 0U) << program->describe_attach();
  auto link = testing::run(ns_a_->exec_prefix() + "ip link show dev " + veth_->a());
  ASSERT_TRUE(link);
  EXPECT_NE(link->find("xdpgeneric"), std::string::npos) << *link;
}

TEST_F(SteerAttach, NothingOfOursRemainsAfterDetach) {
  std::uint32_t prog_id = 0;
  std::uint32_t map_id = 0;
  {
    auto program = attach();
    ASSERT_TRUE(program) << program.error();
    prog_id = program->program_id();
    ASSERT_NE(prog_id, 0U);
    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    ASSERT_EQ(bpf_obj_get_info_by_fd(program->xsks_map_fd(), &info, &len), 0);
    map_id = info.id;
    ASSERT_TRUE(program->detach());
    EXPECT_EQ(xdp(), "");
    EXPECT_TRUE(program->detach()) << "detach is idempotent";
    EXPECT_TRUE(kernel_has_prog(prog_id)) << "still loaded until the owner goes";
  }
  // The kernel frees a program after an RCU grace period: wait up to a second.
  for (int i = 0; i < 20 && kernel_has_prog(prog_id); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(kernel_has_prog(prog_id)) << "program " << prog_id << " outlived its owner";
  // The destructor alone detaches too, also when destroyed outside the namespace.
  {
    auto program = attach();
    ASSERT_TRUE(program) << program.error();
    EXPECT_NE(xdp(), "");
  }
  EXPECT_EQ(xdp(), "");
  // The XSKMAP went with the program: nothing (no pin, no descriptor) kept it alive.
  for (int i = 0; i < 20 && kernel_has_map(map_id); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(kernel_has_map(map_id)) << "map " << map_id << " outlived its owner";
}

TEST_F(SteerAttach, ForeignProgramGivesAClearErrorAndChangesNothing) {
  ASSERT_TRUE(testing::run(ns_a_->exec_prefix() + "ip link set dev " + veth_->a() +
                           " xdp obj " EP_FOREIGN_XDP_OBJECT " sec xdp"));
  const std::string before = xdp();
  ASSERT_NE(before.find("name xdp_foreign"), std::string::npos) << before;

  auto refused = attach();
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::busy)) << refused.error();
  const std::string message = refused.error().message();
  EXPECT_NE(message.find("foreign XDP program 'xdp_foreign'"), std::string::npos) << message;
  EXPECT_NE(message.find(veth_->a()), std::string::npos) << message;
  EXPECT_NE(message.find("--xdp-replace"), std::string::npos) << message;
  EXPECT_EQ(xdp(), before) << "a refused attach must leave the foreign program as it was";

  // Asked explicitly, it replaces the foreign program.
  SteeringOptions replace;
  replace.replace_foreign = true;
  auto replaced = attach(replace);
  ASSERT_TRUE(replaced) << replaced.error();
  EXPECT_NE(replaced->describe_attach().find("replaced foreign program 'xdp_foreign'"),
            std::string::npos)
      << replaced->describe_attach();
  EXPECT_NE(xdp().find("name etherpath_steer"), std::string::npos) << xdp();
}

TEST_F(SteerAttach, StaleProgramOfAKilledProcessIsReplaced) {
  auto helper = Process::spawn({EP_STEER_ATTACH_HELPER, veth_->a()}, &*ns_a_);
  ASSERT_TRUE(helper) << helper.error();
  auto ready = helper->wait_for_output("attached:", 5s);
  ASSERT_TRUE(ready) << ready.error() << "\nstderr: " << helper->err();
  const pid_t pid = helper->pid();
  helper->signal(SIGKILL);
  ASSERT_TRUE(helper->wait_for(2s));
  // A SIGKILLed owner cannot detach: its program stays attached.
  const std::string stale = xdp();
  ASSERT_NE(stale.find("name etherpath_steer"), std::string::npos) << stale;

  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  const std::string report = program->describe_attach();
  EXPECT_NE(report.find("replaced a stale etherpath program"), std::string::npos) << report;
  EXPECT_NE(report.find("process " + std::to_string(pid)), std::string::npos) << report;
  EXPECT_NE(xdp(), stale) << "a new program replaced the stale one";
  EXPECT_NE(xdp().find("id " + std::to_string(program->program_id())), std::string::npos);
}

TEST_F(SteerAttach, ALiveEtherpathProgramIsLeftAlone) {
  auto helper = Process::spawn({EP_STEER_ATTACH_HELPER, veth_->a()}, &*ns_a_);
  ASSERT_TRUE(helper) << helper.error();
  auto ready = helper->wait_for_output("attached:", 5s);
  ASSERT_TRUE(ready) << ready.error() << "\nstderr: " << helper->err();
  const std::string before = xdp();

  auto refused = attach();
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::busy)) << refused.error();
  EXPECT_NE(refused.error().message().find("running process " + std::to_string(helper->pid())),
            std::string::npos)
      << refused.error();
  EXPECT_EQ(xdp(), before);

  // SIGTERM: the helper detaches on its way out.
  helper->signal(SIGTERM);
  auto status = helper->wait_for(3s);
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 0) << helper->err();
  EXPECT_EQ(xdp(), "");
}

TEST_F(SteerAttach, MountsBpffsWhenMissing) {
  // `ip netns exec` mounts a fresh /sys without bpffs: the helper must mount it itself. The
  // check runs in the same shell, so in the same mount namespace as the helper.
  const std::string script = "stat -f -c %T /sys/fs/bpf; " EP_STEER_ATTACH_HELPER " " + veth_->a() +
                             " --once && stat -f -c %T /sys/fs/bpf";
  auto out = testing::run("ip netns exec " + ns_a_->name() + " sh -c '" + script + "' 2>&1");
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->rfind("sysfs\n", 0), 0U) << *out;
  EXPECT_NE(out->find("attached: native XDP"), std::string::npos) << *out;
  EXPECT_NE(out->find("bpf_fs"), std::string::npos) << *out;
}

TEST_F(SteerAttach, BpffsThatCannotBeMountedIsAClearError) {
  auto out = testing::run(ns_a_->exec_prefix() + "env LIBXDP_BPFFS=/nonexistent/bpffs " +
                          EP_STEER_ATTACH_HELPER + " " + veth_->a() + " --once");
  ASSERT_FALSE(out) << "attached without a bpffs: " << *out;
  const std::string message = out.error().message();
  EXPECT_NE(message.find("bpffs is not mounted at /nonexistent/bpffs and mounting it failed"),
            std::string::npos)
      << message;
  EXPECT_EQ(xdp(), "") << "nothing attached";
}

TEST_F(SteerAttach, InterfaceDeletedUnderTheProgram) {
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  const std::uint32_t id = program->program_id();
  veth_.reset();  // deletes both ends, and with them the attachment
  // Nothing is left to detach: that is not an error, and the maps stay readable.
  auto detached = program->detach();
  EXPECT_TRUE(detached) << detached.error();
  EXPECT_TRUE(program->read_counters());
  program = fail(Errc::closed, "dropped");
  for (int i = 0; i < 20 && kernel_has_prog(id); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(kernel_has_prog(id));
}

TEST_F(SteerAttach, TheHostKeepsItsOwnTraffic) {
  // Steering is narrow: with emulated endpoints registered, the kernel behind the veth still
  // answers ARP and ping for its own address.
  ASSERT_TRUE(testing::run(ns_a_->exec_prefix() + "ip addr add 10.77.0.1/24 dev " + veth_->a()));
  ASSERT_TRUE(testing::run(ns_b_->exec_prefix() + "ip addr add 10.77.0.2/24 dev " + veth_->b()));
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  ASSERT_TRUE(program->add_l2({MacAddress::parse("02:00:00:00:77:10").value(), {}, 0x0800}));
  ASSERT_TRUE(program->add_owned({{}, IpAddress::parse("10.77.0.10").value()}));
  ASSERT_TRUE(program->add_multicast({{}, 0x0800}));
  auto before = program->read_counters();
  ASSERT_TRUE(before);
  auto ping = testing::run(ns_b_->exec_prefix() + "ping -c 3 -i 0.2 -W 1 10.77.0.1");
  ASSERT_TRUE(ping) << ping.error();
  EXPECT_NE(ping->find("3 received"), std::string::npos) << *ping;
  auto after = program->read_counters();
  ASSERT_TRUE(after);
  const Counters d = after->since(*before);
  EXPECT_GE(d[Counter::pass_neigh_not_owned], 1U) << "the host's ARP passed";
  EXPECT_GE(d[Counter::pass_unicast_miss], 3U) << "the echo requests passed";
  EXPECT_EQ(d[Counter::redirected] + d[Counter::no_socket], 0U) << "nothing was taken";
}

TEST_F(SteerAttach, UnknownInterfaceIsNotFound) {
  auto program = testing::in_netns(*ns_a_, [] { return SteeringProgram::attach("nosuchif0"); });
  ASSERT_FALSE(program);
  EXPECT_TRUE(program.error().is(Errc::not_found)) << program.error();
}

TEST_F(SteerAttach, DispatcherPath) {
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  if (program->attach_path() == AttachPath::single_program) {
    GTEST_SKIP() << "libxdp's dispatcher is refused on this kernel (" << program->describe_attach()
                 << "): libxdp's compatibility check cannot attach an freplace program "
                    "(loading it fails with EPERM), so it falls back to a single program. "
                    "Shown by: ip netns exec "
                 << ns_a_->name() << " " EP_STEER_ATTACH_HELPER " " << veth_->a()
                 << " --once --libxdp-debug  (prints \"Compatibility check for dispatcher "
                    "program failed: Operation not permitted\")";
  }
  EXPECT_EQ(program->describe_attach().find("libxdp dispatcher"), 8U) << program->describe_attach();
  auto line = testing::run(ns_a_->exec_prefix() + "ip link show dev " + veth_->a());
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("xdp_dispatcher"), std::string::npos) << *line;
}

}  // namespace
}  // namespace etherpath::bpf
