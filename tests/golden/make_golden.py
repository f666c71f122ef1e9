#!/usr/bin/python3
"""Writes etherpath's golden frames: scapy builds each frame, this script records the fields it
was given and the bytes scapy made. Run with Debian's python3-scapy:

    /usr/bin/python3 tests/golden/make_golden.py

It rewrites tests/golden/frames.txt (one frame a line: name TAB fields TAB hex) and the fuzz seed
corpus tests/fuzz/wire/corpus/<name>.bin. The tests read frames.txt; they never run scapy.
"""
import os
import struct
import sys

from scapy.all import (ARP, ICMP, IP, UDP, Dot1AD, Dot1Q, Ether, ICMPv6DestUnreach,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6TimeExceeded, IPOption_RR,
                       IPOption_Router_Alert, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, PadN,
                       Raw, RouterAlert, raw)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DST = "02:00:00:00:00:02"
SRC = "02:00:00:00:00:01"
V4 = ("192.0.2.1", "198.51.100.7")
V6 = ("2001:db8::1", "2001:db8:1::7")

# (tpid, id, pcp, dei), outer first.
TAGGINGS = {
    "untagged": [],
    "dot1q": [(0x8100, 100, 3, 0)],
    "qinq": [(0x88A8, 200, 5, 1), (0x8100, 300, 0, 0)],
}


