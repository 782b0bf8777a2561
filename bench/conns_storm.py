#!/usr/bin/env python3
"""Connection-storm benchmark for `netlens conns`.

Short-lived TCP connections between two namespaces (bench/connstorm.c),
in interleaved rounds: bare, netlens conns -o json >/dev/null, a bpftrace
tcplife-style script on the same tracepoint, and bare again. Prints each
arm's median rate, its ratio to the bare runs of the same round, and the
noise floor (second bare run / first bare run). Then one more netlens run
with kernel.bpf_stats_enabled=1 for each program's ns per run.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from benchlib import (Monitor, bpf_stats_enabled, interleaved, median_of,  # noqa: E402
                      print_program_costs, programs, ratios, spread, versus_bare)

ROOT = nltest.ROOT
STORM = os.path.join(ROOT, "build", "bench", "connstorm")
PORT = 19000

BPFTRACE = r"""
tracepoint:sock:inet_sock_set_state /args->protocol == 6/ {
  if (args->newstate == 2 || args->newstate == 3) {
    @birth[args->skaddr] = nsecs; @pid[args->skaddr] = pid; @comm[args->skaddr] = comm;
  }
  if (args->newstate == 7 && @birth[args->skaddr]) {
    printf("%d %s %d %d %d\n", @pid[args->skaddr], @comm[args->skaddr], args->sport,
           args->dport, (nsecs - @birth[args->skaddr]) / 1000);
    delete(@birth[args->skaddr]); delete(@pid[args->skaddr]); delete(@comm[args->skaddr]);
  }
}
"""




ARMS = {
    "netlens": ([nltest.NETLENS, "conns", "-o", "json"], "attached"),
    "bpftrace": (["bpftrace", "-e", BPFTRACE], None),
}


def storm(pair, seconds, threads):
    out = nltest.sh(STORM, "client", pair.B4, str(PORT), str(seconds), str(threads), ns=pair.a)
    words = out.split()
    return float(words[words.index("rate") + 1].rstrip("/s")), int(words[1])


def run_arm(pair, arm, seconds, threads):
    mon = Monitor(*ARMS[arm]) if arm in ARMS else None
    rate, conns = storm(pair, seconds, threads)
    cpu = mon.stop() if mon else 0.0
    return rate, conns, cpu


def bpf_stats(pair, seconds, threads):
    """One netlens run with bpf_stats on: ns per run of each program."""
    with bpf_stats_enabled():
        mon = Monitor(*ARMS["netlens"])
        _, conns = storm(pair, seconds, threads)
        mine = programs(("tcp_", "conns_"))   # the TCP core; before it, conns' own
        mon.stop()
    return conns, mine


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--no-bpftrace", action="store_true")
    a = ap.parse_args()

    arms = ["bare", "netlens"] + ([] if a.no_bpftrace else ["bpftrace"]) + ["bare2"]
    pair = nltest.Pair()
    nltest.sh("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1",
              "net.ipv4.ip_local_port_range=1024 65535", ns=pair.a)
    server = nltest.Proc(["ip", "netns", "exec", pair.b, STORM, "server", pair.B4, str(PORT), "2"])
    server.expect("READY")

    print(f"conns storm: {a.rounds} rounds x {a.seconds:g} s, {a.threads} client threads, "
          f"arms rotated each round: {', '.join(arms)}", flush=True)
    results = interleaved(arms, a.rounds, lambda arm: run_arm(pair, arm, a.seconds, a.threads),
                          fmt=".0f")

    bare, noise = versus_bare(results)
    print(f"\n{'arm':10} {'median conn/s':>14} {'ratio (median, min..max)':>28} {'CPU us/conn':>12}")
    print(f"{'bare':10} {statistics.median(bare):14.0f}      noise floor {spread(noise)}")
    for arm in arms[1:-1]:
        cpu_us = statistics.median(x[2] / x[1] * 1e6 for x in results[arm])
        print(f"{arm:10} {median_of(results, arm):14.0f} {spread(ratios(results, arm, bare)):>28} "
              f"{cpu_us:12.2f}")

    conns, progs = bpf_stats(pair, a.seconds, a.threads)
    print(f"\nbpf_stats over one netlens run ({conns} connections):")
    print_program_costs(progs, conns, "conn")
    server.kill()
    nltest.cleanup()


if __name__ == "__main__":
    main()
