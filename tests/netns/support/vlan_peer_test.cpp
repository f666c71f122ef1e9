// The kernel as a VLAN peer (tests/support/vlan_peer): behind the tc program, the kernel answers
// tagged ARP and ICMP echo with the tags, and sees only its own VLAN's frames. scapy, an
// independent implementation, builds the tagged frames and checks the replies.
#include "tests/support/vlan_peer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

namespace etherpath::testing {
namespace {

// Debian's python3 has scapy; the python3 on PATH may not be Debian's.
constexpr const char* kPython = "/usr/bin/python3";

bool have_scapy() {
  return run(std::string(kPython) + " -c 'import scapy.all' 2>/dev/null").has_value();
}

// Sends a tagged ARP request and a tagged echo request from the scapy side and prints what came
// back, one line each: "arp <reply tags> <is-at MAC>" and "icmp <reply tags> <type>".
constexpr const char* kProbe = R"PY(
import sys
from scapy.all import Ether, Dot1Q, Dot1AD, ARP, IP, ICMP, srp1, conf
conf.verb = 0
iface, src_mac, src_ip, dst_ip, tags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
wait = float(sys.argv[6]) if len(sys.argv) > 6 else 2.0
def tagged(payload, ethertype):
    layers = Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff")
    stack = [t.split(":") for t in tags.split(",")]
    for i, (tpid, vid) in enumerate(stack):
        tag = Dot1AD(vlan=int(vid)) if tpid == "88a8" else Dot1Q(vlan=int(vid))
        layers = layers / tag
    return layers / payload
def tags_of(p):
    out = []
    while p is not None and p.name in ("802.1Q", "802_1AD"):
        out.append("%s:%d" % ("88a8" if p.name == "802_1AD" else "8100", p.vlan))
        p = p.payload
    return ",".join(out) or "none"
r = srp1(tagged(ARP(op=1, hwsrc=src_mac, psrc=src_ip, pdst=dst_ip), 0x806), iface=iface, timeout=wait)
if r is None or ARP not in r:
    print("arp none none"); sys.exit(0)
print("arp %s %s" % (tags_of(r.payload), r[ARP].hwsrc))
req = Ether(src=src_mac, dst=r[ARP].hwsrc)
for tpid, vid in [t.split(":") for t in tags.split(",")]:
    req = req / (Dot1AD(vlan=int(vid)) if tpid == "88a8" else Dot1Q(vlan=int(vid)))
req = req / IP(src=src_ip, dst=dst_ip) / ICMP(id=0x4242, seq=7) / b"etherpath-vlan-peer"
r = srp1(req, iface=iface, timeout=wait)
if r is None or ICMP not in r:
    print("icmp none none"); sys.exit(0)
print("icmp %s %d" % (tags_of(r.payload), r[ICMP].type))
)PY";

struct Fixture {
  NetNs tester;
  NetNs peer;
  VethPair veth;
  std::string script;
};

Result<Fixture> make_fixture() {
  EP_TRY(auto tester, NetNs::create("vpt"));
  EP_TRY(auto peer, NetNs::create("vpp"));
  EP_TRY(auto veth, VethPair::create(tester, peer));
  EP_TRY(auto addr, peer.exec("ip addr add 10.77.0.2/24 dev " + veth.b()));
  (void)addr;
  std::string script = fmt::format("/tmp/ep-vlan-probe-{}.py", unique_name("s"));
  std::ofstream(script) << kProbe;
  return Fixture{std::move(tester), std::move(peer), std::move(veth), std::move(script)};
}

std::string tag_text(const VlanStack& s) {
  std::string out;
  for (const auto& t : s) {
    out += fmt::format("{}{:04x}:{}", out.empty() ? "" : ",", t.tpid, t.id);
  }
  return out;
}

void check_peer(const VlanStack& vlans) {
  auto f = make_fixture();
  ASSERT_TRUE(f) << f.error();
  auto peer = VlanPeer::attach(f->peer, f->veth.b(), vlans);
  ASSERT_TRUE(peer) << peer.error();
  const std::string probe = fmt::format("{} {} {} 02:00:00:00:77:01 10.77.0.1 10.77.0.2 {}",
                                        kPython, f->script, f->veth.a(), tag_text(vlans));
  const auto out = f->tester.exec(probe);
  std::remove(f->script.c_str());
  ASSERT_TRUE(out) << out.error();
  const std::string want_tags = tag_text(vlans);
  EXPECT_NE(out->find(fmt::format("arp {} {}", want_tags, f->veth.mac_b().to_string())),
            std::string::npos)
      << *out;
  EXPECT_NE(out->find(fmt::format("icmp {} 0", want_tags)), std::string::npos) << *out;
  const auto c = peer->counters();
  ASSERT_TRUE(c) << c.error();
  EXPECT_GE(c->rx_accepted, 2U);
  EXPECT_GE(c->tx_tagged, 2U);
  EXPECT_EQ(c->errors, 0U);
}

TEST(VlanPeer, Dot1QPeerAnswersArpAndPingWithTheTag) {
  EP_SKIP_UNLESS_ROOT();
  if (!have_scapy()) {
    GTEST_SKIP() << "python3-scapy is not installed (scripts/install-deps.sh installs it)";
  }
  check_peer(*VlanStack::parse("100"));
}

TEST(VlanPeer, QinQPeerAnswersArpAndPingWithBothTags) {
  EP_SKIP_UNLESS_ROOT();
  if (!have_scapy()) {
    GTEST_SKIP() << "python3-scapy is not installed (scripts/install-deps.sh installs it)";
  }
  check_peer(*VlanStack::parse("100.200"));
}

TEST(VlanPeer, OtherVlansAndUntaggedNeverReachTheKernel) {
  EP_SKIP_UNLESS_ROOT();
  if (!have_scapy()) {
    GTEST_SKIP() << "python3-scapy is not installed (scripts/install-deps.sh installs it)";
  }
  auto f = make_fixture();
  ASSERT_TRUE(f) << f.error();
  auto peer = VlanPeer::attach(f->peer, f->veth.b(), *VlanStack::parse("100"));
  ASSERT_TRUE(peer) << peer.error();
  // VLAN 101, an 802.1ad tag with the right ID, and one tag too many: the peer stays silent.
  for (const char* tags : {"8100:101", "88a8:100", "8100:100,8100:5"}) {
    const auto out =
        f->tester.exec(fmt::format("{} {} {} 02:00:00:00:77:01 10.77.0.1 10.77.0.2 {} 1", kPython,
                                   f->script, f->veth.a(), tags));
    ASSERT_TRUE(out) << out.error();
    EXPECT_NE(out->find("arp none none"), std::string::npos) << tags << ": " << *out;
  }
  // Untagged ARP: the kernel must not see it either.
  const auto untagged = f->tester.exec("ip addr add 10.77.0.1/24 dev " + f->veth.a() +
                                       " && ! ping -c 1 -W 1 10.77.0.2 >/dev/null");
  EXPECT_TRUE(untagged) << untagged.error();
  std::remove(f->script.c_str());
  const auto c = peer->counters();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->rx_accepted, 0U);
  EXPECT_GE(c->drop_other_vlan, 1U);
  EXPECT_GE(c->drop_too_deep, 1U);
  EXPECT_GE(c->drop_untagged, 1U);
}

}  // namespace
}  // namespace etherpath::testing
