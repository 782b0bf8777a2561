"""netlens diagnose: every module for a while, then findings; and namespace names."""
import json
import signal
import subprocess
import time

import nltest
from dnsenv import ZONE, Resolver, header
from nltest import NETLENS, Netlens, Pair, defer, exchange, find, nstat, one, sh


class Diagnose:
    """build/netlens diagnose ARGS, started; result() waits for its end."""

    def __init__(self, *args, output="json"):
        self.output = output
        self.p = subprocess.Popen([NETLENS, "diagnose", "-o", output, *map(str, args)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        defer(lambda: self.p.poll() is None and self.p.kill())
        line = self.p.stderr.readline()
        assert "watching for" in line, line

    def result(self, timeout=60):
        out, err = self.p.communicate(timeout=timeout)
        assert self.p.returncode == 0, (self.p.returncode, err)
        if self.output != "json":
            return out
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines and lines[-1]["type"] == "diagnose", lines
        assert lines[-1]["findings"] == len(lines) - 1, lines
        return lines[:-1], lines[-1]


def test_quiet_namespace_has_no_findings():
    """Nothing happens in the namespace watched: no finding, in either output."""
    pair = Pair()
    findings, summary = Diagnose("-d", 2, "--netns", pair.a).result()
    assert findings == [], findings
    assert summary["modules"] == ["conns", "latency", "retrans", "drops", "dns"], summary
    assert 2.0 <= summary["seconds"] < 3.0, summary
    assert Diagnose("-d", 1, "--netns", pair.a, output="table").result() == "no findings\n"


def test_lost_records_are_a_finding():
    """A reader that stops: the DNS records that did not fit are a finding, with the
    module's own counts (delivered + lost = one kernel record per datagram: each query and
    each answer)."""
    pair = Pair()
    Resolver(pair)
    d = Diagnose("-d", 6, "--netns", pair.a, "--ringbuf-kb", 4)
    d.p.send_signal(signal.SIGSTOP)
    queries = 400
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)\n"
            "for i in range(int(sys.argv[2])):\n"
            "  s.sendto(bytes.fromhex(sys.argv[3]) , (sys.argv[1], 53)); s.recv(512)\n")
    query = header(id=0x4242) + b"".join(
        bytes([len(p)]) + p.encode() for p in f"b.{ZONE}".split(".")) + b"\0\0\1\0\1"
    try:
        sh("python3", "-c", code, pair.B4, str(queries), query.hex(), ns=pair.a)
    finally:
        d.p.send_signal(signal.SIGCONT)
    findings, _ = d.result()
    lost = one(findings, kind="netlens_lost_events", module="dns")
    assert lost["severity"] == "notice", lost
    assert lost["lost"] > 0 and lost["lost"] + lost["records"] == 2 * queries, lost
    assert f"dns lost {lost['lost']} of {2 * queries} records" in lost["summary"], lost


