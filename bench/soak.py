#!/usr/bin/env python3
"""`netlens serve` left on under mixed, bounded load with periodic faults (not a test).

Between two namespaces: serve runs in the server's (every module, flows at TC
on its veth, an events file with small rotation) while the client keeps a
steady mix going: short TCP connections closed with unread data (benign
QUEUE_PURGE frees), DNS queries to a dnsmasq (some NXDOMAIN), UDP to a closed
port (NO_SOCKET drops). Every --fault-every seconds one fault, in turn:
  stop      SIGSTOP serve for 5 s, then SIGCONT (its ring buffers fill)
  kill      kill -9 serve, note what it left attached, start a new one
  slow      60 slow scrapers (a header byte every 2 s) and 60 idle connections
            for 20 s, while a normal scrape is timed
Every --sample seconds: serve's RSS and open fds, a timed scrape of /metrics,
and every counter on it compared with the previous scrape of the same
process (a counter that goes down is a bug). Prints the samples as they
come and a summary: RSS/fds first/max/last, counters that ever decreased
(must be 0), map-full and lost-event totals, scrape times, the leftovers
found after each kill and whether the next start removed them.

  python3 bench/soak.py --minutes 30
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import nltest  # noqa: E402
from dnsenv import ZONE, Resolver  # noqa: E402

CONN_PORT, UDP_CLOSED_PORT = 19300, 19301
COUNTER_SUFFIXES = ("_total", "_count", "_sum")


class Agent:
    """serve in pair.b with stderr to a file (a long run says things a pipe would hold)."""

    def __init__(self, pair, workdir, generation):
        self.port = nltest.free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.log = open(os.path.join(workdir, f"serve.{generation}.err"), "w+")
        self.p = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{pair.b}", nltest.NETLENS, "serve", "-i", "nltb",
             "--listen", f"127.0.0.1:{self.port}", "--interval", "5",
             "--events-file", os.path.join(workdir, "events.json"),
             "--events-max-size", "4M", "--events-keep", "2"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        nltest.defer(lambda: self.p.poll() is None and self.p.kill())
        deadline = time.time() + 30
        while "modules attached" not in self.stderr():
            if self.p.poll() is not None or time.time() > deadline:
                raise SystemExit(f"serve did not start: {self.stderr()}")
            time.sleep(0.1)
        self.pair = pair

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def proc(self, field):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.p.pid}/fd"))

    def scrape(self):
        """(seconds taken, {sample: value}) of one GET /metrics from inside pair.b; None
        for the page if it was not answered within 10 s."""
        t = time.monotonic()
        try:
            code, body = nltest.http_get(self.url, timeout=10, ns=self.pair.b)
        except RuntimeError:   # curl: no answer in time
            code = 0
        took = time.monotonic() - t
        return took, nltest.parse_metrics(body) if code == 200 else None


def load(pair, stop):
    """The client's steady mix, about 50 connections, 20 DNS queries and 50 UDP datagrams a second."""
    code = ("import socket,sys,time\n"
            "while True:\n"
            "  try:\n"
            "    c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\n"
            "    c.sendall(b'x'*2000); c.recv(10); c.close()\n"
            "  except OSError: pass\n"
            "  time.sleep(0.02)\n")
    conns = subprocess.Popen(["ip", "netns", "exec", pair.a, "python3", "-c", code, pair.B4,
                              str(CONN_PORT)])
    nltest.defer(lambda: conns.poll() is None and conns.kill())
    n = 0
    while not stop.is_set():
        name = f"b.{ZONE}" if n % 4 else f"missing{n}.{ZONE}"
        subprocess.run(["ip", "netns", "exec", pair.a, "dig", f"@{pair.B4}", "+tries=1",
                        "+time=1", name], stdout=subprocess.DEVNULL)
        n += 1
        time.sleep(0.05)
    conns.kill()


def udp_to_closed_port(pair, stop):
    code = ("import socket,sys,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "while True:\n"
            "  s.sendto(b'y'*100,(sys.argv[1],int(sys.argv[2]))); time.sleep(0.02)\n")
    p = subprocess.Popen(["ip", "netns", "exec", pair.a, "python3", "-c", code, pair.B4,
                          str(UDP_CLOSED_PORT)])
    nltest.defer(lambda: p.poll() is None and p.kill())
    stop.wait()
    p.kill()


def sink_server(pair):
    """Accepts connections on CONN_PORT, answers one byte and closes without reading all."""
    code = ("import socket,sys\n"
            "l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "l.bind((sys.argv[1],int(sys.argv[2]))); l.listen(512)\n"
            "while True:\n"
            "  c,_=l.accept(); c.recv(10); c.sendall(b'k'); c.close()\n")
    p = subprocess.Popen(["ip", "netns", "exec", pair.b, "python3", "-c", code, pair.B4,
                          str(CONN_PORT)])
    nltest.defer(lambda: p.poll() is None and p.kill())


def netlens_programs():
    """ids of loaded BPF programs whose names are netlens' (tcp_, conns_, drops_, flows_, dns_)."""
    import json
    progs = json.loads(nltest.sh("bpftool", "-j", "prog", "show"))
    return {p["id"] for p in progs
            if p.get("name", "").startswith(("tcp_", "drops_", "flows_", "dns_", "conns_"))}


