"""netlens flows: crafted packets through BPF_PROG_TEST_RUN, and live traffic
between two namespaces counted against tcpdump, exactly."""
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
import time

from nltest import NETLENS, ROOT, Netlens, Pair, cleanup, defer, find, one, sh
from test_faults import no_tcx

TESTRUN = os.path.join(ROOT, "build", "tests", "flows_testrun")
TRAFFIC = os.path.join(os.path.dirname(__file__), "flows_traffic.py")
XDP_PASS, TC_ACT_UNSPEC = 2, -1

# ---------------------------------------------------------------- crafting


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(ethertype, tags=()):
    """Ethernet header; tags: (tpid, vid) outermost first."""
    h = bytes.fromhex("020000000002020000000001")
    for tpid, vid in tags:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype)


def ipv4(proto, payload, src="10.0.0.1", dst="10.0.0.2", frag=0, mf=False, total=None):
    flags = (0x2000 if mf else 0) | frag
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20 + len(payload), 1, flags, 64,
                      proto, 0, bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(nexthdr, payload, src="fd00::1", dst="fd00::2"):
    import ipaddress
    return struct.pack("!IHBB", 6 << 28, len(payload), nexthdr, 64) + \
        ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload


def udp(sport, dport, size):
    return struct.pack("!HHHH", sport, dport, 8 + size, 0) + b"u" * size


def tcp(sport, dport, flags, size=0):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + b"t" * size


def icmp(typ, code):
    return struct.pack("!BBHHH", typ, code, 0, 1, 1) + b"ping"


ARP = eth(0x0806) + bytes.fromhex("0001080006040001") + bytes(20)
ETH_IP, ETH_IP6, TPID_Q, TPID_AD = 0x0800, 0x86DD, 0x8100, 0x88A8
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01

# (packet, expected key fields or None for a non-IP/truncated-IP frame, times sent)
CASES = [
    ("ipv4 udp", eth(ETH_IP) + ipv4(17, udp(4660, 53, 10)),
     dict(family=4, saddr="10.0.0.1", daddr="10.0.0.2", proto=17, sport=4660, dport=53), 3),
    ("ipv4 tcp syn", eth(ETH_IP) + ipv4(6, tcp(40000, 80, SYN)),
     dict(family=4, proto=6, sport=40000, dport=80), 1),
    ("ipv4 tcp psh", eth(ETH_IP) + ipv4(6, tcp(40000, 80, PSH | ACK, 100)),
     dict(family=4, proto=6, sport=40000, dport=80), 1),
    ("ipv6 hop-by-hop udp",
     eth(ETH_IP6) + ipv6(0, bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp(5000, 5001, 20)),
     dict(family=6, saddr="fd00::1", daddr="fd00::2", proto=17, sport=5000, dport=5001), 1),
    ("802.1Q", eth(ETH_IP, [(TPID_Q, 100)]) + ipv4(17, udp(1111, 2222, 5)),
     dict(family=4, proto=17, sport=1111, dport=2222, vlan=100, vlan_inner=None), 1),
    ("QinQ", eth(ETH_IP, [(TPID_AD, 200), (TPID_Q, 300)]) + ipv4(17, udp(1111, 2222, 5)),
     dict(family=4, proto=17, sport=1111, dport=2222, vlan=200, vlan_inner=300), 2),
    ("icmp echo", eth(ETH_IP) + ipv4(1, icmp(8, 0)),
     dict(family=4, proto=1, sport=8, dport=0), 1),
    ("icmpv6 unreachable", eth(ETH_IP6) + ipv6(58, icmp(1, 4)),
     dict(family=6, proto=58, sport=1, dport=4), 1),
    ("ipv4 first fragment", eth(ETH_IP) + ipv4(17, udp(7000, 7001, 32), mf=True),
     dict(family=4, proto=17, sport=7000, dport=7001, fragment=0), 1),
    ("ipv4 later fragment", eth(ETH_IP) + ipv4(17, b"f" * 40, frag=5),
     dict(family=4, proto=17, sport=0, dport=0, fragment=1), 1),
    ("ipv6 later fragment",
     eth(ETH_IP6) + ipv6(44, bytes([17, 0]) + struct.pack("!HI", 8 << 3, 7) + b"g" * 24),
     dict(family=6, proto=17, sport=0, dport=0, fragment=1), 1),
    ("ipv4 tcp header cut", eth(ETH_IP) + ipv4(6, tcp(1, 2, SYN)[:8], total=40),
     dict(family=4, proto=6, sport=0, dport=0, truncated=1), 1),
    ("ipv4 header cut", eth(ETH_IP) + ipv4(17, b"")[:12], None, 1),
    ("arp", ARP, None, 1),
]


