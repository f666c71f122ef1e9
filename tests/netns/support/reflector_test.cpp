// The reflector (tests/support/reflector): scapy sends UDP over IPv4 and IPv6, untagged and
// behind VLAN tags, and gets each frame back with MACs, IPs and ports swapped and checksums
// still valid; ARP passes to the kernel.
#include "tests/support/reflector.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

namespace etherpath::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

// Prints one line per probe: "<name> ok" when the reflected frame is right, else what came back.
constexpr const char* kProbe = R"PY(
import sys
from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, UDP, Raw, srp1, conf
conf.verb = 0
iface, my_mac, peer_mac = sys.argv[1], sys.argv[2], sys.argv[3]
def probe(name, l3, tags):
    p = Ether(src=my_mac, dst=peer_mac)
    for t in tags:
        p = p / t
    p = p / l3 / UDP(sport=1111, dport=2222) / Raw(b"reflect-me-" + name.encode())
    r = srp1(p, iface=iface, timeout=2)
    if r is None:
        print(name, "none"); return
    ip = r[IP] if IP in r else r[IPv6]
    ok = (r.src == peer_mac and r.dst == my_mac and ip.src == l3.dst and ip.dst == l3.src
          and r[UDP].sport == 2222 and r[UDP].dport == 1111
          and bytes(r[Raw].load) == b"reflect-me-" + name.encode())
    # Recompute the checksums: they must equal what the reflector left in place.
    fresh = r.__class__(bytes(r))
    chk_ip = ip.chksum if IP in r else None
    del fresh[UDP].chksum
    if IP in fresh:
        del fresh[IP].chksum
    fresh = fresh.__class__(bytes(fresh))
    ok = ok and fresh[UDP].chksum == r[UDP].chksum and (chk_ip is None or fresh[IP].chksum == chk_ip)
    print(name, "ok" if ok else "bad " + r.summary())
probe("v4", IP(src="10.78.0.1", dst="10.78.0.2"), [])
probe("v6", IPv6(src="fd00:78::1", dst="fd00:78::2"), [])
probe("v4q", IP(src="10.78.0.1", dst="10.78.0.2"), [Dot1Q(vlan=100)])
probe("v6qinq", IPv6(src="fd00:78::1", dst="fd00:78::2"), [Dot1AD(vlan=100), Dot1Q(vlan=200)])
)PY";

TEST(Reflector, SwapsAndReturnsUdpFrames) {
  EP_SKIP_UNLESS_ROOT();
  if (!run(std::string(kPython) + " -c 'import scapy.all' 2>/dev/null")) {
    GTEST_SKIP() << "python3-scapy is not installed (scripts/install-deps.sh installs it)";
  }
  auto gen = NetNs::create("rfg");
  ASSERT_TRUE(gen) << gen.error();
  auto peer = NetNs::create("rfp");
  ASSERT_TRUE(peer) << peer.error();
  auto veth = VethPair::create(*gen, *peer);
  ASSERT_TRUE(veth) << veth.error();
  auto napi = XdpPass::attach(*gen, veth->a());
  ASSERT_TRUE(napi) << napi.error();
  auto reflector = Reflector::attach(*peer, veth->b());
  ASSERT_TRUE(reflector) << reflector.error();
  const std::string script = fmt::format("/tmp/ep-reflect-{}.py", unique_name("s"));
  std::ofstream(script) << kProbe;
  const auto out = gen->exec(fmt::format("{} {} {} {} {}", kPython, script, veth->a(),
                                         veth->mac_a().to_string(), veth->mac_b().to_string()));
  std::remove(script.c_str());
  ASSERT_TRUE(out) << out.error();
  for (const char* name : {"v4 ok", "v6 ok", "v4q ok", "v6qinq ok"}) {
    EXPECT_NE(out->find(name), std::string::npos) << *out;
  }
  const auto c = reflector->counters();
  ASSERT_TRUE(c) << c.error();
  EXPECT_GE(c->reflected, 4U);
}

}  // namespace
}  // namespace etherpath::testing
