#!/usr/bin/env python3
"""Benchmarks for `netlens flows`.

1. Per-packet cost: BPF_PROG_TEST_RUN with a large repeat count
   (tests/integration/flows_testrun.c) on an IPv4/UDP and an IPv6/TCP packet,
   for the XDP and TC programs, against an XDP program that only returns
   XDP_PASS measured the same way; interleaved rounds, medians.
2. Throughput: iperf3 (TCP, one stream) from one namespace to another over
   veth, in interleaved rounds: bare, an empty native XDP program (what
   any XDP program costs on veth: it turns off the peer's GSO), flows at XDP
   native and generic, flows at TC (both directions), flows with the default
   hook (TC ingress on a veth), tcpdump -w /dev/null, bare again. Ratios to
   the mean of the round's two bare runs, noise floor = bare2 / bare.
3. Each flows program's ns per run from kernel.bpf_stats_enabled, in a
   separate iperf3 run per hook.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from benchlib import (Monitor, bpf_stats_enabled, interleaved, iperf, median_of,  # noqa: E402
                      programs, ratios, spread, versus_bare)
from test_flows import ETH_IP, ETH_IP6, eth, ipv4, ipv6, tcp, udp  # noqa: E402

TESTRUN = os.path.join(nltest.ROOT, "build", "tests", "flows_testrun")
PORT = 19500

PACKETS = {
    "ipv4/udp": eth(ETH_IP) + ipv4(17, udp(40000, 53, 18)),
    "ipv6/tcp": eth(ETH_IP6) + ipv6(6, tcp(40000, 443, 0x10, 20)),
}


def testrun_ns(args, packet, repeat):
    out = subprocess.run([TESTRUN, "--repeat", str(repeat)] + args, input=packet.hex() + "\n",
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[0])["ns_per_run"]


def per_packet(rounds, repeat):
    arms = [("empty xdp", ["--empty"], "ipv4/udp")]
    for hook in ("xdp", "tc"):
        arms += [(f"{hook} {name}", ["--hook", hook], name) for name in PACKETS]
    how = {name: (args, pkt) for name, args, pkt in arms}
    res = interleaved(list(how), rounds,
                      lambda name: (testrun_ns(how[name][0], PACKETS[how[name][1]], repeat),),
                      fmt=None)
    empty = median_of(res, "empty xdp")
    print(f"per-packet cost, BPF_PROG_TEST_RUN x {repeat}, {rounds} rounds (median, min..max):")
    for name in how:
        med, ns = median_of(res, name), [x[0] for x in res[name]]
        extra = "" if name == "empty xdp" else f"   flows alone {med - empty:5.0f} ns"
        print(f"  {name:14} {med:5.0f} ns/packet ({min(ns)}..{max(ns)})  "
              f"{1e3 / med:6.1f} Mpps/core{extra}")


def arms_for(pair):
    flows = [nltest.NETLENS, "flows", "-i", "nltb", "-o", "json"]
    ns = ["ip", "netns", "exec", pair.b]
    return {
        "empty-xdp": (ns + [TESTRUN, "--attach-empty", "nltb"], "attached"),
        "flows-xdp": (ns + flows + ["--hook", "xdp", "--xdp-mode", "native"], "attached"),
        "flows-xdpgen": (ns + flows + ["--hook", "xdp", "--xdp-mode", "generic"], "attached"),
        "flows-tc": (ns + flows + ["--hook", "tc"], "attached"),
        "flows-default": (ns + flows, "attached"),   # on a veth: TC ingress
        "tcpdump": (ns + ["tcpdump", "-i", "nltb", "-n", "-Z", "root", "-w", "/dev/null"],
                    "listening"),
    }


def run_arm(pair, arms, arm, seconds):
    mon = Monitor(*arms[arm]) if arm in arms else None
    gbps = iperf(pair, PORT, seconds)[0]
    if mon:
        mon.stop()
    return (gbps,)


def throughput(pair, rounds, seconds):
    monitors = arms_for(pair)
    arms = ["bare"] + list(monitors) + ["bare2"]
    print(f"\niperf3 TCP a -> b over veth: {rounds} rounds x {seconds:g} s, arms rotated: "
          f"{', '.join(arms)}", flush=True)
    res = interleaved(arms, rounds, lambda arm: run_arm(pair, monitors, arm, seconds))
    bare, noise = versus_bare(res)
    print(f"\n{'arm':12} {'median Gbit/s':>12} {'ratio (median, min..max)':>28}")
    print(f"{'bare':12} {statistics.median(bare):12.2f}      noise floor {spread(noise)}")
    for arm in monitors:
        print(f"{arm:12} {median_of(res, arm):12.2f} {spread(ratios(res, arm, bare)):>28}")
    # Native XDP on veth costs by itself (no GSO): flows' own share beside it.
    own = [x[0] / e[0] for x, e in zip(res["flows-xdp"], res["empty-xdp"])]
    print(f"flows-xdp / empty-xdp of the same round: {spread(own)}")
    return monitors


def bpf_stats(pair, monitors, seconds):
    print("\nbpf_stats (one iperf3 run per hook):")
    with bpf_stats_enabled():
        for arm in ("flows-xdp", "flows-xdpgen", "flows-tc", "flows-default"):
            # Only the programs this run loaded: other sessions' may be loaded too.
            old = {p["id"] for p in programs()}
            mon = Monitor(*monitors[arm])
            iperf(pair, PORT, seconds)
            for p in programs("flows_"):
                if p["id"] not in old and p.get("run_cnt"):
                    print(f"  {arm:14} {p['name']:18} {p['run_time_ns'] / p['run_cnt']:6.0f} "
                          f"ns/run  {p['run_cnt']} runs")
            mon.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=int, default=3)   # iperf3 -t takes whole seconds
    ap.add_argument("--repeat", type=int, default=5000000)
    a, _ = ap.parse_known_args()   # bench/run.sh passes every benchmark the same options

    per_packet(a.rounds, a.repeat)
    pair = nltest.Pair()
    monitors = throughput(pair, a.rounds, a.seconds)
    bpf_stats(pair, monitors, a.seconds)
    nltest.cleanup()


if __name__ == "__main__":
    main()