def testrun(hook, packets):
    """Runs packets through the flows program; returns (verdicts, flows, stats)."""
    r = subprocess.run([TESTRUN, "--hook", hook], input="".join(p.hex() + "\n" for p in packets),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    return (find(recs, type="verdict"), find(recs, type="flow"), one(recs, type="flow_stats"))


# The kernel's test run of a TC program refuses a frame whose IP header is
# incomplete (EINVAL), so at TC that case is left to the XDP run.
TC_REFUSED = {"ipv4 header cut"}


def check_crafted(hook, verdict):
    cases = [c for c in CASES if hook == "xdp" or c[0] not in TC_REFUSED]
    packets = [p for _, p, _, n in cases for _ in range(n)]
    verdicts, flows, stats = testrun(hook, packets)
    assert [v["retval"] for v in verdicts] == [verdict] * len(packets), verdicts
    for name, pkt, key, n in cases:
        if key is None:
            continue
        rec = one(flows, **key)
        extra = len(find(flows, **key))
        assert extra == 1, (name, flows)
        same = [c for c in CASES if c[2] == key]
        assert rec["packets"] == sum(c[3] for c in same), (name, rec)
        assert rec["bytes"] == sum(c[3] * len(c[1]) for c in same), (name, rec)
        assert rec["ifname"] == "lo" and rec["direction"] == "ingress", rec
    tcp_flow = one(flows, proto=6, sport=40000)
    assert tcp_flow["tcp_flags"] == SYN | PSH | ACK, tcp_flow
    assert one(flows, sport=4660)["vlan"] is None
    types = {(e["ethertype"], e["truncated"]): e for e in stats["ethertypes"]}
    assert types[("0x0806", False)]["packets"] == 1 and types[("0x0806", False)]["bytes"] == len(ARP)
    cut = int(hook == "xdp")
    assert len(types) == 1 + cut and types.get(("0x0800", True), {"packets": 0})["packets"] == cut
    assert stats["packets"] == len(packets) and stats["bytes"] == sum(map(len, packets)), stats
    assert (stats["malformed"], stats["non_ip"], stats["fragments"]) == (1 + cut, 1, 2), stats
    assert stats["overflow"] == 0 and stats["flows"] == len(flows) == 11, (stats, len(flows))


def test_testrun_xdp():
    """Every crafted packet lands in its key with exact counts; XDP_PASS always."""
    check_crafted("xdp", XDP_PASS)


def test_testrun_tc():
    """The same at TC: TC_ACT_UNSPEC (let other filters run) always."""
    check_crafted("tc", TC_ACT_UNSPEC)


def test_testrun_short_and_garbage_frames():
    """Random bytes and every prefix of a packet: always pass, every one counted."""
    full = eth(ETH_IP6) + ipv6(0, bytes([60, 0, 1, 4, 0, 0, 0, 0]) +
                               bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp(1, 2, SYN))
    for hook, verdict in (("xdp", XDP_PASS), ("tc", TC_ACT_UNSPEC)):
        shortest = 14 if hook == "xdp" else 14 + 40   # see TC_REFUSED
        packets = [full[:n] for n in range(shortest, len(full) + 1)] + \
            [os.urandom(64) for _ in range(50)]
        verdicts, flows, stats = testrun(hook, packets)
        assert all(v["retval"] == verdict for v in verdicts), verdicts
        assert stats["packets"] == len(packets), stats
        total = sum(f["packets"] for f in flows) + sum(e["packets"] for e in stats["ethertypes"])
        assert total == len(packets), (total, len(packets))
        assert one(flows, family=6, sport=1, dport=2, truncated=0)["tcp_flags"] == SYN

# ---------------------------------------------------------------- live


def quiet_pair():
    """A Pair where nothing but the test's own packets cross the veth:
    no IPv6 (no ND/MLD), static neighbours (no ARP)."""
    pair = Pair()
    macs = {}
    for ns, dev in ((pair.a, "nlta"), (pair.b, "nltb")):
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        macs[dev] = sh("cat", f"/sys/class/net/{dev}/address", ns=ns).strip()
    sh("ip", "neigh", "replace", pair.B4, "lladdr", macs["nltb"], "dev", "nlta", "nud",
       "permanent", ns=pair.a)
    sh("ip", "neigh", "replace", pair.A4, "lladdr", macs["nlta"], "dev", "nltb", "nud",
       "permanent", ns=pair.b)
    return pair


class Flows(Netlens):
    """netlens flows run inside namespace ns (so -i names that namespace's veth).

    Output goes to a file: many short intervals write more than a pipe holds,
    and nobody reads the pipe until stop().
    """

    def __init__(self, ns, *args):
        self.argv = ["ip", "netns", "exec", ns, NETLENS, "flows", "-o", "json"] + \
            [str(a) for a in args]
        self.out = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(self.argv, stdout=self.out, stderr=subprocess.PIPE, text=True)
        defer(self._kill)
        self._wait_attached()

    def stop(self, sig=signal.SIGINT, settle=0.1):
        time.sleep(settle)
        self.p.send_signal(sig)
        err = self.p.communicate(timeout=20)[1]
        assert self.p.returncode == 0, f"netlens exit {self.p.returncode}: {err}"
        self.out.seek(0)
        return [json.loads(line) for line in self.out]


class Capture:
    """tcpdump -w in a namespace: the ground truth of what crossed the interface."""

    def __init__(self, ns, dev, bpf_filter, direction="in"):
        fd, self.path = tempfile.mkstemp(suffix=".pcap")
        os.close(fd)
        defer(lambda: os.unlink(self.path))
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", dev, "-Q", direction,
                                   "--immediate-mode", "-U", "-n", "-s", "96", "-B", "65536", "-Z", "root",
                                   "-w", self.path]
                                  + bpf_filter.split(), stderr=subprocess.PIPE, text=True)
        defer(lambda: self.p.poll() is None and self.p.kill())
        line = self.p.stderr.readline()
        assert "listening" in line, line
        # tcpdump says "listening" a moment before it captures (measured: packets
        # sent at once are missed); the test then demands exact counts.
        time.sleep(1)

    def stop(self):
        """(packets, bytes) captured; bytes are the frames' original lengths."""
        time.sleep(0.2)
        self.p.send_signal(signal.SIGINT)
        err = self.p.communicate(timeout=20)[1]
        assert re.search(r"\b0 packets dropped by kernel", err), err
        data = open(self.path, "rb").read()
        off, packets, total = 24, 0, 0
        while off < len(data):
            incl, orig = struct.unpack_from("<II", data, off + 8)
            packets, total, off = packets + 1, total + orig, off + 16 + incl
        return packets, total


