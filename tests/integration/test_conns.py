"""netlens conns: real connections between two namespaces, exact assertions."""
import json
import re
import signal
import subprocess
import time

import os

from nltest import (Cgroup, NETLENS, Netlens, Pair, Proc, Serve, defer, exchange, find,
                    held_connections, nstat, one, peer, sh)

HERE = os.path.dirname(os.path.abspath(__file__))

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def check_exchange(family, port, *nl_args):
    pair = Pair()
    # -P: the stats record counts in the kernel, where other test runs on
    # this host (other namespaces) would add their events.
    nl = Netlens("-P", port, *nl_args)
    spid, cpid, cport = exchange(pair, family, port)
    recs = nl.stop()
    hook = "tracepoint" if "tracepoint" in nl_args else "tp_btf"   # the TCP core's default
    assert f"attached ({hook} sock:inet_sock_set_state" in nl.attached, nl.attached
    a, b = pair.addr("a", family), pair.addr("b", family)

    conn = one(recs, type="connect", dport=port, sport=cport)
    assert conn["pid"] == cpid and conn["comm"] == "nlt-client", conn
    assert (conn["family"], conn["saddr"], conn["daddr"]) == (family, a, b), conn
    assert conn["netns"] == pair.netns_a, conn
    assert 0 < conn["latency_us"] < 1000000, conn
    assert TS.match(conn["ts"]), conn["ts"]

    acc = one(recs, type="accept", sport=port, dport=cport)
    assert acc["pid"] == spid and acc["comm"] == "nlt-server", acc
    assert (acc["family"], acc["saddr"], acc["daddr"]) == (family, b, a), acc
    assert acc["netns"] == pair.netns_b, acc
    assert acc["queue_us"] >= 0, acc

    cclose = one(recs, type="close", sport=cport, dport=port)
    assert cclose["pid"] == cpid and cclose["comm"] == "nlt-client", cclose
    assert (cclose["bytes_sent"], cclose["bytes_received"]) == (100000, 2500), cclose
    assert cclose["direction"] == "outbound" and cclose["duration_ms"] > 0, cclose
    assert cclose["retransmits"] == 0 and cclose["srtt_us"] > 0, cclose
    assert cclose["error"] is None, cclose

    sclose = one(recs, type="close", sport=port, dport=cport)
    assert sclose["pid"] == spid and sclose["comm"] == "nlt-server", sclose
    assert (sclose["bytes_sent"], sclose["bytes_received"]) == (2500, 100000), sclose
    assert sclose["direction"] == "inbound" and sclose["netns"] == pair.netns_b, sclose

    stats = recs[-1]
    assert stats["type"] == "stats" and stats["lost"] == 0, stats
    assert stats["events"] == len(recs) - 1, (stats["events"], len(recs))
    dest = [d for d in stats["destinations"]
            if d["daddr"] == b and d["dport"] == port and d["direction"] == "outbound"]
    assert len(dest) == 1, stats["destinations"]
    assert (dest[0]["connects"], dest[0]["closes"], dest[0]["bytes_sent"],
            dest[0]["bytes_received"]) == (1, 1, 100000, 2500), dest


def test_exchange_ipv4():
    check_exchange(4, 18001)


def test_exchange_ipv6():
    check_exchange(6, 18002)


def test_exchange_classic_tracepoint():
    """The fallback hook (kernels without raw tracepoints) gives the same records."""
    check_exchange(4, 18027, "--hook", "tracepoint")


def test_server_closes_first():
    """The passive side closes first: FIN accounting on the other foot."""
    pair = Pair()
    nl = Netlens("-P", 18020)
    _, _, cport = exchange(pair, 6, 18020, send=70000, reply=3000,
                           server_args=("--close-first",), client_args=("--wait-eof",))
    recs = nl.stop()
    c = one(recs, type="close", sport=cport)
    s = one(recs, type="close", dport=cport)
    assert (c["bytes_sent"], c["bytes_received"], c["state"]) == (70000, 3000, "LAST_ACK"), c
    assert (s["bytes_sent"], s["bytes_received"]) == (3000, 70000), s
    assert s["state"] in ("FIN_WAIT2", "FIN_WAIT1", "CLOSING"), s
    assert c["error"] is None and s["error"] is None