def test_bad_options_exit_2():
    for args in (["-d", "abc"], ["--flows-hook", "x"], ["-o", "yaml"], ["--nosuch"]):
        r = subprocess.run([NETLENS, "diagnose", *args], capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("netlens: "), (args, r.stderr)


def test_records_name_their_namespace():
    """Records carry the namespace's ip netns name beside its inode."""
    pair = Pair()
    nl = Netlens("-P", 18231)
    _, _, cport = exchange(pair, 4, 18231, send=10, reply=10)
    recs = nl.stop()
    connect = one(recs, type="connect", sport=cport)
    accept = one(recs, type="accept", dport=cport)
    assert (connect["netns"], connect["netns_name"]) == (pair.netns_a, pair.a), connect
    assert (accept["netns"], accept["netns_name"]) == (pair.netns_b, pair.b), accept


BUSY_SERVER = ("import socket,sys\n"
               "l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
               "l.bind((sys.argv[1],int(sys.argv[2]))); l.listen(512); print('READY',flush=True)\n"
               "while True:\n"
               "  c,_=l.accept(); c.recv(10); c.sendall(b'k'); c.close()\n")
BUSY_CLIENT = ("import socket,sys\n"
               "for _ in range(int(sys.argv[3])):\n"
               "  c=socket.create_connection((sys.argv[1],int(sys.argv[2])))\n"
               "  c.sendall(b'x'*3000); c.recv(10); c.close()\n")


def busy_server_storm(pair, port, count):
    """count connections to a server that stays up, each closed by it with data still
    unread (QUEUE_PURGE, and the reset connections' late ACKs)."""
    srv = nltest.Proc(["ip", "netns", "exec", pair.b, "python3", "-c", BUSY_SERVER, pair.B4,
                       str(port)])
    srv.expect("READY")
    sh("python3", "-c", BUSY_CLIENT, pair.B4, str(port), str(count), ns=pair.a)
    return srv


def test_healthy_busy_host_has_no_findings():
    """A connection storm whose server closes with unread data: benign frees, no finding."""
    pair = Pair()
    d = Diagnose("-d", 6, "-P", 18232)
    busy_server_storm(pair, 18232, 600)
    findings, _ = d.result()
    assert findings == [], findings


def watch_while(stage, *args):
    """Runs diagnose (-o json, extra args) while stage() builds an incident, then
    ends it with SIGINT: (findings, stage's kernel counts)."""
    d = Diagnose("-d", 120, *args)
    counts = stage()
    time.sleep(1.5)   # the listener figures are read once a second
    d.p.send_signal(signal.SIGINT)
    findings, _ = d.result()
    return findings, counts


def test_lossy_client_path():
    """9% of a client's data segments dropped on the way: the path-loss finding names
    the destination, client side, with the kernel's counts (nstat in the client's netns)."""
    from test_retrans import stage_lossy_client_path
    pair, port = Pair(), 18233
    findings, k = watch_while(lambda: stage_lossy_client_path(pair, port), "-P", port)
    loss = one(findings, kind="path_loss")
    assert (loss["daddr"], loss["dport"], loss["direction"]) == (pair.B4, port, "outbound"), loss
    assert loss["retransmits"] == k["client"]["TcpRetransSegs"], (loss, k)
    assert loss["segments"] == k["client"]["TcpOutSegs"] + k["client"]["TcpRetransSegs"], (loss, k)
    assert f"{pair.B4}:{port} (client side)" in loss["summary"], loss
    assert loss["rank"] <= 2, findings


def test_refused_and_unreachable_destinations():
    """Connects refused and without a route: one finding per destination and errno,
    the counts the application saw and the kernel counted."""
    from test_conns import stage_connect_failures
    pair, ports = Pair(), (18234, 18235)
    findings, k = watch_while(
        lambda: stage_connect_failures(pair, ports[0], refused=4, unreachable_port=ports[1],
                                       unreachable_count=3),
        "-P", ports[0], "-P", ports[1])
    refused = one(findings, kind="connect_failures", dport=ports[0])
    unreachable = one(findings, kind="connect_failures", dport=ports[1])
    assert (refused["error"], refused["failures"]) == ("ECONNREFUSED", 4), refused
    assert (unreachable["error"], unreachable["failures"]) == ("ENETUNREACH", 3), unreachable
    assert k["errors"] == {"ECONNREFUSED": 4, "ENETUNREACH": 3}, k
    assert k["kernel"]["TcpAttemptFails"] == 4 and k["kernel"]["IpOutNoRoutes"] == 3, k
    assert refused["severity"] == unreachable["severity"] == "critical", findings
    assert {refused["rank"], unreachable["rank"]} == {1, 2}, findings


def test_accept_queue_overflow():
    """A listener that never accepts: the finding names its port, process, backlog and
    the count the kernel counted (ListenOverflows in its netns, ss's drops)."""
    from test_conns import stage_accept_overflow
    pair, port = Pair(), 18236
    findings, k = watch_while(lambda: stage_accept_overflow(pair, port), "-P", port)
    over = one(findings, kind="listen_overflow")
    assert (over["lport"], over["netns"], over["pid"]) == (port, pair.netns_b, k["pid"]), over
    assert over["drops"] == k["ss_drops"] == k["listen_overflows"] == k["listen_drops"], (over, k)
    assert over["backlog"] == 1 and over["netns_name"] == pair.b, over
    assert f"in netns {pair.b} (nlt-listener pid {k['pid']})" in over["summary"], over
    assert over["severity"] == "critical" and over["rank"] == 1, findings


def test_udp_receiver_overflowing():
    """A UDP receiver that does not keep up: the finding names its process, port and
    namespace, with UdpRcvbufErrors of that namespace."""
    from test_drops import stage_udp_rcvbuf_overflow
    pair, port = Pair(), 18237
    findings, k = watch_while(lambda: stage_udp_rcvbuf_overflow(pair, port, 200, "nlt-rcv"),
                              "-P", port)
    over = one(findings, kind="rcvbuf_overflow")
    assert over["drops"] == k["rcvbuf_errors"] > 0, (over, k)
    assert (over["pid"], over["comm"], over["dport"]) == (k["pid"], "nlt-rcv", port), over
    assert (over["netns"], over["netns_name"]) == (pair.netns_b, pair.b), over
    assert f"nlt-rcv (pid {k['pid']})" in over["summary"] and pair.b in over["summary"], over
    assert over["rank"] == 1, findings


def test_nftables_drops_here():
    """Packets a local nftables rule drops: the finding says who dropped them, where,
    and the rule's own count."""
    from test_drops import stage_nft_drop
    pair, port = Pair(), 18238
    findings, k = watch_while(lambda: stage_nft_drop(pair, port, 78), "-P", port)
    drop = one(findings, kind="local_drops")
    assert drop["drops"] == k["nft_dropped"] == 78, (drop, k)
    assert (drop["reason"], drop["class"], drop["location"]) == \
        ("NETFILTER_DROP", "policy", "nft_do_chain"), drop
    assert (drop["destination"], drop["netns_name"]) == (f"{pair.B4}:{port}", pair.b), drop
    assert "dropped here by nftables" in drop["summary"], drop
    assert drop["rank"] == 1, findings


def test_mtu_black_hole():
    """ICMP "fragmentation needed" dropped on its way back: the sender never learns the
    path MTU; the finding counts the messages as the rule did."""
    from test_drops import stage_icmp_too_big_dropped
    pair = Pair()
    findings, k = watch_while(lambda: stage_icmp_too_big_dropped(pair, 4), "--netns", pair.a)
    hole = one(findings, kind="mtu_blackhole")
    assert hole["drops"] == k["nft_dropped"] == 4, (hole, k)
    assert hole["netns_name"] == pair.a and "path MTU black hole" in hole["summary"], hole
    assert hole["rank"] == 1, findings


def test_dead_dns_upstream():
    """A DNS server address that answers nothing: the server-down finding counts every
    query as the wire saw it (nftables: datagrams sent = queries + retransmissions)."""
    from test_dns import stage_dead_dns_upstream
    pair = Pair()

    def stage():
        k = stage_dead_dns_upstream(pair, queries=6)
        time.sleep(5.5)   # past dns' default --timeout (5 s): the queries time out
        return k
    findings, k = watch_while(stage, "--netns", pair.a)
    down = one(findings, kind="dns_server_down")
    assert (down["server"], down["timeouts"], down["queries"]) == (k["server"], 6, 6), (down, k)
    assert down["timeouts"] + down["retransmits"] == k["sent"] == k["dropped"] == 12, (down, k)
    assert down["severity"] == "critical" and down["rank"] == 1, findings


def test_failing_dns_server():
    """A server answering SERVFAIL: the finding names the name, the rcode and the
    querying process, with the answers the wire carried."""
    from test_dns import stage_failing_dns_server
    pair = Pair()
    findings, k = watch_while(lambda: stage_failing_dns_server(pair, "SERVFAIL", queries=5),
                              "--netns", pair.a)
    fail = one(findings, kind="dns_failures")
    assert (fail["rcode"], fail["qname"]) == ("SERVFAIL", k["qname"]), (fail, k)
    assert fail["count"] == fail["queries"] == 5 == k["answers"], (fail, k)
    assert fail["netns_name"] == pair.a and fail["records_lost"] == 0, fail
    assert fail["rank"] == 1, findings


def stage_slow_handshakes(pair, port, count):
    """Every first SYN of count connections to pair.b:port dropped by nftables (every
    other SYN): each handshake waits for its SYN's retransmission, 1 s. Returns the
    rule's counter and TcpExtTCPSynRetrans of pair.a."""
    sh("nft", "add table inet nltsyn; add counter inet nltsyn lost; "
       "add chain inet nltsyn in { type filter hook input priority -10; }; "
       f"add rule inet nltsyn in tcp dport {port} tcp flags & (syn | ack) == syn "
       "numgen inc mod 2 == 0 counter name lost drop", ns=pair.b)
    srv = busy_server_storm(pair, port, count)
    out = sh("nft", "-j", "list", "counter", "inet", "nltsyn", "lost", ns=pair.b)
    lost = next(o["counter"]["packets"] for o in json.loads(out)["nftables"] if "counter" in o)
    return {"syns_dropped": lost, "server": srv,
            "syn_retrans": nstat(pair.a, "TcpExtTCPSynRetrans")["TcpExtTCPSynRetrans"]}


def test_slow_handshakes():
    """Half the SYNs to a port lost: the slow-handshake finding counts the SYNs
    retransmitted as the client's kernel did (TcpExtTCPSynRetrans), per handshake."""
    pair, port = Pair(), 18239
    findings, k = watch_while(lambda: stage_slow_handshakes(pair, port, 4), "-P", port)
    slow = one(findings, kind="slow_handshake")
    assert (slow["daddr"], slow["dport"]) == (pair.B4, port), slow
    assert slow["syn_retransmits"] == k["syn_retrans"] == k["syns_dropped"] == 4, (slow, k)
    assert slow["handshakes"] == 4 and slow["rank"] == 1, findings