def traffic(ns, *args):
    return sh("python3", TRAFFIC, *map(str, args), ns=ns)


def totals(recs, **match):
    flows = find(recs, type="flow", **match)
    return sum(f["packets"] for f in flows), sum(f["bytes"] for f in flows)


def tcp_transfer(pair, port, size):
    """A TCP connection from a to b carrying size bytes; returns the client port."""
    sink = subprocess.Popen(["ip", "netns", "exec", pair.b, "python3", TRAFFIC, "tcp-sink",
                             pair.B4, str(port)], stdout=subprocess.PIPE, text=True)
    defer(lambda: sink.poll() is None and sink.kill())
    assert sink.stdout.readline().strip() == "READY"
    cport = int(traffic(pair.a, "tcp-send", pair.B4, port, size).split()[1])
    assert sink.stdout.readline().split() == ["DONE", str(size)]
    sink.wait(10)
    return cport


def tx_dropped(ns, dev):
    """Packets the device dropped on transmit (a veth: its peer's XDP ring was full)."""
    stats = json.loads(sh("ip", "-s", "-j", "link", "show", dev, ns=ns))[0]["stats64"]
    return stats["tx"]["dropped"]


def live_xdp_once():
    """One measurement; None when the veth dropped packets: tcpdump on the
    sender saw them, XDP never did (its 256-slot ring fills when the
    receiving CPU is busy), so the ground truth is not what crossed."""
    pair = quiet_pair()
    nl = Flows(pair.b, "-i", "nltb", "--hook", "xdp")
    assert "native mode" in nl.attached, nl.attached
    cap_udp = Capture(pair.a, "nlta", "udp port 9000", direction="out")
    cap_tcp = Capture(pair.a, "nlta", "tcp port 9100", direction="out")
    traffic(pair.a, "udp", pair.B4, 9000, 500, 1000)
    cport = tcp_transfer(pair, 9100, 3000000)
    udp_truth, tcp_truth = cap_udp.stop(), cap_tcp.stop()
    recs = nl.stop()
    if tx_dropped(pair.a, "nlta"):
        return None
    assert udp_truth == (500, 500 * (14 + 20 + 8 + 1000)), udp_truth
    assert totals(recs, proto=17, dport=9000, daddr=pair.B4, direction="ingress") == udp_truth
    assert totals(recs, proto=6, sport=cport, dport=9100, direction="ingress") == tcp_truth
    flow = find(recs, type="flow", sport=cport, dport=9100)[0]
    assert flow["tcp_flags"] & (SYN | ACK | FIN) == SYN | ACK | FIN, flow
    assert flow["ifname"] == "nltb" and flow["family"] == 4 and flow["vlan"] is None, flow
    return True


