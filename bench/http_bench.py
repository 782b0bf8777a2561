#!/usr/bin/env python3
"""Overhead of `netlens http`.

Workloads, each in interleaved rounds (arm order rotated every round):
  plain  wrk (keep-alive, CONNS connections, one thread) against nginx
         between namespaces, a 600-byte file: requests/s;
  tls    the same over HTTPS (OpenSSL 3 on both sides: the uprobes);
  pipe   dd bs=512 through a pipe, processes doing no network I/O at all
         (every read and write still meets the syscall tracepoints): MB/s.
Arms: bare; `netlens http -o json > /dev/null`; bare again (noise floor =
second bare / first bare). Each arm is divided by the mean of the two bare
runs of its round; the median ratio is printed with min..max beside the
noise floor, and netlens' own CPU (user + system) per unit of work. Then
one run per workload with kernel.bpf_stats_enabled=1: each program's ns per
run and runs per request (per 512-byte block for pipe).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
import test_http  # noqa: E402
from benchlib import (Monitor, bpf_stats_enabled, interleaved, median_of,  # noqa: E402
                      print_program_costs, programs, ratios, spread, versus_bare)

HTTP = [nltest.NETLENS, "http", "-o", "json"]
PROG_PREFIXES = ("http_", "tcp_")


def wrk(pair, scheme, port, seconds, a):
    out = subprocess.run(test_http.nsenter(pair.a) + [
        "wrk", "-t1", f"-c{a.conns}", f"-d{seconds}s", f"{scheme}://{pair.B4}:{port}/index.html"],
        capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), total


def pipe(pair, seconds, a):
    blocks = a.blocks
    t0 = time.monotonic()
    subprocess.run(["sh", "-c", f"dd if=/dev/zero bs=512 count={blocks} status=none | "
                    "dd of=/dev/null bs=512 status=none"], check=True)
    return blocks * 512 / 1e6 / (time.monotonic() - t0), blocks


WORKLOADS = {
    "plain": (lambda p, s, a: wrk(p, "http", 8080, s, a), "req/s", "request"),
    "tls": (lambda p, s, a: wrk(p, "https", 8443, s, a), "req/s", "request"),
    "pipe": (pipe, "MB/s", "block"),
}


def run_arm(pair, workload, arm, seconds, a):
    """(measure, units of work, netlens' own CPU seconds)."""
    mon = Monitor(HTTP, "attached") if arm == "http" else None
    value, units = WORKLOADS[workload][0](pair, seconds, a)
    return value, units, mon.stop() if mon else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=2000000, help="pipe: 512-byte blocks per run")
    ap.add_argument("--workloads", default="plain,tls,pipe")
    a = ap.parse_args()
    pair = nltest.Pair()
    test_http.nginx(pair)
    arms = ["bare", "http", "bare2"]
    for workload in a.workloads.split(","):
        unit = WORKLOADS[workload][1]
        print(f"{workload}: {a.rounds} rounds, arms rotated each round: {', '.join(arms)}",
              flush=True)
        results = interleaved(arms, a.rounds,
                              lambda arm: run_arm(pair, workload, arm, a.seconds, a))
        bare, noise = versus_bare(results)
        cpu_us = statistics.median(x[2] / x[1] * 1e6 for x in results["http"])
        print(f"\n{workload}: bare {statistics.median(bare):.1f} {unit}, "
              f"noise floor {spread(noise)}; http {median_of(results, 'http'):.1f} {unit}, "
              f"ratio {spread(ratios(results, 'http', bare))}; netlens' own CPU "
              f"{cpu_us:.2f} us per {WORKLOADS[workload][2]}")
        with bpf_stats_enabled():
            mon = Monitor(HTTP, "attached")
            _, units = WORKLOADS[workload][0](pair, a.seconds, a)
            progs = programs(PROG_PREFIXES)
            mon.stop()
        print(f"{workload}: bpf_stats over one run ({units} {WORKLOADS[workload][2]}s):")
        print_program_costs(sorted((p for p in progs if p.get("run_cnt")), key=lambda p: p["name"]),
                            units, WORKLOADS[workload][2])
        print(flush=True)
    nltest.cleanup()


if __name__ == "__main__":
    main()