def payload(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def l2(tags, dst=DST, src=SRC):
    p = Ether(dst=dst, src=src)
    for tpid, vid, pcp, dei in tags:
        cls = Dot1AD if tpid == 0x88A8 else Dot1Q
        p = p / cls(vlan=vid, prio=pcp, id=dei)
    if tags and tags[0][0] == 0x8100 and len(tags) == 2:
        p[Ether].type = 0x8100
    return p


def hexs(b):
    return b.hex() if b else "-"


def tags_text(tags):
    return ",".join("%04x:%d:%d:%d" % t for t in tags) if tags else "-"


def l4_of_ipv6(l3):
    """Walks the extension headers: (exts as [(type, body)], upper protocol, l4 bytes)."""
    nh = l3[6]
    rest = l3[40:]
    exts = []
    while nh in (0, 43, 60):
        size = (rest[1] + 1) * 8
        exts.append((nh, rest[2:size]))
        nh = rest[0]
        rest = rest[size:]
    return exts, nh, rest


def describe(name, pkt, spec):
    """The fields line: what the frame was built from, plus lengths/checksums scapy computed."""
    b = raw(pkt)
    f = {"dst": spec.get("dst", DST), "src": spec.get("src", SRC), "vlans": tags_text(spec["tags"])}
    off = 12 + 4 * len(spec["tags"])
    f["type"] = "%04x" % struct.unpack("!H", b[off:off + 2])[0]
    l3 = b[off + 2:]
    kind = spec["l3"]
    f["l3"] = kind
    l4 = b""
    if kind == "arp":
        for k in ("op", "sha", "spa", "tha", "tpa"):
            f[k] = spec[k]
    elif kind == "ipv4":
        ihl = (l3[0] & 0xF) * 4
        f.update(ip_src=spec["ip_src"], ip_dst=spec["ip_dst"], tos=spec.get("tos", 0),
                 id=spec.get("id", 1), flags=spec.get("flags", 0), ttl=spec.get("ttl", 64),
                 proto=l3[9], ihl=ihl // 4, ip_opts=hexs(l3[20:ihl]),
                 ip_len=struct.unpack("!H", l3[2:4])[0],
                 ip_csum="%04x" % struct.unpack("!H", l3[10:12])[0])
        l4 = l3[ihl:]
    else:
        exts, proto, l4 = l4_of_ipv6(l3)
        f.update(ip_src=spec["ip_src"], ip_dst=spec["ip_dst"], tc=spec.get("tc", 0),
                 fl=spec.get("fl", 0), hlim=spec.get("hlim", 64), nh=l3[6],
                 plen=struct.unpack("!H", l3[4:6])[0],
                 exts=";".join("%d:%s" % (t, hexs(body)) for t, body in exts) or "-",
                 proto=proto)
    l4kind = spec.get("l4", "none")
    f["l4"] = l4kind
    if l4kind == "udp":
        sport, dport, ulen, csum = struct.unpack("!HHHH", l4[:8])
        f.update(sport=sport, dport=dport, udp_len=ulen, udp_csum="%04x" % csum)
        f["payload"] = hexs(l4[8:])
    elif l4kind == "icmp":
        typ, code, csum, rest = struct.unpack("!BBHI", l4[:8])
        f.update(icmp_type=typ, icmp_code=code, icmp_csum="%04x" % csum, icmp_rest="%08x" % rest)
        f["payload"] = hexs(l4[8:])
        for k in ("nd_target", "nd_flags", "nd_sll", "nd_tll", "q_src", "q_dst", "q_proto",
                  "q_sport", "q_dport"):
            if k in spec:
                f[k] = spec[k]
    elif l4kind == "other":
        f["payload"] = hexs(l4)
    return "%s\t%s\t%s" % (name, " ".join("%s=%s" % (k, v) for k, v in f.items()), b.hex())


def frames():
    out = []

    def add(name, pkt, spec):
        out.append((name, pkt, spec))

    # Untagged, 802.1Q and QinQ x IPv4/IPv6 x UDP/ICMP echo.
    for tname, tags in TAGGINGS.items():
        for v in ("ipv4", "ipv6"):
            src, dst = V4 if v == "ipv4" else V6
            for l4 in ("udp", "icmp"):
                data = payload(18 + len(tags) * 5, seed=len(out))
                spec = {"tags": tags, "l3": v, "ip_src": src, "ip_dst": dst, "l4": l4}
                if v == "ipv4":
                    spec.update(tos=0x10, id=0x1234, flags=2, ttl=64)
                    ip = IP(src=src, dst=dst, tos=0x10, id=0x1234, flags=2, ttl=64)
                else:
                    spec.update(tc=0x2e, fl=0xbeef1, hlim=64)
                    ip = IPv6(src=src, dst=dst, tc=0x2e, fl=0xbeef1, hlim=64)
                if l4 == "udp":
                    top = UDP(sport=40000 + len(out), dport=4789) / Raw(data)
                elif v == "ipv4":
                    top = ICMP(type=8, id=0x0777, seq=len(out)) / Raw(data)
                else:
                    top = ICMPv6EchoRequest(id=0x0777, seq=len(out), data=data)
                add("%s_%s_%s" % (tname, v, l4), l2(tags) / ip / top, spec)

    # Zero-length payloads.
    for tname in ("untagged", "dot1q"):
        tags = TAGGINGS[tname]
        spec = {"tags": tags, "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "udp", "id": 1}
        add("%s_ipv4_udp_empty" % tname,
            l2(tags) / IP(src=V4[0], dst=V4[1], id=1) / UDP(sport=5000, dport=5001), spec)
    add("qinq_ipv6_udp_empty", l2(TAGGINGS["qinq"]) / IPv6(src=V6[0], dst=V6[1]) / UDP(sport=53, dport=53),
        {"tags": TAGGINGS["qinq"], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "udp"})
    add("untagged_ipv4_icmp_empty",
        l2([]) / IP(src=V4[0], dst=V4[1], id=2) / ICMP(type=8, id=1, seq=1),
        {"tags": [], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "icmp", "id": 2})

    # Full-MTU payloads (IP datagram of 1500 bytes).
    add("untagged_ipv4_udp_mtu",
        l2([]) / IP(src=V4[0], dst=V4[1], id=3, flags=2) / UDP(sport=6000, dport=6001) / Raw(payload(1472, 1)),
        {"tags": [], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "udp", "id": 3, "flags": 2})
    add("dot1q_ipv6_udp_mtu",
        l2(TAGGINGS["dot1q"]) / IPv6(src=V6[0], dst=V6[1]) / UDP(sport=6000, dport=6001) / Raw(payload(1452, 2)),
        {"tags": TAGGINGS["dot1q"], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "udp"})
    add("qinq_ipv4_icmp_mtu",
        l2(TAGGINGS["qinq"]) / IP(src=V4[0], dst=V4[1], id=4) / ICMP(type=8, id=9, seq=9) / Raw(payload(1472, 3)),
        {"tags": TAGGINGS["qinq"], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "icmp", "id": 4})
    add("untagged_ipv6_icmp_mtu",
        l2([]) / IPv6(src=V6[0], dst=V6[1]) / ICMPv6EchoRequest(id=9, seq=10, data=payload(1452, 4)),
        {"tags": [], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "icmp"})

    # IPv4 with options.
    add("untagged_ipv4_udp_router_alert",
        l2([]) / IP(src=V4[0], dst=V4[1], id=5, ttl=1, options=[IPOption_Router_Alert()]) / UDP(sport=7, dport=7) / Raw(payload(10, 5)),
        {"tags": [], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "udp", "id": 5, "ttl": 1})
    add("dot1q_ipv4_icmp_record_route",
        l2(TAGGINGS["dot1q"]) / IP(src=V4[0], dst=V4[1], id=6, options=[IPOption_RR(routers=["192.0.2.254", "0.0.0.0"])]) / ICMP(type=8, id=6, seq=6) / Raw(payload(12, 6)),
        {"tags": TAGGINGS["dot1q"], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "icmp", "id": 6})

    # IPv6 extension headers.
    add("untagged_ipv6_hbh_udp",
        l2([]) / IPv6(src=V6[0], dst=V6[1]) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / UDP(sport=8, dport=8) / Raw(payload(9, 7)),
        {"tags": [], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "udp"})
    add("dot1q_ipv6_hbh_icmp",
        l2(TAGGINGS["dot1q"]) / IPv6(src=V6[0], dst=V6[1], hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6EchoRequest(id=8, seq=8, data=payload(8, 8)),
        {"tags": TAGGINGS["dot1q"], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "icmp", "hlim": 1})
    add("untagged_ipv6_destopt_udp",
        l2([]) / IPv6(src=V6[0], dst=V6[1]) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 12)]) / UDP(sport=9, dport=9) / Raw(payload(3, 9)),
        {"tags": [], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "udp"})
    add("qinq_ipv6_hbh_destopt_udp",
        l2(TAGGINGS["qinq"]) / IPv6(src=V6[0], dst=V6[1]) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)]) / UDP(sport=10, dport=10) / Raw(payload(20, 10)),
        {"tags": TAGGINGS["qinq"], "l3": "ipv6", "ip_src": V6[0], "ip_dst": V6[1], "l4": "udp"})

    # ARP.
    arp_cases = [("untagged_arp_request", [], 1, SRC, "192.0.2.1", "00:00:00:00:00:00", "192.0.2.2", "ff:ff:ff:ff:ff:ff"),
                 ("untagged_arp_reply", [], 2, DST, "192.0.2.2", SRC, "192.0.2.1", SRC),
                 ("dot1q_arp_request", TAGGINGS["dot1q"], 1, SRC, "192.0.2.1", "00:00:00:00:00:00", "192.0.2.3", "ff:ff:ff:ff:ff:ff"),
                 ("qinq_arp_reply", TAGGINGS["qinq"], 2, DST, "192.0.2.3", SRC, "192.0.2.1", SRC)]
    for name, tags, op, sha, spa, tha, tpa, dst in arp_cases:
        src = sha
        add(name, l2(tags, dst=dst, src=src) / ARP(op=op, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa),
            {"tags": tags, "l3": "arp", "dst": dst, "src": src, "op": op, "sha": sha, "spa": spa,
             "tha": tha, "tpa": tpa})

    # Neighbour discovery.
    snm = "ff02::1:ff00:7"
    snm_mac = "33:33:ff:00:00:07"
    nd = [("untagged_ndp_ns", [], snm_mac, SRC, V6[0], snm, ICMPv6ND_NS(tgt=V6[1]) / ICMPv6NDOptSrcLLAddr(lladdr=SRC),
           {"nd_target": V6[1], "nd_flags": 0, "nd_sll": SRC, "nd_tll": "-", "icmp_type": 135}),
          ("untagged_ndp_ns_dad", [], snm_mac, SRC, "::", snm, ICMPv6ND_NS(tgt=V6[1]),
           {"nd_target": V6[1], "nd_flags": 0, "nd_sll": "-", "nd_tll": "-"}),
          ("qinq_ndp_ns", TAGGINGS["qinq"], snm_mac, SRC, V6[0], snm, ICMPv6ND_NS(tgt=V6[1]) / ICMPv6NDOptSrcLLAddr(lladdr=SRC),
           {"nd_target": V6[1], "nd_flags": 0, "nd_sll": SRC, "nd_tll": "-"}),
          ("untagged_ndp_na", [], SRC, DST, V6[1], V6[0], ICMPv6ND_NA(tgt=V6[1], R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=DST),
           {"nd_target": V6[1], "nd_flags": 0x60, "nd_sll": "-", "nd_tll": DST}),
          ("dot1q_ndp_na_router", TAGGINGS["dot1q"], SRC, DST, V6[1], V6[0], ICMPv6ND_NA(tgt=V6[1], R=1, S=1, O=0) / ICMPv6NDOptDstLLAddr(lladdr=DST),
           {"nd_target": V6[1], "nd_flags": 0xC0, "nd_sll": "-", "nd_tll": DST})]
    for name, tags, dst, src, ip_src, ip_dst, msg, extra in nd:
        spec = {"tags": tags, "l3": "ipv6", "dst": dst, "src": src, "ip_src": ip_src,
                "ip_dst": ip_dst, "l4": "icmp", "hlim": 255}
        spec.update(extra)
        add(name, l2(tags, dst=dst, src=src) / IPv6(src=ip_src, dst=ip_dst, hlim=255) / msg, spec)

    # ICMP echo replies and errors that quote a datagram.
    add("untagged_ipv4_icmp_echo_reply",
        l2([]) / IP(src=V4[1], dst=V4[0], id=7) / ICMP(type=0, id=0x0777, seq=3) / Raw(payload(16, 11)),
        {"tags": [], "l3": "ipv4", "ip_src": V4[1], "ip_dst": V4[0], "l4": "icmp", "id": 7})
    quoted4 = IP(src=V4[0], dst=V4[1], id=8, ttl=1) / UDP(sport=33434, dport=33435) / Raw(payload(4, 12))
    add("dot1q_ipv4_icmp_port_unreachable",
        l2(TAGGINGS["dot1q"]) / IP(src=V4[1], dst=V4[0], id=9) / ICMP(type=3, code=3) / quoted4,
        {"tags": TAGGINGS["dot1q"], "l3": "ipv4", "ip_src": V4[1], "ip_dst": V4[0], "l4": "icmp", "id": 9,
         "q_src": V4[0], "q_dst": V4[1], "q_proto": 17, "q_sport": 33434, "q_dport": 33435})
    quoted4e = IP(src=V4[0], dst=V4[1], id=10, ttl=1) / ICMP(type=8, id=0x4242, seq=7) / Raw(payload(8, 13))
    add("untagged_ipv4_icmp_time_exceeded",
        l2([]) / IP(src="203.0.113.1", dst=V4[0], id=11) / ICMP(type=11, code=0) / quoted4e,
        {"tags": [], "l3": "ipv4", "ip_src": "203.0.113.1", "ip_dst": V4[0], "l4": "icmp", "id": 11,
         "q_src": V4[0], "q_dst": V4[1], "q_proto": 1, "q_sport": 0x4242, "q_dport": 7})
    add("dot1q_ipv6_icmp_echo_reply",
        l2(TAGGINGS["dot1q"]) / IPv6(src=V6[1], dst=V6[0]) / ICMPv6EchoReply(id=0x0777, seq=4, data=payload(16, 14)),
        {"tags": TAGGINGS["dot1q"], "l3": "ipv6", "ip_src": V6[1], "ip_dst": V6[0], "l4": "icmp"})
    quoted6 = IPv6(src=V6[0], dst=V6[1], hlim=1) / UDP(sport=33434, dport=33436) / Raw(payload(4, 15))
    add("untagged_ipv6_icmp_port_unreachable",
        l2([]) / IPv6(src=V6[1], dst=V6[0]) / ICMPv6DestUnreach(code=4) / quoted6,
        {"tags": [], "l3": "ipv6", "ip_src": V6[1], "ip_dst": V6[0], "l4": "icmp",
         "q_src": V6[0], "q_dst": V6[1], "q_proto": 17, "q_sport": 33434, "q_dport": 33436})
    quoted6e = IPv6(src=V6[0], dst=V6[1], hlim=1) / ICMPv6EchoRequest(id=0x4343, seq=2, data=payload(4, 16))
    add("qinq_ipv6_icmp_time_exceeded",
        l2(TAGGINGS["qinq"]) / IPv6(src="2001:db8:ffff::1", dst=V6[0]) / ICMPv6TimeExceeded(code=0) / quoted6e,
        {"tags": TAGGINGS["qinq"], "l3": "ipv6", "ip_src": "2001:db8:ffff::1", "ip_dst": V6[0], "l4": "icmp",
         "q_src": V6[0], "q_dst": V6[1], "q_proto": 58, "q_sport": 0x4343, "q_dport": 2})

    # QinQ with an 802.1Q outer tag (--tpid 8100), an unusual IPv4 header, another IP protocol.
    tags8100 = [(0x8100, 4094, 7, 1), (0x8100, 1, 1, 0)]
    add("qinq8100_ipv4_udp",
        l2(tags8100) / IP(src=V4[0], dst=V4[1], id=12) / UDP(sport=1, dport=65535) / Raw(payload(7, 17)),
        {"tags": tags8100, "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "udp", "id": 12})
    add("untagged_ipv4_udp_df_tos_ttl1",
        l2([]) / IP(src=V4[0], dst=V4[1], tos=0xB8, id=0xFFFF, flags=2, ttl=1) / UDP(sport=123, dport=123) / Raw(payload(48, 18)),
        {"tags": [], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "udp", "tos": 0xB8,
         "id": 0xFFFF, "flags": 2, "ttl": 1})
    add("dot1q_ipv4_other_protocol",
        l2(TAGGINGS["dot1q"]) / IP(src=V4[0], dst=V4[1], id=13, proto=253) / Raw(payload(11, 19)),
        {"tags": TAGGINGS["dot1q"], "l3": "ipv4", "ip_src": V4[0], "ip_dst": V4[1], "l4": "other", "id": 13})
    return out


def main():
    lines = [describe(name, pkt, spec) for name, pkt, spec in frames()]
    names = [line.split("\t", 1)[0] for line in lines]
    assert len(set(names)) == len(names), "duplicate frame names"
    with open(os.path.join(HERE, "frames.txt"), "w") as out:
        out.write("# Made by tests/golden/make_golden.py with scapy; do not edit by hand.\n")
        out.write("# name<TAB>fields<TAB>frame hex\n")
        for line in lines:
            out.write(line + "\n")
    corpus = os.path.join(ROOT, "tests", "fuzz", "wire", "corpus")
    os.makedirs(corpus, exist_ok=True)
    for line in lines:
        name, _, hx = line.split("\t")
        with open(os.path.join(corpus, name + ".bin"), "wb") as out:
            out.write(bytes.fromhex(hx))
    print("%d frames" % len(lines), file=sys.stderr)


if __name__ == "__main__":
    main()