def test_live_xdp_udp_and_tcp_exact():
    """Exact against tcpdump on the sending side, measured again (up to 3
    times) when the veth dropped packets before XDP saw them."""
    for _ in range(3):
        if live_xdp_once():
            return
        cleanup()
    raise AssertionError("the veth dropped packets in 3 runs: no exact ground truth")


def test_live_tc_both_directions_exact():
    """TC sees the data going in and the ACKs going out, each exactly."""
    pair = quiet_pair()
    nl = Flows(pair.b, "-i", "nltb", "--hook", "tc")
    assert "TC ingress and egress on nltb, TCX links" in nl.attached, nl.attached
    cap_in = Capture(pair.b, "nltb", "tcp port 9101", direction="in")
    cap_out = Capture(pair.b, "nltb", "tcp port 9101", direction="out")
    cport = tcp_transfer(pair, 9101, 2000000)
    truth_in, truth_out = cap_in.stop(), cap_out.stop()
    recs = nl.stop()
    got_in = totals(recs, sport=cport, dport=9101, direction="ingress")
    got_out = totals(recs, sport=9101, dport=cport, direction="egress")
    assert (got_in, got_out) == (truth_in, truth_out), (got_in, got_out, truth_in, truth_out)
    assert truth_out[0] > 0


def test_collection_under_load_exact():
    """Traffic flows while netlens collects every 0.1 s and forgets idle flows:
    the sum of all deltas equals what crossed the interface."""
    for hook in ("xdp", "tc"):
        pair = quiet_pair()
        nl = Flows(pair.b, "-i", "nltb", "--hook", hook, "--direction", "ingress",
                   "--interval", "0.1", "--idle-timeout", "0.1")
        cap = Capture(pair.a, "nlta", "udp", direction="out")
        procs = [subprocess.Popen(["ip", "netns", "exec", pair.a, "python3", TRAFFIC, "udp",
                                   pair.B4, str(9200 + i), "40000", str(64 + i), "--ports", "50",
                                   "--rate", "20000"],
                                  stdout=subprocess.PIPE) for i in range(2)]
        for p in procs:
            assert p.wait(120) == 0
        truth = cap.stop()
        recs = nl.stop()
        stats = find(recs, type="flow_stats")
        busy = [s for s in stats if s["packets"]]
        assert len(busy) >= 5, f"{hook}: only {len(busy)} collections saw traffic"
        assert sum(s["evicted"] for s in stats) > 0, hook
        assert truth == (80000, 40000 * (106 + 107)), truth
        assert totals(recs, proto=17) == truth, (hook, totals(recs, proto=17), truth)
        assert sum(s["packets"] for s in stats) == truth[0], hook
        assert sum(s["overflow"] for s in stats) == 0


def test_overflow_counted_exactly():
    """300 flows into a 16-flow map: 16 flows, the rest in the overflow bucket."""
    pair = quiet_pair()
    nl = Flows(pair.b, "-i", "nltb", "--max-flows", 16, "--interval", 60)
    traffic(pair.a, "udp", pair.B4, 10000, 300, 10, "--ports", 300)
    recs = nl.stop()
    stats = one(recs, type="flow_stats")
    flows = find(recs, type="flow")
    assert len(flows) == 16 and stats["flows"] == 16, flows
    assert stats["overflow"] == 300 - 16 and stats["map_full"] == 300 - 16, stats
    assert stats["overflow_bytes"] == (300 - 16) * 52, stats
    assert sum(f["packets"] for f in flows) + stats["overflow"] == stats["packets"] == 300


