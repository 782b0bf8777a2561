"""What the benchmarks share: monitors with their CPU time, and bpf_stats.

A monitor (netlens, bpftrace, tcpdump...) is started before a run and
stopped after it; its user + system CPU over the run is what it cost.
"""
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import nltest  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def iperf(pair, port, seconds):
    """One iperf3 test from pair.a to pair.b: (Gbit/s received, bytes sent).

    Each test has a server of its own (iperf3 -s -1): a server left stuck by a
    test (seen after tens of tests) would hang every later client. A client
    that outlives its time by 20 s is killed and the test run again.
    """
    for _ in range(3):
        server = subprocess.Popen(["ip", "netns", "exec", pair.b, "iperf3", "-s", "-1",
                                   "--forceflush", "-p", str(port)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            for line in server.stdout:
                if "listening" in line:
                    break
            else:
                raise SystemExit(f"iperf3 -s -p {port} did not start")
            r = subprocess.run(["ip", "netns", "exec", pair.a, "iperf3", "-c", pair.B4,
                                "-p", str(port), "-t", str(seconds), "-J"],
                               capture_output=True, text=True, timeout=seconds + 20)
        except subprocess.TimeoutExpired:
            print("  (iperf3 hung: run again)", flush=True)
            continue
        finally:
            server.kill()
            server.wait()
        if r.returncode == 0:
            end = json.loads(r.stdout)["end"]
            return end["sum_received"]["bits_per_second"] / 1e9, end["sum_sent"]["bytes"]
    raise SystemExit("iperf3 failed three times")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def programs(prefixes=""):
    """The loaded BPF programs (bpftool's JSON) whose names start with prefixes."""
    return [p for p in json.loads(nltest.sh("bpftool", "-j", "prog", "show"))
            if p.get("name", "").startswith(prefixes)]


@contextlib.contextmanager
def bpf_stats_enabled():
    """kernel.bpf_stats_enabled=1 for the block: run_cnt and run_time_ns count."""
    nltest.sh("sysctl", "-qw", "kernel.bpf_stats_enabled=1")
    try:
        yield
    finally:
        nltest.sh("sysctl", "-qw", "kernel.bpf_stats_enabled=0")


class Monitor:
    """A monitoring process started before a run and stopped after it.

    Ready when its stderr says `ready`, or (ready=None) when it has loaded
    a BPF program: bpftrace announces itself on stdout, which goes to /dev/null.
    """

    def __init__(self, argv, ready):
        before = len(programs())
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        nltest.defer(lambda: self.p.poll() is None and self.p.kill())
        deadline = time.time() + 30
        while time.time() < deadline:
            if ready is None:
                if len(programs()) > before:
                    time.sleep(0.2)
                    break
                time.sleep(0.1)
                continue
            line = self.p.stderr.readline()
            if not line:
                raise SystemExit(f"{argv[0]} failed to start")
            if ready in line:
                break
        else:
            raise SystemExit(f"{argv[0]} did not start")
        self.cpu0 = cpu_seconds(self.p.pid)

    def stop(self):
        cpu = cpu_seconds(self.p.pid) - self.cpu0
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)
        return cpu


def hook_floor(progs=(), ns=None, iface="-"):
    """bench/hook_floor.bpf.c's programs, every empty one (on each hook serve uses) or those
    named (the *_record ones too); TC ones on iface, in namespace ns. What any program there
    costs before it does anything, or before it does more than hand on a record."""
    build = os.path.join(nltest.ROOT, "build", "bench")
    argv = [os.path.join(build, "hook_floor"), os.path.join(build, "hook_floor.bpf.o"), iface,
            *progs]
    return Monitor((["nsenter", f"--net=/run/netns/{ns}"] if ns else []) + argv, "attached")


def interleaved(arms, rounds, run, fmt=".2f"):
    """Runs run(arm) once per arm in each of rounds rounds, the order rotated each round
    so that no arm always follows the same one; prints each round's measures (unless fmt
    is None). Returns {arm: [result, ...]}; a result is a tuple, its first item the measure."""
    results = {arm: [] for arm in arms}
    for r in range(rounds):
        for arm in arms[r % len(arms):] + arms[:r % len(arms)]:
            results[arm].append(run(arm))
        if fmt:
            print(f"  round {r + 1}: " + "  ".join(
                f"{arm} {results[arm][-1][0]:{fmt}}" for arm in arms), flush=True)
    return results


def versus_bare(results):
    """Per round: the bare measure (mean of the bare and bare2 runs) and the noise floor
    (bare2 / bare)."""
    bare = [(x[0] + y[0]) / 2 for x, y in zip(results["bare"], results["bare2"])]
    noise = [y[0] / x[0] for x, y in zip(results["bare"], results["bare2"])]
    return bare, noise


def ratios(results, arm, bare):
    """The arm's measure over the same round's bare measure."""
    return [x[0] / b for x, b in zip(results[arm], bare)]


def spread(values):
    """'median (min..max)' to three decimals."""
    return f"{statistics.median(values):.3f} ({min(values):.3f}..{max(values):.3f})"


def median_of(results, arm):
    return statistics.median(x[0] for x in results[arm])


def print_program_costs(progs, units, per, width=20):
    """bpftool's programs (bpf_stats on): ns per run, runs and ns per unit of work."""
    for p in progs:
        cnt = p.get("run_cnt", 0)
        ns = p.get("run_time_ns", 0) / cnt if cnt else 0
        print(f"  {p['name']:{width}} {ns:7.0f} ns/run  {cnt / units:9.2f} runs/{per}  "
              f"{ns * cnt / units:9.0f} ns/{per}")
