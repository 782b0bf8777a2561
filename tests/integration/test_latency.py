"""netlens latency: real request/response traffic between namespaces, bounded assertions."""
import json
import signal
import subprocess
import time

from nltest import (Cgroup, NETLENS, Netlens, Pair, defer, find, held_connections,
                    netlens_refusing_tracing, one, sh)
from test_retrans import lpeer, nft_input


def lat(recs, metric, group):
    return one(recs, type="latency", metric=metric, group=group)


def serve(pair, family, port, sleep=0.0, accept=1, name="nlt-srv"):
    srv = lpeer(pair.b, "server", pair.addr("b", family), port, "--sleep", sleep,
                "--accept", accept, name=name)
    srv.expect("READY")
    return srv


def exchanges(pair, family, port, count, name="nlt-cli", prefix=()):
    """count request/response exchanges on one connection; returns the client."""
    cli = lpeer(pair.a, "client", pair.addr("b", family), port, "--count", count, name=name,
                prefix=prefix)
    cli.expect("CONNECTED")
    cli.expect("DONE", timeout=60)
    cli.expect("CLOSED")
    return cli


def test_request_and_service_time():
    """A server that sleeps 200 ms per answer, and one that does not: 20 requests each."""
    pair = Pair()
    slow, fast = serve(pair, 4, 23200, sleep=0.2), serve(pair, 4, 23201)
    nl = Netlens("-P", 23200, "-P", 23201, command="latency")
    # This kernel takes tp_btf: auto chooses it.
    assert "attached (tp_btf sock:inet_sock_set_state, tcp:tcp_probe," in nl.attached, nl.attached
    exchanges(pair, 4, 23200, 20)
    exchanges(pair, 4, 23201, 20)
    recs = nl.stop()
    s_grp, f_grp = f"{pair.B4}:23200", f"{pair.B4}:23201"

    for metric in ("request", "service"):
        r = lat(recs, metric, s_grp)
        assert r["count"] == 20 and 190000 <= r["p50_us"] <= 300000, r
        assert 190000 <= r["max_us"] < 1000000, r
        assert sum(b["count"] for b in r["buckets"]) == 20, r
        r = lat(recs, metric, f_grp)
        assert r["count"] == 20 and r["p50_us"] < 20000, r
    # The client sees the service time plus the network: never less.
    assert lat(recs, "request", s_grp)["max_us"] >= lat(recs, "service", s_grp)["max_us"] - 1000
    for grp in (s_grp, f_grp):
        h = lat(recs, "handshake", grp)
        assert h["count"] == 1 and h["max_us"] < 10000, h
        rtt = lat(recs, "rtt", grp)
        assert rtt["count"] >= 20 and rtt["p50_us"] > 0, rtt
    stats = recs[-1]
    assert stats["type"] == "stats" and stats["map_full"] == 0, stats
    assert stats["groups"] == len(find(recs, type="latency")) == 8, recs


def check_handshake_first_syn_dropped(family, lossy, clean):
    pair = Pair()
    nft_input(pair.b, f"tcp dport {lossy} tcp flags & (syn | ack) == syn "
              "numgen inc mod 1000 == 0 drop")
    srvs = [serve(pair, family, p) for p in (lossy, clean)]
    nl = Netlens("-P", lossy, "-P", clean, command="latency")
    exchanges(pair, family, lossy, 1)
    exchanges(pair, family, clean, 1)
    recs = nl.stop()
    b = pair.addr("b", family)
    fmt = (lambda p: f"[{b}]:{p}") if family == 6 else (lambda p: f"{b}:{p}")
    slow = lat(recs, "handshake", fmt(lossy))
    # The SYN is sent again after the initial retransmission timeout, 1 s.
    assert slow["count"] == 1 and 900000 <= slow["max_us"] < 3000000, slow
    fast = lat(recs, "handshake", fmt(clean))
    assert fast["count"] == 1 and fast["max_us"] < 10000, fast
    del srvs


def test_handshake_first_syn_dropped_ipv6():
    check_handshake_first_syn_dropped(6, 23202, 23203)


def test_handshake_first_syn_dropped_ipv4():
    check_handshake_first_syn_dropped(4, 23204, 23205)


def test_rtt_count_grows_with_acknowledged_segments():
    pair = Pair()
    serve(pair, 6, 23206)
    serve(pair, 6, 23207)
    nl = Netlens("-P", 23206, "-P", 23207, command="latency")
    exchanges(pair, 6, 23206, 5)
    exchanges(pair, 6, 23207, 50)
    recs = nl.stop()
    few = lat(recs, "rtt", f"[{pair.B6}]:23206")
    many = lat(recs, "rtt", f"[{pair.B6}]:23207")
    # Each answer acknowledges a request: at least one sample per exchange.
    assert 5 <= few["count"] < many["count"] and many["count"] >= 50, (few, many)
    assert few["p50_us"] > 0 and many["p50_us"] > 0 and many["max_us"] < 1000000, (few, many)



