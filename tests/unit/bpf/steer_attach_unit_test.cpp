// SteeringProgram::attach's decisions and report against a fake libxdp (label unit: no
// privileges): dispatcher refused with EPERM, native refused, forced modes, foreign, stale and
// live etherpath programs, bpffs failures; plus the ABI forms of the typed keys.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "bpf/steering_program.hpp"

namespace etherpath::bpf {
namespace {

// An interface that exists without privileges: the fake never touches it.
constexpr const char* kIf = "lo";

class FakeBackend : public XdpBackend {
 public:
  // Knobs.
  int native_error = 0;  // errno native attach fails with (0 = works)
  int generic_error = 0;
  bool dispatcher_works = false;
  int dispatcher_errno = EPERM;  // what libxdp's compatibility check said
  bool bpffs_ok = true;
  std::set<std::uint32_t> live_pids;
  // State and the calls made, in order.
  std::optional<InterfaceXdp> attached;
  std::vector<std::string> calls;

  Status ensure_bpffs() override {
    calls.emplace_back("ensure_bpffs");
    if (!bpffs_ok) {
      return fail_errno("bpffs is not mounted at /sys/fs/bpf and mounting it failed", EPERM);
    }
    return ok();
  }
  Result<std::optional<InterfaceXdp>> query(int /*ifindex*/) override {
    calls.emplace_back("query");
    return attached;
  }
  int attach(xdp_program* /*prog*/, int /*ifindex*/, XdpMode mode) override {
    calls.push_back("attach " + std::string(to_string(mode)));
    const int err = mode == XdpMode::native ? native_error : generic_error;
    if (err != 0) {
      return -err;
    }
    InterfaceXdp state;
    state.mode = mode;
    state.path = dispatcher_works ? AttachPath::dispatcher : AttachPath::single_program;
    state.programs.push_back({EP_PROG_NAME, 1000, current_process_owner()});
    if (attached && attached->path == AttachPath::dispatcher) {
      for (const auto& p : attached->programs) {
        state.programs.push_back(p);
      }
    }
    attached = state;
    return 0;
  }
  int detach(xdp_program* /*prog*/, int /*ifindex*/, XdpMode mode) override {
    calls.push_back("detach " + std::string(to_string(mode)));
    attached.reset();
    return 0;
  }
  int detach_existing(int /*ifindex*/, std::uint32_t prog_id) override {
    calls.push_back("detach_existing " + std::to_string(prog_id));
    attached.reset();
    return 0;
  }
  int dispatcher_error() override { return dispatcher_works ? 0 : dispatcher_errno; }
  std::string take_messages() override { return {}; }
  bool owner_alive(const ProgramOwner& owner) override { return live_pids.contains(owner.pid); }

