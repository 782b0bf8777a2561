#!/usr/bin/env python3
"""`netlens serve` with every module vs nothing: the agent's cost as deployed.

Two workloads between two namespaces, in interleaved rounds (bare, serve,
bare again; the order rotates each round):
  storm  short TCP connections (bench/connstorm.c): connections/s
  bulk   iperf3, one stream: Gbit/s
The serve arm runs `netlens serve` in the server's namespace with all six
modules (flows at TC on its veth, both directions; --interval 10), started
before and stopped after each run; serve_nostats the same with
--no-bpf-stats (the cost of the kernel's run-time counters); with --arms,
also diagnose and top (not on a terminal: it collects and models every
second, and prints its snapshot at the end), the same modules without HTTP
or bpf_stats: compare them with serve_nostats; with --compare PATH, another
build's serve (a before/after in the same rounds); with --floor, empty
programs on every hook serve uses (bench/hook_floor.bpf.c: the floor of any
program there). Prints each arm's
median, the ratio to the bare runs of the same round and the noise floor
(bare2 / bare); the agent's CPU per unit of work; its memory (VmRSS, VmHWM,
BPF maps) at rest and after each workload; and each BPF program's ns per
run from serve's own /metrics (bpf_stats is on while serving), for each
build.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from benchlib import (Monitor, hook_floor, interleaved, iperf, median_of, ratios,  # noqa: E402
                      spread, versus_bare)

STORM = os.path.join(nltest.ROOT, "build", "bench", "connstorm")
STORM_PORT, BULK_PORT = 19100, 19101


def storm(pair, seconds, threads):
    out = nltest.sh(STORM, "client", pair.B4, str(STORM_PORT), str(seconds), str(threads),
                    ns=pair.a)
    words = out.split()
    return float(words[words.index("rate") + 1].rstrip("/s")), int(words[1])


def bulk(pair, seconds, _threads):
    gbps, sent = iperf(pair, BULK_PORT, seconds)
    return gbps, sent / 1e6


WORKLOADS = {"storm": (storm, "conn/s", "conn"), "bulk": (bulk, "Gbit/s", "MB")}
# Each monitored arm: the command and its arguments. serve as deployed, serve
# without bpf_stats' clock reads, and diagnose (the same modules, no HTTP).
ARMS = {"serve": ("serve",), "serve_nostats": ("serve", "--no-bpf-stats"),
        "diagnose": ("diagnose", "-d", "3600"),
        "top": ("top", "-d", "3600"), "top_norecords": ("top", "-d", "3600", "--no-records")}
READY = {"serve": "modules attached", "diagnose": "watching for", "top": "watching for"}


class Agent(Monitor):
    """netlens serve (or diagnose) in the server's namespace, every module on."""

    def __init__(self, pair, command="serve", *args, binary=nltest.NETLENS):
        self.port = nltest.free_port()
        self.pair = pair
        listen = ["--listen", f"127.0.0.1:{self.port}"] if command == "serve" else []
        super().__init__(["nsenter", f"--net=/run/netns/{pair.b}", binary, command,
                          "-i", "nltb", *listen, *args], READY[command])

    def status(self, field):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def page(self):
        time.sleep(1.1)   # a page newer than the run's end
        return nltest.parse_metrics(nltest.http_get(
            f"http://127.0.0.1:{self.port}/metrics", ns=self.pair.b)[1])


def map_bytes(page):
    return sum(v for (name, _), v in page.items() if name == "netlens_bpf_map_memory_bytes")


def start_arm(pair, arm, compare):
    """The arm's monitoring process, started; None for a bare arm."""
    if arm == "compare":
        return Agent(pair, binary=compare)
    if arm == "floor":
        return hook_floor(ns=pair.b, iface="nltb")
    return Agent(pair, *ARMS[arm]) if arm in ARMS else None


def run_arm(pair, workload, arm, seconds, threads, compare):
    agent = start_arm(pair, arm, compare)
    value, units = WORKLOADS[workload][0](pair, seconds, threads)
    cpu = agent.stop() if agent else 0.0
    return value, units, cpu