def test_reset_by_peer():
    """Server closes with the request unread: RST, ECONNRESET on the client."""
    pair = Pair()
    nl = Netlens("-P", 18021)
    _, _, cport = exchange(pair, 4, 18021, send=50000, reply=10, server_args=("--reset",),
                           client_end="RESET")
    recs = nl.stop()
    c = one(recs, type="close", sport=cport)
    assert (c["error"], c["state"], c["bytes_sent"]) == ("ECONNRESET", "ESTABLISHED", 50000), c
    s = one(recs, type="close", dport=cport)
    assert (s["state"], s["bytes_received"], s["bytes_sent"]) == ("ESTABLISHED", 50000, 0), s


def check_refused(family, port):
    pair = Pair()
    nl = Netlens()
    cli = peer(pair.a, "client", pair.addr("b", family), port, name="nlt-refused")
    assert cli.expect("ERROR") == ["111"]
    cli.wait()
    recs = nl.stop()
    f = one(recs, type="failed", dport=port, netns=pair.netns_a)
    assert f["error"] == "ECONNREFUSED" and f["pid"] == cli.pid, f
    assert f["comm"] == "nlt-refused" and f["daddr"] == pair.addr("b", family), f
    assert f["saddr"] == pair.addr("a", family) and f["sport"] > 0, f
    assert not find(recs, type="connect", dport=port)


def test_refused_ipv4():
    check_refused(4, 18003)


def test_refused_ipv6():
    check_refused(6, 18004)


def check_syn_timeout(family, port):
    pair = Pair()
    # Every SYN to the port is dropped in the server namespace; one retry.
    sh("nft", "add table inet nlt", ns=pair.b)
    sh("nft", "add chain inet nlt in { type filter hook input priority 0; }", ns=pair.b)
    sh("nft", f"add rule inet nlt in tcp dport {port} drop", ns=pair.b)
    sh("sysctl", "-qw", "net.ipv4.tcp_syn_retries=1", ns=pair.a)
    srv = peer(pair.b, "server", pair.addr("b", family), port, "--no-accept")
    srv.expect("READY")
    nl = Netlens("-P", port)
    t0 = time.time()
    cli = peer(pair.a, "client", pair.addr("b", family), port, name="nlt-timeout")
    assert cli.expect("ERROR", timeout=20) == ["110"]
    elapsed = time.time() - t0
    recs = nl.stop()
    f = one(recs, type="failed", dport=port)
    assert f["error"] == "ETIMEDOUT" and f["pid"] == cli.pid, f
    # SYN at 0 s, one retry at 1 s, given up at 3 s (timed by the state change,
    # not connect(2)'s exit: that one reports only failures before SYN_SENT).
    assert f["latency_us"] is not None, [r for r in recs if port in (r.get("sport"), r.get("dport"))]
    assert 2500000 <= f["latency_us"] <= elapsed * 1e6, (f, elapsed)


def test_syn_timeout_ipv4():
    check_syn_timeout(4, 18005)


def test_syn_timeout_ipv6():
    check_syn_timeout(6, 18006)


def test_no_local_port_is_eaddrnotavail():
    """Ephemeral ports exhausted: connect(2) fails before any SYN leaves."""
    pair = Pair()
    sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40001", ns=pair.a)
    srv = peer(pair.b, "server", pair.B4, 18024, "--no-accept")
    srv.expect("READY")
    nl = Netlens("-P", 18024)
    hold = peer(pair.a, "hold", pair.B4, 18024, "--count", 3, name="nlt-hold")
    assert hold.expect("ERROR") == ["99"]
    assert hold.expect("HELD") == ["2"]
    recs = nl.stop()
    f = one(recs, type="failed")
    assert (f["error"], f["pid"], f["sport"]) == ("EADDRNOTAVAIL", hold.pid, 0), f
    assert len(find(recs, type="connect")) == 2


