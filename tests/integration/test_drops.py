"""netlens drops: real packets dropped between two namespaces, exact assertions.

The kfree_skb tracepoint sees the whole host (other test runs too), so every
run is limited to one of the test's namespaces with --netns.
"""
import json
import os
import subprocess
import time

from nltest import (NETLENS, Netlens, Pair, Proc, Serve, bpf_shim, find,
                    netlens_refusing_tracing, nstat, one, peer, sh)

UDP = os.path.join(os.path.dirname(__file__), "drops_udp.py")


def udp(ns, *args, name=None):
    argv = ["ip", "netns", "exec", ns, "python3", UDP] + [str(a) for a in args]
    if name:
        argv += ["--name", name]
    return Proc(argv)


def send(pair, family, port, count, name=None):
    """count datagrams from a to b; returns the sender's pid and port."""
    p = udp(pair.a, "send", pair.addr("b", family), port, "--count", count, name=name)
    words = p.expect("SENT")
    p.wait()
    assert int(words[0]) == count, words
    return p.pid, int(words[1])


def summary(recs):
    s = [r for r in recs if r["type"] == "drop_summary"]
    assert len(s) == 1, s
    return s[0]


def rows(recs, **match):
    return find(summary(recs)["rows"], **match)


def check_closed_port(family, port, location, hook="tp_btf"):
    pair = Pair()
    nl = Netlens("--netns", pair.b, "--hook", hook, command="drops")
    assert f"attached ({hook} skb:kfree_skb;" in nl.attached, nl.attached
    _, sport = send(pair, family, port, 25)
    recs = nl.stop()
    a, b = pair.addr("a", family), pair.addr("b", family)

    row = one(rows(recs), dport=port)
    assert (row["reason"], row["kind"], row["count"]) == ("NO_SOCKET", "kfree_skb", 25), row
    assert (row["family"], row["proto"], row["daddr"]) == (family, "udp", b), row
    assert row["location"].startswith(location + "+0x"), row
    assert row["netns"] == pair.netns_b, row

    drops = find(recs, type="drop", dport=port)
    assert len(drops) == 25, len(drops)
    d = drops[0]
    assert (d["saddr"], d["sport"], d["daddr"], d["family"]) == (a, sport, b, family), d
    assert (d["reason"], d["proto"], d["location"]) == ("NO_SOCKET", "udp", row["location"]), d
    assert (d["ifname"], d["netns"], d["len"]) == ("nltb", pair.netns_b, 8 + 16), d
    # Received in softirq: the interrupted task is not the packet's owner.
    assert (d["context"], d["pid"], d["comm"]) == ("softirq", 0, ""), d
    stats = recs[-1]
    assert stats["type"] == "stats" and stats["lost"] == 0 and stats["map_full"] == 0, stats
    assert stats["events"] == stats["drops"] == summary(recs)["total"], stats


def test_udp_closed_port_ipv4():
    check_closed_port(4, 17101, "__udp4_lib_rcv")


def test_udp_closed_port_ipv6():
    check_closed_port(6, 17102, "__udp6_lib_rcv")


def test_tp_btf_refused_falls_back_to_raw_tracepoint():
    """A kernel that refuses tp_btf (tracing programs) gets the raw tracepoint."""
    pair = Pair()
    nl = netlens_refusing_tracing("--netns", pair.b, command="drops")
    assert "attached (raw_tp skb:kfree_skb;" in nl.attached, nl.attached
    send(pair, 4, 17113, 5)
    recs = nl.stop()
    assert one(rows(recs), dport=17113)["count"] == 5, summary(recs)


def test_udp_closed_port_raw_tracepoint():
    """The raw tracepoint (taken when a kernel refuses tp_btf) gives the same."""
    check_closed_port(4, 17112, "__udp4_lib_rcv", hook="raw_tp")


def nft(ns, *rules):
    sh("nft", "add table inet nlt; " + "; ".join(rules), ns=ns)


