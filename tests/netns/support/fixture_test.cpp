// The netns fixture's own tests: what it creates works, and nothing is left behind.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "base/unique_fd.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::testing {
namespace {

bool netns_listed(const std::string& name) {
  const auto list = run("ip netns list");
  return list && list->find(name) != std::string::npos;
}

TEST(NetnsFixture, UniqueNamesFitInIfnamsiz) {
  const auto a = unique_name("veth");
  const auto b = unique_name("veth");
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 15U);
  EXPECT_LE(unique_name("averylongprefix").size(), 15U);
}

TEST(NetnsFixture, RunReportsFailureWithStderr) {
  EXPECT_EQ(*run("echo hi"), "hi\n");
  const auto r = run("echo oops >&2; exit 3");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("status 3"), std::string::npos);
  EXPECT_NE(r.error().message().find("oops"), std::string::npos);
}

TEST(NetnsFixture, CreateAndDestroy50TimesLeavesNothing) {
  EP_SKIP_UNLESS_ROOT();
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) {
    auto a = NetNs::create("fx");
    ASSERT_TRUE(a) << a.error();
    auto b = NetNs::create("fx");
    ASSERT_TRUE(b) << b.error();
    auto veth = VethPair::create(*a, *b);
    ASSERT_TRUE(veth) << veth.error();
    ASSERT_TRUE(a->exec("ip link show " + veth->a())) << "veth end a missing in " << a->name();
    ASSERT_TRUE(b->exec("ip link show " + veth->b()));
    names.push_back(a->name());
    names.push_back(b->name());
    names.push_back(veth->a());
  }
  const auto netns = run("ip netns list");
  ASSERT_TRUE(netns);
  const auto links = run("ip -o link show");
  ASSERT_TRUE(links);
  for (const auto& n : names) {
    EXPECT_EQ(netns->find(n), std::string::npos) << n << " left behind";
    EXPECT_EQ(links->find(n), std::string::npos) << n << " left behind";
  }
}

TEST(NetnsFixture, VethPassesTrafficBetweenNamespaces) {
  EP_SKIP_UNLESS_ROOT();
  auto a = NetNs::create();
  ASSERT_TRUE(a) << a.error();
  auto b = NetNs::create();
  ASSERT_TRUE(b) << b.error();
  auto veth = VethPair::create(*a, *b);
  ASSERT_TRUE(veth) << veth.error();
  EXPECT_NE(veth->mac_a(), veth->mac_b());
  ASSERT_TRUE(a->exec("ip addr add 10.11.0.1/24 dev " + veth->a()));
  ASSERT_TRUE(b->exec("ip addr add 10.11.0.2/24 dev " + veth->b()));
  const auto ping = a->exec("ping -c 1 -W 2 10.11.0.2");
  EXPECT_TRUE(ping) << ping.error();
}

TEST(NetnsFixture, MultiQueueVeth) {
  EP_SKIP_UNLESS_ROOT();
  auto a = NetNs::create();
  ASSERT_TRUE(a);
  auto b = NetNs::create();
  ASSERT_TRUE(b);
  auto veth = VethPair::create(*a, *b, {.queues = 2});
  ASSERT_TRUE(veth) << veth.error();
  const auto queues = a->exec("ls /sys/class/net/" + veth->a() + "/queues");
  ASSERT_TRUE(queues) << queues.error();
  EXPECT_NE(queues->find("rx-1"), std::string::npos) << *queues;
}

TEST(NetnsFixture, ExecSeesBpffs) {
  EP_SKIP_UNLESS_ROOT();
  auto ns = NetNs::create();
  ASSERT_TRUE(ns);
  const auto m = ns->exec("mountpoint /sys/fs/bpf");
  EXPECT_TRUE(m) << m.error();
}

TEST(NetnsFixture, InNetnsOpensSocketsInsideTheNamespace) {
  EP_SKIP_UNLESS_ROOT();
  auto ns = NetNs::create();
  ASSERT_TRUE(ns);
  // An interface that exists only inside the namespace proves where the thread ran.
  ASSERT_TRUE(ns->exec("ip link add epdummy0 type veth peer name epdummy1"));
  const auto seen = in_netns(*ns, [] { return run("ip -o link show epdummy0").has_value(); });
  EXPECT_TRUE(seen);
  EXPECT_FALSE(run("ip -o link show epdummy0 2>/dev/null"));
  const int fd = in_netns(*ns, [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); });
  EXPECT_GE(fd, 0);
  UniqueFd owned(fd);
}

TEST(NetnsFixture, ProcessIsReapedAndOutputCaptured) {
  auto p = Process::spawn({"sh", "-c", "echo ready; echo warn >&2; exit 4"});
  ASSERT_TRUE(p) << p.error();
  const auto code = p->wait_for(std::chrono::seconds(5));
  ASSERT_TRUE(code) << code.error();
  EXPECT_EQ(*code, 4);
  EXPECT_EQ(p->out(), "ready\n");
  EXPECT_EQ(p->err(), "warn\n");
}

TEST(NetnsFixture, ProcessIsKilledByPidInDestructor) {
  pid_t pid = 0;
  {
    auto p = Process::spawn({"sleep", "30"});
    ASSERT_TRUE(p);
    pid = p->pid();
    ASSERT_TRUE(p->running());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone and reaped
}

TEST(NetnsFixture, ProcessInNamespace) {
  EP_SKIP_UNLESS_ROOT();
  auto ns = NetNs::create();
  ASSERT_TRUE(ns);
  ASSERT_TRUE(ns->exec("ip link add epdummy0 type veth peer name epdummy1"));
  auto p = Process::spawn({"ip", "-o", "link", "show", "epdummy0"}, &*ns);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->wait_for(std::chrono::seconds(5)), 0);
  EXPECT_FALSE(netns_listed("nonexistent-ns-name"));
}

}  // namespace
}  // namespace etherpath::testing
