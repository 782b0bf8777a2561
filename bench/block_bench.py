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
to a listening socket) inside it. The receiving veth gets its own NAPI
thread on the other CPU (GRO and threaded NAPI: the receive path, XDP
included, runs there, as on a NIC's receive queue), so the receiver's CPU
is that thread's exact run time. Arms, rotated each round: no rule,
`netlens block` (the source's /32) in native and in generic XDP mode, an
XDP program that only drops (native: the floor of any XDP drop here), an
nftables `ip saddr ... drop` rule at inet input and at netdev ingress, and
no rule again (noise floor). Per arm: the receiver's CPU per packet and its
busy share, the share of the flood its full queue refused, the flood's
rate, and the legitimate stream's delivered share (UdpInDatagrams).
"""
import argparse
import ipaddress
import json
import os
import random
import shutil
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
    rounds = a.rounds or 9
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

        print(f"testrun, {n} rules per family: {rounds} rounds x {a.repeat} runs", flush=True)
        results[n] = interleaved(cases, rounds, run, fmt=".1f")
        # The worst case: a protocol+port rule makes a pass look up every shape.
        block(pair, "add", "203.0.113.0/24", "2001:db8:1::/48", "--proto", "udp", "--port", 53)
        shapes = interleaved(["ipv4 pass", "ipv6 pass"], rounds, run, fmt=".1f")
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

RECEIVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 26)   # SO_RCVBUFFORCE: never full in a round
s.bind((sys.argv[1], int(sys.argv[2])))
print("READY", flush=True)
while True:
    s.recv(2048)
"""

SENDER_CPU, RECEIVER_CPU = 0, 1


def receiver_napi(pair):
    """Gives nltb a NAPI thread of its own on RECEIVER_CPU, as a NIC's receive queue has
    its CPU: GRO on nltb makes the veth queue every packet for its NAPI poll (with TSO
    on, the sender's UDP packets bypass it: veth_skb_is_eligible_for_gro()), threaded NAPI
    runs that poll (XDP, and the stack up to the socket or the drop) in a kthread whose
    run time is exact (/proc/PID/schedstat), nice -20 so a build on that CPU barely
    takes turns with it. Returns the thread's pid."""
    nltest.sh("ethtool", "-K", "nlta", "tso", "off", ns=pair.a)
    nltest.sh("ethtool", "-K", IFACE, "gro", "on", ns=pair.b)
    before = napi_threads()
    nltest.sh("sh", "-c", f"echo 1 > /sys/class/net/{IFACE}/threaded", ns=pair.b)
    new = napi_threads() - before
    if len(new) != 1:
        raise SystemExit(f"expected one new NAPI thread for {IFACE}, found {sorted(new)}")
    pid = new.pop()
    os.sched_setaffinity(pid, {RECEIVER_CPU})
    os.setpriority(os.PRIO_PROCESS, pid, -20)
    return pid


def napi_threads():
    pids = set()
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().startswith(f"napi/{IFACE}-"):
                    pids.add(int(pid))
        except (OSError, ValueError):
            pass
    return pids


def run_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def veth_tx(pair):
    """nlta's packets handed to nltb's queue and those its full queue refused."""
    tx = json.loads(nltest.sh("ip", "-j", "-s", "link", "show", "nlta", ns=pair.a))[0]
    return tx["stats64"]["tx"]["packets"], tx["stats64"]["tx"]["dropped"]


def flood_once(pair, napi, seconds):
    """One flood: udpflood on SENDER_CPU for seconds, the legitimate stream inside it.
    Returns the receiver's CPU per packet it got (ns), its busy share, the share of the
    flood its queue refused, the flood's rate, and the legitimate stream's delivered share."""
    legit_n = int(LEGIT_PPS * (seconds - 1))
    # nice -20: a build on the sender's CPU changes neither the flood's rate nor with it
    # how often the receiver sleeps and wakes (a cost per packet where it wakes often).
    on_sender = ("nsenter", f"--net=/run/netns/{pair.a}", "nice", "-n", "-20", "taskset", "-c",
                 str(SENDER_CPU))
    udp0 = nltest.nstat(pair.b, "UdpInDatagrams")["UdpInDatagrams"]
    tx0, refused0 = veth_tx(pair)
    cpu0, t0 = run_ns(napi), time.monotonic()
    flood = subprocess.Popen([*on_sender, FLOOD, pair.B4, "9", str(seconds)],
                             stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    nltest.sh(*on_sender, "python3", TRAFFIC, "udp", pair.B4, str(LEGIT_PORT), str(legit_n),
              "64", "--src", LEGIT_SRC, "--rate", str(LEGIT_PPS))
    out = flood.communicate(timeout=seconds + 30)[0]
    cpu, wall = run_ns(napi) - cpu0, (time.monotonic() - t0) * 1e9
    tx, refused = (b - a for a, b in zip((tx0, refused0), veth_tx(pair)))
    got = nltest.nstat(pair.b, "UdpInDatagrams")["UdpInDatagrams"] - udp0
    words = out.split()
    sent = int(words[1])
    rate = float(words[words.index("rate") + 1].rstrip("/s"))
    return cpu / tx, cpu / wall, refused / sent, rate, got / legit_n


# The floor of any XDP drop on this veth: a program that only returns XDP_DROP.
DROP_ALL = """
__attribute__((section("xdp"), used)) int drop_all(void *ctx) { return 1; /* XDP_DROP */ }
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
"""


def drop_all_object(tmp):
    path = os.path.join(tmp, "drop_all.bpf.o")
    subprocess.run(["clang", "-O2", "-target", "bpf", "-c", "-x", "c", "-", "-o", path],
                   input=DROP_ALL, text=True, check=True)
    return path


NFT_INPUT = ("add table inet nltbench; add chain inet nltbench in {{ type filter hook input "
             "priority 0; }}; add rule inet nltbench in ip saddr {src} drop")
NFT_INGRESS = ("add table netdev nltbench; add chain netdev nltbench in {{ type filter hook "
               "ingress device " + IFACE + " priority 0; }}; add rule netdev nltbench in ip "
               "saddr {src} drop")


def flood_arm(pair, napi, arm, seconds, drop_all):
    if arm == "xdp-drop-all":
        nltest.sh("ip", "link", "set", "dev", IFACE, "xdpdrv", "obj", drop_all, "sec", "xdp",
                  ns=pair.b)
    elif arm.startswith("block"):
        block(pair, "add", f"{pair.A4}/32", "--xdp-mode", arm.split("-")[1])
    elif arm.startswith("nft"):
        nltest.sh("nft", (NFT_INPUT if arm == "nft-input" else NFT_INGRESS).format(src=pair.A4),
                  ns=pair.b)
    try:
        return flood_once(pair, napi, seconds)
    finally:
        if arm == "xdp-drop-all":
            nltest.sh("ip", "link", "set", "dev", IFACE, "xdpdrv", "off", ns=pair.b)
        elif arm.startswith("block"):
            block(pair, "detach")
        elif arm.startswith("nft"):
            nltest.sh("nft", "delete", "table", "inet" if arm == "nft-input" else "netdev",
                      "nltbench", ns=pair.b)


def flood_part(a):
    pair = nltest.Pair()
    nltest.sh("ip", "addr", "add", LEGIT_SRC + "/24", "dev", "nlta", ns=pair.a)
    nltest.sh("ip", "route", "add", "10.231.2.0/24", "dev", IFACE, ns=pair.b)
    napi = receiver_napi(pair)
    # The legitimate receiver stays off the receive queue's CPU: it only counts.
    recv = nltest.Proc(["nsenter", f"--net=/run/netns/{pair.b}", "taskset", "-c",
                        str(SENDER_CPU), "python3", "-c", RECEIVER, pair.B4, str(LEGIT_PORT)])
    recv.expect("READY")
    arms = ["none", "block-native", "block-generic", "xdp-drop-all", "nft-input", "nft-ingress",
            "none2"]
    tmp = tempfile.mkdtemp()
    nltest.defer(lambda: shutil.rmtree(tmp))
    drop_all = drop_all_object(tmp)
    rounds = a.rounds or 15
    print(f"flood: {rounds} rounds x {a.seconds:g} s, udpflood from {pair.A4} (blocked) on "
          f"CPU {SENDER_CPU} beside {LEGIT_PPS} datagrams/s from {LEGIT_SRC}; the receiver: "
          f"{IFACE}'s NAPI thread on CPU {RECEIVER_CPU}", flush=True)
    res = interleaved(arms, rounds, lambda arm: flood_arm(pair, napi, arm, a.seconds, drop_all),
                      fmt=".0f")
    base = [(x[0] + y[0]) / 2 for x, y in zip(res["none"], res["none2"])]
    noise = [y[0] / x[0] for x, y in zip(res["none"], res["none2"])]
    print(f"\n{'arm':14} {'receiver ns/pkt':>15} {'÷ no rule, same round':>26} "
          f"{'receiver busy':>13} {'queue refused':>13} {'flood pkt/s':>11} "
          f"{'legit delivered':>22}")
    for arm in arms:
        def med(i):
            return statistics.median(x[i] for x in res[arm])
        ratio = "noise " + spread(noise) if arm == "none2" else \
            spread([x[0] / b for x, b in zip(res[arm], base)])
        legit = "(dropped too)" if arm == "xdp-drop-all" else spread([x[4] for x in res[arm]])
        print(f"{arm:14} {med(0):15.0f} {ratio:>26} {med(1):13.1%} {med(2):13.2%} "
              f"{med(3):11.0f} {legit:>22}")
    for mode in ("native", "generic"):
        with bpf_stats_enabled():
            block(pair, "add", f"{pair.A4}/32", "--xdp-mode", mode)
            flood_once(pair, napi, a.seconds)
            progs = programs("block_xdp")
            block(pair, "detach")
        runs = sum(p.get("run_cnt", 0) for p in progs)
        print(f"\nbpf_stats over one flood, {mode} mode:")
        print_program_costs(progs, runs, "pkt")
    nltest.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("testrun", "flood", "all"), default="all")
    ap.add_argument("--rounds", type=int, help="default: 9 (testrun), 15 (flood)")
    ap.add_argument("--repeat", type=int, default=1000000)
    ap.add_argument("--seconds", type=float, default=3, help="per flood, at least 2")
    a = ap.parse_args()
    if a.seconds < 2:
        raise SystemExit("--seconds: at least 2 (the legitimate stream runs inside the flood)")
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
