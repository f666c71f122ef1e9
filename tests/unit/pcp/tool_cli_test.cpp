// etherpath-pcp's command line: a bad one exits 2 with one line that names the flag, the
// emulated-host flags (--iface ...) included. Then its output against a PCP server on loopback
// (--server-port): text, JSON, PEER, ANNOUNCE, a NAT-PMP answer.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/unit/pcp/fake_server.hpp"

namespace {

using etherpath::pcp::testing::LoopbackServer;

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

TEST(EtherpathPcpCli, BadEmulatedHostFlagsExit2WithOneLineNamingTheFlag) {
  const std::string map = "map --server 10.0.0.1 --internal-port 5000 ";
  const std::string host = map + "--iface ep-none9 --src-mac 02:00:00:00:00:09 ";
  const BadLine cases[] = {
      {"--src-mac 02:00:00:00:00:09", "--src-mac"},  // only with --iface
      {"--vlan 100", "--vlan"},
      {"--tpid 8100", "--tpid"},
      {"--src 10.0.0.2", "--src"},
      {"--gateway 10.0.0.254", "--gateway"},
      {"--engine pcap", "--engine"},
      {"--xdp-mode copy", "--xdp-mode"},
      {"--iface ep-none9 --src 10.0.0.2", "--src-mac"},  // required with --iface
      {"--iface ep-none9 --src-mac 02:00:00:00:00:09", "--src"},
      {"--iface '' --src-mac 02:00:00:00:00:09 --src 10.0.0.2", "--iface"},
      {"--iface ep-none9 --src-mac 02:00:00:00:00 --src 10.0.0.2", "--src-mac"},
      {"--iface ep-none9 --src-mac 01:00:5e:00:00:01 --src 10.0.0.2", "--src-mac"},
  };
  for (const auto& c : cases) {
    const std::string args = map + c.args;
    const ToolRun r = run_tool(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(c.flag), std::string::npos) << args << ": " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << args << ": " << r.output;
  }
  const BadLine host_cases[] = {
      {"--src 2001:db8::2", "--src"},  // not the family of --server
      {"--src 0.0.0.0", "--src"},
      {"--src 224.0.0.1", "--src"},
      {"--src nohost", "--src"},
      {"--src 10.0.0.2 --vlan 4095", "--vlan"},
      {"--src 10.0.0.2 --vlan 100.20.30", "--vlan"},
      {"--src 10.0.0.2 --vlan 100.20 --tpid 9100", "--tpid"},
      {"--src 10.0.0.2 --gateway 2001:db8::1", "--gateway"},
      {"--src 10.0.0.2 --gateway gw", "--gateway"},
      {"--src 10.0.0.2 --engine dpdk", "--engine"},
      {"--src 10.0.0.2 --xdp-mode turbo", "--xdp-mode"},
  };
  for (const auto& c : host_cases) {
    const std::string args = host + c.args;
    const ToolRun r = run_tool(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(c.flag), std::string::npos) << args << ": " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << args << ": " << r.output;
  }
}

TEST(EtherpathPcpCli, EmulatedHostOnAMissingInterfaceExits1NamingIt) {
  // A good command line; the interface does not exist, so the relay does not open (no traffic).
  for (const char* engine : {"xdp", "pcap"}) {
    const ToolRun r = run_tool(
        fmt::format("map --server 10.0.0.1 --internal-port 5000 --iface ep-none9 --src-mac "
                    "02:00:00:00:00:09 --src 10.0.0.2 --engine {} --mrd 1",
                    engine));
    EXPECT_EQ(r.code, 1) << engine << ": " << r.output;
    EXPECT_NE(r.output.find("--iface: ep-none9"), std::string::npos) << engine << ": " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << engine << ": " << r.output;
  }
}

TEST(EtherpathPcpCli, HelpExitsZero) {
  const ToolRun r = run_tool("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("--keepalive"), std::string::npos);
  EXPECT_NE(r.output.find("--src-mac"), std::string::npos) << r.output;
}

std::string against(const LoopbackServer& server, const std::string& args) {
  return fmt::format("{} --server 127.0.0.1 --server-port {} --client 127.0.0.1 --mrd 5", args,
                     server.port());
}

TEST(EtherpathPcpTool, PrintsTheAssignmentAsTextAndAsJson) {
  LoopbackServer server;
  const ToolRun text =
      run_tool(against(server, "map --internal-port 6000 --protocol udp --lifetime 60"));
  ASSERT_EQ(text.code, 0) << text.output;
  EXPECT_NE(text.output.find("MAP udp 127.0.0.1:6000 -> 11.98.2.1:6000 lifetime 60 s epoch 1 "
                             "nonce "),
            std::string::npos)
      << text.output;

  const ToolRun json =
      run_tool(against(server, "map --internal-port 6000 --protocol tcp --lifetime 60 --json"));
  ASSERT_EQ(json.code, 0) << json.output;
  const auto last = json.output.substr(json.output.rfind('{'));
  const auto j = nlohmann::json::parse(last);
  EXPECT_EQ(j["event"], "assigned");
  EXPECT_EQ(j["opcode"], "MAP");
  EXPECT_EQ(j["protocol"], "tcp");
  EXPECT_EQ(j["external_address"], "11.98.2.1");
  EXPECT_EQ(j["external_port"], 6000);
  EXPECT_EQ(j["lifetime"], 60);
  EXPECT_EQ(j["epoch"], 1);
  EXPECT_EQ(j["nonce"].get<std::string>().size(), 24U);
}

TEST(EtherpathPcpTool, PeerAndAnnounce) {
  LoopbackServer server;
  const ToolRun peer =
      run_tool(against(server, "peer --internal-port 6000 --protocol udp --remote 11.7.7.7:7000"));
  ASSERT_EQ(peer.code, 0) << peer.output;
  EXPECT_NE(peer.output.find("PEER udp 127.0.0.1:6000 -> 11.98.2.1:6000 remote 11.7.7.7:7000"),
            std::string::npos)
      << peer.output;
  const ToolRun announce = run_tool(against(server, "announce"));
  ASSERT_EQ(announce.code, 0) << announce.output;
  EXPECT_NE(announce.output.find("ANNOUNCE server 127.0.0.1 epoch 1"), std::string::npos)
      << announce.output;
}

TEST(EtherpathPcpTool, NatPmpServerIsReportedClearly) {
  LoopbackServer natpmp([](const etherpath::pcp::Request&) {
    return etherpath::pcp::Message{0x00, 0x81, 0x00, 0x01, 0, 0, 0, 5};  // UNSUPP_VERSION
  });
  const ToolRun r = run_tool(against(natpmp, "map --internal-port 6000 --protocol udp"));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("NAT-PMP"), std::string::npos) << r.output;
}

TEST(EtherpathPcpTool, RefusalExitsOneWithTheResultCode) {
  LoopbackServer refusing([](const etherpath::pcp::Request& req) {
    using namespace etherpath::pcp;
    return encode(etherpath::pcp::testing::answer(req, ResultCode::unsupp_protocol, 1800, 1))
        .value();
  });
  const ToolRun r = run_tool(against(refusing, "map --internal-port 6000 --protocol 99 --json"));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("\"result\":\"UNSUPP_PROTOCOL\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"result_code\":9"), std::string::npos) << r.output;
}

}  // namespace