def memory_report(pair, workload, seconds, threads, binary):
    """One serve run: its memory and each program's ns per run after the workload."""
    agent = Agent(pair, binary=binary)
    units = 0
    if workload:
        units = WORKLOADS[workload][0](pair, seconds, threads)[1]
    else:
        time.sleep(seconds)
    page = agent.page()
    rss, hwm = agent.status("VmRSS"), agent.status("VmHWM")
    cpu_s = agent.stop()
    progs = []
    for (name, labels), runs in page.items():
        if name == "netlens_bpf_program_runs_total" and runs:
            secs = page[("netlens_bpf_program_run_seconds_total", labels)]
            label = f'{dict(labels)["module"]}/{dict(labels)["program"]}'
            progs.append((label, runs, secs * 1e9 / runs))
    return rss, hwm, map_bytes(page), cpu_s, units, sorted(progs, key=lambda p: -p[1] * p[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--workloads", default="storm,bulk")
    ap.add_argument("--rest", type=float, default=10, help="seconds of the at-rest measurement")
    ap.add_argument("--arms", default="serve,serve_nostats",
                    help=f"monitored arms, comma-separated, of {','.join(ARMS)}")
    ap.add_argument("--compare", help="another netlens build: its serve as one more arm, "
                    "and its memory and BPF cost after this build's")
    ap.add_argument("--floor", action="store_true",
                    help="one more arm: empty programs on every hook serve uses")
    a = ap.parse_args()

    pair = nltest.Pair()
    nltest.sh("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1",
              "net.ipv4.ip_local_port_range=1024 65535", ns=pair.a)
    server = nltest.Proc(["ip", "netns", "exec", pair.b, STORM, "server", pair.B4,
                          str(STORM_PORT), "2"])
    server.expect("READY")

    monitored = a.arms.split(",")
    for arm in monitored:
        if arm not in ARMS:
            raise SystemExit(f"unknown arm {arm!r} (arms: {', '.join(ARMS)})")
    if a.compare:
        monitored.append("compare")
    if a.floor:
        monitored.append("floor")
    arms = ["bare", *monitored, "bare2"]
    for workload in a.workloads.split(","):
        _, unit, per = WORKLOADS[workload]
        print(f"{workload}: {a.rounds} rounds x {a.seconds:g} s, arms rotated each round: "
              f"{', '.join(arms)}", flush=True)
        results = interleaved(arms, a.rounds,
                              lambda arm: run_arm(pair, workload, arm, a.seconds, a.threads,
                                                  a.compare))
        bare, noise = versus_bare(results)
        print(f"  bare  median {statistics.median(bare):.2f} {unit}, noise floor {spread(noise)}")
        for arm in monitored:
            cpu_us = statistics.median(x[2] / x[1] * 1e6 for x in results[arm])
            print(f"  {arm:13} median {median_of(results, arm):.2f} {unit}, ratio "
                  f"{spread(ratios(results, arm, bare))}, agent CPU {cpu_us:.2f} us/{per}")
        print(flush=True)

    for binary in [nltest.NETLENS] + ([a.compare] if a.compare else []):
        memory_and_cost(pair, a, binary)
    server.kill()
    nltest.cleanup()


def memory_and_cost(pair, a, binary):
    print(f"agent memory and BPF cost (one serve run each), {binary}:")
    for workload in [None] + a.workloads.split(","):
        secs = a.rest if workload is None else a.seconds
        rss, hwm, maps, cpu, units, progs = memory_report(pair, workload, secs, a.threads,
                                                          binary)
        print(f"  {workload or 'at rest'} ({secs:g} s): VmRSS {rss / 2**20:.1f} MiB, "
              f"VmHWM {hwm / 2**20:.1f} MiB, BPF maps {maps / 2**20:.1f} MiB, "
              f"agent CPU {cpu:.3f} s ({cpu / secs * 100:.2f}% of a core)")
        if units:
            per = WORKLOADS[workload][2]
            total = sum(runs * ns for _, runs, ns in progs) / units / 1000
            print(f"    BPF {total:.2f} us/{per} ({units:.0f} {per}), by program:")
        for name, runs, ns in progs:
            print(f"      {name:34} {runs:10.0f} runs {ns:7.0f} ns/run"
                  + (f" {runs * ns / units / 1000:6.2f} us/{WORKLOADS[workload][2]}"
                     if units else ""))


if __name__ == "__main__":
    main()
