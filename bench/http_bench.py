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

--floor: what any tool built this way must pay. For plain, two more arms
(bench/hook_floor.bpf.c): empty programs on sock_send_length and
sock_recv_length (the hooks alone), and programs there that hand a
280-byte record of every message (a TCP socket's data changing direction)
to a reader that does nothing with it: what any tool reporting each
message from user space pays at least (one record per HTTP message, as
netlens takes), with none of its bytes read. For
tls, what the uprobes alone cost, no BPF program run: uprobe events
(tracefs, entry and return) that fire into a trace instance whose buffer is
off. First per call, on build/bench/uprobe_loop's functions by their first
instruction (sub: single-stepped, push and nop5: emulated); then two more
arms: the probes on the four exported SSL_read/SSL_write functions
(where netlens put them before), and on the two functions their _ex forms
call (where it puts them now, src/http/http_tls.c).
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
from benchlib import (Monitor, bpf_stats_enabled, hook_floor, interleaved,  # noqa: E402
                      median_of, print_program_costs, programs, ratios, spread, versus_bare)

HTTP = [nltest.NETLENS, "http", "-o", "json"]
PROG_PREFIXES = ("http_", "tcp_")
TRACEFS = "/sys/kernel/tracing"
UPROBE_LOOP = os.path.join(nltest.ROOT, "build", "bench", "uprobe_loop")
SSL_EXPORTED = ("SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex")


def symbol_addr(path, symbol):
    """A function's address: from the symbol table, or the dynamic one (a stripped library)."""
    for nm in (["nm", "--defined-only"], ["nm", "-D", "--defined-only"]):
        out = subprocess.run(nm + [path], capture_output=True, text=True).stdout
        for ln in out.splitlines():
            if ln.split()[-1].split("@")[0] == symbol:
                return int(ln.split()[0], 16)
    raise SystemExit(f"no {symbol} in {path}")


def file_offset(path, symbol):
    """A function's file offset, and its first call's target's (None if none), by objdump."""
    addr = symbol_addr(path, symbol)
    code = nltest.sh("objdump", "-F", "-d", f"--start-address={addr:#x}",
                     f"--stop-address={addr + 16:#x}", path)
    call = re.search(r"call .*\(File Offset: 0x([0-9a-f]+)\)", code)
    return int(code.split("(File Offset: 0x")[1].split(")")[0], 16), \
        int(call.group(1), 16) if call else None


def tracefs_write(name, line):
    fd = os.open(f"{TRACEFS}/{name}", os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class UprobeEvents:
    """Entry (and return) uprobe events on (path, file offset) points, enabled in a trace
    instance of their own with its buffer off: they fire, record nothing, run no BPF."""

    def __init__(self, points, ret=True):
        self.names = []
        self.inst = f"{TRACEFS}/instances/nlbench{os.getpid()}"
        os.mkdir(self.inst)
        nltest.defer(self.stop)
        with open(f"{self.inst}/tracing_on", "w") as f:
            f.write("0")
        for i, (path, off) in enumerate(points):
            for kind in ("p", "r") if ret else ("p",):
                self.names.append(f"nlbench/{kind}{i}")
                tracefs_write("uprobe_events", f"{kind}:{self.names[-1]} {path}:{off:#x}")
        with open(f"{self.inst}/events/nlbench/enable", "w") as f:
            f.write("1")

    def stop(self):
        """As a Monitor's: the events go."""
        if not os.path.isdir(self.inst):
            return
        with open(f"{self.inst}/events/nlbench/enable", "w") as f:
            f.write("0")
        for name in self.names:
            tracefs_write("uprobe_events", f"-:{name}")
        self.names = []
        os.rmdir(self.inst)


def ssl_points(kind):
    """The four exported functions of nginx's libssl, or the two their _ex forms call."""
    lib = test_http.libssl_of("/usr/sbin/nginx")
    if kind == "exported":
        return [(lib, file_offset(lib, f)[0]) for f in SSL_EXPORTED]
    return [(lib, file_offset(lib, f)[1]) for f in ("SSL_read_ex", "SSL_write_ex")]


def loop_ns(kind, calls):
    out = nltest.sh(UPROBE_LOOP, kind, str(calls))
    return float(out.split()[1])


def uprobe_per_call(rounds):
    """ns a probe adds to a call, by the function's first instruction: the median of rounds."""
    print("uprobe cost per call (tracefs events, no BPF), by the function's first instruction:")
    for kind, calls in (("sub", 100000), ("push", 2000000), ("nop5", 2000000)):
        off = file_offset(UPROBE_LOOP, f"f_{kind}")[0]
        added = {"entry": [], "entry+return": []}
        for _ in range(rounds):
            bare = loop_ns(kind, calls)
            for arm, ret in (("entry", False), ("entry+return", True)):
                ev = UprobeEvents([(UPROBE_LOOP, off)], ret)
                added[arm].append(loop_ns(kind, calls) - bare)
                ev.stop()
        print("  " + kind.ljust(5) + "  ".join(
            f"{arm} +{statistics.median(v):.0f} ns" for arm, v in added.items()), flush=True)


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


# The --floor arms: what each is, and what it runs (hook_floor's programs, or uprobe events).
FLOOR_ARMS = {
    "plain": {"hooks": ("empty programs on send and recv", ("floor_send", "floor_recv")),
              "records": ("a record of every message, read",
                          ("floor_send_record", "floor_recv_record"))},
    "tls": {"uprobes-exported": ("uprobes on the exported SSL functions, no BPF", "exported"),
            "uprobes-internal": ("uprobes where netlens puts them, no BPF", "internal")},
}


def start_floor(workload, arm):
    what = FLOOR_ARMS[workload][arm][1]
    return UprobeEvents(ssl_points(what)) if workload == "tls" else hook_floor(what)


def run_arm(pair, workload, arm, seconds, a):
    """(measure, units of work, netlens' own CPU seconds)."""
    mon = Monitor(HTTP, "attached") if arm == "http" else None
    floor = start_floor(workload, arm) if arm in FLOOR_ARMS.get(workload, {}) else None
    value, units = WORKLOADS[workload][0](pair, seconds, a)
    if floor:
        floor.stop()
    return value, units, mon.stop() if mon else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=2000000, help="pipe: 512-byte blocks per run")
    ap.add_argument("--workloads", default="plain,tls,pipe")
    ap.add_argument("--floor", action="store_true",
                    help="what the hooks, the records or the uprobes alone cost")
    a = ap.parse_args()
    if a.floor:
        uprobe_per_call(a.rounds)
    pair = nltest.Pair()
    test_http.nginx(pair)
    for workload in a.workloads.split(","):
        floors = list(FLOOR_ARMS.get(workload, {})) if a.floor else []
        arms = ["bare", "http", *floors, "bare2"]
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
        for arm in floors:
            print(f"{workload}: {FLOOR_ARMS[workload][arm][0]}: ratio "
                  f"{spread(ratios(results, arm, bare))}")
        # netlens, and the record floor (its programs are the only floor_* ones loaded).
        for arm in ["http"] + (["records"] if "records" in floors else []):
            with bpf_stats_enabled():
                mon = Monitor(HTTP, "attached") if arm == "http" else start_floor(workload, arm)
                _, units = WORKLOADS[workload][0](pair, a.seconds, a)
                progs = programs(PROG_PREFIXES if arm == "http" else "floor_")
                mon.stop()
            print(f"{workload}: bpf_stats over one run of {arm} ({units} "
                  f"{WORKLOADS[workload][2]}s):")
            print_program_costs(sorted((p for p in progs if p.get("run_cnt")),
                                       key=lambda p: p["name"]), units, WORKLOADS[workload][2])
        print(flush=True)
    nltest.cleanup()


if __name__ == "__main__":
    main()