  void put_program(std::string name, std::uint32_t id, std::optional<ProgramOwner> owner,
                   AttachPath path = AttachPath::single_program) {
    InterfaceXdp state;
    state.path = path;
    state.programs.push_back({std::move(name), id, owner});
    attached = state;
  }
};

class SteerAttachReport : public ::testing::Test {
 protected:
  Result<SteeringProgram> attach(SteeringOptions options = {}) {
    options.backend = fake_;
    return SteeringProgram::attach(kIf, options);
  }
  std::shared_ptr<FakeBackend> fake_ = std::make_shared<FakeBackend>();
};

TEST_F(SteerAttachReport, DispatcherRefusedWithEpermFallsBackToASingleProgram) {
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(program->mode(), XdpMode::native);
  EXPECT_EQ(program->attach_path(), AttachPath::single_program);
  EXPECT_EQ(program->describe_attach(), "native XDP, single program (dispatcher refused: EPERM)");
  EXPECT_EQ(fake_->calls,
            (std::vector<std::string>{"ensure_bpffs", "query", "attach native", "query"}));
}

TEST_F(SteerAttachReport, DispatcherUsedWhereTheKernelAllowsIt) {
  fake_->dispatcher_works = true;
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(program->attach_path(), AttachPath::dispatcher);
  EXPECT_EQ(program->describe_attach(), "native XDP, libxdp dispatcher");
}

TEST_F(SteerAttachReport, NativeRefusedFallsBackToGeneric) {
  fake_->native_error = EOPNOTSUPP;
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(program->mode(), XdpMode::generic);
  EXPECT_EQ(program->describe_attach(),
            "generic XDP, single program (native refused: EOPNOTSUPP; dispatcher refused: EPERM)");
}

TEST_F(SteerAttachReport, AForcedModeIsTheOnlyOneTried) {
  fake_->native_error = EOPNOTSUPP;
  SteeringOptions options;
  options.mode = XdpMode::native;
  auto program = attach(options);
  ASSERT_FALSE(program);
  EXPECT_TRUE(program.error().is_errno(EOPNOTSUPP)) << program.error();
  EXPECT_NE(program.error().message().find("native refused: EOPNOTSUPP"), std::string::npos)
      << program.error();
  EXPECT_EQ(std::count(fake_->calls.begin(), fake_->calls.end(), "attach generic"), 0);

  options.mode = XdpMode::generic;
  auto generic = attach(options);
  ASSERT_TRUE(generic) << generic.error();
  EXPECT_EQ(generic->mode(), XdpMode::generic);
}

TEST_F(SteerAttachReport, ForeignProgramIsAClearErrorAndNothingChanges) {
  fake_->put_program("xdp_firewall", 42, std::nullopt);
  auto program = attach();
  ASSERT_FALSE(program);
  EXPECT_TRUE(program.error().is(Errc::busy));
  EXPECT_EQ(program.error().context(),
            "lo: a foreign XDP program 'xdp_firewall' (id 42, native mode) is attached; etherpath "
            "leaves it alone: detach it (ip link set dev lo xdp off) or ask to replace it "
            "(--xdp-replace)");
  EXPECT_EQ(fake_->calls, (std::vector<std::string>{"ensure_bpffs", "query"}))
      << "nothing may be attached or detached";
  ASSERT_TRUE(fake_->attached);
  EXPECT_EQ(fake_->attached->programs[0].name, "xdp_firewall");
}

TEST_F(SteerAttachReport, ForeignProgramIsReplacedWhenAsked) {
  fake_->put_program("xdp_firewall", 42, std::nullopt);
  SteeringOptions options;
  options.replace_foreign = true;
  auto program = attach(options);
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(program->describe_attach(),
            "native XDP, single program (dispatcher refused: EPERM); replaced foreign program "
            "'xdp_firewall' (id 42)");
}

TEST_F(SteerAttachReport, ForeignProgramInADispatcherIsKept) {
  fake_->dispatcher_works = true;
  fake_->put_program("xdp_firewall", 42, std::nullopt, AttachPath::dispatcher);
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(std::count(fake_->calls.begin(), fake_->calls.end(), "detach_existing 42"), 0);
  ASSERT_TRUE(fake_->attached);
  EXPECT_EQ(fake_->attached->programs.size(), 2U);
}

TEST_F(SteerAttachReport, StaleProgramOfADeadProcessIsReplaced) {
  fake_->put_program(EP_PROG_NAME, 77, ProgramOwner{4242, 99, EP_ABI_VERSION});
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_EQ(program->describe_attach(),
            "native XDP, single program (dispatcher refused: EPERM); replaced a stale etherpath "
            "program (id 77) of process 4242");
  EXPECT_EQ(fake_->calls, (std::vector<std::string>{"ensure_bpffs", "query", "detach_existing 77",
                                                    "attach native", "query"}));
}

TEST_F(SteerAttachReport, ProgramRecognisedByNameWithoutOwnerIsStale) {
  // E.g. loaded by `ip link set dev X xdp obj steer.bpf.o`: its owner record says pid 0.
  fake_->put_program(EP_PROG_NAME, 78, std::nullopt);
  auto program = attach();
  ASSERT_TRUE(program) << program.error();
  EXPECT_NE(program->describe_attach().find("replaced a stale etherpath program (id 78)"),
            std::string::npos);
}

TEST_F(SteerAttachReport, ProgramOfALiveEtherpathProcessIsLeftAlone) {
  fake_->put_program(EP_PROG_NAME, 79, ProgramOwner{4243, 99, EP_ABI_VERSION});
  fake_->live_pids.insert(4243);
  auto program = attach();
  ASSERT_FALSE(program);
  EXPECT_TRUE(program.error().is(Errc::busy));
  EXPECT_NE(program.error().message().find("in use by running process 4243"), std::string::npos)
      << program.error();
  EXPECT_EQ(fake_->calls, (std::vector<std::string>{"ensure_bpffs", "query"}));
}

TEST_F(SteerAttachReport, ASecondAttachInTheSameProcessIsRefused) {
  fake_->put_program(EP_PROG_NAME, 80, current_process_owner());
  auto program = attach();
  ASSERT_FALSE(program);
  EXPECT_TRUE(program.error().is(Errc::busy));
  EXPECT_NE(program.error().message().find("this process already has"), std::string::npos)
      << program.error();
  EXPECT_EQ(fake_->calls, (std::vector<std::string>{"ensure_bpffs", "query"}));
}

TEST_F(SteerAttachReport, BpffsFailureIsReportedAndNothingIsTried) {
  fake_->bpffs_ok = false;
  auto program = attach();
  ASSERT_FALSE(program);
  EXPECT_NE(program.error().message().find("bpffs is not mounted"), std::string::npos);
  EXPECT_EQ(fake_->calls, (std::vector<std::string>{"ensure_bpffs"}));
}

TEST_F(SteerAttachReport, DestructorAndDetachDetachOnce) {
  {
    auto program = attach();
    ASSERT_TRUE(program) << program.error();
    ASSERT_TRUE(program->detach());
    ASSERT_TRUE(program->detach());
    EXPECT_FALSE(program->attached());
    EXPECT_EQ(program->describe_attach(), "not attached");
  }
  EXPECT_EQ(std::count(fake_->calls.begin(), fake_->calls.end(), "detach native"), 1);
  {
    auto program = attach();
    ASSERT_TRUE(program) << program.error();
    SteeringProgram moved = std::move(program).value();
    EXPECT_TRUE(moved.attached());
  }
  EXPECT_EQ(std::count(fake_->calls.begin(), fake_->calls.end(), "detach native"), 2);
  EXPECT_FALSE(fake_->attached);
}

TEST_F(SteerAttachReport, UnknownInterface) {
  SteeringOptions options;
  options.backend = fake_;
  auto program = SteeringProgram::attach("nosuchif0", options);
  ASSERT_FALSE(program);
  EXPECT_TRUE(program.error().is(Errc::not_found));
  EXPECT_TRUE(fake_->calls.empty());
}

// The ABI forms: network byte order, 0xffff for missing tags, etherconn's 12-byte L2 key.
TEST(SteerAbi, L2KeyIsEtherconnsLayout) {
  const L2Key key{MacAddress::parse("02:00:00:00:01:01").value(),
                  VlanStack{VlanTag{100, kTpid8021ad, 3, false}, VlanTag{20}}, 0x0800};
  const ep_l2_key abi = to_abi(key);
  std::uint8_t bytes[sizeof abi];
  std::memcpy(bytes, &abi, sizeof abi);
  const std::uint8_t expected[12] = {0x02, 0, 0, 0, 0x01, 0x01, 0x00, 100, 0x00, 20, 0x08, 0x00};
  EXPECT_EQ(std::memcmp(bytes, expected, sizeof expected), 0);

  const ep_l2_key untagged = to_abi(L2Key{key.mac, {}, 0x86dd});
  std::memcpy(bytes, &untagged, sizeof untagged);
  const std::uint8_t expected_untagged[12] = {0x02, 0,    0,    0,    0x01, 0x01,
                                              0xff, 0xff, 0xff, 0xff, 0x86, 0xdd};
  EXPECT_EQ(std::memcmp(bytes, expected_untagged, sizeof expected_untagged), 0);
}

TEST(SteerAbi, L4AndOwnedKeysUseV4MappedAddresses) {
  const ep_l4_key l4 =
      to_abi(L4Key{VlanStack{VlanTag{7}}, IpAddress::parse("10.1.2.3").value(), 17, 5000});
  const std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  EXPECT_EQ(std::memcmp(l4.addr, mapped, 16), 0);
  EXPECT_EQ(l4.ip_version, EP_IPV4);
  EXPECT_EQ(l4.protocol, 17);
  const std::uint8_t port[2] = {0x13, 0x88};
  EXPECT_EQ(std::memcmp(&l4.port, port, 2), 0);
  const std::uint8_t vlans[4] = {0x00, 0x07, 0xff, 0xff};
  EXPECT_EQ(std::memcmp(&l4.vlans, vlans, 4), 0);

  const ep_owned_key owned = to_abi(OwnedKey{{}, IpAddress::parse("2001:db8::2").value()});
  EXPECT_EQ(owned.ip_version, EP_IPV6);
  EXPECT_EQ(owned.addr[0], 0x20);
  EXPECT_EQ(owned.addr[15], 0x02);
  EXPECT_EQ(owned.pad[0] | owned.pad[1] | owned.pad[2], 0);
}

TEST(SteerAbi, CounterNames) {
  EXPECT_EQ(counter_name(Counter::frames), "frames");
  EXPECT_EQ(counter_name(Counter::hit_l2), "hit_l2");
  EXPECT_EQ(counter_name(Counter::pass_truncated), "pass_truncated");
  EXPECT_EQ(counter_name(Counter::no_socket), "no_socket");
  Counters a;
  Counters b;
  a.values[0] = 10;
  b.values[0] = 4;
  EXPECT_EQ(a.since(b)[Counter::frames], 6U);
}

}  // namespace
}  // namespace etherpath::bpf
