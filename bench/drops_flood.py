#!/usr/bin/env python3
"""UDP-flood benchmark for `netlens drops`.

Every datagram of bench/udpflood.c goes from one namespace to a closed UDP
port in another, so the kernel drops each one (NO_SOCKET) and skb:kfree_skb
fires at the full packet rate. The receive path runs in the sender's own
softirq on veth, so whatever the drop hook costs slows the sender.

Interleaved rounds (the order rotates): bare, `netlens drops -o json
>/dev/null` (default options: counted in the kernel, 1000 records/s), a
bpftrace one-liner counting the same tracepoint by reason and location, and
bare again. Prints each arm's median rate, its ratio to the mean of the two
bare runs of the same round, and the noise floor (second bare / first bare).
Then one netlens run with kernel.bpf_stats_enabled=1 for each program's ns
per run.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from benchlib import (Monitor, bpf_stats_enabled, interleaved, median_of,  # noqa: E402
                      print_program_costs, programs, ratios, spread, versus_bare)

FLOOD = os.path.join(nltest.ROOT, "build", "bench", "udpflood")
PORT = 9   # nobody listens: every datagram is dropped with NO_SOCKET

ARMS = {
    "netlens": ([nltest.NETLENS, "drops", "-o", "json"], "attached"),
    # bpftrace says "Attaching 1 probe..." on stdout once attached: sent to stderr,
    # where Monitor waits for it (counting loaded programs is fooled by other users).
    "bpftrace": (["sh", "-c", "exec bpftrace -e 'tracepoint:skb:kfree_skb "
                  "{ @[args->reason, args->location] = count(); }' 1>&2"], "Attaching"),
}


def flood(pair, seconds, threads):
    out = nltest.sh(FLOOD, pair.B4, str(PORT), str(seconds), str(threads), ns=pair.a)
    words = out.split()
    return float(words[words.index("rate") + 1].rstrip("/s")), int(words[1])


def run_arm(pair, arm, seconds, threads):
    mon = Monitor(*ARMS[arm]) if arm in ARMS else None
    if arm == "bpftrace":
        time.sleep(1)   # it says "Attaching" before it is attached; SIGINT then is lost
    rate, sent = flood(pair, seconds, threads)
    cpu = mon.stop() if mon else 0.0
    return rate, sent, cpu


def bpf_stats(pair, seconds, threads):
    """One netlens run with bpf_stats on: ns per run of each program."""
    with bpf_stats_enabled():
        mon = Monitor(*ARMS["netlens"])
        _, sent = flood(pair, seconds, threads)
        mine = programs("drops_")
        mon.stop()
    return sent, mine


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-bpftrace", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(FLOOD):
        raise SystemExit(f"{FLOOD} is missing: build it with `make build/bench/udpflood`")

    arms = ["bare", "netlens"] + ([] if a.no_bpftrace else ["bpftrace"]) + ["bare2"]
    pair = nltest.Pair()
    print(f"drops flood: {a.rounds} rounds x {a.seconds:g} s, {a.threads} sender thread(s), "
          f"UDP to a closed port, arms rotated each round: {', '.join(arms)}", flush=True)
    results = interleaved(arms, a.rounds, lambda arm: run_arm(pair, arm, a.seconds, a.threads),
                          fmt=".0f")

    bare, noise = versus_bare(results)
    print(f"\n{'arm':10} {'median pkt/s':>13} {'ratio (median, min..max)':>28} "
          f"{'ns/pkt added':>13} {'CPU ns/pkt':>11}")
    print(f"{'bare':10} {statistics.median(bare):13.0f}      noise floor {spread(noise)}")
    for arm in arms[1:-1]:
        # Each sender thread spends 1/rate per packet: the difference is the hook's cost.
        added = statistics.median(a.threads * (1 / x[0] - 1 / b) * 1e9
                                  for x, b in zip(results[arm], bare))
        cpu_ns = statistics.median(x[2] / x[1] * 1e9 for x in results[arm])
        print(f"{arm:10} {median_of(results, arm):13.0f} {spread(ratios(results, arm, bare)):>28} "
              f"{added:13.0f} {cpu_ns:11.1f}")

    sent, progs = bpf_stats(pair, a.seconds, a.threads)
    print(f"\nbpf_stats over one netlens run ({sent} datagrams):")
    print_program_costs(progs, sent, "pkt", width=24)
    nltest.cleanup()


if __name__ == "__main__":
    main()