def test_netfilter_drop():
    pair = Pair()
    nft(pair.b, "add chain inet nlt in { type filter hook input priority 0; }",
        "add rule inet nlt in udp dport 17103 drop")
    nl = Netlens("--netns", pair.b, command="drops")
    _, sport = send(pair, 4, 17103, 13)
    recs = nl.stop()
    row = one(rows(recs), dport=17103)
    assert (row["reason"], row["count"], row["daddr"]) == ("NETFILTER_DROP", 13, pair.B4), row
    assert row["location"].startswith("nft_do_chain+0x"), row
    drops = find(recs, type="drop", reason="NETFILTER_DROP")
    assert len(drops) == 13, drops
    assert all((d["saddr"], d["sport"], d["dport"]) == (pair.A4, sport, 17103) for d in drops)


def check_process_context(*nl_args):
    """An output rule drops in the sender's system call: the record has its pid."""
    pair = Pair()
    nft(pair.a, "add chain inet nlt out { type filter hook output priority 0; }",
        "add rule inet nlt out udp dport 17104 drop")
    nl = Netlens("--netns", pair.a, *nl_args, command="drops")
    pid, sport = send(pair, 6, 17104, 3, name="nlt-dropper")
    recs = nl.stop()
    drops = find(recs, type="drop", dport=17104)
    assert len(drops) == 3, drops
    for d in drops:
        assert (d["context"], d["pid"], d["comm"]) == ("process", pid, "nlt-dropper"), d
        assert (d["reason"], d["saddr"], d["sport"]) == ("NETFILTER_DROP", pair.A6, sport), d
        assert d["netns"] == pair.netns_a and d["ifname"] is None, d


def test_process_context_drop():
    check_process_context()


def test_process_context_drop_raw_tracepoint():
    check_process_context("--hook", "raw_tp")


def test_process_context_drop_classic_tracepoint():
    """The classic tracepoint tells the context from its record's flags."""
    check_process_context("--hook", "tracepoint")


def test_softirq_after_interrupt_from_user_mode():
    """A timer softirq run on the way out of an interrupt that hit a user process
    (on that process's stack) is softirq, not that process: packets queued for a
    neighbour that never answers, dropped by the neighbour timer."""
    pair = Pair()
    for k, v in (("mcast_solicit", 1), ("ucast_solicit", 0), ("app_solicit", 0),
                 ("retrans_time_ms", 100)):
        sh("sysctl", "-qw", f"net.ipv4.neigh.nlta.{k}={v}", ns=pair.a)
    # Keep both CPUs in user mode, so the timer interrupt finds a user task.
    spin = "import ctypes; ctypes.CDLL(None).prctl(15, b'nlt-spinner', 0, 0, 0)\nwhile 1: pass"
    spinners = [Proc(["python3", "-c", spin]) for _ in range(2)]
    nl = Netlens("--netns", pair.a, command="drops")
    sh("python3", "-c", "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
       "for _ in range(3): s.sendto(b'x', ('10.231.0.99', 17130))", ns=pair.a)
    time.sleep(1.5)
    recs = nl.stop()
    for sp in spinners:
        sp.kill()
    failed = find(recs, type="drop", dport=17130, reason="NEIGH_FAILED")
    assert failed, recs
    for d in failed:
        assert (d["context"], d["pid"], d["location"].split("+")[0]) == \
            ("softirq", 0, "neigh_invalidate"), d


def test_udp_receive_buffer_full():
    """A receiver that never reads: every datagram it cannot hold is dropped, exactly."""
    pair = Pair()
    rcv = udp(pair.b, "recv", pair.B4, 17105, "--rcvbuf", 1)
    rcv.expect("READY")
    # Summary only: records of 200 drops would fill the pipe netlens writes to.
    nl = Netlens("--netns", pair.b, "--events-per-sec", "0", command="drops")
    send(pair, 4, 17105, 200)
    rcv.p.stdin.write("\n")
    rcv.p.stdin.flush()
    held = int(rcv.expect("HELD")[0])
    recs = nl.stop()
    assert 0 < held < 200, held
    row = one(rows(recs), dport=17105)
    assert (row["reason"], row["count"]) == ("SOCKET_RCVBUFF", 200 - held), (row, held)
    assert row["location"].startswith("udp_queue_rcv_one_skb+0x"), row
    assert summary(recs)["total"] == 200 - held
    assert not find(recs, type="drop") and recs[-1]["suppressed"] == 0, recs[-1]


