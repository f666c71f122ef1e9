#!/usr/bin/python3
"""scapy as the second, independent peer of etherpath's emulated hosts (issue #4).

Run by tests/netns/rudp/scapy_peer_test.cpp inside the peer namespace, with Debian's python3-scapy
(/usr/bin/python3, never the python3 on PATH). It sends tagged frames that etherpath must accept
and answer: an ARP request and a neighbour solicitation (multicast, and unicast as a NUD probe)
for each emulated address, a UDP datagram
to each RUDPConn (which the test echoes back) and an ICMP/ICMPv6 echo request to each
IcmpEchoConn that answers. It then checks, field by field, what etherpath sent back: MACs, every
tag's TPID/VID/PCP/DEI, the IP and L4 fields, and the checksums, which scapy recomputes itself.
A request on another VLAN stack must go unanswered.

    /usr/bin/python3 scapy_peer.py '<json spec>'   (the spec's keys: see main())

Every wait is bounded (`timeout` s for an answer, `negative_wait` s for silence); traffic goes only
to the given interface. One line per check ("ok ..." or "FAIL ..."), then
"RESULT checks=N failures=M". Exit 0 when every check passed, 1 when one failed, 2 on bad input.
"""
import json
import socket
import struct
import sys
import time

from scapy.all import (ARP, ICMP, IP, UDP, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                       ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6, Raw, conf)
from scapy.utils6 import in6_getnsma, in6_getnsmac

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8)


class Checker:
    """Counts checks and failures and prints one line for each."""

    def __init__(self):
        self.checks = 0
        self.failures = 0

    def expect(self, what, got, want):
        self.checks += 1
        if got == want:
            return True
        self.failures += 1
        print(f"FAIL {what}: got {got!r}, want {want!r}", flush=True)
        return False

    def passed(self, what):
        print(f"ok {what}", flush=True)


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in raw)


def l2_header(dst, src, tags, ether_type):
    """Ethernet header with the tags (tpid, vid, pcp, dei), outer first, written out by hand."""
    out = mac_bytes(dst) + mac_bytes(src)
    for tpid, vid, pcp, dei in tags:
        out += struct.pack("!HH", tpid, (pcp << 13) | (dei << 12) | vid)
    return out + struct.pack("!H", ether_type)


def split_l2(raw):
    """(dst, src, [(tpid, vid, pcp, dei)...], ether_type, l3 bytes) of a received frame."""
    off = 12
    tags = []
    while len(raw) >= off + 4:
        (tpid,) = struct.unpack_from("!H", raw, off)
        if tpid not in VLAN_TPIDS:
            break
        (tci,) = struct.unpack_from("!H", raw, off + 2)
        tags.append((tpid, tci & 0x0FFF, tci >> 13, (tci >> 12) & 1))
        off += 4
    (ether_type,) = struct.unpack_from("!H", raw, off)
    return mac_text(raw[0:6]), mac_text(raw[6:12]), tags, ether_type, raw[off + 2:]


