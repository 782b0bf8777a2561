"""netlens block: an XDP blocklist and rate limit between two namespaces, exact
against nftables counters on the receiver and the rules' own counters; crafted
packets through BPF_PROG_TEST_RUN (bpftool prog run) for the parser's cases."""
import json
import os
import subprocess
import tempfile
import time

from nltest import NETLENS, Netlens, Pair, Proc, defer, sh
from test_flows import eth, ipv4, ipv6, tcp, udp

TRAFFIC = os.path.join(os.path.dirname(__file__), "flows_traffic.py")
XDP_DROP, XDP_PASS = 1, 2
IFACE = "nltb"
# Sources on a's side beside its own 10.231.0.1 / fd00:231::1.
BLOCKED4, OTHER4 = "10.231.1.5", "10.231.2.5"
BLOCKED6 = "fd00:232::5"
UDP_LEN = 14 + 20 + 8   # frame bytes on top of the payload (IPv4)


def ns_argv(ns, *argv):
    return ["nsenter", f"--net=/run/netns/{ns}"] + [str(a) for a in argv]


def block(ns, *args, check=True, iface=IFACE):
    """netlens block -i IFACE ARGS in namespace ns: the CompletedProcess."""
    r = subprocess.run(ns_argv(ns, NETLENS, "block", "-i", iface, *args),
                       capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"block {' '.join(map(str, args))}: rc {r.returncode}: {r.stderr}")
    return r


def rules(ns):
    out = block(ns, "list", "-o", "json").stdout
    return {r["rule"]: r for r in map(json.loads, out.splitlines())}


def status(ns):
    return json.loads(block(ns, "status", "-o", "json").stdout)


def blocked_pair():
    """A pair whose client side also owns 10.231.1.5, 10.231.2.5 and fd00:232::5;
    the server routes them back. The blocker goes at the end of the test."""
    pair = Pair()
    for addr in (BLOCKED4 + "/24", OTHER4 + "/24"):
        sh("ip", "addr", "add", addr, "dev", "nlta", ns=pair.a)
    sh("ip", "addr", "add", BLOCKED6 + "/64", "dev", "nlta", "nodad", ns=pair.a)
    for net in ("10.231.1.0/24", "10.231.2.0/24", "fd00:232::/64"):
        sh("ip", "route", "add", net, "dev", "nltb", ns=pair.b)
    # Static neighbours: a blocked IPv6 source's neighbour solicitations are dropped too.
    mac = json.loads(sh("ip", "-j", "link", "show", "nltb", ns=pair.b))[0]["address"]
    sh("ip", "neigh", "replace", pair.B6, "lladdr", mac, "dev", "nlta", "nud", "permanent",
       ns=pair.a)
    defer(lambda: block(pair.b, "detach", check=False))
    return pair


class Counters:
    """Named nftables counters on the server's input hook: name -> match."""

    def __init__(self, ns, **matches):
        self.ns = ns
        cmds = ["add table inet nltblk",
                "add chain inet nltblk in { type filter hook input priority 0; }"]
        for name, match in matches.items():
            cmds += [f"add counter inet nltblk {name}",
                     f"add rule inet nltblk in {match} counter name {name}"]
        sh("nft", "; ".join(cmds), ns=ns)

    def get(self):
        out = json.loads(sh("nft", "-j", "list", "counters", "table", "inet", "nltblk",
                            ns=self.ns))
        return {c["counter"]["name"]: c["counter"]["packets"]
                for c in out["nftables"] if "counter" in c}


def send_udp(pair, src, port, count, size=50, rate=None, dst=None):
    argv = ["python3", TRAFFIC, "udp", dst or pair.B4, port, count, size, "--src", src]
    if rate:
        argv += ["--rate", rate]
    out = subprocess.run(ns_argv(pair.a, *argv), capture_output=True, text=True, check=True)
    assert "DONE" in out.stdout


