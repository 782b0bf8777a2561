#!/usr/bin/env python3
"""DNS query flood benchmark for `netlens dns`.

dnsperf (Debian's) in one namespace floods dnsmasq in another (veth) with
a mix of A, AAAA, CNAME and NXDOMAIN queries of the local zone, in
interleaved rounds: bare, netlens dns -o json >/dev/null, and bare again.
Prints each arm's median queries/s, its ratio to the bare runs of the same
round, and the noise floor (second bare run / first bare run). Then netlens
runs with kernel.bpf_stats_enabled=1 (up to 5, until one where no other
traffic of the host passed the programs) for each program's ns per run.
--netlens PATH measures another build; --compare PATH adds a build as a
fourth arm of the same rounds (before/after a change, in the same conditions).
--floor adds two arms (bench/hook_floor.bpf.c): empty cgroup_skb programs
at the root (the hooks alone), and programs there that hand a 280-byte
record of every DNS message of the client's view (a datagram to port 53
leaving, from port 53 arriving) to a reader that does nothing with it: what
any tool printing each transaction from user space pays at least, here
netlens' two records per query.
"""
import argparse
import os
import re
import statistics
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402
from dnsenv import ZONE, Resolver  # noqa: E402
from benchlib import (Monitor, bpf_stats_enabled, hook_floor, interleaved,  # noqa: E402
                      median_of, print_program_costs, programs, ratios, spread,
                      versus_bare)

QUERIES = [f"a.{ZONE} A", f"a.{ZONE} AAAA", f"b.{ZONE} A", f"c.{ZONE} A",
           f"nothere.{ZONE} A"]
NETLENS = ([nltest.NETLENS, "dns", "-o", "json"], "attached")


def flood(pair, qfile, seconds, clients, outstanding):
    """dnsperf against the resolver; returns (queries/s, queries completed)."""
    out = nltest.sh("dnsperf", "-s", pair.B4, "-p", "53", "-d", qfile, "-l", str(seconds),
                    "-c", str(clients), "-q", str(outstanding), ns=pair.a)
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    return qps, done


# The --floor arms: hook_floor's programs for each.
FLOOR_ARMS = {"hooks": ("floor_cg_ingress", "floor_cg_egress"),
              "records": ("floor_cg_ingress_record", "floor_cg_egress_record")}


def run_arm(pair, arm, qfile, a):
    mon = None
    if arm == "netlens":
        mon = Monitor(*NETLENS)
    elif arm == "compare":
        mon = Monitor([a.compare] + NETLENS[0][1:], NETLENS[1])
    elif arm in FLOOR_ARMS:
        mon = hook_floor(FLOOR_ARMS[arm])
    qps, done = flood(pair, qfile, a.seconds, a.clients, a.outstanding)
    cpu = mon.stop() if mon else 0.0
    return qps, done, cpu


def prog_stats(skip):
    """name -> (run_cnt, run_time_ns) of the dns programs, but those in skip (ids loaded
    before ours: another session's dns may be running)."""
    return {p["name"]: (p.get("run_cnt", 0), p.get("run_time_ns", 0))
            for p in programs("dns_") if p["id"] not in skip}


def clean(runs, done):
    """Each query passes each cgroup_skb program twice (query and answer). More
    runs: other traffic of the host passed too (its cost mixes in); fewer:
    someone turned bpf_stats off during the run."""
    return all(1.99 <= runs[n][0] / done <= 2.05 for n in ("dns_cg_egress", "dns_cg_ingress"))


def bpf_stats(pair, qfile, a, tries=5):
    """netlens runs with bpf_stats on: each program's runs and ns during the
    flood. The first run without other traffic, else the last one."""
    for i in range(tries):
        skip = {p["id"] for p in programs()}
        mon = Monitor(*NETLENS)
        try:
            with bpf_stats_enabled():
                before = prog_stats(skip)
                _, done = flood(pair, qfile, a.seconds, a.clients, a.outstanding)
                after = prog_stats(skip)
        finally:
            mon.stop()
        runs = {n: (after[n][0] - before[n][0], after[n][1] - before[n][1]) for n in after}
        if clean(runs, done):
            return done, runs, True
    return done, runs, False