class Peer:
    """One L2 socket on the interface: opened before anything is sent, so no answer is missed."""

    def __init__(self, spec):
        self.spec = spec
        self.mac = spec["peer_mac"]
        self.sock = conf.L2socket(iface=spec["iface"])
        self.check = Checker()

    def send(self, frame):
        self.sock.send(Raw(frame))

    def wait_for(self, pred, timeout):
        """The first frame (split_l2 tuple) within `timeout` s for which pred() holds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for pkt in self.sock.sniff(timeout=min(left, 0.2), count=1, store=True):
                parts = split_l2(bytes(pkt))
                if parts[1] != self.mac and pred(parts):  # not our own frames going out
                    return parts

    # --- checks shared by every answer ---------------------------------------------------------

    def check_l2(self, what, parts, src_mac, tags):
        dst, src, got_tags, _, _ = parts
        ok = self.check.expect(f"{what}: eth.dst", dst, self.mac)
        ok &= self.check.expect(f"{what}: eth.src", src, src_mac)
        ok &= self.check.expect(f"{what}: tag count", len(got_tags), len(tags))
        for i, (got, want) in enumerate(zip(got_tags, tags)):
            for name, g, w in zip(("tpid", "vid", "pcp", "dei"), got, want):
                ok &= self.check.expect(f"{what}: tag[{i}].{name}", g, w)
        return ok

    def check_ipv4(self, what, ip, src, dst, proto, ttl, dscp, payload_len):
        ok = True
        for name, got, want in (("version", ip.version, 4), ("ihl", ip.ihl, 5),
                                ("tos", ip.tos, dscp << 2), ("len", ip.len, 20 + payload_len),
                                ("flags.MF", int(ip.flags) & 1, 0), ("frag", ip.frag, 0),
                                ("ttl", ip.ttl, ttl), ("proto", ip.proto, proto),
                                ("src", ip.src, src), ("dst", ip.dst, dst)):
            ok &= self.check.expect(f"{what}: ip.{name}", got, want)
        again = ip.copy()
        del again.chksum
        ok &= self.check.expect(f"{what}: ip.chksum (scapy's)", ip.chksum,
                                IP(bytes(again)).chksum)
        return ok

    def check_ipv6(self, what, ip, src, dst, nh, hlim, dscp, payload_len):
        ok = True
        for name, got, want in (("version", ip.version, 6), ("tc", ip.tc, dscp << 2),
                                ("fl", ip.fl, 0), ("plen", ip.plen, payload_len),
                                ("nh", ip.nh, nh), ("hlim", ip.hlim, hlim), ("src", ip.src, src),
                                ("dst", ip.dst, dst)):
            ok &= self.check.expect(f"{what}: ipv6.{name}", got, want)
        return ok

    def check_l4_checksum(self, what, ip, layer):
        """Recomputes `layer`'s checksum over the received packet with scapy and compares."""
        field = "cksum" if any(f.name == "cksum" for f in layer.fields_desc) else "chksum"
        got = getattr(ip[layer], field)
        again = ip.copy()
        delattr(again[layer], field)
        want = getattr(type(ip)(bytes(again))[layer], field)
        name = f"{what}: {layer.__name__}.{field}"
        ok = self.check.expect(f"{name} (scapy's)", got, want)
        return ok & self.check.expect(f"{name} not 0", got != 0, True)

    # --- the exchanges -------------------------------------------------------------------------

    def neighbor(self, host, unicast=False):
        """ARP request / neighbour solicitation for the host's address: the answer, checked.
        unicast: the solicitation goes to the host's own MAC and address, as a NUD probe does
        (RFC 4861 §7.3.3), instead of its solicited-node group."""
        ip = host["ip"]
        req_tags = self.spec["request_tags"]
        if ":" not in ip:
            what = f"arp {ip}"
            arp = ARP(op=1, hwsrc=self.mac, psrc=self.spec["peer_v4"], hwdst="00:00:00:00:00:00",
                      pdst=ip)
            frame = l2_header("ff:ff:ff:ff:ff:ff", self.mac, req_tags, ETH_P_ARP) + bytes(arp)

            def is_answer(p):
                return p[3] == ETH_P_ARP and ARP(p[4]).op == 2 and ARP(p[4]).psrc == ip
        else:
            what = f"{'unicast ' if unicast else ''}ns {ip}"
            nsma = in6_getnsma(socket.inet_pton(socket.AF_INET6, ip))
            dst_ip = ip if unicast else socket.inet_ntop(socket.AF_INET6, nsma)
            dst_mac = host["mac"] if unicast else in6_getnsmac(nsma)
            ns = (IPv6(src=self.spec["peer_v6"], dst=dst_ip, hlim=255) / ICMPv6ND_NS(tgt=ip) /
                  ICMPv6NDOptSrcLLAddr(lladdr=self.mac))
            frame = l2_header(dst_mac, self.mac, req_tags, ETH_P_IPV6) + bytes(ns)

            def is_answer(p):
                return p[3] == ETH_P_IPV6 and ICMPv6ND_NA in IPv6(p[4]) and \
                    IPv6(p[4])[ICMPv6ND_NA].tgt == ip
        self.send(frame)
        got = self.wait_for(is_answer, self.spec["timeout"])
        if not self.check.expect(f"{what}: answered", got is not None, True):
            return
        ok = self.check_l2(what, got, host["mac"], self.spec["neighbor_reply_tags"])
        if ":" not in ip:
            a = ARP(got[4])
            for name, g, w in (("hwtype", a.hwtype, 1), ("ptype", a.ptype, ETH_P_IP),
                               ("hwlen", a.hwlen, 6), ("plen", a.plen, 4), ("op", a.op, 2),
                               ("hwsrc", a.hwsrc, host["mac"]), ("psrc", a.psrc, ip),
                               ("hwdst", a.hwdst, self.mac),
                               ("pdst", a.pdst, self.spec["peer_v4"])):
                ok &= self.check.expect(f"{what}: arp.{name}", g, w)
        else:
            v6 = IPv6(got[4])
            na = v6[ICMPv6ND_NA]
            ok &= self.check_ipv6(what, v6, ip, self.spec["peer_v6"], 58, 255, 0, 32)
            for name, g, w in (("type", na.type, 136), ("code", na.code, 0), ("R", na.R, 0),
                               ("S", na.S, 1), ("O", na.O, 1), ("tgt", na.tgt, ip)):
                ok &= self.check.expect(f"{what}: na.{name}", g, w)
            tlla = na[ICMPv6NDOptDstLLAddr] if ICMPv6NDOptDstLLAddr in na else None
            ok &= self.check.expect(f"{what}: na target link-layer option",
                                    tlla.lladdr if tlla else None, host["mac"])
            ok &= self.check_l4_checksum(what, v6, ICMPv6ND_NA)
        if ok:
            self.check.passed(what)

    def udp(self, host, index):
        """A datagram to a RUDPConn, which echoes it: the echo, checked."""
        ip, port = host["ip"], host["port"]
        v6 = ":" in ip
        what = f"udp {ip}:{port}"
        peer_ip = self.spec["peer_v6" if v6 else "peer_v4"]
        sport = 40000 + index
        data = bytes((i * 7 + index * 13 + 1) & 0xFF for i in range(101 + index * 50))
        l3 = (IPv6(src=peer_ip, dst=ip) if v6 else IP(src=peer_ip, dst=ip)) / \
            UDP(sport=sport, dport=port) / Raw(data)
        self.send(l2_header(host["mac"], self.mac, self.spec["request_tags"],
                            ETH_P_IPV6 if v6 else ETH_P_IP) + bytes(l3))

        def is_answer(p):
            if p[3] != (ETH_P_IPV6 if v6 else ETH_P_IP):
                return False
            pkt = IPv6(p[4]) if v6 else IP(p[4])
            return UDP in pkt and pkt[UDP].dport == sport

        got = self.wait_for(is_answer, self.spec["timeout"])
        if not self.check.expect(f"{what}: echoed", got is not None, True):
            return
        ok = self.check_l2(what, got, host["mac"], self.spec["reply_tags"])
        pkt = IPv6(got[4]) if v6 else IP(got[4])
        if v6:
            ok &= self.check_ipv6(what, pkt, ip, peer_ip, 17, host["ttl"], host["dscp"],
                                  8 + len(data))
        else:
            ok &= self.check_ipv4(what, pkt, ip, peer_ip, 17, host["ttl"], host["dscp"],
                                  8 + len(data))
        u = pkt[UDP]
        for name, g, w in (("sport", u.sport, port), ("dport", u.dport, sport),
                           ("len", u.len, 8 + len(data))):
            ok &= self.check.expect(f"{what}: udp.{name}", g, w)
        ok &= self.check.expect(f"{what}: payload", bytes(u.payload)[:len(data)], data)
        ok &= self.check_l4_checksum(what, pkt, UDP)
        if ok:
            self.check.passed(what)

    def echo(self, host, index):
        """An echo request to an IcmpEchoConn that answers: the reply, checked."""
        ip = host["ip"]
        v6 = ":" in ip
        what = f"echo {ip}"
        peer_ip = self.spec["peer_v6" if v6 else "peer_v4"]
        ident, seq = 0x5C00 + index, 7 + index
        data = bytes((i * 3 + index) & 0xFF for i in range(56))
        if v6:
            l3 = IPv6(src=peer_ip, dst=ip) / ICMPv6EchoRequest(id=ident, seq=seq, data=data)
        else:
            l3 = IP(src=peer_ip, dst=ip) / ICMP(type=8, id=ident, seq=seq) / Raw(data)
        self.send(l2_header(host["mac"], self.mac, self.spec["request_tags"],
                            ETH_P_IPV6 if v6 else ETH_P_IP) + bytes(l3))
        reply = ICMPv6EchoReply if v6 else ICMP

        def is_answer(p):
            if p[3] != (ETH_P_IPV6 if v6 else ETH_P_IP):
                return False
            pkt = IPv6(p[4]) if v6 else IP(p[4])
            return reply in pkt and pkt[reply].id == ident and (v6 or pkt[ICMP].type == 0)

        got = self.wait_for(is_answer, self.spec["timeout"])
        if not self.check.expect(f"{what}: answered", got is not None, True):
            return
        ok = self.check_l2(what, got, host["mac"], self.spec["reply_tags"])
        pkt = IPv6(got[4]) if v6 else IP(got[4])
        if v6:
            ok &= self.check_ipv6(what, pkt, ip, peer_ip, 58, host["ttl"], 0, 8 + len(data))
            r = pkt[ICMPv6EchoReply]
            body = bytes(r.data)
        else:
            ok &= self.check_ipv4(what, pkt, ip, peer_ip, 1, host["ttl"], 0, 8 + len(data))
            r = pkt[ICMP]
            body = bytes(r.payload)[:len(data)]
        for name, g, w in (("type", r.type, 129 if v6 else 0), ("code", r.code, 0),
                           ("id", r.id, ident), ("seq", r.seq, seq)):
            ok &= self.check.expect(f"{what}: icmp.{name}", g, w)
        ok &= self.check.expect(f"{what}: payload", body, data)
        ok &= self.check_l4_checksum(what, pkt, reply)
        if ok:
            self.check.passed(what)

    def unanswered_on_other_vlans(self, host):
        """An ARP request for an emulated address, but on another VLAN stack: no answer."""
        ip = host["ip"]
        what = f"arp {ip} on another VLAN stack"
        arp = ARP(op=1, hwsrc=self.mac, psrc=self.spec["peer_v4"], pdst=ip)
        self.send(l2_header("ff:ff:ff:ff:ff:ff", self.mac, self.spec["other_tags"], ETH_P_ARP) +
                  bytes(arp))
        got = self.wait_for(lambda p: p[3] == ETH_P_ARP and ARP(p[4]).op == 2,
                            self.spec["negative_wait"])
        if self.check.expect(f"{what}: unanswered", got is None, True):
            self.check.passed(what)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = json.loads(sys.argv[1])
    # spec: iface, peer_mac, peer_v4, peer_v6; request_tags (what we send), reply_tags (what the
    # conns' answers must carry), neighbor_reply_tags (ARP/NA answers), other_tags (a stack no
    # host is on); udp and echo: [{mac, ip, port (udp), ttl, dscp (udp)}]; timeout,
    # negative_wait (seconds). Tags are [tpid, vid, pcp, dei], outer first.
    for key in ("request_tags", "reply_tags", "neighbor_reply_tags", "other_tags"):
        spec[key] = [tuple(t) for t in spec[key]]
    peer = Peer(spec)
    hosts = spec["udp"] + spec["echo"]
    for host in hosts:
        peer.neighbor(host)
        if ":" in host["ip"]:
            peer.neighbor(host, unicast=True)
    for i, host in enumerate(spec["udp"]):
        peer.udp(host, i)
    for i, host in enumerate(spec["echo"]):
        peer.echo(host, i)
    peer.unanswered_on_other_vlans(next(h for h in hosts if ":" not in h["ip"]))
    print(f"RESULT checks={peer.check.checks} failures={peer.check.failures}", flush=True)
    return 0 if peer.check.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