def leftovers(pair):
    tc = sum(len(nltest.sh("tc", "filter", "show", "dev", "nltb", d, ns=pair.b).strip()
                 .splitlines()) for d in ("ingress", "egress"))
    xdp = "xdp" in nltest.sh("ip", "link", "show", "nltb", ns=pair.b)
    return {"tc_filter_lines": tc, "xdp": xdp, "programs": len(netlens_programs())}


def slow_clients(agent, n=60, seconds=20):
    """n slow and n idle connections to /metrics for seconds; returns the slowest normal scrape."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open(f"/run/netns/{agent.pair.b}", os.O_RDONLY)
    libc.setns(fd, 0)
    try:
        held = [socket.create_connection(("127.0.0.1", agent.port)) for _ in range(2 * n)]
    finally:
        libc.setns(own, 0)
        os.close(fd)
        os.close(own)
    worst, end = 0.0, time.time() + seconds
    header = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
    sent = 0
    while time.time() < end:
        for s in held[:n]:
            try:
                s.send(header[sent % len(header):sent % len(header) + 1])
            except OSError:
                pass
        sent += 1
        took, page = agent.scrape()
        worst = max(worst, took if page is not None else float("inf"))
        time.sleep(2)
    for s in held:
        s.close()
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--fault-every", type=float, default=60, help="seconds between faults")
    ap.add_argument("--sample", type=float, default=10, help="seconds between samples")
    a = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="netlens-soak-")
    pair = nltest.Pair()
    Resolver(pair)
    sink_server(pair)
    stop = threading.Event()
    for fn in (load, udp_to_closed_port):
        threading.Thread(target=fn, args=(pair, stop), daemon=True).start()

    generation = 0
    agent = Agent(pair, workdir, generation)
    prev, decreased, kills, scrapes, rss, fds = {}, [], [], [], [], []
    lost = map_full = failed = 0
    faults, n_faults = ["stop", "kill", "slow"], 0
    start = time.time()
    end, next_fault, next_sample = start + a.minutes * 60, start + a.fault_every, start
    print(f"{'t_s':>6} {'rss_MiB':>8} {'fds':>5} {'scrape_ms':>9} {'lost':>8} {'map_full':>8} event")
    while time.time() < end:
        event = ""
        if time.time() >= next_fault:
            fault = faults[n_faults % len(faults)]
            n_faults += 1
            if fault == "stop":
                agent.p.send_signal(signal.SIGSTOP)
                time.sleep(5)
                agent.p.send_signal(signal.SIGCONT)
                event = "SIGSTOP 5 s"
            elif fault == "kill":
                agent.p.kill()
                agent.p.wait()
                time.sleep(1)   # the kernel frees the dead process's links and programs
                left = leftovers(pair)
                generation += 1
                agent = Agent(pair, workdir, generation)
                time.sleep(1)
                kills.append((left, agent.stderr().strip().splitlines()[:-1]))
                prev = {}
                event = f"kill -9, left {left}"
            else:
                worst = slow_clients(agent)
                event = ("slow+idle clients, slowest normal scrape " +
                         (f"{worst * 1000:.0f} ms" if worst != float("inf") else "unanswered"))
            next_fault += a.fault_every
        if time.time() >= next_sample or event:
            took, page = agent.scrape()
            scrapes.append(took)
            if page is None:
                failed += 1
                page = prev
            for key, v in page.items():
                if key[0].endswith(COUNTER_SUFFIXES) and key in prev and v < prev[key]:
                    decreased.append((key, prev[key], v))
            prev = page
            lost = sum(v for (n, _), v in page.items() if n == "netlens_events_lost_total")
            map_full = sum(v for (n, lab), v in page.items()
                           if n == "netlens_map_insert_failures_total")
            rss.append(agent.proc("VmRSS") / 1024)
            fds.append(agent.fds())
            print(f"{time.time() - start:6.0f} {rss[-1]:8.1f} {fds[-1]:5d} {took * 1000:9.1f} "
                  f"{lost:8.0f} {map_full:8.0f} {event}", flush=True)
            next_sample = time.time() + a.sample
        time.sleep(0.5)
    stop.set()
    print(f"\nminutes {a.minutes}; serve restarts {generation}")
    print(f"RSS MiB first {rss[0]:.1f} max {max(rss):.1f} last {rss[-1]:.1f}; "
          f"fds first {fds[0]} max {max(fds)} last {fds[-1]}")
    print(f"scrapes {len(scrapes)}, unanswered {failed}, slowest {max(scrapes) * 1000:.0f} ms")
    print(f"counters that decreased: {len(decreased)}")
    for key, was, now in decreased[:20]:
        print(f"  {key[0]}{dict(key[1])}: {was} -> {now}")
    print(f"last process: lost events {lost:.0f}, map inserts refused {map_full:.0f}")
    for i, (left, said) in enumerate(kills):
        print(f"kill {i + 1}: left {left}; the next start said {said or 'nothing'}")
    nltest.cleanup()


if __name__ == "__main__":
    main()
