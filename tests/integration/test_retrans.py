"""netlens retrans: loss made with nftables between two namespaces; the kernel's counters are the truth."""
import os
import re
import subprocess
import time

from nltest import NETLENS, Netlens, Pair, Proc, Serve, find, held_connections, nstat, one, sh

LPEER = os.path.join(os.path.dirname(__file__), "latency_peer.py")


def lpeer(ns, *args, name=None, prefix=()):
    """latency_peer.py in a namespace; prefix runs before it (e.g. to join a cgroup)."""
    argv = ["ip", "netns", "exec", ns, "python3", LPEER] + [str(a) for a in args]
    if name:
        argv += ["--name", name]
    return Proc(argv, prefix=prefix)


def nft_chain(ns, hook, *rules):
    """Rules of a chain on hook in namespace ns: chain "in" on input, "out" on
    output (numgen counts per rule, from 0)."""
    chain = {"input": "in", "output": "out"}[hook]
    sh("nft", "add table inet nlt", ns=ns)
    sh("nft", f"add chain inet nlt {chain} {{ type filter hook {hook} priority 0; }}", ns=ns)
    for r in rules:
        sh("nft", f"add rule inet nlt {chain} " + r, ns=ns)


def nft_input(ns, *rules):
    nft_chain(ns, "input", *rules)


def retrans_segs(ns):
    return nstat(ns, "TcpRetransSegs")["TcpRetransSegs"]


def stage_lossy_client_path(pair, port, loss_every=11, size=2000000, family=4):
    """A client in pair.a sends size bytes to a server in pair.b:port; one in
    loss_every of its data segments (11: 9%) is dropped on the way in.
    The client stays connected (its owner is `nlt-lossy`) until
    stage["client"].p.stdin gets a line. Returns the kernel's counters of
    both namespaces once everything was acknowledged: {"client": {TcpOutSegs,
    TcpRetransSegs} of pair.a, "server": the same of pair.b, "sport": the
    client's port, "pid"}. Only this connection's segments are in them."""
    nft_input(pair.b, f"tcp dport {port} meta length > 200 numgen inc mod {loss_every} == 0 drop")
    b = pair.addr("b", family)
    srv = lpeer(pair.b, "server", b, port, "--req", size, "--resp", 1)
    srv.expect("READY")
    cli = lpeer(pair.a, "client", b, port, "--req", size, "--resp", 1, "--hold", name="nlt-lossy")
    sport = int(cli.expect("CONNECTED")[0])
    cli.expect("DONE", timeout=60)   # the reply acknowledges every byte: no retransmit after
    time.sleep(0.3)                  # the delayed ACK of the reply is a segment too
    names = ("TcpOutSegs", "TcpRetransSegs")
    return {"client": nstat(pair.a, *names), "server": nstat(pair.b, *names),
            "sport": sport, "pid": cli.pid, "proc": cli}


def socket_counters(ns, sport):
    """total_retrans and segs_out of one socket, from ss -ti."""
    out = sh("ss", "-tin", "sport", "=", str(sport), ns=ns)
    retrans = re.search(r"retrans:\d+/(\d+)", out)
    segs = re.search(r"segs_out:(\d+)", out)
    return int(retrans.group(1)) if retrans else 0, int(segs.group(1))


def dest(stats, addr, port, direction="outbound"):
    found = [d for d in stats["destinations"]
             if (d["daddr"], d["dport"], d["direction"]) == (addr, port, direction)]
    assert len(found) == 1, (addr, port, stats["destinations"])
    return found[0]