PINGS = """
import socket, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
for i in range(n):
    body = struct.pack("!BBHHH", 8, 0, 0, 1, i) + b"ping"
    c = sum(struct.unpack("!6H", body)); c = (c & 0xffff) + (c >> 16)
    s.sendto(body[:2] + struct.pack("!H", ~c & 0xffff) + body[4:], (dst, 0))
"""


def send_pings(pair, src, n):
    """n ICMP echo requests from src (no ping(8) on the test machine)."""
    subprocess.run(ns_argv(pair.a, "python3", "-c", PINGS, src, pair.B4, n), check=True)


def test_block_ipv4_prefix_exact():
    pair = blocked_pair()
    n, size = 300, 50
    c = Counters(pair.b, blocked=f"ip saddr {BLOCKED4} udp dport 7000",
                 other=f"ip saddr {OTHER4} udp dport 7000")
    block(pair.b, "add", "10.231.1.0/24")
    send_udp(pair, BLOCKED4, 7000, n, size)
    send_udp(pair, OTHER4, 7000, n, size)
    got = c.get()
    assert got == {"blocked": 0, "other": n}, got
    r = rules(pair.b)["10.231.1.0/24"]
    assert (r["packets"], r["bytes"]) == (n, n * (UDP_LEN + size)), r
    st = status(pair.b)
    assert st["dropped"] == n and st["dropped_bytes"] == n * (UDP_LEN + size), st
    assert st["mode"] in ("native", "generic") and st["prog_id"] > 0


def test_block_ipv6_prefix_exact():
    pair = blocked_pair()
    n, size = 200, 64
    c = Counters(pair.b, blocked=f"ip6 saddr {BLOCKED6} udp dport 7000",
                 other=f"ip6 saddr {pair.A6} udp dport 7000")
    block(pair.b, "add", "fd00:232::/64")
    send_udp(pair, BLOCKED6, 7000, n, size, dst=pair.B6)
    send_udp(pair, pair.A6, 7000, n, size, dst=pair.B6)
    assert c.get() == {"blocked": 0, "other": n}
    r = rules(pair.b)["fd00:232::/64"]
    assert (r["packets"], r["bytes"]) == (n, n * (14 + 40 + 8 + size)), r


def test_proto_and_port_rules_block_only_what_they_name():
    pair = blocked_pair()
    n = 100
    c = Counters(pair.b, p7001=f"ip saddr {BLOCKED4} udp dport 7001",
                 p7002=f"ip saddr {BLOCKED4} udp dport 7002",
                 ping=f"ip saddr {OTHER4} icmp type echo-request",
                 other_udp=f"ip saddr {OTHER4} udp dport 7001")
    block(pair.b, "add", "10.231.1.0/24", "--proto", "udp", "--port", "7001")
    block(pair.b, "add", "10.231.2.0/24", "--proto", "icmp")
    send_udp(pair, BLOCKED4, 7001, n)
    send_udp(pair, BLOCKED4, 7002, n)
    send_udp(pair, OTHER4, 7001, n)
    send_pings(pair, OTHER4, n)
    assert c.get() == {"p7001": 0, "p7002": n, "ping": 0, "other_udp": n}
    got = rules(pair.b)
    assert got["10.231.1.0/24 udp port 7001"]["packets"] == n
    assert got["10.231.2.0/24 icmp"]["packets"] == n


def test_dry_run_drops_nothing_and_counts_exactly():
    pair = blocked_pair()
    n = 250
    c = Counters(pair.b, blocked=f"ip saddr {BLOCKED4} udp dport 7000")
    block(pair.b, "add", "10.231.1.0/24", "--dry-run")
    send_udp(pair, BLOCKED4, 7000, n)
    assert c.get() == {"blocked": n}
    r = rules(pair.b)["10.231.1.0/24"]
    assert r["dry_run"] and r["packets"] == n, r
    st = status(pair.b)
    assert (st["dry_run"], st["dropped"]) == (n, 0), st


