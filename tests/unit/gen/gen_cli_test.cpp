// etherpath-gen's command line: bad input exits 2 with one line naming the flag (spawned; no
// privileges or network: parsing fails before any interface is opened).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Outcome {
  int code = -1;
  std::string err;
};

Outcome run_gen(const std::string& args, const std::string& prefix = "") {
  const std::string cmd = prefix + std::string(GEN_BINARY) + " " + args + " 2>&1 >/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  Outcome o;
  if (f == nullptr) {
    return o;
  }
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) {
    o.err += buf.data();
  }
  const int status = ::pclose(f);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

const std::string kGood =
    "--iface lo --dst-mac 02:00:00:00:00:02 --src-mac 02:00:00:00:00:01 --src 10.0.0.1 "
    "--dst 10.0.0.2 ";

TEST(GenCli, BadInputExits2WithOneLineNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--dst-mac 02:00:00:00:00:02 --src-mac 02:00:00:00:00:01 --src 10.0.0.1 --dst 10.0.0.2",
       "--iface"},
      {kGood + "--src-mac zz", "--src-mac"},
      {kGood + "--dst 10.0.0.2+x", "--dst"},
      {kGood + "--dst fd00::1", "--dst"},
      {kGood + "--vlan 4095", "--vlan"},
      {kGood + "--vlan 1.2.3", "--vlan"},
      {kGood + "--tpid 9100", "--tpid"},
      {kGood + "--proto tcp", "--proto"},
      {kGood + "--sport 10-5", "--sport"},
      {kGood + "--dport 70000", "--dport"},
      {kGood + "--size 20", "--size"},
      {kGood + "--size 100 --imix", "--imix"},
      {kGood + "--rate 0", "--rate"},
      {kGood + "--rate 5furlongs", "--rate"},
      {kGood + "--duration -1", "--duration"},
      {kGood + "--queues 0", "--queues"},
      {kGood + "--engine dpdk", "--engine"},
      {kGood + "--engine pcap --queues 2", "--queues"},
      {kGood + "--xdp-mode turbo", "--xdp-mode"},
      {kGood + "--count many", "--count"},
  };
  for (const auto& [args, flag] : cases) {
    const Outcome o = run_gen(args);
    EXPECT_EQ(o.code, 2) << args << ": " << o.err;
    EXPECT_NE(o.err.find(flag), std::string::npos) << args << ": " << o.err;
    EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << args << ": not one line: " << o.err;
  }
}

TEST(GenCli, XdpLiveNeedsACpuPerQueue) {
  // Allowed one CPU, the xdp-live engine cannot pin a second thread.
  const Outcome o = run_gen(kGood + "--engine xdp-live --queues 2", "taskset -c 0 ");
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_NE(o.err.find("--queues"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("may use 1"), std::string::npos) << o.err;
}

TEST(GenCli, HelpExits0) {
  EXPECT_EQ(run_gen("--help").code, 0);
}

}  // namespace