def ping_flood(pair, count, *nl_args):
    """count echo requests from a ping socket (made and connected after netlens
    started) that never reads; the replies it holds, the records, netlens'
    start line and the sender's pid."""
    sh("sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647", ns=pair.a)
    nl = Netlens("--netns", pair.a, "--events-per-sec", "10", *nl_args, command="drops")
    code = ("import os, socket, struct, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)\n"
            f"s.connect(('{pair.B4}', 0))\n"
            f"for i in range({count}):\n"
            "    s.send(struct.pack('!BBHHH', 8, 0, 0, 0, i) + b'x' * 8)\n"
            "time.sleep(0.5)\n"
            "s.setblocking(False)\n"
            "n = 0\n"
            "while True:\n"
            "    try:\n"
            "        s.recv(100)\n"
            "    except BlockingIOError:\n"
            "        break\n"
            "    n += 1\n"
            "print(n, os.getpid())\n")
    held, pid = map(int, sh("python3", "-c", code, ns=pair.a).split())
    assert 0 < held < count, held
    return held, nl.stop(), nl.attached, pid


def test_ping_socket_queue_full():
    """sock:sock_rcvqueue_full fires where sock_queue_rcv_skb() is used (ping, raw)."""
    pair = Pair()
    held, recs, _, _ = ping_flood(pair, 120)
    full = one(rows(recs), kind="sock_rcvqueue_full")
    assert (full["count"], full["proto"], full["daddr"]) == (120 - held, "icmp", pair.A4), full
    assert full["reason"] is None and full["location"] is None, full
    freed = one(rows(recs), reason="SOCKET_RCVBUFF")
    assert freed["count"] == 120 - held and freed["location"].startswith("ping_rcv+0x"), freed
    d = find(recs, type="drop", kind="sock_rcvqueue_full")[0]
    assert (d["icmp_type"], d["icmp_code"], d["saddr"]) == (0, 0, pair.B4), d


def check_owner_learnt_at_connect(hook):
    pair = Pair()
    held, recs, attached, pid = ping_flood(pair, 60)
    assert f"socket owners: tracepoint syscalls:sys_enter_bind, {hook}" in attached, attached
    drops = find(recs, type="drop", kind="sock_rcvqueue_full")
    assert drops and {(d["pid"], d["owner"]) for d in drops} == {(pid, "socket")}, drops


def test_datagram_owner_learnt_at_connect():
    """A datagram socket connected after netlens started: the cgroup connect4
    hook names its owner, whose replies are dropped in softirq."""
    check_owner_learnt_at_connect("cgroup/connect4,6")


def test_datagram_owner_learnt_at_connect_without_cgroup_hooks():
    """Where the cgroup connect hooks are refused, the syscall tracepoint learns it."""
    os.environ["LD_PRELOAD"] = bpf_shim(
        "a == BPF_LINK_CREATE && ((union bpf_attr *)b)->link_create.attach_type == "
        "BPF_CGROUP_INET4_CONNECT", "EPERM")
    try:
        check_owner_learnt_at_connect("sys_enter_connect (the cgroup connect hooks were refused)")
    finally:
        del os.environ["LD_PRELOAD"]


def test_reason_selects_a_socket_kind():
    """--reason with a socket kind alone: no kfree_skb reason passes."""
    pair = Pair()
    held, recs, _, _ = ping_flood(pair, 50, "--reason", "sock_rcvqueue_full")
    assert [(r["kind"], r["count"]) for r in summary(recs)["rows"]] == \
        [("sock_rcvqueue_full", 50 - held)], summary(recs)