def test_every_grouping():
    """One workload seen by six netlens at once, one per --by."""
    pair = Pair()
    cg = Cgroup("lat")
    srv1 = serve(pair, 4, 23208, name="nlt-srv1")
    srv2 = serve(pair, 6, 23209, name="nlt-srv2")
    nls = {by: Netlens("--by", by, "-P", 23208, "-P", 23209, command="latency")
           for by in ("daddr:dport", "daddr", "dport", "comm", "pid", "cgroup")}
    c1 = exchanges(pair, 4, 23208, 3, name="nlt-c1", prefix=cg.join)
    c2 = exchanges(pair, 6, 23209, 4, name="nlt-c2")
    recs = {by: nl.stop() for by, nl in nls.items()}

    def groups(by, metric):
        return {r["group"]: r["count"] for r in find(recs[by], type="latency", metric=metric)}

    assert groups("daddr:dport", "request") == {f"{pair.B4}:23208": 3, f"[{pair.B6}]:23209": 4}
    assert groups("daddr", "request") == {pair.B4: 3, pair.B6: 4}
    assert groups("dport", "request") == {23208: 3, 23209: 4}
    assert groups("dport", "service") == {23208: 3, 23209: 4}
    assert groups("comm", "request") == {"nlt-c1": 3, "nlt-c2": 4}
    assert groups("comm", "service") == {"nlt-srv1": 3, "nlt-srv2": 4}
    assert groups("comm", "handshake") == {"nlt-c1": 1, "nlt-c2": 1}
    assert groups("pid", "request") == {c1.pid: 3, c2.pid: 4}
    assert groups("pid", "service") == {srv1.pid: 3, srv2.pid: 4}
    # RTT samples come from softirq: the owner is the remembered one, never unknown.
    assert set(groups("pid", "rtt")) <= {c1.pid, c2.pid, srv1.pid, srv2.pid}, groups("pid", "rtt")
    assert set(groups("comm", "rtt")) <= {"nlt-c1", "nlt-c2", "nlt-srv1", "nlt-srv2"}
    cgroup_groups = groups("cgroup", "request")
    assert cgroup_groups[cg.id] == 3 and len(cgroup_groups) == 2, cgroup_groups


def test_interval_records_add_up():
    """--interval: each report covers the time since the previous one; nothing counted twice."""
    pair = Pair()
    serve(pair, 4, 23210, sleep=0.05)
    nl = Netlens("--interval", "0.3", "-P", 23210, command="latency")
    exchanges(pair, 4, 23210, 30)
    recs = nl.stop(settle=0.5)
    reqs = find(recs, type="latency", metric="request")
    assert len(reqs) >= 3, reqs                       # 1.5 s of exchanges, 0.3 s intervals
    assert sum(r["count"] for r in reqs) == 30, reqs
    assert len(find(recs, type="stats")) >= len(reqs)


def test_filter_comm_keeps_one_client():
    pair = Pair()
    serve(pair, 4, 23211, accept=2)
    nl = Netlens("-c", "nlt-keep", "-P", 23211, command="latency")
    exchanges(pair, 4, 23211, 3, name="nlt-keep")
    exchanges(pair, 4, 23211, 5, name="nlt-drop")
    recs = nl.stop()
    assert lat(recs, "request", f"{pair.B4}:23211")["count"] == 3
    assert not find(recs, metric="service"), "the server has another comm"