def check_no_route(family, target):
    pair = Pair()
    nl = Netlens("-P", 18026)
    cli = peer(pair.a, "client", target, 18026, name="nlt-noroute")
    assert cli.expect("ERROR") == ["101"]
    cli.wait()
    recs = nl.stop()
    f = one(recs, type="failed")
    assert (f["error"], f["pid"], f["comm"]) == ("ENETUNREACH", cli.pid, "nlt-noroute"), f
    assert (f["family"], f["daddr"], f["dport"]) == (family, target, 18026), f
    assert f["latency_us"] is None and f["netns"] == pair.netns_a, f


def test_no_route_ipv4():
    """connect(2) fails before any TCP state: found at the syscall's exit."""
    check_no_route(4, "10.99.0.1")   # no route in the namespace: nothing is sent


def test_no_route_ipv6():
    check_no_route(6, "fd00:999::1")


def test_abandoned_handshake_is_econnaborted():
    """The application closes a socket whose SYN is unanswered."""
    pair = Pair()
    sh("nft", "add table inet nlt", ns=pair.b)
    sh("nft", "add chain inet nlt in { type filter hook input priority 0; }", ns=pair.b)
    sh("nft", "add rule inet nlt in tcp dport 18025 drop", ns=pair.b)
    nl = Netlens("-P", 18025)
    cli = peer(pair.a, "client", pair.B6, 18025, "--abort-after", 0.3, name="nlt-abort")
    cli.expect("CONNECTING")
    cli.expect("DONE")
    recs = nl.stop()
    f = one(recs, type="failed")
    assert (f["error"], f["pid"], f["family"]) == ("ECONNABORTED", cli.pid, 6), f
    assert 250000 <= f["latency_us"] < 2000000, f


def two_clients(pair, port, nl_args, family=4, names=("nlt-keep", "nlt-drop"),
                prefixes=((), ())):
    """Two connections to one server: returns (netlens records, keep pid, drop pid, ports)."""
    srv = peer(pair.b, "server", pair.addr("b", family), port, "--expect", 10,
               "--reply", 10, "--accept", 2, name="nlt-server")
    srv.expect("READY")
    nl = Netlens(*nl_args)
    pids, ports = [], []
    for name, prefix in zip(names, prefixes):
        cli = peer(pair.a, "client", pair.addr("b", family), port, "--send", 10,
                   "--expect", 10, name=name, prefix=prefix)
        ports.append(int(cli.expect("CONNECTED")[0]))
        cli.expect("DONE")
        cli.wait()
        pids.append(cli.pid)
    srv.expect("ACCEPTED")
    srv.expect("ACCEPTED")
    srv.expect("DONE")
    return nl.stop(), pids, ports


def assert_kept_only(recs, keep_port, drop_port, kind="connect"):
    assert one(recs, type=kind, sport=keep_port)
    assert not find(recs, sport=drop_port) and not find(recs, dport=drop_port), \
        [r for r in recs if drop_port in (r.get("sport"), r.get("dport"))]


def test_filter_pid():
    pair = Pair()
    # The server must exist before netlens starts to know the keep pid: use
    # a client that waits, so its pid is known when netlens is configured.
    srv = peer(pair.b, "server", pair.B4, 18010, "--expect", 10, "--reply", 10,
               "--accept", 2)
    srv.expect("READY")
    keep = peer(pair.a, "client", pair.B4, 18010, "--send", 10, "--expect", 10,
                "--delay", 1.5, name="nlt-keep")
    nl = Netlens("-p", keep.pid)
    drop = peer(pair.a, "client", pair.B4, 18010, "--send", 10, "--expect", 10,
                name="nlt-drop")
    drop_port = int(drop.expect("CONNECTED")[0])
    drop.expect("DONE")
    keep_port = int(keep.expect("CONNECTED")[0])
    keep.expect("DONE")
    srv.expect("ACCEPTED")
    srv.expect("ACCEPTED")
    srv.expect("DONE")
    recs = nl.stop()
    assert_kept_only(recs, keep_port, drop_port)
    assert all(r["pid"] == keep.pid for r in recs if r["type"] != "stats"), recs
    assert one(recs, type="close", sport=keep_port)["bytes_sent"] == 10