def check_lossy_and_control(family, lossy, control):
    pair = Pair()
    # Every 7th data-bearing segment to the lossy port is dropped; pure ACKs pass.
    nft_input(pair.b, f"tcp dport {lossy} meta length > 200 numgen inc mod 7 == 0 drop")
    b = pair.addr("b", family)
    # 2 MB to the lossy port; the control makes 10 small exchanges (no loss expected
    # there: bulk over veth can overflow a backlog on a loaded machine).
    sizes = {lossy: ("--req", 2000000, "--resp", 1), control: ("--req", 1000, "--resp", 1,
                                                                "--count", 10)}
    servers = [lpeer(pair.b, "server", b, p, *sizes[p]) for p in (lossy, control)]
    for s in servers:
        s.expect("READY")
    before = retrans_segs(pair.a)
    nl = Netlens("-P", lossy, "-P", control, command="retrans")
    clients, ports = [], []
    for p in (lossy, control):
        c = lpeer(pair.a, "client", b, p, *sizes[p], "--hold", name="nlt-bulk")
        ports.append(int(c.expect("CONNECTED")[0]))
        c.expect("DONE", timeout=60)     # the reply acknowledges every byte: no retransmit after
        clients.append(c)
    time.sleep(0.3)     # the delayed ACK of the last answer is a segment too
    kernel_retrans, kernel_segs = socket_counters(pair.a, ports[0])
    control_retrans, control_segs = socket_counters(pair.a, ports[1])
    ns_delta = retrans_segs(pair.a) - before
    recs = nl.stop()

    assert kernel_retrans > 0 and control_retrans == 0, (kernel_retrans, control_retrans)
    rt = find(recs, type="retransmit")
    assert rt and all(r["sport"] == ports[0] and r["dport"] == lossy for r in rt), rt
    for r in rt:
        assert (r["pid"], r["comm"]) == (clients[0].pid, "nlt-bulk"), r
        assert (r["family"], r["saddr"], r["daddr"]) == (family, pair.addr("a", family), b), r
        assert (r["kind"], r["state"], r["netns"]) == ("data", "ESTABLISHED", pair.netns_a), r
    # One record per retransmission; a buffer may carry several MSS-sized segments.
    assert sum(r["segments"] for r in rt) == kernel_retrans == ns_delta, \
        (sum(r["segments"] for r in rt), kernel_retrans, ns_delta)
    stats = recs[-1]
    assert stats["type"] == "stats" and stats["lost"] == 0 and stats["map_full"] == 0, stats
    d = dest(stats, b, lossy)
    assert (d["retransmits"], d["segments"]) == (kernel_retrans, kernel_segs), (d, kernel_segs)
    assert abs(d["ratio"] - kernel_retrans / kernel_segs) < 1e-9, d
    c = dest(stats, b, control)
    assert (c["retransmits"], c["segments"], c["ratio"]) == (0, control_segs, 0), (c, control_segs)
    # Worst first.
    assert stats["destinations"][0] == d, stats["destinations"]


def test_data_loss_ipv4():
    check_lossy_and_control(4, 23100, 23101)


def test_data_loss_ipv6():
    check_lossy_and_control(6, 23102, 23103)


def test_syn_retransmit():
    """Only the first SYN is dropped: one SYN retransmit, owned by the connecting process."""
    pair = Pair()
    nft_input(pair.b, "tcp dport 23104 tcp flags & (syn | ack) == syn numgen inc mod 1000 == 0 drop")
    srv = lpeer(pair.b, "server", pair.B4, 23104)
    srv.expect("READY")
    nl = Netlens("-P", 23104, command="retrans")
    cli = lpeer(pair.a, "client", pair.B4, 23104, name="nlt-syn")
    cport = int(cli.expect("CONNECTED", timeout=10)[0])
    cli.expect("DONE")
    recs = nl.stop()
    r = one(recs, type="retransmit")
    assert (r["kind"], r["state"], r["segments"]) == ("syn", "SYN_SENT", 1), r
    assert (r["pid"], r["comm"], r["sport"], r["dport"]) == (cli.pid, "nlt-syn", cport, 23104), r
    d = dest(recs[-1], pair.B4, 23104)
    assert (d["retransmits"], d["syn_retransmits"]) == (1, 1), d    # slow_handshake's evidence


def test_retransmit_refused_by_the_senders_firewall_counts_as_the_kernel_counts():
    """The first SYN is lost on the way; its first retransmission is refused by
    the client's own output chain (the attempt returns -EPERM, and the kernel
    counts it: __tcp_retransmit_skb() adds before it transmits); the second
    gets through. netlens counts both, as RetransSegs does."""
    pair = Pair()
    port = 23112
    nft_input(pair.b, f"tcp dport {port} tcp flags & (syn | ack) == syn numgen inc mod 1000 == 0 drop")
    nft_chain(pair.a, "output", f"tcp dport {port} tcp flags & (syn | ack) == syn "
              "numgen inc mod 1000 == 1 counter drop")
    srv = lpeer(pair.b, "server", pair.B4, port)
    srv.expect("READY")
    before = nstat(pair.a, "TcpRetransSegs", "TcpExtTCPSynRetrans", "TcpExtTCPRetransFail")
    nl = Netlens("-P", port, command="retrans")
    cli = lpeer(pair.a, "client", pair.B4, port, name="nlt-refused")
    cli.expect("CONNECTED", timeout=10)
    cli.expect("DONE")
    recs = nl.stop()
    after = nstat(pair.a, *before)
    kernel = {n: after[n] - before[n] for n in before}
    assert kernel == {"TcpRetransSegs": 2, "TcpExtTCPSynRetrans": 2, "TcpExtTCPRetransFail": 1}, \
        (kernel, sh("nft", "list chain inet nlt out", ns=pair.a))
    syns = find(recs, type="retransmit", kind="syn")
    assert [(r["segments"], r["pid"]) for r in syns] == [(1, cli.pid)] * 2, syns
    d = dest(recs[-1], pair.B4, port)
    assert (d["retransmits"], d["syn_retransmits"]) == (2, 2), d


