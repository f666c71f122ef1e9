// etherpath-pcp's command line: a bad one exits 2 with one line that names the flag; the
// emulated-host flags say plainly that they are not available yet. No packet is sent.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

namespace {

struct ToolRun {
  int code = -1;
  std::string output;  // stdout and stderr together
};

ToolRun run_tool(const std::string& args) {
  const std::string cmd = std::string(ETHERPATH_PCP_TOOL) + " " + args + " 2>&1";
  ToolRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");  // NOLINT(cert-env33-c): a fixed test binary
  if (pipe == nullptr) {
    return r;
  }
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) {
    r.output += buf.data();
  }
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

struct BadLine {
  const char* args;
  const char* flag;
};

TEST(EtherpathPcpCli, BadCommandLinesExit2WithOneLineNamingTheFlag) {
  const BadLine cases[] = {
      {"map --internal-port 5000", "--server"},
      {"map --server 10.0.0.1", "--internal-port"},
      {"map --server nohost --internal-port 5000", "--server"},
      {"map --server 10.0.0.1 --internal-port 70000", "--internal-port"},
      {"map --server 10.0.0.1 --internal-port 5000 --protocol sctpx", "--protocol"},
      {"map --server 10.0.0.1 --internal-port 5000 --lifetime -1", "--lifetime"},
      {"map --server 10.0.0.1 --internal-port 5000 --filter 10.0.0.0/33:80", "--filter"},
      {"map --server 10.0.0.1 --internal-port 5000 --filter 10.0.0.0", "--filter"},
      {"map --server 10.0.0.1 --internal-port 5000 --remote 10.0.0.2:80", "--remote"},
      {"map --server 10.0.0.1 --internal-port 5000 --nonce 12", "--nonce"},
      {"map --server 10.0.0.1 --internal-port 5000 --once --keepalive", "--keepalive"},
      {"map --server 10.0.0.1 --internal-port 5000 --repeat x", "--repeat"},
      {"peer --server 10.0.0.1 --internal-port 5000", "--remote"},
      {"peer --server 10.0.0.1 --internal-port 5000 --remote 10.0.0.2:80 --prefer-failure",
       "--prefer-failure"},
      {"map --server 10.0.0.1 --internal-port 5000 --no-such-flag", "--no-such-flag"},
  };
  for (const auto& c : cases) {
    const ToolRun r = run_tool(c.args);
    EXPECT_EQ(r.code, 2) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.flag), std::string::npos) << c.args << ": " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << c.args << ": " << r.output;
  }
}

TEST(EtherpathPcpCli, EmulatedHostFlagsAreNotAvailableYet) {
  const ToolRun r = run_tool("map --server 10.0.0.1 --internal-port 5000 --iface eth9");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--iface"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not available yet"), std::string::npos) << r.output;
}

TEST(EtherpathPcpCli, HelpExitsZero) {
  const ToolRun r = run_tool("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("--keepalive"), std::string::npos);
}

}  // namespace