def test_filter_comm():
    pair = Pair()
    recs, pids, ports = two_clients(pair, 18011, ["-c", "nlt-keep"])
    assert_kept_only(recs, ports[0], ports[1])
    assert not find(recs, type="accept"), "server side has another comm"


def test_filter_port():
    pair = Pair()
    srv = peer(pair.b, "server", pair.B4, 18012, "--expect", 10, "--reply", 10)
    srv.expect("READY")
    other = peer(pair.b, "server", pair.B4, 18013, "--expect", 10, "--reply", 10)
    other.expect("READY")
    nl = Netlens("-P", 18012)
    ports = []
    for port in (18012, 18013):
        cli = peer(pair.a, "client", pair.B4, port, "--send", 10, "--expect", 10)
        ports.append(int(cli.expect("CONNECTED")[0]))
        cli.expect("DONE")
        cli.wait()
    recs = nl.stop()
    assert one(recs, type="connect", dport=18012)
    assert one(recs, type="accept", sport=18012)
    assert len(find(recs, type="close")) == 2
    assert not [r for r in recs if 18013 in (r.get("sport"), r.get("dport"))]


def check_family_filter(flag, keep_family):
    pair = Pair()
    nl = Netlens(flag, "-P", 18014, "-P", 18015)
    _, _, port4 = exchange(pair, 4, 18014, send=10, reply=10)
    _, _, port6 = exchange(pair, 6, 18015, send=10, reply=10)
    recs = nl.stop()
    keep, drop = (port4, port6) if keep_family == 4 else (port6, port4)
    assert_kept_only(recs, keep, drop)
    assert all(r["family"] == keep_family for r in recs if r["type"] != "stats")


def test_filter_ipv4_only():
    check_family_filter("-4", 4)


def test_filter_ipv6_only():
    check_family_filter("-6", 6)


def test_filter_netns():
    """--netns by name keeps the client's namespace and not the server's."""
    pair = Pair()
    nl = Netlens("--netns", pair.a, "-P", 18018)
    _, cpid, cport = exchange(pair, 4, 18018, send=10, reply=10)
    recs = nl.stop()
    assert one(recs, type="connect", sport=cport)["pid"] == cpid
    assert not find(recs, type="accept"), "the server's namespace is filtered out"
    assert all(r["netns"] == pair.netns_a for r in recs if r["type"] != "stats"), recs


def test_filter_cgroup():
    pair = Pair()
    cg = Cgroup("conns")
    # The kept client moves itself into the cgroup before it execs the peer.
    recs, pids, ports = two_clients(pair, 18016, ["--cgroup", cg.path],
                                    prefixes=(cg.join, ()))
    assert_kept_only(recs, ports[0], ports[1])
    conn = one(recs, type="connect", sport=ports[0])
    assert conn["cgroup_id"] == cg.id and conn["pid"] == pids[0], conn


def test_v4_mapped_is_ipv4():
    """An AF_INET6 socket to ::ffff:10.231.0.2 is IPv4 on the wire."""
    pair = Pair()
    nl = Netlens("-4", "-P", 18017)
    srv = peer(pair.b, "server", "::", 18017, "--expect", 10, "--reply", 10)
    srv.expect("READY")
    cli = peer(pair.a, "client", "::ffff:" + pair.B4, 18017, "--send", 10, "--expect", 10)
    cport = int(cli.expect("CONNECTED")[0])
    cli.expect("DONE")
    srv.expect("ACCEPTED")
    srv.expect("DONE")
    recs = nl.stop()
    conn = one(recs, type="connect", sport=cport)
    assert (conn["family"], conn["saddr"], conn["daddr"]) == (4, pair.A4, pair.B4), conn
    acc = one(recs, type="accept", dport=cport)
    assert (acc["family"], acc["saddr"], acc["daddr"]) == (4, pair.B4, pair.A4), acc