def test_tcp_syn_to_closed_port():
    """The kernel's reason for a SYN nobody listens for (found: NO_SOCKET in tcp_v4_rcv)."""
    pair = Pair()
    nl = Netlens("--netns", pair.b, command="drops")
    cli = peer(pair.a, "client", pair.B4, 17106)
    assert cli.expect("ERROR") == ["111"]
    cli.wait()
    recs = nl.stop()
    row = one(rows(recs), dport=17106)
    assert (row["reason"], row["proto"], row["count"]) == ("NO_SOCKET", "tcp", 1), row
    assert row["location"].startswith("tcp_v4_rcv+0x"), row
    d = one(recs, type="drop", dport=17106)
    assert (d["saddr"], d["daddr"], d["ifname"]) == (pair.A4, pair.B4, "nltb"), d


def test_reason_filter():
    """--reason keeps the named reason and nothing else."""
    pair = Pair()
    nft(pair.b, "add chain inet nlt in { type filter hook input priority 0; }",
        "add rule inet nlt in udp dport 17107 drop")
    nl = Netlens("--netns", pair.b, "--reason", "netfilter_drop", command="drops")
    send(pair, 4, 17107, 4)   # NETFILTER_DROP: kept
    send(pair, 4, 17108, 5)   # NO_SOCKET: filtered out in the kernel
    recs = nl.stop()
    assert [(r["reason"], r["count"]) for r in summary(recs)["rows"]] == \
        [("NETFILTER_DROP", 4)], summary(recs)
    assert not find(recs, type="drop", reason="NO_SOCKET")
    assert recs[-1]["drops"] == 4, recs[-1]


def test_shared_filters():
    """-P and -6 match the packet's ports and family; -p only a process-context drop."""
    pair = Pair()
    nl = Netlens("--netns", pair.b, "-P", 17120, "-6", command="drops")
    send(pair, 6, 17120, 3)   # kept
    send(pair, 4, 17120, 4)   # IPv4
    send(pair, 6, 17121, 5)   # another port
    recs = nl.stop()
    assert [(r["family"], r["dport"], r["count"]) for r in summary(recs)["rows"]] == \
        [(6, 17120, 3)], summary(recs)

    nft(pair.a, "add chain inet nlt out { type filter hook output priority 0; }",
        "add rule inet nlt out udp dport 17122 drop")
    pid = os.getpid()   # nobody: the sender is another process
    nl = Netlens("--netns", pair.a, "-p", pid, command="drops")
    send(pair, 4, 17122, 2)
    recs = nl.stop()
    assert recs[-1]["drops"] == 0 and not summary(recs)["rows"], recs
    nl = Netlens("--netns", pair.a, "-c", "nlt-filtered", command="drops")
    spid, _ = send(pair, 4, 17122, 2, name="nlt-filtered")
    send(pair, 4, 17122, 3, name="nlt-other")
    recs = nl.stop()
    assert one(rows(recs), dport=17122)["count"] == 2, summary(recs)
    assert {d["pid"] for d in find(recs, type="drop")} == {spid}, recs


def test_rate_limit_counts_the_rest():
    """Individual records are rate-limited; the summary still counts every drop."""
    pair = Pair()
    nl = Netlens("--netns", pair.b, "--events-per-sec", "2", command="drops")
    send(pair, 4, 17109, 300)
    recs = nl.stop()
    stats = recs[-1]
    events = find(recs, type="drop")
    assert one(rows(recs), dport=17109)["count"] == 300
    assert stats["drops"] == 300 and 1 <= len(events) <= 10, (stats, len(events))
    assert stats["events"] + stats["suppressed"] == 300, stats


def test_summary_map_full_is_counted():
    """More destinations than --max-rows: the drops of the rows refused are counted."""
    pair = Pair()
    nl = Netlens("--netns", pair.b, "--max-rows", "16", command="drops")
    for port in range(17200, 17220):
        send(pair, 4, port, 1)
    recs = nl.stop()
    stats = recs[-1]
    assert len(summary(recs)["rows"]) == 16 and summary(recs)["total"] == 16, summary(recs)
    assert (stats["drops"], stats["map_full"], stats["events"]) == (20, 4, 20), stats