def test_synack_retransmit_ipv6():
    """The first SYN-ACK is dropped: the listener retransmits it; its owner is the server."""
    pair = Pair()
    nft_input(pair.a, "tcp sport 23105 tcp flags & (syn | ack) == syn | ack "
              "numgen inc mod 1000 == 0 drop")
    before = retrans_segs(pair.b)
    nl = Netlens("-P", 23105, command="retrans")
    srv = lpeer(pair.b, "server", pair.B6, 23105, name="nlt-listener")
    srv.expect("READY")
    cli = lpeer(pair.a, "client", pair.B6, 23105)
    cport = int(cli.expect("CONNECTED", timeout=10)[0])
    cli.expect("DONE")
    srv.expect("ACCEPTED")
    recs = nl.stop()
    synacks = find(recs, type="retransmit", kind="synack")
    assert synacks, recs
    for r in synacks:
        assert (r["pid"], r["comm"], r["family"]) == (srv.pid, "nlt-listener", 6), r
        assert (r["saddr"], r["sport"], r["daddr"], r["dport"]) == \
            (pair.B6, 23105, pair.A6, cport), r
        assert (r["state"], r["netns"]) == ("SYN_RECV", pair.netns_b), r
    assert len(synacks) == retrans_segs(pair.b) - before
    d = dest(recs[-1], pair.B6, 23105, "inbound")
    assert (d["retransmits"], d["syn_retransmits"]) == (len(synacks), 0), d


def test_summary_only_and_interval():
    """--summary: no per-retransmission records, the totals every --interval and at exit."""
    pair = Pair()
    nft_input(pair.b, "tcp dport 23106 meta length > 200 numgen inc mod 5 == 0 drop")
    srv = lpeer(pair.b, "server", pair.B4, 23106, "--req", 500000, "--resp", 1)
    srv.expect("READY")
    nl = Netlens("--summary", "--interval", "0.5", "-P", 23106, command="retrans")
    cli = lpeer(pair.a, "client", pair.B4, 23106, "--req", 500000, "--resp", 1, "--hold")
    cport = int(cli.expect("CONNECTED")[0])
    cli.expect("DONE", timeout=60)
    kernel_retrans, _ = socket_counters(pair.a, cport)
    time.sleep(1.2)
    recs = nl.stop()
    assert not find(recs, type="retransmit"), recs
    stats = find(recs, type="stats")
    assert len(stats) >= 3, stats                       # two intervals and the exit
    assert dest(stats[-1], pair.B4, 23106)["retransmits"] == kernel_retrans > 0
    assert stats[-1]["events"] == 0


