#!/usr/bin/env python3
"""Benchmarks for `netlens block`.

testrun: BPF_PROG_TEST_RUN (bpftool prog run, repeat N) of the attached
blocker on crafted frames: ns per packet for IPv4 and IPv6, passed (a
source no rule covers) and dropped (a source a rule covers), with 10 and
100 000 rules per family (address-only /24s and /64s: one hash lookup), and the
pass case again with a protocol+port rule present (every shape looked up:
the worst case). Beside each, an empty XDP program's ns per run
(flows_testrun --empty) in the same round, twice (its noise floor).

flood: bench/udpflood.c from a blocked source over the veth to a closed
port, with a legitimate UDP stream (5000 datagrams/s from another source
to a listening socket) beside it. Arms, rotated each round: no rule,
`netlens block` (the source's /32), an nftables `ip saddr ... drop` rule
(inet input), and no rule again (noise floor). Per arm: the flood's rate
(on a veth the receive path runs in the sender's softirq, so a cheaper
drop lets the sender go faster), the flood process' CPU per packet (user +
system from its rusage: without IRQ time accounting the softirq work done
in its context, the receive path included, is charged to it) and the
legitimate stream's delivered share (UdpInDatagrams). `netlens block` is
measured in native and in generic XDP mode.
"""
import argparse
import ipaddress
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from benchlib import bpf_stats_enabled, interleaved, print_program_costs, programs, spread  # noqa: E402
from test_flows import eth, ipv4, ipv6, tcp, udp  # noqa: E402

FLOOD = os.path.join(nltest.ROOT, "build", "bench", "udpflood")
TESTRUN = os.path.join(nltest.ROOT, "build", "tests", "flows_testrun")
TRAFFIC = os.path.join(nltest.ROOT, "tests", "integration", "flows_traffic.py")
IFACE = "nltb"
LEGIT_SRC, LEGIT_PORT, LEGIT_PPS = "10.231.2.5", 7000, 5000


def block(pair, *args):
    return nltest.sh("nsenter", f"--net=/run/netns/{pair.b}", nltest.NETLENS, "block",
                     "-i", IFACE, *[str(a) for a in args])


def prog_id(pair):
    return json.loads(block(pair, "status", "-o", "json"))["prog_id"]


# ------------------------------------------------------------------ testrun

def frames():
    u = udp(4000, 9000, 18)
    return {
        "ipv4 pass": eth(0x0800) + ipv4(17, u, src="192.0.2.1"),
        "ipv4 drop": eth(0x0800) + ipv4(17, u, src="10.231.1.5"),
        "ipv6 pass": eth(0x86DD) + ipv6(17, u, src="2001:db8::1"),
        "ipv6 drop": eth(0x86DD) + ipv6(17, u, src="fd00:232::5"),
    }


def bpftool_ns(prog, frame, repeat):
    with tempfile.NamedTemporaryFile() as f:
        f.write(frame)
        f.flush()
        out = nltest.sh("bpftool", "prog", "run", "id", str(prog), "data_in", f.name,
                        "repeat", str(repeat))
    return float(out.split("duration (average):")[1].split("ns")[0])


def empty_ns(frame, repeat):
    out = subprocess.run([TESTRUN, "--empty", "--repeat", str(repeat)], input=frame.hex() + "\n",
                         capture_output=True, text=True, check=True).stdout
    return float(json.loads(out.splitlines()[0])["ns_per_run"])


def add_rules(pair, n, rng):
    """n-1 random /24s and /64s besides the benchmark's own blocked prefixes."""
    v4 = {"10.231.1.0/24"}
    v6 = {"fd00:232::/64"}
    while len(v4) < n:
        v4.add(f"{rng.randrange(11, 200)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
    while len(v6) < n:
        v6.add(str(ipaddress.IPv6Network((0x2a00 << 112 | rng.getrandbits(48) << 64, 64))))
    rules = sorted(v4) + sorted(v6)
    for i in range(0, len(rules), 4000):
        block(pair, "add", "--max-rules", 131072, *rules[i:i + 4000])


def testrun_part(a):
    rng = random.Random(15)
    results = {}
    for n in (10, 100000):
        pair = nltest.Pair()
        add_rules(pair, n, rng)
        prog = prog_id(pair)
        fr = frames()
        cases = list(fr) + ["empty", "empty2"]

        def run(case):
            if case.startswith("empty"):
                return (empty_ns(fr["ipv4 pass"], a.repeat),)
            return (bpftool_ns(prog, fr[case], a.repeat),)

        print(f"testrun, {n} rules per family: {a.rounds} rounds x {a.repeat} runs", flush=True)
        results[n] = interleaved(cases, a.rounds, run, fmt=".1f")
        # The worst case: a protocol+port rule makes a pass look up every shape.
        block(pair, "add", "203.0.113.0/24", "2001:db8:1::/48", "--proto", "udp", "--port", 53)
        shapes = interleaved(["ipv4 pass", "ipv6 pass"], a.rounds, run, fmt=".1f")
        results[n]["ipv4 pass, all shapes"] = shapes["ipv4 pass"]
        results[n]["ipv6 pass, all shapes"] = shapes["ipv6 pass"]
        nltest.cleanup()
    print(f"\n{'case':24} {'rules':>7} {'ns/packet median (min..max)':>30} {'above empty':>12}")
    for n, res in results.items():
        empty = [(x[0] + y[0]) / 2 for x, y in zip(res["empty"], res["empty2"])]
        noise = [y[0] - x[0] for x, y in zip(res["empty"], res["empty2"])]
        print(f"{'empty XDP program':24} {n:7} {spread(empty):>30}   noise "
              f"{statistics.median(noise):+.1f} ns")
        for case, vals in res.items():
            if case.startswith("empty"):
                continue
            ns = [v[0] for v in vals]
            above = statistics.median(ns) - statistics.median(empty)
            print(f"{case:24} {n:7} {spread(ns):>30} {above:12.1f}")


# -------------------------------------------------------------------- flood

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


RECEIVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], int(sys.argv[2])))
print("READY", flush=True)
while True:
    s.recv(2048)
