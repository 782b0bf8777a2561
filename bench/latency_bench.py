#!/usr/bin/env python3
"""Overhead of `netlens latency` + `netlens retrans` on TCP traffic between namespaces.

Two workloads, each in interleaved rounds (arm order rotated every round):
  bulk  iperf3, one stream, SECONDS per run: throughput in Gbit/s;
  rr    bench/latency_rr.c, CONNS persistent connections doing SIZE-byte
        request/response ping-pong (every exchange is a sendmsg and a
        recvmsg on each side, the per-call hot path): exchanges/s.
Arms: bare; both commands attached (-o json > /dev/null: two processes,
two TCP cores); both in one `netlens serve --enable latency,retrans
--no-bpf-stats` (one TCP core, as the agent runs them); bare again (noise
floor = second bare / first bare). With --split, also each command
alone, and latency with --hook raw_tp (its fallback programs). With
--floor, also empty programs on sock_send_length, sock_recv_length and
tcp_probe: what any program on the per-call hooks costs. Each arm is
divided by the mean of the two bare runs of the same round; the median
ratio is printed with min..max beside the noise floor.
Then one run per workload with kernel.bpf_stats_enabled=1: each program's
ns per run and runs per unit of work.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from benchlib import (Monitor, bpf_stats_enabled, hook_floor, interleaved, iperf,  # noqa: E402
                      median_of, print_program_costs, programs, ratios, spread, versus_bare)

RR = os.path.join(nltest.ROOT, "build", "bench", "latency_rr")
BULK_PORT, RR_PORT = 19200, 19201
PROG_PREFIXES = ("tcp_", "lat_", "retrans_")   # the TCP core; before it, their own
FLOOR_PROGS = ("floor_send", "floor_recv", "floor_probe")   # the per-call hooks latency needs

COMMANDS = {
    "latency": [nltest.NETLENS, "latency", "-o", "json"],
    "retrans": [nltest.NETLENS, "retrans", "-o", "json"],
    "latency_raw": [nltest.NETLENS, "latency", "-o", "json", "--hook", "raw_tp"],
    # Both in one process, as the agent runs them: one TCP core for the two.
    "serve_lr": [nltest.NETLENS, "serve", "--enable", "latency,retrans", "--no-bpf-stats",
                 "--listen", f"127.0.0.1:{nltest.free_port()}"],
}
ARMS = {"both": ("latency", "retrans"), "serve_lr": ("serve_lr",), "latency": ("latency",),
        "retrans": ("retrans",), "lat_raw_tp": ("latency_raw",)}


def bulk(pair, seconds, _a):
    return iperf(pair, BULK_PORT, seconds)


def rr(pair, seconds, a):
    out = nltest.sh(RR, "client", pair.B4, str(RR_PORT), str(seconds), str(a.conns),
                    str(a.size), ns=pair.a)
    words = out.split()
    return float(words[words.index("rate") + 1].rstrip("/s")), int(words[1])


WORKLOADS = {"bulk": (bulk, "Gbit/s", "MB"), "rr": (rr, "exch/s", "exchange")}


def run_arm(pair, workload, arm, seconds, a):
    mons = [hook_floor(FLOOR_PROGS)] if arm == "floor" else \
        [Monitor(COMMANDS[c], "attached") for c in ARMS.get(arm, ())]
    value, units = WORKLOADS[workload][0](pair, seconds, a)
    for m in mons:
        m.stop()
    return value, units


def bpf_stats(pair, workload, seconds, a):
    with bpf_stats_enabled():
        mons = [Monitor(COMMANDS[c], "attached") for c in ARMS["both"]]
        _, units = WORKLOADS[workload][0](pair, seconds, a)
        progs = programs(PROG_PREFIXES)
        for m in mons:
            m.stop()
    if workload == "bulk":
        units /= 1e6
    return units, progs


def report(workload, arms, results):
    unit = WORKLOADS[workload][1]
    bare, noise = versus_bare(results)
    pad = " " * (len(workload) + 2)
    print(f"\n{workload}: {'arm':10} {'median ' + unit:>16} {'ratio (median, min..max)':>28}")
    print(f"{pad}{'bare':10} {statistics.median(bare):16.2f}      noise floor {spread(noise)}")
    for arm in arms[1:-1]:
        print(f"{pad}{arm:10} {median_of(results, arm):16.2f} "
              f"{spread(ratios(results, arm, bare)):>28}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--conns", type=int, default=4, help="rr: persistent connections")
    ap.add_argument("--size", type=int, default=64, help="rr: request and answer bytes")
    ap.add_argument("--split", action="store_true", help="also each command alone")
    ap.add_argument("--floor", action="store_true",
                    help="also empty programs on the per-call hooks latency uses")
    ap.add_argument("--workloads", default="bulk,rr")
    ap.add_argument("--latency-hook", choices=("auto", "tp_btf", "raw_tp"), default="auto",
                    help="netlens latency --hook in the both and latency arms and bpf_stats")
    a = ap.parse_args()
    COMMANDS["latency"] += ["--hook", a.latency_hook]

    arms = ["bare", "both", "serve_lr"] + (["latency", "lat_raw_tp", "retrans"] if a.split else []) \
        + (["floor"] if a.floor else []) + ["bare2"]
    pair = nltest.Pair()
    rrsrv = nltest.Proc(["ip", "netns", "exec", pair.b, RR, "server", pair.B4, str(RR_PORT)])
    rrsrv.expect("READY")

    for workload in a.workloads.split(","):
        print(f"{workload}: {a.rounds} rounds x {a.seconds:g} s, arms rotated each round: "
              f"{', '.join(arms)}", flush=True)
        results = interleaved(arms, a.rounds,
                              lambda arm: run_arm(pair, workload, arm, a.seconds, a))
        report(workload, arms, results)
        units, progs = bpf_stats(pair, workload, a.seconds, a)
        per = WORKLOADS[workload][2]
        print(f"\n{workload}: bpf_stats over one run of both commands ({units:.0f} {per}s):")
        print_program_costs(sorted(progs, key=lambda p: p["name"]), units, per)
        print(flush=True)
    rrsrv.kill()
    nltest.cleanup()


if __name__ == "__main__":
    main()
