"""netlens flows --ipfix: a real collector (nfcapd, Debian package nfdump)
receives the export; nfdump reads back exactly what netlens counted."""
import collections
import csv
import select
import shutil
import signal
import subprocess
import tempfile
import time

from nltest import NETLENS, Pair, Serve, defer, find, free_port, sh
from test_flows import (ETH_IP, TPID_AD, TPID_Q, Flows, eth, ipv4, quiet_pair, tcp_transfer,
                        traffic, udp)

PORT = 4739          # nfcapd on the loopback of the namespace netlens runs in
ETH_HLEN = 14        # flows counts frames, IPFIX octetDeltaCount IP packets


class Collector:
    """nfcapd on 127.0.0.1:PORT inside namespace ns, writing into a temporary directory."""

    def __init__(self, ns):
        self.dir = tempfile.mkdtemp(prefix="nlt-nfcapd-")
        defer(lambda: shutil.rmtree(self.dir))
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, "nfcapd", "-w", self.dir,
                                   "-b", "127.0.0.1", "-p", str(PORT), "-t", "3600"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        defer(lambda: self.p.poll() is None and self.p.kill())
        self.log = []
        while True:
            line = self.p.stdout.readline()
            assert line, f"nfcapd ended: {self.log}"
            self.log.append(line.strip())
            if line.startswith("Startup"):
                return

    def next_line(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        assert r, f"nfcapd said nothing within {timeout}s"
        return self.p.stdout.readline().strip()

    def stop(self):
        """Stops nfcapd (it writes its file) and returns nfdump's flow rows as dicts."""
        time.sleep(1)   # the last datagrams reach nfcapd's socket before it stops
        self.p.send_signal(signal.SIGTERM)
        self.log += self.p.communicate(timeout=20)[0].splitlines()
        out = sh("nfdump", "-R", self.dir, "-N", "-o", "csv")
        rows = []
        for row in csv.DictReader(out.splitlines()):
            if not row.get("sa"):      # the summary after the flows
                break
            rows.append(row)
        return rows


def sums(rows, key):
    """(packets, bytes) per key(row), summed over the records of every interval."""
    got = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        got[key(r)][0] += int(r["ipkt"])
        got[key(r)][1] += int(r["ibyt"])
    return {k: tuple(v) for k, v in got.items()}


def flow_id(r):
    """A nfdump row's flow: addresses, ports (ICMP: type*256+code), protocol, in/out ifindex."""
    return (r["sa"], r["da"], int(r["sp"]), int(r["dp"]), r["pr"], int(r["in"]), int(r["out"]))


PROTO = {17: "UDP", 6: "TCP", 1: "ICMP", 58: "ICMP6"}


def json_id(f):
    """The same identity for a netlens JSON flow record."""
    icmp = f["proto"] in (1, 58)
    ifx = (f["ifindex"], 0) if f["direction"] == "ingress" else (0, f["ifindex"])
    return (f["saddr"], f["daddr"], 0 if icmp else f["sport"],
            f["sport"] * 256 + f["dport"] if icmp else f["dport"],
            PROTO.get(f["proto"], str(f["proto"]))) + ifx


def test_ipfix_to_nfcapd_exact():
    """UDP over IPv4 and IPv6 and a TCP transfer, both directions at TC: nfdump
    shows every flow record netlens wrote, with the same packets, and bytes as
    the IP length (frame minus Ethernet header)."""
    pair = Pair()
    col = Collector(pair.b)
    nl = Flows(pair.b, "-i", "nltb", "--hook", "tc", "--direction", "both", "--interval", "1",
               "--ipfix", f"127.0.0.1:{PORT}")
    # Paced: the UDP flows span several intervals, so several records each.
    traffic(pair.a, "udp", pair.B4, 9300, 200, 500, "--rate", 100)
    traffic(pair.a, "udp", pair.B6, 9301, 150, 700, "--rate", 100)
    cport = tcp_transfer(pair, 9302, 1000000)
    recs = nl.stop()
    rows = col.stop()
    assert any("Sequence Errors: 0" in line for line in col.log), col.log

    ifindex = find(recs, type="flow")[0]["ifindex"]
    assert len([r for r in rows if r["dp"] == "9300"]) >= 2, rows
    got = sums(rows, flow_id)
    udp4 = (pair.A4, pair.B4, "UDP", ifindex, 0)
    udp6 = (pair.A6, pair.B6, "UDP", ifindex, 0)
    assert [v for k, v in got.items() if (k[0], k[1], k[4], k[5], k[6]) == udp4
            and k[3] == 9300] == [(200, 200 * (20 + 8 + 500))], got
    assert [v for k, v in got.items() if (k[0], k[1], k[4], k[5], k[6]) == udp6
            and k[3] == 9301] == [(150, 150 * (40 + 8 + 700))], got

    # Every JSON flow record is one IPFIX record: same flows, same sums.
    flows = find(recs, type="flow")
    assert len(rows) == len(flows), (len(rows), len(flows))
    want = collections.defaultdict(lambda: [0, 0])
    for f in flows:
        want[json_id(f)][0] += f["packets"]
        want[json_id(f)][1] += f["bytes"] - ETH_HLEN * f["packets"]
    assert got == {k: tuple(v) for k, v in want.items()}, (got, want)
    tcp_in = got[(pair.A4, pair.B4, cport, 9302, "TCP", ifindex, 0)]
    tcp_out = got[(pair.B4, pair.A4, 9302, cport, "TCP", 0, ifindex)]
    assert tcp_in[1] > 1000000 and tcp_out[0] > 0, (tcp_in, tcp_out)
    # Nothing listens on the UDP ports: port unreachable (3, 3) and ICMPv6 (1, 4)
    # answers, their type and code in icmpTypeCodeIPv4/IPv6, which nfdump shows as dp.
    icmp = {(r["sa"], r["pr"], r["dp"]) for r in rows if r["pr"].startswith("ICMP")}
    assert {(pair.B4, "ICMP", "771"), (pair.B6, "ICMP6", "260")} <= icmp, icmp
    flags = "".join(r["flg"] for r in rows if int(r["dp"]) == 9302)
    assert {"A", "S", "F"} <= set(flags), flags


def test_templates_at_start():
    """The templates go out when netlens starts, not an interval later: the
    collector meets the exporter (Observation Domain = the ifindex) at once."""
    pair = quiet_pair()
    col = Collector(pair.b)
    ifindex = int(sh("cat", "/sys/class/net/nltb/ifindex", ns=pair.b))
    nl = Flows(pair.b, "-i", "nltb", "--interval", "60", "--ipfix", f"127.0.0.1:{PORT}")
    line = col.next_line(timeout=5)
    assert "New ipfix exporter" in line and f"Observation domain {ifindex} " in line, line
    nl.stop()
    assert col.stop() == []


def test_vlan_octets_are_ip_lengths():
    """802.1Q and QinQ frames: at XDP the tags are in the frame, at TC the
    outer one is in skb metadata; either way IPFIX carries the IP length and
    the outer VLAN ID."""
    for hook in ("xdp", "tc"):
        pair = Pair()
        col = Collector(pair.b)
        mac = sh("cat", "/sys/class/net/nltb/address", ns=pair.b).strip().replace(":", "")
        packet = ipv4(17, udp(4000, 9330, 100))
        nl = Flows(pair.b, "-i", "nltb", "--hook", hook, "--direction", "ingress",
                   "--ipfix", f"127.0.0.1:{PORT}")
        for tags, count in (([(TPID_Q, 100)], 20), ([(TPID_AD, 200), (TPID_Q, 300)], 7)):
            frame = eth(ETH_IP, tags) + packet
            traffic(pair.a, "raw", "nlta", mac + frame[6:].hex(), count)
        nl.stop()
        got = sums(col.stop(), lambda r: (r["dp"], r["svln"]))
        assert (got[("9330", "100")], got[("9330", "200")]) == \
            ((20, 20 * len(packet)), (7, 7 * len(packet))), (hook, got)


def test_serve_exports_flows():
    """netlens serve --enable flows --ipfix (TC, both directions): the same
    export, and the metrics agree with the collector exactly (a quiet pair:
    the test's datagrams in, the kernel's port unreachable answers out)."""
    pair = quiet_pair()
    col = Collector(pair.b)
    srv = Serve("--enable", "flows", "-i", "nltb", "--interval", "1",
                "--ipfix", f"127.0.0.1:{PORT}", ns=pair.b)
    traffic(pair.a, "udp", pair.B4, 9310, 200, 300)
    inbound = dict(ifname="nltb", direction="ingress")
    outbound = dict(ifname="nltb", direction="egress")
    assert srv.wait_value("netlens_flow_packets_total", 200, **inbound) == 200
    time.sleep(1.5)   # one more collection: the answers to the last datagrams too
    page = srv.metrics()
    assert srv.value("netlens_flow_packets_total", page, **inbound) == 200, page
    assert srv.value("netlens_flow_bytes_total", page, **inbound) == 200 * (14 + 28 + 300)
    out_packets = srv.value("netlens_flow_packets_total", page, **outbound)
    out_bytes = srv.value("netlens_flow_bytes_total", page, **outbound)
    records = srv.value("netlens_ipfix_records_total", page, template="ipv4")
    assert srv.value("netlens_ipfix_records_total", page, template="ipv6") == 0, page
    assert srv.value("netlens_ipfix_send_errors_total", page) == 0, page
    srv.stop()
    rows = col.stop()
    ifindex = int(sh("cat", "/sys/class/net/nltb/ifindex", ns=pair.b))
    got = sums(rows, flow_id)
    inbound = {(sa, da, dp, pr, i, o): v for (sa, da, sp, dp, pr, i, o), v in got.items()
               if i == ifindex}
    assert inbound == {(pair.A4, pair.B4, 9310, "UDP", ifindex, 0): (200, 200 * (28 + 300))}, got
    # Out: only the port unreachable answers (type 3, code 3), as the metrics say.
    outbound = {(sa, da, dp, pr): v for (sa, da, sp, dp, pr, i, o), v in got.items()
                if o == ifindex}
    assert list(outbound) == [(pair.B4, pair.A4, 3 * 256 + 3, "ICMP")], got
    packets, octets = outbound[(pair.B4, pair.A4, 3 * 256 + 3, "ICMP")]
    assert (packets, octets + ETH_HLEN * packets) == (out_packets, out_bytes), \
        (packets, octets, out_packets, out_bytes)
    assert len(rows) == records, (rows, records)
    assert any(f"Flows: {len(rows)}," in line and "Sequence Errors: 0" in line
               for line in col.log), col.log


def test_collector_unreachable_said_and_counted():
    """No route to the collector: every send fails; netlens says it once on
    stderr, counts it, and goes on counting flows."""
    pair = quiet_pair()
    col = Collector(pair.b)   # listening, but not where netlens sends
    srv = Serve("--enable", "flows", "-i", "nltb", "--interval", "0.2",
                "--ipfix", "192.0.2.1:4739", ns=pair.b)
    traffic(pair.a, "udp", pair.B4, 9320, 100, 100, "--rate", 100)
    assert srv.wait_value("netlens_flow_packets_total", 100, ifname="nltb",
                          direction="ingress") == 100
    page = srv.metrics()
    messages = srv.value("netlens_ipfix_messages_total", page)
    assert messages >= 2, page
    assert srv.value("netlens_ipfix_send_errors_total", page) == messages, page
    # Said once: at start, when the templates could not go out.
    assert srv.errors == [
        "netlens flows: IPFIX export to 192.0.2.1:4739: Network is unreachable (failed "
        "messages are counted; said again when it works)"], srv.errors
    assert srv.stop() == ""
    assert col.stop() == []


def test_bad_ipfix_destination_exits_2():
    for bad, cmd in (("localhost:4739", "flows"), ("127.0.0.1", "flows"), ("[::1]:0", "flows"),
                     ("::1:4739", "flows"), ("10.0.0.1:99999", "serve")):
        extra = ("--listen", f"127.0.0.1:{free_port()}", "--enable", "flows") \
            if cmd == "serve" else ()
        r = subprocess.run([NETLENS, cmd, *extra, "-i", "lo", "--ipfix", bad],
                           capture_output=True, text=True)
        assert r.returncode == 2, (bad, r.returncode, r.stderr)
        assert r.stderr == f"netlens: flows: --ipfix: '{bad}' is not a collector address: " \
            "A.B.C.D:PORT or [IPv6]:PORT, numeric, port 1-65535\n", r.stderr