def test_user_table_bounded_by_max_flows():
    """250 flows over five intervals, a 64-flow table, idle timeout far away: user space
    keeps 64 flows and says it forgot the other 186 early; every packet still counted."""
    pair = quiet_pair()
    nl = Flows(pair.b, "-i", "nltb", "--max-flows", 64, "--interval", 0.3,
               "--idle-timeout", 600)
    for batch in range(5):
        traffic(pair.a, "udp", pair.B4, 20000 + 50 * batch, 50, 10, "--ports", 50)
        time.sleep(1)
    recs = nl.stop()
    stats = find(recs, type="flow_stats")
    assert stats[-1]["tracked"] == 64, stats[-1]
    assert max(st["tracked"] for st in stats) == 64, stats
    assert sum(st["evicted_full"] for st in stats) == 250 - 64, stats
    assert sum(st["overflow"] for st in stats) == 0 and sum(st["evicted"] for st in stats) == 0
    assert totals(recs, proto=17) == (250, 250 * 52)


def test_top_sources():
    """--top-sources 53: packets per source address to port 53, largest first."""
    pair = quiet_pair()
    sh("ip", "addr", "add", "10.231.0.3/24", "dev", "nlta", ns=pair.a)
    nl = Flows(pair.b, "-i", "nltb", "--top-sources", 53, "--interval", 60)
    traffic(pair.a, "udp", pair.B4, 53, 30, 40)
    traffic(pair.a, "udp", pair.B4, 53, 10, 40, "--src", "10.231.0.3")
    traffic(pair.a, "udp", pair.B4, 53, 10, 40, "--src", "10.231.0.3")
    traffic(pair.a, "udp", pair.B4, 54, 99, 40)
    recs = nl.stop()
    tops = find(recs, type="top_source")
    assert [(t["saddr"], t["packets"], t["flows"]) for t in tops] == \
        [(pair.A4, 30, 1), ("10.231.0.3", 20, 2)], tops
    assert tops[0]["bytes"] == 30 * 82 and tops[0]["dport"] == 53, tops
    assert not find(recs, type="flow")

# ---------------------------------------------------------------- attach, detach, errors


