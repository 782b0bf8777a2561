"""netlens serve: the events file (rotation, whole lines, SIGHUP) and the drops and dns
metrics, under real traffic between two namespaces, exact assertions.

serve runs with --netns of the client namespace (a): other test runs on the
host (their connections, drops, DNS) never reach these files or counters.
"""
import errno
import glob
import json
import os
import select
import signal
import tempfile
import time

from dnsenv import ZONE, Resolver, dig
from nltest import Pair, Proc, Serve, defer, sh

UDP = os.path.join(os.path.dirname(__file__), "drops_udp.py")
MAX_SIZE = 64 * 1024

# A TCP server that accepts and closes at once, and a client making N connections.
ACCEPTOR = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1024)
print("READY", flush=True)
while True:
    s.accept()[0].close()
"""
CONNECTOR = """
import socket, sys
for _ in range(int(sys.argv[3])):
    socket.create_connection((sys.argv[1], int(sys.argv[2]))).close()
"""


def connect_n(pair, port, count):
    """count TCP connections from a to b:port, each closed at once by both sides."""
    srv = Proc(["ip", "netns", "exec", pair.b, "python3", "-c", ACCEPTOR, pair.B4, str(port)])
    assert srv.line() == "READY"
    sh("python3", "-c", CONNECTOR, pair.B4, str(port), str(count), ns=pair.a)


def files_in_order(path):
    """PATH.N (oldest) ... PATH.1, PATH: the kept files, oldest first."""
    rotated = sorted(glob.glob(path + ".[0-9]*"), key=lambda p: -int(p.rsplit(".", 1)[1]))
    return rotated + ([path] if os.path.exists(path) else [])


def records(paths):
    """Every line of the files parsed: a line split across files would fail here."""
    out = []
    for p in paths:
        with open(p) as f:
            data = f.read()
        assert data == "" or data.endswith("\n"), f"{p} ends inside a line"
        out += [json.loads(line) for line in data.splitlines()]
    return out


def records_unrotated(paths_fn):
    """records() of the files paths_fn() names, read again while serve rotates
    them (a file renamed in between would be missed or read twice)."""
    while True:
        paths = paths_fn()
        try:
            inodes = [os.stat(p).st_ino for p in paths]
            recs = records(paths)
            if paths_fn() == paths and [os.stat(p).st_ino for p in paths] == inodes:
                return recs
        except FileNotFoundError:
            pass


def connects(recs, port):
    return sum(1 for r in recs if r.get("type") == "connect" and r.get("dport") == port)


def wait_connects(paths_fn, port, want, timeout=15):
    deadline = time.time() + timeout
    while True:
        n = connects(records_unrotated(paths_fn), port)
        if n >= want or time.time() > deadline:
            return n
        time.sleep(0.2)


def test_events_file_rotates_keeps_whole_lines_and_reopens_on_sighup():
    pair = Pair()
    d = tempfile.mkdtemp(prefix="nlt-events-")
    defer(lambda: sh("rm", "-rf", d))
    path = os.path.join(d, "events.json")
    serve = Serve("--enable", "conns,dns", "--netns", pair.a, "--interval", "1",
                  "--events-file", path, "--events-max-size", "64k", "--events-keep", "3")

    # More records than the files kept hold: 800 connect and 800 close lines, ~430 KiB.
    connect_n(pair, 7411, 800)
    assert serve.wait_value("netlens_events_file_lines_total", 1600) >= 1600
    assert serve.value("netlens_events_file_rotations_total") >= 5
    kept = files_in_order(path)
    assert kept == [path + ".3", path + ".2", path + ".1", path], kept
    assert not os.path.exists(path + ".4")

    # K connections now: all their records fit in the files kept, none lost.
    k = 97
    connect_n(pair, 7412, k)
    assert wait_connects(lambda: files_in_order(path), 7412, k) == k
    for p in files_in_order(path):
        assert os.path.getsize(p) <= MAX_SIZE, (p, os.path.getsize(p))

    # logrotate's way: move the file, SIGHUP; the next records go to a new file.
    moved = os.path.join(d, "moved.json")
    os.rename(path, moved)
    serve.p.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    assert os.path.exists(path), "serve did not reopen the events file on SIGHUP"
    connect_n(pair, 7413, 5)
    assert wait_connects(lambda: [path], 7413, 5) == 5
    assert connects(records([moved]), 7413) == 0

    page = serve.metrics()
    assert serve.value("netlens_events_file_lines_lost_total", page) == 0
    assert serve.value("netlens_events_file_write_errors_total", page) == 0
    serve.stop()
    # Every line of every file whole, the counts unchanged by the final flush.
    recs = records(files_in_order(path) + [moved])
    assert connects(recs, 7412) == k
    assert connects(recs, 7413) == 5
    assert all(r["netns"] == pair.netns_a for r in recs if r.get("type") == "connect")


def send_udp(ns, addr, port, count):
    p = Proc(["ip", "netns", "exec", ns, "python3", UDP, "send", addr, str(port),
              "--count", str(count)])
    assert p.expect("SENT")[0] == str(count)
    p.wait()


def test_drops_and_dns_metrics_exact():
    pair = Pair()
    Resolver(pair)   # its readiness queries come before serve starts
    serve = Serve("--enable", "drops,dns", "--netns", pair.a)
    drops = {"kind": "kfree_skb", "class": "loss", "reason": "NO_SOCKET", "dport": 17411,
             "location": "__udp4_lib_rcv"}
    before = serve.value("netlens_packet_drops_total", **drops)

    n = 23
    send_udp(pair.b, pair.A4, 17411, n)   # to a port closed in a
    assert serve.wait_value("netlens_packet_drops_total", before + n, **drops) == before + n

    k = 6
    for _ in range(k):
        dig(pair, pair.B4, f"a.{ZONE}", "A")
    server = f"{pair.B4}:53"   # DNS series are per server (issue 13)
    assert serve.wait_value("netlens_dns_queries_total", k, qtype="A", server=server) == k
    assert serve.wait_value("netlens_dns_latency_seconds_count", k, server=server) == k
    page = serve.metrics()
    assert serve.value("netlens_dns_responses_total", page, rcode="NOERROR", server=server) == k
    assert serve.value("netlens_dns_timeouts_total", page, server=server) == 0
    assert serve.value("netlens_dns_queries_total", page, qtype="AAAA", server=server) == 0
    assert serve.value("netlens_parse_errors_total", page, module="dns") == 0
    assert serve.value("netlens_parse_errors_total", page, module="drops") == 0
    # No events file: drops asks the kernel for no individual record at all.
    assert serve.value("netlens_events_total", page, module="drops") == 0
    assert serve.value("netlens_drop_records_suppressed_total", page) == 0
    assert serve.value("netlens_packet_drops_total", page, **drops) == before + n
    serve.stop()


def stderr_lines(serve, seconds):
    """The lines serve writes on stderr within the next seconds."""
    deadline, fd, data = time.time() + seconds, serve.p.stderr.fileno(), b""
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()


def fill(directory):
    """Fills the file system of directory: page-sized writes until ENOSPC."""
    fd = os.open(os.path.join(directory, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)


def test_events_file_full_disk_said_once_and_recovery():
    pair = Pair()
    d = tempfile.mkdtemp(prefix="nlt-full-")
    sh("mount", "-t", "tmpfs", "-o", "size=512k", "nlt-full", d)
    defer(lambda: (sh("umount", d, check=False), os.rmdir(d)))
    path = os.path.join(d, "events.json")
    # --interval 60: no stats record during the test, only the connections' records.
    serve = Serve("--enable", "conns", "--netns", pair.a, "--interval", "60",
                  "--events-file", path, "--events-max-size", "0")
    fill(d)   # the events file is still empty: not even one page of it is free

    connect_n(pair, 7421, 50)   # a connect and a close record each
    assert serve.wait_value("netlens_events_file_lines_lost_total", 100) == 100
    said = stderr_lines(serve, 1.5)
    assert said == [f"netlens serve: cannot write the events file {path}: No space left on "
                    "device; its records are lost (and counted) until a write succeeds"], said
    connect_n(pair, 7422, 10)   # still full: lost, and not said again
    assert serve.wait_value("netlens_events_file_lines_lost_total", 120) == 120
    assert stderr_lines(serve, 1.5) == []
    page = serve.metrics()
    assert serve.value("netlens_events_file_lines_total", page) == 0
    assert serve.value("netlens_events_file_bytes_total", page) == 0
    errors = serve.value("netlens_events_file_write_errors_total", page)
    assert errors >= 2   # one per failed batch

    os.unlink(os.path.join(d, "filler"))
    connect_n(pair, 7423, 30)
    assert serve.wait_value("netlens_events_file_lines_total", 60) == 60
    said = stderr_lines(serve, 1.5)
    assert said == [f"netlens serve: the events file {path} is written again; 120 records "
                    "were lost"], said
    page = serve.metrics()
    assert serve.value("netlens_events_file_lines_lost_total", page) == 120
    assert serve.value("netlens_events_file_write_errors_total", page) == errors
    assert serve.value("netlens_events_file_bytes_total", page) == os.path.getsize(path)
    recs = records([path])
    assert len(recs) == 60
    assert (connects(recs, 7421), connects(recs, 7422), connects(recs, 7423)) == (0, 0, 30)
    serve.stop()