def test_rules_survive_the_command_and_a_new_list_shows_counts():
    pair = blocked_pair()
    block(pair.b, "add", "10.231.1.0/24", "fd00:232::/64")
    prog = status(pair.b)["prog_id"]
    send_udp(pair, BLOCKED4, 7000, 40)
    # Every block command has exited: the program and its counts stay.
    got = rules(pair.b)
    assert set(got) == {"10.231.1.0/24", "fd00:232::/64"}
    assert got["10.231.1.0/24"]["packets"] == 40
    # A rule added later goes into the running program: same id, no reload.
    block(pair.b, "add", "10.231.2.0/24")
    assert status(pair.b)["prog_id"] == prog
    send_udp(pair, OTHER4, 7000, 30)
    assert rules(pair.b)["10.231.2.0/24"]["packets"] == 30


def test_del_while_traffic_flows_takes_effect_at_once():
    pair = blocked_pair()
    n = 2000
    c = Counters(pair.b, blocked=f"ip saddr {BLOCKED4} udp dport 7000")
    block(pair.b, "add", "10.231.1.0/24")
    sender = Proc(ns_argv(pair.a, "python3", TRAFFIC, "udp", pair.B4, 7000, n, 20,
                          "--src", BLOCKED4, "--rate", 1000))
    time.sleep(0.8)
    assert c.get()["blocked"] == 0
    block(pair.b, "del", "10.231.1.0/24")
    after_del = c.get()["blocked"]
    time.sleep(0.3)
    assert c.get()["blocked"] > after_del, "packets still dropped after del"
    sender.expect("DONE", timeout=10)
    dropped = status(pair.b)["dropped"]
    # Each packet was dropped by the rule or arrived, never both, never neither.
    assert 0 < dropped < n and dropped + c.get()["blocked"] == n, (dropped, c.get())
    assert rules(pair.b) == {}


def test_detach_leaves_no_program_or_pin():
    pair = blocked_pair()
    block(pair.b, "add", "10.231.1.0/24")
    st = status(pair.b)
    assert os.path.exists(os.path.join(st["pins"], "link"))
    block(pair.b, "detach")
    assert "xdp" not in sh("ip", "link", "show", IFACE, ns=pair.b)
    assert not os.path.exists(st["pins"])
    assert not os.path.exists(os.path.dirname(st["pins"]))
    r = subprocess.run(["bpftool", "prog", "show", "id", str(st["prog_id"])],
                       capture_output=True, text=True)
    assert r.returncode != 0, r.stdout
    r = block(pair.b, "list", check=False)
    assert r.returncode == 1 and "no blocker on nltb" in r.stderr, r.stderr
    # And traffic flows again.
    c = Counters(pair.b, blocked=f"ip saddr {BLOCKED4} udp dport 7000")
    send_udp(pair, BLOCKED4, 7000, 10)
    assert c.get() == {"blocked": 10}


def test_errors_are_one_clear_line():
    pair = blocked_pair()
    cases = [
        (("add", "10.231.1.5/24"), 2, "has bits set past its /24 prefix"),
        (("add", "10.1.2.300/24"), 2, "is not a CIDR"),
        (("add", "10.0.0.0/33"), 2, "the prefix length is 0 to 32"),
        (("add", "0.0.0.0/0"), 2, "blocks every IPv4 source; --force"),
        (("add", "::/0"), 2, "blocks every IPv6 source; --force"),
        (("limit", "--pps", "0"), 2, "--pps: '0' is not a number from 1"),
        (("limit", "10.0.0.0/8"), 2, "--pps N is required"),
        (("add", "10.0.0.0/8", "--proto", "icmp", "--port", "1"), 2, "--port applies to tcp"),
        (("add", "10.0.0.0/8", "--proto", "gre"), 2, "is not tcp, udp or icmp"),
        (("frob",), 2, "is not add, del, limit"),
        (("list",), 1, "no blocker on nltb"),
    ]
    for args, rc, text in cases:
        r = block(pair.b, *args, check=False)
        assert r.returncode == rc and text in r.stderr and len(r.stderr.splitlines()) == 1, \
            (args, r.returncode, r.stderr)
    r = block(pair.b, "list", check=False, iface="nosuch0")
    assert r.returncode == 2 and "no such interface" in r.stderr, r.stderr
    block(pair.b, "add", "10.231.1.0/24")
    r = block(pair.b, "add", "10.231.1.0/24", check=False)
    assert r.returncode == 1 and "exists already" in r.stderr, r.stderr
    r = block(pair.b, "del", "10.231.9.0/24", check=False)
    assert r.returncode == 1 and "no rule for 10.231.9.0/24" in r.stderr, r.stderr
    # /0 with --force is a rule like another.
    block(pair.b, "add", "::/0", "--force")
    assert "::/0" in rules(pair.b)