"""


def flood_once(pair, seconds):
    legit_n = int(LEGIT_PPS * seconds)
    before = nltest.nstat(pair.b, "UdpInDatagrams")["UdpInDatagrams"]
    legit = subprocess.Popen(["nsenter", f"--net=/run/netns/{pair.a}", "python3", TRAFFIC, "udp",
                              pair.B4, str(LEGIT_PORT), str(legit_n), "64", "--src", LEGIT_SRC,
                              "--rate", str(LEGIT_PPS)], stdout=subprocess.DEVNULL)
    cpu0 = children_cpu()
    out = nltest.sh("nsenter", f"--net=/run/netns/{pair.a}", FLOOD, pair.B4, "9", str(seconds))
    cpu = children_cpu() - cpu0
    legit.wait(timeout=seconds * 3 + 10)
    time.sleep(0.1)
    got = nltest.nstat(pair.b, "UdpInDatagrams")["UdpInDatagrams"] - before
    words = out.split()
    sent = int(words[1])
    rate = float(words[words.index("rate") + 1].rstrip("/s"))
    return rate, cpu / sent * 1e9, got / legit_n


def flood_arm(pair, arm, seconds):
    if arm.startswith("block"):
        block(pair, "add", f"{pair.A4}/32", "--xdp-mode",
              "generic" if arm == "block-generic" else "native")
    elif arm == "nft":
        nltest.sh("nft", f"add table inet nltbench; add chain inet nltbench in {{ type filter "
              f"hook input priority 0; }}; add rule inet nltbench in ip saddr {pair.A4} drop",
                  ns=pair.b)
    try:
        return flood_once(pair, seconds)
    finally:
        if arm.startswith("block"):
            block(pair, "detach")
        elif arm == "nft":
            nltest.sh("nft", "delete table inet nltbench", ns=pair.b)


def flood_part(a):
    pair = nltest.Pair()
    nltest.sh("ip", "addr", "add", LEGIT_SRC + "/24", "dev", "nlta", ns=pair.a)
    nltest.sh("ip", "route", "add", "10.231.2.0/24", "dev", "nltb", ns=pair.b)
    recv = nltest.Proc(["nsenter", f"--net=/run/netns/{pair.b}", "python3", "-c", RECEIVER,
                        pair.B4, str(LEGIT_PORT)])
    recv.expect("READY")
    arms = ["none", "block", "block-generic", "nft", "none2"]
    print(f"flood: {a.rounds} rounds x {a.seconds:g} s, udpflood from {pair.A4} (blocked) "
          f"beside {LEGIT_PPS} datagrams/s from {LEGIT_SRC}", flush=True)
    res = interleaved(arms, a.rounds, lambda arm: flood_arm(pair, arm, a.seconds), fmt=".0f")
    base = [(x[0] + y[0]) / 2 for x, y in zip(res["none"], res["none2"])]
    noise = [y[0] / x[0] for x, y in zip(res["none"], res["none2"])]
    print(f"\n{'arm':14} {'flood pkt/s':>12} {'rate / no rule':>26} {'CPU ns/pkt':>11} "
          f"{'legit delivered':>16}")
    for arm in arms:
        rate = statistics.median(x[0] for x in res[arm])
        ratio = spread([x[0] / b for x, b in zip(res[arm], base)]) if arm != "none2" else \
            "noise " + spread(noise)
        print(f"{arm:14} {rate:12.0f} {ratio:>26} {statistics.median(x[1] for x in res[arm]):11.0f} "
              f"{statistics.median(x[2] for x in res[arm]):16.4f}")
    for mode in ("native", "generic"):
        with bpf_stats_enabled():
            block(pair, "add", f"{pair.A4}/32", "--xdp-mode", mode)
            rate = flood_once(pair, a.seconds)[0]
            progs = programs("block_xdp")
            block(pair, "detach")
        print(f"\nbpf_stats over one flood, {mode} mode ({rate:.0f} pkt/s):")
        print_program_costs(progs, rate * a.seconds, "pkt")
    nltest.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("testrun", "flood", "all"), default="all")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--repeat", type=int, default=1000000)
    ap.add_argument("--seconds", type=float, default=3)
    a = ap.parse_args()
    for tool in (FLOOD, TESTRUN):
        if not os.path.exists(tool):
            raise SystemExit(f"{tool} is missing: make {os.path.relpath(tool, nltest.ROOT)}")
    if a.part in ("testrun", "all"):
        testrun_part(a)
    if a.part in ("flood", "all"):
        print()
        flood_part(a)


if __name__ == "__main__":
    main()
