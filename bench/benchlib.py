"""What the benchmarks share: monitors with their CPU time, and bpf_stats.

A monitor (netlens, bpftrace, tcpdump...) is started before a run and
stopped after it; its user + system CPU over the run is what it cost.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import nltest  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


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
