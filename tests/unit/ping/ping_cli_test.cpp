// etherpath-ping's command line: bad input exits 2 with one line naming the flag (spawned; no
// privileges or network: parsing fails before any socket or interface is opened).
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

Outcome run_ping(const std::string& args) {
  const std::string cmd = std::string(PING_BINARY) + " " + args + " 2>&1 >/dev/null";
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

const std::string kEmulated = "--iface lo --src-mac 02:00:00:00:00:01 --src 10.0.0.1 ";

TEST(PingCli, BadInputExits2WithOneLineNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "destination"},
      {"-c many 127.0.0.1", "-c"},
      {"-c -1 127.0.0.1", "-c"},
      {"-i -1 127.0.0.1", "-i"},
      {"-i x 127.0.0.1", "-i"},
      {"-W 0 127.0.0.1", "-W"},
      {"-W nan 127.0.0.1", "-W"},
      {"-s 65508 127.0.0.1", "-s"},
      {"-s big 127.0.0.1", "-s"},
      {"-4 -6 127.0.0.1", "-6"},
      {"-6 127.0.0.1", "DEST"},
      {"--src-mac 02:00:00:00:00:01 127.0.0.1", "--src-mac"},
      {"--vlan 100 127.0.0.1", "--vlan"},
      {"--src 10.0.0.1 127.0.0.1", "--src"},
      {"--gateway 10.0.0.254 127.0.0.1", "--gateway"},
      {"--engine pcap 127.0.0.1", "--engine"},
      {"--iface lo --src 10.0.0.1 10.0.0.2", "--src-mac"},
      {"--iface lo --src-mac 02:00:00:00:00:01 10.0.0.2", "--src"},
      {kEmulated + "--src-mac zz 10.0.0.2", "--src-mac"},
      {"--iface lo --src-mac 02:00:00:00:00:01 --src 10.0.0.x 10.0.0.2", "--src"},
      {kEmulated + "fd00::2", "DEST"},
      {kEmulated + "--vlan 4095 10.0.0.2", "--vlan"},
      {kEmulated + "--vlan 1.2.3 10.0.0.2", "--vlan"},
      {kEmulated + "--tpid 9100 10.0.0.2", "--tpid"},
      {kEmulated + "--gateway fd00::1 10.0.0.2", "--gateway"},
      {kEmulated + "--engine dpdk 10.0.0.2", "--engine"},
      {kEmulated + "--xdp-mode turbo 10.0.0.2", "--xdp-mode"},
      {kEmulated + "-s 100000 10.0.0.2", "-s"},
      {"--bogus 127.0.0.1", "--bogus"},
  };
  for (const auto& [args, flag] : cases) {
    const Outcome o = run_ping(args);
    EXPECT_EQ(o.code, 2) << args << ": " << o.err;
    EXPECT_NE(o.err.find(flag), std::string::npos) << args << ": " << o.err;
    EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << args << ": not one line: " << o.err;
  }
}

TEST(PingCli, HelpExits0) {
  EXPECT_EQ(run_ping("--help").code, 0);
}

}  // namespace
