// etherpath-demo: builds a few frames (802.1Q, QinQ, IPv6, ARP, NDP) with FrameBuilder and prints
// each as FrameParser decodes it, with a hex dump. Exit 0, or 2 on a bad command line.
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"
#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/icmp.hpp"

namespace {

using namespace etherpath;
using namespace etherpath::wire;

struct Options {
  std::string vlan = "100";
  std::string qinq = "100.20";
  std::string tpid = "88a8";
  std::string src_mac = "02:00:00:00:01:01";
  std::string dst_mac = "02:00:00:00:01:02";
  bool hex = true;
};

std::string hex_dump(ConstBytes b) {
  std::string out;
  for (std::size_t i = 0; i < b.size(); i += 16) {
    out += fmt::format("  {:04x} ", i);
    for (std::size_t j = i; j < i + 16 && j < b.size(); ++j) {
      out += fmt::format(" {:02x}", std::to_integer<unsigned>(b[j]));
    }
    out += '\n';
  }
  return out;
}

// Builds one frame with `fill`, parses it with checksums verified, prints both.
template <typename Fill>
bool show(const std::string& title, bool hex, Fill&& fill) {
  std::array<std::byte, 2048> buf{};
  FrameBuilder b(buf);
  fill(b);
  const auto frame = b.finish();
  if (!frame) {
    fmt::print(stderr, "{}: {}\n", title, frame.error().message());
    return false;
  }
  const auto parsed = FrameParser(ParseOptions{.verify_checksums = true}).parse(*frame);
  fmt::print("== {} ({} bytes)\n", title, frame->size());
  if (!parsed) {
    fmt::print("dropped: {}\n", to_string(parsed.drop));
    return false;
  }
  fmt::print("{}", describe(parsed.frame));
  if (hex) {
    fmt::print("{}", hex_dump(*frame));
  }
  fmt::print("\n");
  return true;
}

int run(const Options& o) {
  // CLI validation happened in main; these parse.
  const auto tpid = parse_tpid(o.tpid).value();
  const auto one = VlanStack::parse(o.vlan).value();
  const auto two = VlanStack::parse(o.qinq, tpid).value();
  const auto src = MacAddress::parse(o.src_mac).value();
  const auto dst = MacAddress::parse(o.dst_mac).value();
  const auto h4 = IpAddress::parse("192.0.2.1").value();
  const auto p4 = IpAddress::parse("198.51.100.7").value();
  const auto h6 = IpAddress::parse("2001:db8::1").value();
  const auto p6 = IpAddress::parse("2001:db8:1::7").value();
  const std::string text = "hello from etherpath";
  const auto payload = std::as_bytes(std::span(text.data(), text.size()));

  bool ok = true;
  ok &= show(fmt::format("802.1Q VLAN {}: UDP over IPv4", one.to_string()), o.hex,
             [&](FrameBuilder& b) {
               b.payload(payload)
                   .push_udp(40000, 4789)
                   .push_ipv4({.src = h4, .dst = p4, .ttl = 64, .id = 1, .flags = kIpv4FlagDf})
                   .push_vlans(one)
                   .push_ethernet(dst, src);
             });
  ok &=
      show(fmt::format("QinQ {} (outer TPID 0x{:04x}): ICMP echo over IPv4", two.to_string(), tpid),
           o.hex, [&](FrameBuilder& b) {
             b.payload(payload)
                 .push_icmp_echo(kIcmpv4EchoRequest, 0x0777, 1)
                 .push_ipv4({.src = h4, .dst = p4})
                 .push_vlans(two)
                 .push_ethernet(dst, src);
           });
  ok &= show(fmt::format("QinQ {}: UDP over IPv6", two.to_string()), o.hex, [&](FrameBuilder& b) {
    b.payload(payload)
        .push_udp(40001, 53)
        .push_ipv6({.src = h6, .dst = p6, .hop_limit = 64, .flow_label = 0x12345})
        .push_vlans(two)
        .push_ethernet(dst, src);
  });
  ok &= show("untagged: IPv6 neighbour solicitation", o.hex, [&](FrameBuilder& b) {
    b.push_neighbor_solicit(p6, src)
        .push_ipv6({.src = h6, .dst = IpAddress::parse("ff02::1:ff00:7").value(), .hop_limit = 255})
        .push_ethernet(MacAddress::parse("33:33:ff:00:00:07").value(), src);
  });
  ok &= show(fmt::format("802.1Q VLAN {}: ARP request", one.to_string()), o.hex,
             [&](FrameBuilder& b) {
               b.push_arp({.op = kArpRequest, .sender_mac = src, .sender_ip = h4, .target_ip = p4})
                   .push_vlans(one)
                   .push_ethernet(MacAddress::broadcast(), src);
             });
  return ok ? 0 : 1;
}

int demo_main(int argc, char** argv) {
  CLI::App app{"etherpath-demo: build frames with etherpath's FrameBuilder and print them decoded"};
  Options o;
  const auto vlan_check = [](const std::string& text) -> std::string {
    const auto s = VlanStack::parse(text);
    return s ? std::string() : s.error().context();
  };
  app.add_option("--vlan", o.vlan, "VLAN for the 802.1Q frames (design.md §4 text)")
      ->check(vlan_check)
      ->capture_default_str();
  app.add_option("--qinq", o.qinq, "VLAN stack for the QinQ frames, outer.inner")
      ->check(vlan_check)
      ->capture_default_str();
  app.add_option("--tpid", o.tpid, "outer TPID of the QinQ frames: 88a8 or 8100")
      ->check([](const std::string& t) {
        const auto r = parse_tpid(t);
        return r ? std::string() : r.error().context();
      })
      ->capture_default_str();
  const auto mac_check = [](const std::string& t) -> std::string {
    const auto r = MacAddress::parse(t);
    return r ? std::string() : r.error().context();
  };
  app.add_option("--src-mac", o.src_mac, "source MAC")->check(mac_check)->capture_default_str();
  app.add_option("--dst-mac", o.dst_mac, "destination MAC")
      ->check(mac_check)
      ->capture_default_str();
  bool no_hex = false;
  app.add_flag("--no-hex", no_hex, "leave out the hex dumps");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "etherpath-demo: {}\n", e.what());
    return 2;
  }
  o.hex = !no_hex;
  return run(o);
}

}  // namespace

// Exceptions only at start-up (CLI11, allocation), caught here.
int main(int argc, char** argv) {
  try {
    return demo_main(argc, argv);
  } catch (const std::exception& e) {
    std::fputs("etherpath-demo: ", stderr);
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
  }
}