def test_another_xdp_program_is_refused_with_its_id():
    pair = blocked_pair()
    nl = Netlens("-i", IFACE, "--hook", "xdp", command="flows",
                 prefix=("nsenter", f"--net=/run/netns/{pair.b}"))
    other = json.loads(sh("ip", "-j", "link", "show", IFACE, ns=pair.b))[0]["xdp"]["prog"]["id"]
    r = block(pair.b, "add", "10.231.1.0/24", check=False)
    assert r.returncode == 1 and f"already has an XDP program (id {other})" in r.stderr, r.stderr
    nl.stop()
    block(pair.b, "add", "10.231.1.0/24")


def test_rate_limit_lets_through_rate_times_window():
    pair = blocked_pair()
    pps, burst, rate, n = 200, 20, 1000, 3000
    c = Counters(pair.b, a=f"ip saddr {BLOCKED4} udp dport 7000",
                 b=f"ip saddr 10.231.1.6 udp dport 7000")
    sh("ip", "addr", "add", "10.231.1.6/24", "dev", "nlta", ns=pair.a)
    block(pair.b, "limit", "10.231.1.0/24", "--pps", pps, "--burst", burst)
    t0 = time.monotonic()
    other = Proc(ns_argv(pair.a, "python3", TRAFFIC, "udp", pair.B4, 7000, n // 2, 20,
                         "--src", "10.231.1.6", "--rate", rate // 2))
    send_udp(pair, BLOCKED4, 7000, n, 20, rate=rate)
    window = time.monotonic() - t0
    other.expect("DONE", timeout=10)
    got = c.get()
    rule = rules(pair.b)["10.231.1.0/24"]
    st = status(pair.b)
    # Each source its own bucket (/32): each let through its rate over the time it sent, at
    # most pps * t + burst (GCRA's bound). The senders pace from their own start and catch up
    # when late, so they send for 3 s at least (the lower bound) and at most for the window
    # measured here, which also holds their start-up (the upper bound).
    sending = n / rate
    for src in ("a", "b"):
        assert pps * sending - 2 <= got[src] <= pps * window + burst, (src, got, window)
    assert rule["packets"] + got["a"] + got["b"] == n + n // 2, (rule, got)
    assert st["rate_limited"] == rule["packets"] and st["buckets"] == 2, st
    assert st["evictions"] == 0


def test_rate_limit_dry_run_counts_and_drops_nothing():
    pair = blocked_pair()
    c = Counters(pair.b, a=f"ip saddr {BLOCKED4} udp dport 7000")
    block(pair.b, "limit", "10.231.1.0/24", "--pps", 50, "--burst", 5, "--dry-run")
    n = 400
    send_udp(pair, BLOCKED4, 7000, n, 20, rate=1000)
    rule = rules(pair.b)["10.231.1.0/24"]
    assert c.get() == {"a": n}
    assert 0 < rule["packets"] < n and rule["dry_run"], rule


def test_evictions_counted_when_sources_exceed_the_lru():
    pair = blocked_pair()
    block(pair.b, "limit", "10.77.0.0/16", "--pps", 1000, "--max-sources", 64)
    frames = [eth(0x0800) + ipv4(17, udp(1000, 7000, 8), src=f"10.77.{i // 250}.{i % 250 + 1}")
              for i in range(1000)]
    prog = status(pair.b)["prog_id"]
    for f in frames:
        run_prog(prog, f)
    st = status(pair.b)
    assert st["buckets_created"] == 1000 and st["buckets"] <= 64, st
    assert st["evictions"] == 1000 - st["buckets"], st


def run_prog(prog_id, frame):
    with tempfile.NamedTemporaryFile() as f:
        f.write(frame)
        f.flush()
        out = subprocess.run(["bpftool", "prog", "run", "id", str(prog_id), "data_in", f.name],
                             capture_output=True, text=True, check=True).stdout
    return int(out.split("Return value:")[1].split(",")[0])


def test_testrun_crafted_packets_verdicts():
    pair = blocked_pair()
    block(pair.b, "add", "10.231.1.0/24", "fd00:232::/64")
    block(pair.b, "add", "10.231.3.0/24", "--proto", "udp", "--port", "53")
    prog = status(pair.b)["prog_id"]
    u = udp(4000, 9000, 16)
    frag_later = ipv4(17, b"x" * 16, src=BLOCKED4, frag=100)
    v6_frag_later = ipv6(44, bytes([17, 0, 0x03, 0x20, 0, 0, 0, 1]) + b"x" * 16, src=BLOCKED6)
    v6_ext = ipv6(0, bytes([60, 0]) + b"\0" * 6 + bytes([17, 0]) + b"\0" * 6 + u, src=BLOCKED6)
    cases = [
        ("ipv4 blocked", eth(0x0800) + ipv4(17, u, src=BLOCKED4), XDP_DROP),
        ("ipv4 other", eth(0x0800) + ipv4(17, u, src=OTHER4), XDP_PASS),
        ("vlan blocked", eth(0x0800, [(0x8100, 10)]) + ipv4(17, u, src=BLOCKED4), XDP_DROP),
        ("qinq blocked", eth(0x0800, [(0x88A8, 20), (0x8100, 10)]) + ipv4(6, tcp(1, 2, 2),
                                                                            src=BLOCKED4),
         XDP_DROP),
        ("ipv4 first fragment", eth(0x0800) + ipv4(17, u, src=BLOCKED4, mf=True), XDP_DROP),
        ("ipv4 later fragment", eth(0x0800) + frag_later, XDP_DROP),
        ("ipv4 later fragment other", eth(0x0800) + ipv4(17, b"x" * 16, src=OTHER4, frag=100),
         XDP_PASS),
        ("ipv4 truncated", (eth(0x0800) + ipv4(17, u, src=BLOCKED4))[:14 + 16], XDP_PASS),
        ("ipv6 blocked", eth(0x86DD) + ipv6(17, u, src=BLOCKED6), XDP_DROP),
        ("ipv6 ext headers", eth(0x86DD) + v6_ext, XDP_DROP),
        ("ipv6 later fragment", eth(0x86DD) + v6_frag_later, XDP_DROP),
        ("ipv6 other", eth(0x86DD) + ipv6(17, u, src="fd00:233::1"), XDP_PASS),
        ("ipv6 truncated ext", (eth(0x86DD) + v6_ext)[:14 + 40 + 4], XDP_PASS),
        ("port rule, port 53", eth(0x0800) + ipv4(17, udp(4000, 53, 8), src="10.231.3.9"),
         XDP_DROP),
        ("port rule, port 54", eth(0x0800) + ipv4(17, udp(4000, 54, 8), src="10.231.3.9"),
         XDP_PASS),
        ("port rule, tcp 53", eth(0x0800) + ipv4(6, tcp(4000, 53, 2), src="10.231.3.9"),
         XDP_PASS),
        ("port rule, later fragment", eth(0x0800) + ipv4(17, b"x" * 16, src="10.231.3.9",
                                                         frag=100), XDP_PASS),
        ("arp", eth(0x0806) + b"\0" * 28, XDP_PASS),
    ]
    for name, frame, want in cases:
        got = run_prog(prog, frame)
        assert got == want, (name, got)
    st = status(pair.b)
    drops = sum(1 for _, _, w in cases if w == XDP_DROP)
    assert (st["dropped"], st["malformed"], st["non_ip"]) == (drops, 2, 1), st
    got = rules(pair.b)
    assert (got["10.231.1.0/24"]["packets"], got["fd00:232::/64"]["packets"]) == (5, 3), got
    assert got["10.231.3.0/24 udp port 53"]["packets"] == 1


def test_longest_prefix_across_the_hash_and_the_trie():
    """/32, /24, /128 and /64 are hashed, the other lengths in the trie: the longest still wins."""
    pair = blocked_pair()
    block(pair.b, "add", "10.240.0.0/16", "10.240.1.0/24", "10.240.1.16/28", "10.240.1.17/32",
          "fd00:240::/48", "fd00:240::/64", "fd00:240::/96", "fd00:240::5/128")
    block(pair.b, "add", "10.240.1.0/24", "--proto", "udp", "--port", "53")
    prog = status(pair.b)["prog_id"]
    u = udp(4000, 9000, 16)
    sources = {"10.240.1.17": "10.240.1.17/32", "10.240.1.18": "10.240.1.16/28",
               "10.240.1.99": "10.240.1.0/24", "10.240.2.1": "10.240.0.0/16",
               "fd00:240::5": "fd00:240::5/128", "fd00:240::6": "fd00:240::/96",
               "fd00:240::1:0:0": "fd00:240::/64", "fd00:240:0:1::1": "fd00:240::/48"}
    for src in sources:
        frame = eth(0x86DD) + ipv6(17, u, src=src) if ":" in src else eth(0x0800) + ipv4(
            17, u, src=src)
        assert run_prog(prog, frame) == XDP_DROP, src
    # The more specific shape first: a /24 port rule (hashed) beats the /28 and the /32.
    for src in ("10.240.1.17", "10.240.1.18"):
        assert run_prog(prog, eth(0x0800) + ipv4(17, udp(4000, 53, 8), src=src)) == XDP_DROP
    got = {rule: v["packets"] for rule, v in rules(pair.b).items()}
    want = {rule: 1 for rule in sources.values()}
    want["10.240.1.0/24 udp port 53"] = 2
    assert got == want, got
    # Without the trie's /28 and /96 their sources fall to the hashed /24 and /64.
    block(pair.b, "del", "10.240.1.16/28", "fd00:240::/96")
    assert run_prog(prog, eth(0x0800) + ipv4(17, u, src="10.240.1.18")) == XDP_DROP
    assert run_prog(prog, eth(0x86DD) + ipv6(17, u, src="fd00:240::6")) == XDP_DROP
    got = rules(pair.b)
    assert (got["10.240.1.0/24"]["packets"], got["fd00:240::/64"]["packets"]) == (2, 2), got


def test_ip_netns_exec_finds_the_same_pins():
    """`ip netns exec` mounts a /sys of its own, without bpffs: the host's is used."""
    pair = blocked_pair()
    sh(NETLENS, "block", "-i", IFACE, "add", "10.231.1.0/24", ns=pair.b)
    assert set(rules(pair.b)) == {"10.231.1.0/24"}
    block(pair.b, "add", "10.231.2.0/24")
    out = sh(NETLENS, "block", "-i", IFACE, "list", "-o", "json", ns=pair.b)
    assert {json.loads(x)["rule"] for x in out.splitlines()} == {"10.231.1.0/24",
                                                                  "10.231.2.0/24"}


def test_flows_at_tc_beside_the_blocker_counts_what_it_let_through():
    from test_flows import Flows, totals
    pair = blocked_pair()
    block(pair.b, "add", "10.231.1.0/24")
    nl = Flows(pair.b, "-i", IFACE)
    assert "TC ingress" in nl.attached, nl.attached
    n, size = 200, 100
    send_udp(pair, BLOCKED4, 7000, n, size)
    send_udp(pair, OTHER4, 7000, n, size)
    recs = nl.stop()
    assert totals(recs, saddr=OTHER4, dport=7000) == (n, n * (UDP_LEN + size))
    assert totals(recs, saddr=BLOCKED4) == (0, 0)
    assert rules(pair.b)["10.231.1.0/24"]["packets"] == n


def test_serve_exports_the_blockers_counters():
    from nltest import Serve
    pair = blocked_pair()
    serve = Serve("-i", IFACE, ns=pair.b)
    labels = {"ifname": IFACE}
    # No blocker yet: the module is up, says so, and /healthz stays 200.
    assert serve.wait_value("netlens_module_up", 1, module="block") == 1
    assert serve.value("netlens_block_attached", **labels) == 0
    assert serve.get("/healthz")[0] == 200
    for mod in ("flows", "dns"):
        assert serve.value("netlens_module_up", module=mod) == 1, mod
    block(pair.b, "add", "10.231.1.0/24")
    block(pair.b, "limit", "10.231.2.0/24", "--pps", 100, "--burst", 10)
    n = 300
    send_udp(pair, BLOCKED4, 7000, n)
    send_udp(pair, OTHER4, 7000, n, rate=1000)
    limited = rules(pair.b)["10.231.2.0/24"]["packets"]
    assert limited > 0
    assert serve.wait_value("netlens_block_dropped_packets_total", n, ifname=IFACE,
                            rule="10.231.1.0/24") == n
    page = serve.metrics()
    assert serve.value("netlens_block_attached", page, **labels) == 1
    assert serve.value("netlens_block_ratelimited_packets_total", page, ifname=IFACE,
                       rule="10.231.2.0/24") == limited
    assert serve.value("netlens_block_dropped_packets_total", page, ifname=IFACE,
                       rule="10.231.2.0/24") == limited
    assert serve.value("netlens_block_rules", page, **labels) == 2
    assert serve.value("netlens_block_sources", page, **labels) == 1
    # Detached: the module notices, the page says so, serve stays healthy.
    block(pair.b, "detach")
    deadline = time.time() + 5
    while serve.value("netlens_block_attached", **labels) != 0 and time.time() < deadline:
        time.sleep(0.2)
    assert serve.value("netlens_block_attached", **labels) == 0
    assert serve.get("/healthz")[0] == 200
    serve.stop()


def test_probe_says_how_the_blocker_attaches():
    p = json.loads(sh(NETLENS, "probe", "-o", "json"))
    assert p["capabilities"]["block"]["ok"], p["capabilities"]["block"]
    assert "pinned in bpffs" in p["capabilities"]["block"]["method"]
    hook = p["hooks"]["libxdp_dispatcher"]
    # Linux 6.18 here refuses freplace programs: libxdp attaches a program alone.
    assert not hook["ok"] and "refused here (freplace)" in hook["detail"], hook


def test_first_rules_at_once_make_one_blocker():
    pair = blocked_pair()
    procs = [subprocess.Popen(ns_argv(pair.b, NETLENS, "block", "-i", IFACE, "add",
                                      f"10.9.{i}.0/24"), stderr=subprocess.PIPE, text=True)
             for i in range(6)]
    errs = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert sum("attached to nltb" in e for e in errs) == 1, errs
    assert set(rules(pair.b)) == {f"10.9.{i}.0/24" for i in range(6)}
    assert sorted(r["id"] for r in rules(pair.b).values()) == list(range(1, 7))


def test_a_blocker_replaced_by_force_is_cleaned_up():
    pair = blocked_pair()
    block(pair.b, "add", "10.231.1.0/24")
    pins = status(pair.b)["pins"]
    r = subprocess.run(ns_argv(pair.b, NETLENS, "flows", "-i", IFACE, "--hook", "xdp", "--force",
                               "-d", "0.5"), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = block(pair.b, "list", check=False)
    assert r.returncode == 1 and "removed the pins of a blocker no longer attached to nltb" \
        in r.stderr, r.stderr
    assert not os.path.exists(pins)