def run_flows(ns, *args):
    return subprocess.run(["ip", "netns", "exec", ns, NETLENS, "flows"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=30)


def test_usage_errors():
    pair = Pair()
    for args, msg in ((("-i", "nope0"), "-i nope0: no such interface"),
                      ((), "-i IFACE is required"),
                      (("-i", "nltb", "--hook", "xdp", "--direction", "egress"),
                       "XDP sees ingress only"),
                      (("-i", "nltb", "--hook", "bpf"), "'bpf' is not xdp or tc"),
                      (("-i", "nltb", "--max-flows", "3"), "not a number from 16"),
                      (("-i", "nltb", "--hook", "tc", "--force"), "apply to --hook xdp only")):
        r = run_flows(pair.b, *args)
        assert r.returncode == 2 and msg in r.stderr, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def xdp_prog_id(ns, dev):
    out = json.loads(sh("ip", "-j", "link", "show", dev, ns=ns))[0]
    return out.get("xdp", {}).get("prog", {}).get("id") or \
        (out.get("xdp", {}).get("attached") or [{}])[0].get("prog", {}).get("id")


def test_xdp_refuses_another_program_and_detaches():
    pair = Pair()
    first = Flows(pair.b, "-i", "nltb", "--xdp-mode", "generic")
    assert "XDP ingress on nltb, generic mode" in first.attached, first.attached
    theirs = xdp_prog_id(pair.b, "nltb")
    assert theirs
    r = run_flows(pair.b, "-i", "nltb", "--hook", "xdp", "-d", "1")
    assert r.returncode == 1 and "already has an XDP program" in r.stderr, r.stderr
    assert xdp_prog_id(pair.b, "nltb") == theirs
    first.stop()
    assert not xdp_prog_id(pair.b, "nltb")
    # --force replaces; at exit ours goes and nothing is left.
    first = Flows(pair.b, "-i", "nltb", "--xdp-mode", "native")
    second = Flows(pair.b, "-i", "nltb", "--force", "--xdp-mode", "native")
    assert xdp_prog_id(pair.b, "nltb") != theirs
    second.stop()
    assert not xdp_prog_id(pair.b, "nltb")
    first.stop()


def test_tc_keeps_a_clsact_it_did_not_create():
    """TCX links need no qdisc: none is added, one already there is left as it is. With
    netlink filters (a kernel without TCX, emulated) the clsact qdisc netlens added goes
    at exit, one that was there stays; no filter of ours is left either way."""
    pair = Pair()
    for preload, netlink in ((None, False), (no_tcx(), True)):
        if preload:
            os.environ["LD_PRELOAD"] = preload
        try:
            nl = Flows(pair.b, "-i", "nltb", "--hook", "tc", "-d", 30)
            assert ("netlink filters" in nl.attached) == netlink, nl.attached
            assert ("clsact" in sh("tc", "qdisc", "show", "dev", "nltb", ns=pair.b)) == netlink
            nl.stop(sig=signal.SIGTERM)
            assert "clsact" not in sh("tc", "qdisc", "show", "dev", "nltb", ns=pair.b)
            sh("tc", "qdisc", "add", "dev", "nltb", "clsact", ns=pair.b)
            nl = Flows(pair.b, "-i", "nltb", "--hook", "tc")
            assert ("clsact qdisc already there" in nl.attached) == netlink, nl.attached
        finally:
            os.environ.pop("LD_PRELOAD", None)
        nl.stop()
        assert "clsact" in sh("tc", "qdisc", "show", "dev", "nltb", ns=pair.b)
        assert not sh("tc", "filter", "show", "dev", "nltb", "ingress", ns=pair.b).strip()
        assert not sh("tc", "filter", "show", "dev", "nltb", "egress", ns=pair.b).strip()
        sh("tc", "qdisc", "del", "dev", "nltb", "clsact", ns=pair.b)


def test_default_hook_on_veth_is_tc():
    """On a veth the default is TC ingress, and the start line says why: native
    XDP there would turn off the peer's GSO. --xdp-mode asks for XDP."""
    pair = Pair()
    nl = Flows(pair.b, "-i", "nltb")
    assert "TC ingress on nltb, TCX links (default on veth: native XDP would turn off the " \
        "peer's GSO)" in nl.attached, nl.attached
    assert not xdp_prog_id(pair.b, "nltb")
    nl.stop()
    nl = Flows(pair.b, "-i", "nltb", "--xdp-mode", "native")
    assert "XDP ingress on nltb, native mode" in nl.attached, nl.attached
    nl.stop()


def test_xdp_auto_falls_back_to_generic():
    """lo has no native XDP: auto says it took generic mode; native is refused."""
    pair = Pair()
    nl = Flows(pair.a, "-i", "lo")
    assert "XDP ingress on lo, generic mode" in nl.attached, nl.attached
    nl.stop()
    r = run_flows(pair.a, "-i", "lo", "--xdp-mode", "native", "-d", "1")
    assert r.returncode == 1 and "cannot attach XDP (native mode) to lo" in r.stderr, r.stderr


def test_live_vlan_in_frame_and_in_metadata():
    """Tagged frames over the veth (802.1Q 100; QinQ 802.1ad 200 + 802.1Q 300):
    at XDP the tags are in the frame; at TC the receive path has moved the
    outer one into skb metadata. Both report the same VLAN IDs."""
    for hook in ("xdp", "tc"):
        pair = Pair()
        mac = sh("cat", "/sys/class/net/nltb/address", ns=pair.b).strip().replace(":", "")
        dot1q = eth(ETH_IP, [(TPID_Q, 100)]) + ipv4(17, udp(4000, 9300, 100))
        qinq = eth(ETH_IP, [(TPID_AD, 200), (TPID_Q, 300)]) + ipv4(17, udp(4000, 9301, 100))
        nl = Flows(pair.b, "-i", "nltb", "--hook", hook, "--direction", "ingress")
        for frame, count in ((dot1q, 20), (qinq, 7)):
            traffic(pair.a, "raw", "nlta", mac + frame[6:].hex(), count)
        recs = nl.stop()
        # At TC the outer tag (4 bytes) is metadata, not part of skb->len.
        untagged = 4 if hook == "tc" else 0
        flow = one(recs, type="flow", dport=9300)
        assert (flow["vlan"], flow["vlan_inner"], flow["packets"]) == (100, None, 20), flow
        assert flow["bytes"] == 20 * (len(dot1q) - untagged), (hook, flow)
        flow = one(recs, type="flow", dport=9301)
        assert (flow["vlan"], flow["vlan_inner"], flow["packets"]) == (200, 300, 7), flow
        assert flow["bytes"] == 7 * (len(qinq) - untagged), (hook, flow)