def test_closed_before_accept():
    """A connection the server never accepts: accept (pid 0) and close at teardown."""
    pair = Pair()
    srv = peer(pair.b, "server", pair.B4, 18018, "--no-accept")
    srv.expect("READY")
    nl = Netlens("-P", 18018)
    cli = peer(pair.a, "client", pair.B4, 18018, "--send", 10, "--expect", 0)
    cport = int(cli.expect("CONNECTED")[0])
    cli.expect("DONE")
    srv.p.stdin.write("\n")
    srv.p.stdin.flush()
    srv.expect("DONE")
    recs = nl.stop()
    acc = one(recs, type="accept", dport=cport)
    assert acc["pid"] == 0 and acc["comm"] == "" and acc["queue_us"] is None, acc
    close = one(recs, type="close", sport=18018, dport=cport)
    assert close["bytes_received"] == 10 and close["direction"] == "inbound", close
    assert recs[-1]["unaccepted"] == 1, recs[-1]


def test_ringbuf_overflow_is_counted():
    """A reader that stops: every record is either delivered or counted as lost."""
    pair = Pair()
    srv = peer(pair.b, "server", pair.B4, 18022, "--expect", 1, "--reply", 1, "--accept", 20)
    srv.expect("READY")
    nl = Netlens("-P", 18022, "--ringbuf-kb", 4)
    nl.p.send_signal(signal.SIGSTOP)
    try:
        for _ in range(20):
            cli = peer(pair.a, "client", pair.B4, 18022, "--send", 1, "--expect", 1)
            cli.expect("CONNECTED")
            cli.expect("DONE")
            cli.wait()
        srv.expect("ACCEPTED")
    finally:
        nl.p.send_signal(signal.SIGCONT)
    recs = nl.stop()
    stats = recs[-1]
    # 20 connections: connect, accept and two closes each.
    assert stats["events"] + stats["lost"] == 80, stats
    assert stats["lost"] > 0 and stats["events"] == len(recs) - 1, stats


def test_map_full_is_counted():
    """More live connections than --max-conns: refused inserts are counted, nothing breaks."""
    pair = Pair()
    recs = held_connections(pair, 18023, 50, "--max-conns", 64)
    stats = recs[-1]
    # 50 client and 50 server sockets, 64 entries: at least 36 refused.
    assert stats["map_full"] >= 36, stats
    assert stats["untracked_closes"] >= 36, stats
    assert len(find(recs, type="connect")) <= 50