def packet(proto, payload, dport):
    """An Ethernet + IPv4 frame (BPF_PROG_TEST_RUN input for an skb program)."""
    if proto == 17:
        l4 = struct.pack(">4H", 40000, dport, 8 + len(payload), 0) + payload
    else:
        l4 = struct.pack(">HHIIBBHHH", 40000, dport, 0, 0, 0x50, 0x10, 1000, 0, 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4


def test_run_costs(repeat=200000):
    """dns_cg_egress on one packet in a loop (BPF_PROG_TEST_RUN): a DNS query and a
    non-DNS TCP segment, the cost every other packet of the host pays."""
    query = struct.pack(">6H", 0x1234, 0x0100, 1, 0, 0, 0) + \
        b"\x01a\x03nlt\x04test\x00" + struct.pack(">HH", 1, 1)
    skip = {p["id"] for p in programs()}
    mon = Monitor(*NETLENS)
    prog = [p["id"] for p in programs("dns_cg_egress") if p["id"] not in skip][0]
    costs = {}
    for name, frame in (("DNS query (record written)", packet(17, query, 53)),
                        ("TCP segment, port 443", packet(6, b"x" * 100, 443))):
        with tempfile.NamedTemporaryFile(suffix=".pkt") as f:
            f.write(frame)
            f.flush()
            out = nltest.sh("bpftool", "prog", "run", "id", str(prog), "data_in", f.name,
                            "repeat", str(repeat))
        costs[name] = int(re.search(r"duration \(average\): (\d+)ns", out).group(1))
    mon.stop()
    return costs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--outstanding", type=int, default=64)
    ap.add_argument("--netlens", default=nltest.NETLENS, help="the netlens binary to measure")
    ap.add_argument("--compare", help="another netlens binary, run as a fourth arm")
    ap.add_argument("--floor", action="store_true",
                    help="two more arms: the cgroup_skb hooks alone, and a record per message")
    a = ap.parse_args()
    global NETLENS
    NETLENS = ([a.netlens] + NETLENS[0][1:], NETLENS[1])

    arms = ["bare", "netlens", "bare2"] + (["compare"] if a.compare else []) + \
        (list(FLOOR_ARMS) if a.floor else [])
    pair = nltest.Pair()
    Resolver(pair)
    with tempfile.NamedTemporaryFile("w", suffix=".queries", delete=False) as f:
        f.write("\n".join(QUERIES) + "\n")
        qfile = f.name
    nltest.defer(lambda: os.unlink(qfile))

    print(f"dns flood: {a.rounds} rounds x {a.seconds:g} s, dnsperf {a.clients} clients, "
          f"{a.outstanding} outstanding, dnsmasq; arms rotated each round: {', '.join(arms)}",
          flush=True)
    results = interleaved(arms, a.rounds, lambda arm: run_arm(pair, arm, qfile, a), fmt=".0f")

    bare, noise = versus_bare(results)
    print(f"\n{'arm':10} {'median q/s':>11} {'ratio (median, min..max)':>28} {'CPU us/query':>13}")
    print(f"{'bare':10} {statistics.median(bare):11.0f}      noise floor {spread(noise)}")
    for arm in arms[3:] + ["netlens"]:
        cpu_us = statistics.median(x[2] / x[1] * 1e6 for x in results[arm])
        print(f"{arm:10} {median_of(results, arm):11.0f} {spread(ratios(results, arm, bare)):>28} "
              f"{cpu_us:13.2f}")

    done, runs, ok = bpf_stats(pair, qfile, a)
    print(f"\nbpf_stats over one netlens run ({done} queries answered"
          f"{'' if ok else '; other traffic passed the programs too, it is mixed in'}):")
    for name, (cnt, ns_total) in runs.items():
        ns = ns_total / cnt if cnt else 0
        print(f"  {name:20} {ns:7.0f} ns/run  {cnt / done:5.2f} runs/query  "
              f"{ns_total / done:7.0f} ns/query")

    if a.floor:
        with bpf_stats_enabled():
            mon = hook_floor(FLOOR_ARMS["records"])
            _, done = flood(pair, qfile, a.seconds, a.clients, a.outstanding)
            progs = programs("floor_cg_")
            mon.stop()
        print(f"\nbpf_stats over one run of the record floor ({done} queries answered):")
        print_program_costs([p for p in progs if p.get("run_cnt")], done, "query")

    print("\nBPF_PROG_TEST_RUN of dns_cg_egress (no socket: no owner or netns lookup):")
    for name, ns in test_run_costs().items():
        print(f"  {name:28} {ns:5d} ns/run")
    nltest.cleanup()


if __name__ == "__main__":
    main()