def test_classic_tracepoint_hook():
    """The fallback hook (kernels before 6.10) counts the same."""
    pair = Pair()
    nl = Netlens("--netns", pair.b, "--hook", "tracepoint", command="drops")
    assert "attached (tracepoint skb:kfree_skb; raw_tp sock:" in nl.attached, nl.attached
    send(pair, 6, 17110, 7)
    recs = nl.stop()
    row = one(rows(recs), dport=17110)
    assert (row["reason"], row["count"], row["daddr"]) == ("NO_SOCKET", 7, pair.B6), row
    assert len(find(recs, type="drop", dport=17110, context="softirq")) == 7


def test_table_and_intervals():
    pair = Pair()
    p = subprocess.Popen([NETLENS, "drops", "--netns", pair.b, "--interval", "0.5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        assert "attached" in line, line
        send(pair, 4, 17111, 6)
        time.sleep(1.2)
        send(pair, 4, 17111, 2)
        time.sleep(0.2)
    finally:
        p.send_signal(2)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    counts = [int(ln.split()[0]) for ln in out.splitlines()
              if ln.split()[1:2] == ["NO_SOCKET"] and f"{pair.B4}:17111" in ln]
    assert sum(counts) == 8 and counts[0] == 6, out
    assert "COUNT" in out and " total" in out and "drops seen" in out, out


def test_unknown_reason_is_a_usage_error():
    r = subprocess.run([NETLENS, "drops", "--reason", "NO_SUCH_REASON"],
                       capture_output=True, text=True)
    assert r.returncode == 2, r
    assert r.stderr.startswith("netlens: drops: --reason: 'NO_SUCH_REASON' is not a drop "
                               "reason of this kernel"), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def nft_counter(ns, table, name):
    """Packets of a named nftables counter."""
    out = sh("nft", "-j", "list", "counter", "inet", table, name, ns=ns)
    return next(o["counter"]["packets"] for o in json.loads(out)["nftables"] if "counter" in o)


def storm(pair, port, count):
    """count short connections from a to b:port (bench/connstorm.c's: the
    client's socket is freed with the server's FIN queued, QUEUE_PURGE)."""
    srv = udp(pair.b, "tcp-server", pair.B4, port, "--count", count, "--size", 1)
    srv.expect("READY")
    cli = udp(pair.a, "tcp-storm", pair.B4, port, "--count", count, "--size", 1)
    assert cli.expect("DONE", timeout=60) == [str(count)]
    assert srv.expect("DONE", timeout=60) == [str(count)]
    cli.wait()
    srv.wait()


def test_transient_drops_keep_no_ephemeral_port():
    """More distinct transient drops than the table holds (datagrams to 40
    closed ephemeral ports, 40 connections purged at close): they share rows,
    so a new reason still gets its own, nothing is refused and every count
    equals the kernel's (issue 14: 4)."""
    pair = Pair()
    nft(pair.a, "add counter inet nlt refused",
        "add chain inet nlt in { type filter hook input priority 0; }",
        "add rule inet nlt in udp dport 17140 counter name refused drop")
    noports = nstat(pair.a, "UdpNoPorts")["UdpNoPorts"]
    nl = Netlens("--netns", pair.a, "--max-rows", "16", "--all", "--events-per-sec", "0",
                 command="drops")
    p = udp(pair.b, "send", pair.A4, 40000, "--count", 1, "--ports", 40)
    p.expect("SENT")
    p.wait()
    storm(pair, 17141, 40)
    p = udp(pair.b, "send", pair.A4, 17140, "--count", 7)
    p.expect("SENT")
    p.wait()
    recs = nl.stop()
    noports = nstat(pair.a, "UdpNoPorts")["UdpNoPorts"] - noports
    stats = recs[-1]
    assert (stats["map_full"], stats["map_busy"]) == (0, 0), stats
    nosock = one(rows(recs), reason="NO_SOCKET", proto="udp")
    assert (nosock["count"], noports) == (40, 40), (nosock, noports)
    assert (nosock["dport"], nosock["dport_ephemeral"], nosock["daddr"]) == \
        (None, True, pair.A4), nosock
    purged = one(rows(recs), reason="QUEUE_PURGE")
    assert (purged["count"], purged["dport_ephemeral"]) == (40, True), purged
    refused = one(rows(recs), reason="NETFILTER_DROP")
    assert (refused["count"], refused["dport"]) == (nft_counter(pair.a, "nlt", "refused"), 17140)
    assert refused["count"] == 7, refused
    # --all: NOT_SPECIFIED frees (IPv6 multicast the namespace hears) count too.
    assert stats["drops"] == sum(r["count"] for r in summary(recs)["rows"]), (stats, recs)


def test_ephemeral_range_is_the_drops_namespace():
    """A namespace that hands out client ports from 1024 (its own
    ip_local_port_range, not netlens'): its 40 purged connections share the
    ephemeral bucket, not a row per port (fails with one range for all)."""
    pair = Pair()
    sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 2047", ns=pair.a)
    nl = Netlens("--netns", pair.a, "--max-rows", "16", "--all", "--events-per-sec", "0",
                 command="drops")
    storm(pair, 17142, 40)
    recs = nl.stop()
    stats = recs[-1]
    assert (stats["map_full"], stats["map_busy"]) == (0, 0), stats
    purged = one(rows(recs), reason="QUEUE_PURGE")
    assert (purged["count"], purged["dport"], purged["dport_ephemeral"]) == (40, None, True), purged


def test_benign_left_out_and_counted():
    """A closed connection's purged queue is benign: left out of the summary
    and counted there exactly; a closed port is loss, an nft rule policy;
    --all lists the benign row with its class (issue 13: 3)."""
    pair = Pair()
    nft(pair.a, "add counter inet nlt refused",
        "add chain inet nlt in { type filter hook input priority 0; }",
        "add rule inet nlt in udp dport 17151 counter name refused drop")
    noports = nstat(pair.a, "UdpNoPorts")["UdpNoPorts"]
    nl = Netlens("--netns", pair.a, "--events-per-sec", "0", command="drops")
    storm(pair, 17150, 30)
    for port, n in ((17151, 4), (17152, 6)):
        p = udp(pair.b, "send", pair.A4, port, "--count", n)
        p.expect("SENT")
        p.wait()
    recs = nl.stop()
    s = summary(recs)
    assert all(r["class"] != "benign" for r in s["rows"]), s
    assert s["benign_left_out"] == 30, s
    refused = one(s["rows"], reason="NETFILTER_DROP")
    assert (refused["class"], refused["count"]) == ("policy", nft_counter(pair.a, "nlt", "refused"))
    closed = one(s["rows"], reason="NO_SOCKET")
    assert (closed["class"], closed["count"]) == ("loss", nstat(pair.a, "UdpNoPorts")["UdpNoPorts"] - noports)
    assert (refused["count"], closed["count"], s["total"]) == (4, 6, 10), s
    assert recs[-1]["drops"] == 40, recs[-1]

    nl = Netlens("--netns", pair.a, "--all", "--events-per-sec", "0", command="drops")
    storm(pair, 17153, 5)
    s = summary(nl.stop())
    purged = one(s["rows"], reason="QUEUE_PURGE")
    assert (purged["class"], purged["count"], s["benign_left_out"]) == ("benign", 5, 0), s


def test_table_says_benign_left_out():
    pair = Pair()
    p = subprocess.Popen([NETLENS, "drops", "--netns", pair.a], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert "attached" in p.stderr.readline()
        storm(pair, 17154, 7)
        time.sleep(0.3)
    finally:
        p.send_signal(2)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert " 0 drops in " in out and "(7 benign left out, --all shows them)" in out, out
    assert "QUEUE_PURGE" not in out, out


# Staged incidents, reusable (diagnose's tests): each builds the incident in
# pair's namespaces, calls before_traffic (e.g. to start netlens) once the
# stage is set, sends the traffic and returns the kernel's own counts.

def stage_udp_rcvbuf_overflow(pair, port=17160, count=200, name="nlt-rcv",
                              before_traffic=None):
    """A UDP receiver in b (SO_RCVBUF 1, never reading while count datagrams
    arrive from a): UdpRcvbufErrors in b's namespace counts what it lost."""
    rcv = udp(pair.b, "recv", pair.B4, port, "--rcvbuf", 1, name=name)
    rcv.expect("READY")
    before = nstat(pair.b, "UdpRcvbufErrors")["UdpRcvbufErrors"]
    if before_traffic:
        before_traffic(rcv.pid)
    p = udp(pair.a, "send", pair.B4, port, "--count", count)
    p.expect("SENT")
    p.wait()
    rcv.p.stdin.write("\n")
    rcv.p.stdin.flush()
    held = int(rcv.expect("HELD")[0])
    rcv.wait()
    errors = nstat(pair.b, "UdpRcvbufErrors")["UdpRcvbufErrors"] - before
    assert 0 < held < count and errors == count - held, (held, errors)
    return dict(pid=rcv.pid, comm=name, daddr=pair.B4, port=port, netns=pair.netns_b,
                sent=count, held=held, rcvbuf_errors=errors)


def stage_nft_drop(pair, port=17170, count=78, before_traffic=None):
    """An nftables rule in b's input dropping UDP to port (from a): the rule's
    counter counts the packets it dropped."""
    nft(pair.b, "add counter inet nlt blocked",
        "add chain inet nlt in { type filter hook input priority 0; }",
        f"add rule inet nlt in udp dport {port} counter name blocked drop")
    if before_traffic:
        before_traffic(None)
    p = udp(pair.a, "send", pair.B4, port, "--count", count)
    p.expect("SENT")
    p.wait()
    dropped = nft_counter(pair.b, "nlt", "blocked")
    assert dropped == count, dropped
    return dict(daddr=pair.B4, port=port, netns=pair.netns_b, nft_dropped=dropped)


def check_rcvbuf_owner(*filters):
    pair = Pair()
    runs = {}

    def start(pid):
        args = [a.format(pid=pid) for a in filters]
        runs["nl"] = Netlens("--netns", pair.b, "--events-per-sec", "1000", *args,
                             command="drops")
    k = stage_udp_rcvbuf_overflow(pair, before_traffic=start)
    recs = runs["nl"].stop()
    row = one(rows(recs), reason="SOCKET_RCVBUFF")
    assert (row["count"], row["dport"], row["class"]) == (k["rcvbuf_errors"], k["port"], "loss")
    assert (row["pid"], row["comm"]) == (k["pid"], k["comm"]), row
    drops = find(recs, type="drop", reason="SOCKET_RCVBUFF")
    # A burst of 100 records at most (the rate limit), the rest suppressed.
    assert len(drops) + recs[-1]["suppressed"] == k["rcvbuf_errors"] and drops, recs[-1]
    for d in drops:
        assert (d["pid"], d["comm"], d["owner"], d["context"]) == \
            (k["pid"], k["comm"], "socket", "softirq"), d
    assert recs[-1]["drops"] == k["rcvbuf_errors"], recs[-1]


def test_rcvbuf_drops_carry_the_socket_owner():
    """The receiver whose buffer overflowed owns the drops (not the softirq's pid 0)."""
    check_rcvbuf_owner()


def test_rcvbuf_drops_kept_by_pid_filter():
    """drops -p RECEIVER keeps its socket's drops (issue 13: 3: it said "0 drops")."""
    check_rcvbuf_owner("-p", "{pid}")


def test_rcvbuf_drops_kept_by_comm_filter():
    check_rcvbuf_owner("-c", "nlt-rcv")


def test_owner_filter_leaves_out_other_sockets():
    """-p of another process: the receiver's drops are not kept."""
    pair = Pair()
    runs = {}
    stage_udp_rcvbuf_overflow(pair, before_traffic=lambda pid: runs.update(
        nl=Netlens("--netns", pair.b, "-p", os.getpid(), command="drops")))
    recs = runs["nl"].stop()
    assert recs[-1]["drops"] == 0 and not summary(recs)["rows"], recs


def test_serve_metrics_per_class_port_and_owner():
    """serve: drops per class, reason and bounded port; receive-buffer overflows
    per port and process, each equal to the kernel's own counter (issue 13: 3)."""
    pair = Pair()
    runs = {}
    k = stage_udp_rcvbuf_overflow(pair, port=17180, before_traffic=lambda pid: runs.update(
        serve=Serve("--enable", "drops", "--netns", pair.b)))
    serve = runs["serve"]
    n = stage_nft_drop(pair, port=17181, count=9)
    noports = nstat(pair.b, "UdpNoPorts")["UdpNoPorts"]
    p = udp(pair.a, "send", pair.B4, 45000, "--count", 1, "--ports", 12)   # ephemeral
    p.expect("SENT")
    p.wait()
    noports = nstat(pair.b, "UdpNoPorts")["UdpNoPorts"] - noports
    rcvbuf = {"reason": "SOCKET_RCVBUFF", "proto": "udp", "port": k["port"], "comm": k["comm"]}
    assert serve.wait_value("netlens_socket_rcvbuf_drops_total", k["rcvbuf_errors"],
                            **rcvbuf) == k["rcvbuf_errors"]
    eph = {"kind": "kfree_skb", "class": "loss", "reason": "NO_SOCKET",
           "location": "__udp4_lib_rcv", "dport": "ephemeral"}
    assert serve.wait_value("netlens_packet_drops_total", noports, **eph) == noports == 12
    page = serve.metrics()
    assert serve.value("netlens_packet_drops_total", page, kind="kfree_skb", reason="NETFILTER_DROP",
                       location="nft_do_chain", dport=n["port"],
                       **{"class": "policy"}) == n["nft_dropped"] == 9
    assert serve.value("netlens_packet_drops_total", page, kind="kfree_skb", reason="SOCKET_RCVBUFF",
                       location="udp_queue_rcv_one_skb", dport=k["port"],
                       **{"class": "loss"}) == k["rcvbuf_errors"]
    assert serve.value("netlens_map_insert_failures_total", page, module="drops", reason="full") == 0
    serve.stop()


def test_rcvbuf_owner_learnt_at_bind():
    """A receiver started after netlens: its owner is learnt when it binds."""
    pair = Pair()
    nl = Netlens("--netns", pair.b, "-c", "nlt-late", "--events-per-sec", "1000",
                 command="drops")
    k = stage_udp_rcvbuf_overflow(pair, port=17190, count=50, name="nlt-late")
    recs = nl.stop()
    row = one(rows(recs), reason="SOCKET_RCVBUFF")
    assert (row["count"], row["pid"], row["comm"]) == (k["rcvbuf_errors"], k["pid"], "nlt-late")
    assert {(d["pid"], d["owner"]) for d in find(recs, type="drop")} == {(k["pid"], "socket")}


def stage_icmp_too_big_dropped(pair, count=4, before_traffic=None):
    """A rule in a's input dropping ICMP "fragmentation needed" (sent by b as a
    router would about a's datagrams): a never learns the path MTU. The
    rule's counter counts the messages dropped."""
    nft(pair.a, "add counter inet nlt toobig",
        "add chain inet nlt in { type filter hook input priority 0; }",
        "add rule inet nlt in icmp type destination-unreachable icmp code frag-needed "
        "counter name toobig drop")
    if before_traffic:
        before_traffic(None)
    p = udp(pair.b, "frag-needed", pair.A4, "--count", count)
    assert p.expect("SENT") == [str(count)]
    p.wait()
    dropped = nft_counter(pair.a, "nlt", "toobig")
    assert dropped == count, dropped
    return dict(daddr=pair.A4, netns=pair.netns_a, nft_dropped=dropped)


def test_icmp_too_big_dropped_is_marked():
    """The summary row of dropped ICMP "fragmentation needed" says so (the MTU
    black hole finding's evidence), with the rule's exact count."""
    pair = Pair()
    runs = {}
    k = stage_icmp_too_big_dropped(pair, before_traffic=lambda _: runs.update(
        nl=Netlens("--netns", pair.a, command="drops")))
    recs = runs["nl"].stop()
    row = one(rows(recs), reason="NETFILTER_DROP")
    assert (row["count"], row["proto"], row["icmp_too_big"], row["daddr"]) == \
        (k["nft_dropped"], "icmp", True, k["daddr"]), row
    d = find(recs, type="drop", reason="NETFILTER_DROP")
    assert len(d) == 4 and all((x["icmp_type"], x["icmp_code"]) == (3, 4) for x in d), d