def test_table_output():
    pair = Pair()
    serve(pair, 4, 23212)
    p = subprocess.Popen([NETLENS, "latency", "-P", "23212"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    defer(lambda: p.poll() is None and p.kill())
    while "attached" not in p.stderr.readline():
        pass
    exchanges(pair, 4, 23212, 4)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 0
    assert "request: client, first send -> first receive of the answer" in out, out
    row = [l for l in out.splitlines() if l.startswith(f"{pair.B4}:23212")]
    assert len(row) == 4 and row[0].split()[1] in ("1", "4"), out   # one row per metric
    assert " us : " in out and "|" in out, out                         # the histograms


def test_bad_by():
    r = subprocess.run([NETLENS, "latency", "--by", "host"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--by" in r.stderr, r.stderr


def test_bad_hook():
    r = subprocess.run([NETLENS, "latency", "--hook", "kprobe"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--hook" in r.stderr, r.stderr


def check_map_full(hook, port):
    """More sockets than --max-conns: refused inserts are counted, nothing breaks."""
    pair = Pair()
    recs = held_connections(pair, port, 50, "--max-conns", 64, "--hook", hook, command="latency")
    # 50 client and 50 server sockets, 64 entries: 36 refused; a connection takes two
    # (its SYN_SENT socket first), so the first 32 handshakes are measured.
    assert recs[-1]["map_full"] >= 36, recs[-1]
    assert lat(recs, "handshake", f"{pair.B4}:{port}")["count"] == 32


def test_map_full_is_counted():
    """tp_btf: socket-local storage, held to --max-conns by a count of its sockets."""
    check_map_full("tp_btf", 23213)


def test_map_full_is_counted_raw_tp():
    check_map_full("raw_tp", 23215)


def latency_counts(recs):
    return {(r["metric"], r["group"]): r["count"] for r in find(recs, type="latency")}


def test_hooks_measure_the_same():
    """tp_btf (socket-local storage) and raw_tp (a hash) attached at once count the same."""
    pair = Pair()
    serve(pair, 4, 23216)
    serve(pair, 6, 23217)
    nls = {hook: Netlens("--hook", hook, "-P", 23216, "-P", 23217, command="latency")
           for hook in ("tp_btf", "raw_tp")}
    for hook, nl in nls.items():
        assert f"attached ({hook} sock:inet_sock_set_state, tcp:tcp_probe," in nl.attached, \
            nl.attached
    exchanges(pair, 4, 23216, 7)
    exchanges(pair, 6, 23217, 9)
    counts = {hook: latency_counts(nl.stop()) for hook, nl in nls.items()}
    g4, g6 = f"{pair.B4}:23216", f"[{pair.B6}]:23217"
    for c in counts.values():
        assert (c[("request", g4)], c[("service", g4)], c[("handshake", g4)]) == (7, 7, 1), c
        assert (c[("request", g6)], c[("service", g6)], c[("handshake", g6)]) == (9, 9, 1), c
        assert c[("rtt", g4)] >= 7 and c[("rtt", g6)] >= 9, c
    # Both sets fire for the same tracepoint hits: every count equal, rtt included.
    assert counts["tp_btf"] == counts["raw_tp"], counts


def test_tp_btf_refused_falls_back_to_raw_tracepoints():
    """A kernel that refuses tp_btf (tracing programs) gets the raw tracepoints, same values."""
    pair = Pair()
    serve(pair, 4, 23218)
    nl = netlens_refusing_tracing("-P", 23218, "--by", "pid", command="latency")
    assert "attached (raw_tp sock:inet_sock_set_state, tcp:tcp_probe," in nl.attached, nl.attached
    cli = exchanges(pair, 4, 23218, 6)
    recs = nl.stop()
    assert lat(recs, "request", cli.pid)["count"] == 6, recs
    assert lat(recs, "handshake", cli.pid)["count"] == 1, recs
    assert sum(r["count"] for r in find(recs, type="latency", metric="service")) == 6, recs


def test_connection_older_than_netlens():
    """Established before netlens: RTT is sampled; its side is unknown, so no request/service."""
    pair = Pair()
    serve(pair, 4, 23214)
    cli = lpeer(pair.a, "client", pair.B4, 23214, "--count", 10, "--wait")
    cli.expect("CONNECTED")
    nl = Netlens("-P", 23214, command="latency")
    cli.p.stdin.write("\n")
    cli.p.stdin.flush()
    cli.expect("DONE")
    recs = nl.stop()
    rtt = lat(recs, "rtt", f"{pair.B4}:23214")
    assert rtt["count"] >= 10 and rtt["p50_us"] > 0, rtt
    assert {r["metric"] for r in find(recs, type="latency")} == {"rtt"}, recs


def test_sigterm_detaches_latency_and_retrans():
    def ours():
        progs = json.loads(sh("bpftool", "-j", "prog", "show"))
        return {p["id"] for p in progs if p.get("name", "").startswith("tcp_")}
    # Program ids, not counts: another checkout's test run may load or unload
    # programs of the same names meanwhile.
    before = ours()
    nls = [Netlens(command="latency"), Netlens("--by", "pid", command="latency"),
           Netlens(command="retrans")]
    loaded = ours() - before
    assert len(loaded) >= 3 + 6 + 6, f"programs not loaded: {loaded}"
    for nl in nls:
        assert nl.stop(sig=signal.SIGTERM)[-1]["type"] == "stats"
    # The kernel frees a raw tracepoint's program after an RCU grace period,
    # a moment after its process exited.
    deadline = time.time() + 2
    while loaded & ours() and time.time() < deadline:
        time.sleep(0.05)
    assert not loaded & ours(), "programs left attached after exit"