def test_duration_exits_zero_with_stats():
    t0 = time.time()
    r = subprocess.run([NETLENS, "conns", "-o", "json", "-d", "1"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert 1.0 <= time.time() - t0 < 10
    assert '"type":"stats"' in r.stdout.splitlines()[-1], r.stdout


def test_sigterm_flushes_and_detaches():
    def ours():
        out = sh("bpftool", "-j", "prog", "show")
        return [p for p in json.loads(out) if p.get("name", "").startswith("tcp_")]
    before = len(ours())
    nl = Netlens()
    assert len(ours()) > before, "programs not loaded"
    recs = nl.stop(sig=signal.SIGTERM)
    assert recs[-1]["type"] == "stats"
    assert len(ours()) == before, "programs left attached after exit"


def test_table_output():
    pair = Pair()
    p = subprocess.Popen([NETLENS, "conns", "-P", "18019"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    defer(lambda: p.poll() is None and p.kill())
    while "attached" not in p.stderr.readline():
        pass
    _, cpid, cport = exchange(pair, 4, 18019, send=10, reply=10)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=20)
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["TIME", "EVENT", "PID", "COMM"], lines[0]
    row = [l for l in lines if " connect " in l][0].split()
    assert row[1:4] == ["connect", str(cpid), "nlt-client"], row
    assert row[4] == f"{pair.A4}:{cport}" and row[5] == f"{pair.B4}:18019", row
    assert any(l.startswith("10.231.0.2:18019") and "outbound" in l for l in lines), out


def test_untracked_closes_follow_the_filters():
    """Closes of connections older than netlens are counted only in the namespace asked for."""
    pair, empty = Pair(), Pair()
    srv = peer(pair.b, "server", pair.B4, 18031, "--no-accept")
    srv.expect("READY")
    hold = peer(pair.a, "hold", pair.B4, 18031, "--count", 5)
    assert hold.expect("HELD") == ["5"]
    nls = [Netlens("--netns", pair.b), Netlens("--netns", empty.a)]
    for p in (hold, srv):
        p.p.stdin.write("\n")
        p.p.stdin.flush()
        p.expect("DONE")
    in_b, in_empty = (nl.stop()[-1] for nl in nls)
    # The server's 5 sockets (never accepted) close in b; the clients' in a.
    assert in_b["untracked_closes"] == 5, in_b
    assert in_empty["untracked_closes"] == 0, in_empty


CONNECTS = """import errno, socket, sys
for target in sys.argv[1:]:
    addr, port, n = target.rsplit(":", 2)
    for _ in range(int(n)):
        with socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET) as s:
            print(errno.errorcode.get(s.connect_ex((addr, int(port))), "OK"), flush=True)
"""


def stage_connect_failures(pair, refused_port, refused=3, unreachable="10.99.0.1",
                           unreachable_port=18041, unreachable_count=2):
    """Blocking connects from pair.a, one process: `refused` of them to
    pair.B4:refused_port where nothing listens (a RST: ECONNREFUSED), then
    `unreachable_count` to unreachable:unreachable_port, which has no route
    in pair.a (ENETUNREACH in connect(2), no SYN sent). Returns what the
    application saw ({errno name: count}) and the kernel's own counters in
    pair.a: TcpAttemptFails (handshakes that failed) and IpOutNoRoutes."""
    out = sh("python3", "-c", CONNECTS, f"{pair.B4}:{refused_port}:{refused}",
             f"{unreachable}:{unreachable_port}:{unreachable_count}", ns=pair.a)
    seen = {}
    for e in out.split():
        seen[e] = seen.get(e, 0) + 1
    return {"errors": seen, "kernel": nstat(pair.a, "TcpAttemptFails", "IpOutNoRoutes")}


def test_failures_per_errno():
    """Failed connects per destination and errno, in the summary and in
    serve's netlens_tcp_connection_failures_total{errno=...}, exact against
    what the application saw and the kernel counted."""
    pair = Pair()
    ports = (18040, 18041)
    serve = Serve("--enable", "conns", *[a for p in ports for a in ("-P", p)])
    nl = Netlens(*[a for p in ports for a in ("-P", p)])
    k = stage_connect_failures(pair, ports[0], refused=3, unreachable_port=ports[1],
                               unreachable_count=2)
    assert k["errors"] == {"ECONNREFUSED": 3, "ENETUNREACH": 2}, k
    assert k["kernel"] == {"TcpAttemptFails": 3, "IpOutNoRoutes": 2}, k
    stats = nl.stop()[-1]
    got = {(d["daddr"], d["dport"]): (d["failed"], d["errors"]) for d in stats["destinations"]
           if d["direction"] == "outbound"}
    assert got == {(pair.B4, ports[0]): (3, {"ECONNREFUSED": 3}),
                   ("10.99.0.1", ports[1]): (2, {"ENETUNREACH": 2})}, stats
    time.sleep(1.2)
    page = serve.metrics()
    for addr, port, errno_name, n in ((pair.B4, ports[0], "ECONNREFUSED", 3),
                                      ("10.99.0.1", ports[1], "ENETUNREACH", 2)):
        assert serve.value("netlens_tcp_connection_failures_total", page, direction="outbound",
                           daddr=addr, dport=port, errno=errno_name) == n, page
    assert "netlens_tcp_connection_failures_total{direction=\"outbound\",daddr=\"10.99.0.1\"," \
        f"dport=\"{ports[1]}\"}}" not in page
    serve.stop()


LISTENER = """import socket, sys
sys.path.insert(0, sys.argv[4])
from peerlib import set_comm
set_comm(sys.argv[3])
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(int(sys.argv[5]))
print("READY", flush=True)
sys.stdin.readline()      # never accepts
"""

CLIENTS = """import socket, sys, time
socks = []
for _ in range(int(sys.argv[3])):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((sys.argv[1], int(sys.argv[2])))
    socks.append(s)
time.sleep(float(sys.argv[4]))
"""


def ss_drops(ns, port):
    """The listener's drop count as ss shows it (skmem's d)."""
    out = sh("ss", "-tlmnH", "sport", "=", str(port), ns=ns)
    return int(re.search(r"skmem:\(.*\bd(\d+)\)", out).group(1))


def stage_accept_overflow(pair, port, backlog=1, clients=20, seconds=2.5, name="nlt-listener"):
    """A listener in pair.b (port, listen(backlog), owned by a process named
    `name`) that never accepts, and `clients` non-blocking connects from
    pair.a held for `seconds`: the accept queue overflows, SYNs and
    handshake ACKs are dropped and retried. Then every packet to the port is
    dropped by nftables before TCP, so the counts stop growing. Returns the
    kernel's counts in pair.b: nstat TcpExtListenOverflows/ListenDrops, ss's
    drops of the listener, and the listener process (still running)."""
    srv = Proc(["ip", "netns", "exec", pair.b, "python3", "-c", LISTENER, pair.B4, str(port),
                name, HERE, str(backlog)])
    srv.expect("READY")
    sh("python3", "-c", CLIENTS, pair.B4, str(port), str(clients), str(seconds), ns=pair.a)
    sh("nft", "add table inet nltov", ns=pair.b)
    sh("nft", "add chain inet nltov in { type filter hook input priority -10; }", ns=pair.b)
    sh("nft", f"add rule inet nltov in tcp dport {port} drop", ns=pair.b)
    time.sleep(0.2)
    k = nstat(pair.b, "TcpExtListenOverflows", "TcpExtListenDrops")
    return {"listen_overflows": k["TcpExtListenOverflows"], "listen_drops": k["TcpExtListenDrops"],
            "ss_drops": ss_drops(pair.b, port), "pid": srv.pid, "proc": srv}


def test_listen_overflow_is_the_kernels():
    """An accept queue that overflows: netlens' count for the listener is
    the kernel's own (ss's drops and the namespace's ListenOverflows and
    ListenDrops), with its backlog, queue and owner; the namespace's
    counters are reported beside it. Before, the packet path saw a fraction."""
    pair = Pair()
    port = 18045
    nl = Netlens("-P", port)
    k = stage_accept_overflow(pair, port)
    assert k["listen_overflows"] > 10, k
    assert k["listen_overflows"] == k["listen_drops"] == k["ss_drops"], k
    stats = nl.stop()[-1]
    ls = [l for l in stats["listeners"] if l["netns"] == pair.netns_b]
    assert len(ls) == 1, stats["listeners"]
    l = ls[0]
    assert (l["laddr"], l["lport"], l["backlog"], l["queue"]) == (pair.B4, port, 1, 2), l
    assert (l["pid"], l["comm"]) == (k["pid"], "nlt-listener"), l
    assert l["drops"] == l["new_drops"] == k["ss_drops"], (l, k)
    ns = [n for n in stats["listen_namespaces"] if n["netns"] == pair.netns_b]
    assert ns == [{"netns": pair.netns_b, "listen_overflows": k["listen_overflows"],
                   "listen_drops": k["listen_drops"],
                   "new_listen_overflows": k["listen_overflows"],
                   "new_listen_drops": k["listen_drops"]}], stats["listen_namespaces"]


def test_serve_listen_drops():
    """serve: netlens_tcp_listen_drops_total of the listener and the
    namespace's ListenOverflows/ListenDrops, equal to the kernel's."""
    pair = Pair()
    port = 18046
    serve = Serve("--enable", "conns", "-P", port)
    k = stage_accept_overflow(pair, port)
    time.sleep(1.2)
    page = serve.metrics()
    ns = str(pair.netns_b)
    assert serve.value("netlens_tcp_listen_drops_total", page, netns=ns, laddr=pair.B4,
                       lport=port) == k["ss_drops"], (k, page)
    assert serve.value("netlens_tcp_netns_listen_overflows_total", page, netns=ns) == \
        k["listen_overflows"], page
    assert serve.value("netlens_tcp_netns_listen_drops_total", page, netns=ns) == \
        k["listen_drops"], page
    serve.stop()


ALTERNATE = """import errno, select, socket, sys
# A non-blocking connect refused (its RST closes the socket), then on the
# same thread a blocking connect that fails in connect(2) itself: no route.
for _ in range(int(sys.argv[4])):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((sys.argv[1], int(sys.argv[2])))
    select.select([], [s], [], 5)
    port = s.getsockname()[1]
    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    print(port, errno.errorcode.get(e, "OK"), flush=True)
    s.close()
    s = socket.socket()
    e = s.connect_ex((sys.argv[3], 80))
    print(0, errno.errorcode.get(e, "OK"), flush=True)
    s.close()
"""


def test_unreachable_after_nonblocking_connect():
    """ENETUNREACH and EHOSTUNREACH (an unreachable route) in connect(2)
    after a refused non-blocking connect on the same thread: each attempt
    is one record with the errno the application saw."""
    pair = Pair()
    port = 18048
    sh("ip", "route", "add", "unreachable", "10.98.0.0/24", ns=pair.a)
    nl = Netlens("-P", port, "-P", 80)
    out = sh("python3", "-c", ALTERNATE, pair.B4, str(port), "10.99.0.1", "3", ns=pair.a)
    out += sh("python3", "-c", ALTERNATE, pair.B4, str(port), "10.98.0.1", "2", ns=pair.a)
    seen = [tuple(l.split()) for l in out.splitlines()]
    recs = [r for r in nl.stop() if r["type"] == "failed"]
    got = [(str(r["sport"]), r["error"]) for r in recs]
    assert sorted(got) == sorted(seen), (got, seen)
    assert [e for _, e in seen].count("ENETUNREACH") == 3, seen
    assert [e for _, e in seen].count("EHOSTUNREACH") == 2, seen
    assert [e for _, e in seen].count("ECONNREFUSED") == 5, seen
    assert [r["daddr"] for r in recs if r["error"] == "EHOSTUNREACH"] == ["10.98.0.1"] * 2, recs


ICMP_REJECTED = """import errno, select, socket, sys
# Non-blocking connects whose SYN is answered by an ICMP error; the
# application gives up before the SYN is sent again: half read SO_ERROR
# first (which clears the error the kernel parked), half just close.
for i in range(int(sys.argv[3])):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((sys.argv[1], int(sys.argv[2])))
    select.select([], [s], [], 0.3)
    port = s.getsockname()[1]
    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if i % 2 == 0 else -1
    print(port, errno.errorcode.get(e, "OK" if e == 0 else "-"), flush=True)
    s.close()
"""


def check_icmp_rejected(icmp_type, port):
    pair = Pair()
    sh("nft", "add table inet nlt", ns=pair.b)
    sh("nft", "add chain inet nlt in { type filter hook input priority 0; }", ns=pair.b)
    sh("nft", f"add rule inet nlt in tcp dport {port} counter reject with icmp type {icmp_type}",
       ns=pair.b)
    nl = Netlens("-P", port)
    out = sh("python3", "-c", ICMP_REJECTED, pair.B4, str(port), "4", ns=pair.a)
    recs = {r["sport"]: r for r in nl.stop() if r["type"] == "failed"}
    seen = [l.split() for l in out.splitlines()]
    assert len(seen) == 4 and len(recs) == 4, (seen, recs)
    rejected = int(re.search(r"packets (\d+)", sh("nft", "list chain inet nlt in",
                                                    ns=pair.b)).group(1))
    assert rejected == 4, rejected           # one SYN each, each answered
    for sport, app in seen:
        r = recs[int(sport)]
        # What SO_ERROR handed the application; the others saw nothing, but
        # the kernel had parked the same error for them.
        assert app in ("EHOSTUNREACH", "-"), seen
        assert r["error"] == "EHOSTUNREACH", (r, app)


def test_icmp_host_unreachable_nonblocking():
    check_icmp_rejected("host-unreachable", 18049)


def test_icmp_admin_prohibited_nonblocking():
    check_icmp_rejected("admin-prohibited", 18050)