def test_bad_option():
    r = subprocess.run([NETLENS, "retrans", "--max-conns", "3"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "max-conns" in r.stderr, r.stderr


def test_filter_comm():
    """-c keeps the retransmissions of one process, on the same lossy path."""
    pair = Pair()
    nft_input(pair.b, "tcp dport 23107 meta length > 200 numgen inc mod 5 == 0 drop")
    srv = lpeer(pair.b, "server", pair.B4, 23107, "--req", 300000, "--resp", 1, "--accept", 2)
    srv.expect("READY")
    nl = Netlens("-c", "nlt-keep", "-P", 23107, command="retrans")
    ports, retrans = {}, {}
    for name in ("nlt-keep", "nlt-drop"):
        c = lpeer(pair.a, "client", pair.B4, 23107, "--req", 300000, "--resp", 1, "--hold",
                  name=name)
        ports[name] = int(c.expect("CONNECTED")[0])
        c.expect("DONE", timeout=60)
        time.sleep(0.3)
        retrans[name] = socket_counters(pair.a, ports[name])[0]
        assert retrans[name] > 0, name
        c.p.stdin.write("\n")       # the server takes one connection at a time
        c.p.stdin.flush()
        c.expect("CLOSED")
    kept = retrans["nlt-keep"]
    recs = nl.stop()
    rt = find(recs, type="retransmit")
    assert rt and all(r["comm"] == "nlt-keep" and r["sport"] == ports["nlt-keep"] for r in rt), rt
    assert dest(recs[-1], pair.B4, 23107)["retransmits"] == kept == sum(r["segments"] for r in rt)


def test_map_full_is_counted():
    """More connections than --max-conns: refused inserts are counted, nothing breaks."""
    pair = Pair()
    stats = held_connections(pair, 23108, 50, "--max-conns", 64, command="retrans")[-1]
    # 50 client and 50 server connections, 64 entries: at least 36 refused.
    assert stats["map_full"] >= 36, stats


def test_connection_older_than_netlens():
    """Established before netlens: owner unknown (pid 0), counted from its first retransmission."""
    pair = Pair()
    nft_input(pair.b, "tcp dport 23109 meta length > 200 numgen inc mod 5 == 0 drop")
    srv = lpeer(pair.b, "server", pair.B4, 23109, "--req", 500000, "--resp", 1)
    srv.expect("READY")
    cli = lpeer(pair.a, "client", pair.B4, 23109, "--req", 500000, "--resp", 1, "--wait", "--hold")
    cport = int(cli.expect("CONNECTED")[0])
    time.sleep(0.3)
    _, segs_before = socket_counters(pair.a, cport)
    nl = Netlens("-P", 23109, command="retrans")
    cli.p.stdin.write("\n")
    cli.p.stdin.flush()
    cli.expect("DONE", timeout=60)
    time.sleep(0.3)
    retrans, segs_after = socket_counters(pair.a, cport)
    recs = nl.stop()
    rt = find(recs, type="retransmit")
    assert rt and all((r["pid"], r["comm"], r["sport"]) == (0, "", cport) for r in rt), rt
    d = dest(recs[-1], pair.B4, 23109)
    assert d["retransmits"] == retrans > 0, (d, retrans)
    assert retrans <= d["segments"] <= segs_after - segs_before, (d, segs_before, segs_after)


def out_segs(ns):
    return nstat(ns, "TcpOutSegs")["TcpOutSegs"]


def test_server_segments_include_its_synacks():
    """A server's segments sent count its SYN-ACK and the SYN-ACK's retransmission,
    which leave from the request socket: equal to the kernel's TcpOutSegs."""
    pair = Pair()
    # The first SYN-ACK is dropped on its way to the client: the listener sends it again.
    nft_input(pair.a, "tcp sport 23110 tcp flags & (syn | ack) == syn | ack "
              "numgen inc mod 1000 == 0 drop")
    srv = lpeer(pair.b, "server", pair.B4, 23110, "--req", 1000, "--resp", 1000, "--count", 3)
    srv.expect("READY")
    before = out_segs(pair.b)
    nl = Netlens("-P", 23110, command="retrans")
    cli = lpeer(pair.a, "client", pair.B4, 23110, "--req", 1000, "--resp", 1000, "--count", 3,
                "--hold")
    cli.expect("CONNECTED", timeout=10)
    cli.expect("DONE")
    time.sleep(0.3)     # the last delayed ACK
    sent = out_segs(pair.b) - before
    recs = nl.stop()
    d = dest(recs[-1], pair.B4, 23110, "inbound")
    assert d["retransmits"] >= 1 and d["segments"] == sent, (d, sent)


def test_serve_ratio_per_direction():
    """serve's retransmit counters per direction: the client side (outbound)
    of a path losing 9% of its data segments is that path's, equal to the
    kernel's counters in the client's namespace; the server's ACKs of the
    same destination (inbound) are their own series and do not dilute it.
    The segments sent include the retransmissions, which TcpOutSegs leaves
    out: sent = TcpOutSegs + TcpRetransSegs."""
    pair = Pair()
    port = 23111
    serve = Serve("--enable", "retrans", "-P", port)
    k = stage_lossy_client_path(pair, port)
    cl, sv = k["client"], k["server"]
    assert cl["TcpRetransSegs"] > 0 and sv["TcpRetransSegs"] == 0, k
    time.sleep(1.2)                  # the page is rebuilt every second
    page = serve.metrics()
    want = {
        "outbound": (cl["TcpRetransSegs"], cl["TcpOutSegs"] + cl["TcpRetransSegs"]),
        "inbound": (0, sv["TcpOutSegs"]),
    }
    for direction, (retrans, sent) in want.items():
        labels = dict(direction=direction, daddr=pair.B4, dport=port)
        got = (serve.value("netlens_tcp_retransmitted_segments_total", page, **labels),
               serve.value("netlens_tcp_sent_segments_total", page, **labels))
        assert got == (retrans, sent), (direction, got, k)
    ratio = cl["TcpRetransSegs"] / (cl["TcpOutSegs"] + cl["TcpRetransSegs"])
    assert ratio > 0.05, ratio       # above the alert's threshold (deploy/prometheus/alerts.yml)
    serve.stop()
