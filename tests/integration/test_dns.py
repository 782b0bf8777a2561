"""netlens dns: a real resolver (dnsmasq) and dig in two namespaces, exact assertions."""
import json
import signal
import subprocess
import time

import nltest
from dnsenv import (A_ADDR, AAAA_ADDR, B_ADDR, RCODES, SILENT4, ZONE, DnsCounters,
                    RcodeServer, Resolver, dig, dns_dropped, drop_dns, header, query_burst,
                    resend, send_udp)
from nltest import NETLENS, Cgroup, Netlens, Serve, cgroup2_root, Pair, defer, find, one, sh


def stats_of(recs):
    return one(recs, type="stats")


def check_client_record(rec, pair, family, pid, msg_id, transport="udp"):
    """The fields every answered query from dig in pair.a carries."""
    assert (rec["pid"], rec["comm"]) == (pid, "dig"), rec
    assert rec["netns"] == pair.netns_a, rec
    assert rec["family"] == family, rec
    assert (rec["saddr"], rec["daddr"], rec["dport"]) == \
        (pair.addr("a", family), pair.addr("b", family), 53), rec
    assert rec["sport"] > 1024 and rec["transport"] == transport, rec
    assert rec["id"] == msg_id, rec
    assert 0 < rec["latency_us"] < 1000000, rec


def test_a_and_aaaa():
    pair = Pair()
    Resolver(pair)
    nl = Netlens(command="dns")
    pid_a, id_a, _ = dig(pair, pair.B4, f"a.{ZONE}", "A")
    pid_aaaa, id_aaaa, _ = dig(pair, pair.B6, f"a.{ZONE}", "AAAA")
    recs = nl.stop()

    a = one(recs, type="dns", qname=f"a.{ZONE}", qtype="A")
    check_client_record(a, pair, 4, pid_a, id_a)
    assert a["rcode"] == "NOERROR", a
    assert a["answers"] == [{"name": f"a.{ZONE}", "type": "A", "ttl": 0, "data": A_ADDR}], a

    aaaa = one(recs, type="dns", qname=f"a.{ZONE}", qtype="AAAA")
    check_client_record(aaaa, pair, 6, pid_aaaa, id_aaaa)
    assert aaaa["rcode"] == "NOERROR", aaaa
    assert aaaa["answers"] == [{"name": f"a.{ZONE}", "type": "AAAA", "ttl": 0,
                                "data": AAAA_ADDR}], aaaa

    # Totals count the whole host (other DNS traffic too): look at our server's.
    st = stats_of(recs)
    assert st["lost"] == 0, st
    server4 = one(st["servers"], server=f"{pair.B4}:53")
    assert server4["queries"] == 1 and server4["rcodes"] == {"NOERROR": 1}, server4
    assert server4["latency"]["count"] == 1 and server4["latency"]["p99_us"] > 0, server4
    assert one(st["servers"], server=f"[{pair.B6}]:53")["rcodes"] == {"NOERROR": 1}, st
    assert one(st["sources"], saddr=pair.A6)["queries"] == 1, st
    assert one(st["qnames"], qname=f"a.{ZONE}")["queries"] == 2, st


def test_cname_chain_in_order():
    pair = Pair()
    Resolver(pair)
    nl = Netlens(command="dns")
    pid, msg_id, _ = dig(pair, pair.B4, f"c.{ZONE}", "A")
    rec = one(nl.stop(), type="dns", qname=f"c.{ZONE}")
    check_client_record(rec, pair, 4, pid, msg_id)
    assert rec["rcode"] == "NOERROR", rec
    assert rec["answers"] == [
        {"name": f"c.{ZONE}", "type": "CNAME", "ttl": 0, "data": f"d.{ZONE}"},
        {"name": f"d.{ZONE}", "type": "CNAME", "ttl": 0, "data": f"b.{ZONE}"},
        {"name": f"b.{ZONE}", "type": "A", "ttl": 0, "data": B_ADDR},
    ], rec


def test_nxdomain():
    pair = Pair()
    Resolver(pair)
    nl = Netlens(command="dns")
    pid, msg_id, out = dig(pair, pair.B4, f"nothere.{ZONE}", "A")
    assert "NXDOMAIN" in out, out
    recs = nl.stop()
    rec = one(recs, type="dns", qname=f"nothere.{ZONE}")
    check_client_record(rec, pair, 4, pid, msg_id)
    assert (rec["qtype"], rec["rcode"], rec["answers"]) == ("A", "NXDOMAIN", []), rec
    assert one(stats_of(recs)["qnames"], qname=f"nothere.{ZONE}")["rcodes"] == {"NXDOMAIN": 1}


def test_interval_summaries():
    pair = Pair()
    Resolver(pair)
    nl = Netlens("--interval", "0.5", "--netns", pair.a, command="dns")
    dig(pair, pair.B4, f"a.{ZONE}", "A")
    time.sleep(1.3)
    stats = [r for r in nl.stop() if r["type"] == "stats"]
    # Two or more periodic summaries and the final one, cumulative.
    assert len(stats) >= 3, stats
    assert stats[-1]["queries"] == 1 and stats[-1]["qnames"][0]["qname"] == f"a.{ZONE}", stats


def test_tcp_query():
    pair = Pair()
    Resolver(pair)
    nl = Netlens(command="dns")
    pid, msg_id, _ = dig(pair, pair.B4, "+tcp", f"b.{ZONE}", "A")
    recs = nl.stop()
    rec = one(recs, type="dns", qname=f"b.{ZONE}")
    check_client_record(rec, pair, 4, pid, msg_id, transport="tcp")
    assert rec["rcode"] == "NOERROR", rec
    assert rec["answers"] == [{"name": f"b.{ZONE}", "type": "A", "ttl": 0, "data": B_ADDR}], rec
    st = stats_of(recs)
    assert st["tcp_split"] == 0
    # The kernel counts DNS over TCP too (the message after its 2-byte length).
    assert find(st["servers"], server=f"{pair.B4}:53")[0]["rcodes"]["NOERROR"] >= 1, st


def test_timeout_after_configured_time():
    pair = Pair()
    # --netns: the totals below must not count the host's own DNS traffic.
    short = Netlens("--timeout", "1", "--netns", pair.a, command="dns")
    long = Netlens("--timeout", "60", "--netns", pair.a, command="dns")
    t0 = time.time()
    pid, _, _ = dig(pair, SILENT4, f"lost.{ZONE}", "A")   # +tries=1 +time=1: one query
    time.sleep(max(0, t0 + 2.5 - time.time()))

    recs = short.stop()
    rec = one(recs, type="dns", qname=f"lost.{ZONE}")
    assert (rec["pid"], rec["comm"], rec["daddr"], rec["dport"]) == (pid, "dig", SILENT4, 53), rec
    assert (rec["rcode"], rec["answers"], rec["latency_us"]) == ("TIMEOUT", [], None), rec
    st = stats_of(recs)
    assert (st["queries"], st["timeouts"], st["pending"]) == (1, 1, 0), st
    assert one(st["servers"], server=f"{SILENT4}:53")["rcodes"] == {"TIMEOUT": 1}, st

    # Not before its time: with --timeout 60 the same query is still pending.
    recs = long.stop()
    assert not [r for r in recs if r["type"] == "dns"], recs
    st = stats_of(recs)
    assert (st["queries"], st["timeouts"], st["pending"]) == (1, 0, 1), st


def start_dig(pair, server, qname):
    """dig in pair.a, not waited for: its query is sent, its answer not yet in."""
    p = subprocess.Popen(["ip", "netns", "exec", pair.a, "dig", f"@{server}", "+tries=1",
                          "+time=1", qname, "A"], stdout=subprocess.DEVNULL)
    defer(p.kill)
    return p


class TableRun:
    """netlens dns -o table (the summary tables), stopped with SIGINT."""

    def __init__(self, *args):
        self.p = subprocess.Popen([NETLENS, "dns", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        defer(self.p.kill)
        while "attached" not in self.p.stderr.readline():
            assert self.p.poll() is None, self.p.stderr.read()

    def stop(self):
        time.sleep(0.3)
        self.p.send_signal(signal.SIGINT)
        return self.p.communicate(timeout=20)[0]


def row_adds_up(row):
    assert row["queries"] == sum(row["rcodes"].values()) + row["pending"], row


def test_rows_add_up_every_rcode_timeout_pending():
    """Each summary row: queries = answers by every rcode + timeouts + pending (issue 14: 6)."""
    pair = Pair()
    Resolver(pair)
    args = ("--timeout", "3", "--netns", pair.a)
    nl, table = Netlens(*args, command="dns"), TableRun(*args)
    t0 = time.time()
    dig(pair, SILENT4, f"lost.{ZONE}", "A")                # times out after 3 s
    dig(pair, pair.B4, f"a.{ZONE}", "A")                    # NOERROR
    dig(pair, pair.B4, f"nothere.{ZONE}", "A")              # NXDOMAIN
    _, _, out = dig(pair, pair.B4, "outside.example", "A")  # REFUSED: no upstream
    assert "status: REFUSED" in out, out
    time.sleep(max(0, t0 + 3.5 - time.time()))
    start_dig(pair, SILENT4, f"waiting.{ZONE}")             # pending at the end
    time.sleep(0.3)
    recs, text = nl.stop(), table.stop()

    st = stats_of(recs)
    assert (st["queries"], st["responses"], st["timeouts"], st["pending"]) == (5, 3, 1, 1), st
    for key in ("qnames", "servers", "sources"):
        for row in st[key]:
            row_adds_up(row)
    server = one(st["servers"], server=f"{pair.B4}:53")
    assert (server["queries"], server["rcodes"], server["pending"]) == \
        (3, {"NOERROR": 1, "NXDOMAIN": 1, "REFUSED": 1}, 0), server
    silent = one(st["servers"], server=f"{SILENT4}:53")
    assert (silent["queries"], silent["rcodes"], silent["pending"]) == (2, {"TIMEOUT": 1}, 1)
    assert one(st["sources"], saddr=pair.A4)["queries"] == 5, st

    # The table: QUERIES NOERROR NXDOMAIN SERVFAIL REFUSED OTHER TIMEOUT PENDING.
    head = next(line for line in text.splitlines() if line.startswith("SERVER"))
    assert head.split()[1:9] == ["QUERIES", "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED",
                                 "OTHER", "TIMEOUT", "PENDING"], head
    rows = {line.split()[0]: line.split()[1:9] for line in text.splitlines() if line.strip()}
    assert rows[f"{pair.B4}:53"] == ["3", "1", "1", "0", "1", "0", "0", "0"], text
    assert rows[f"{SILENT4}:53"] == ["2", "0", "0", "0", "0", "0", "1", "1"], text
    assert rows[pair.A4] == ["5", "1", "1", "0", "1", "0", "1", "1"], text


def test_totals_exact_with_records_lost():
    """Totals and server rows come from the kernel's maps: with the reader stopped and a
    4 KB ring nearly every record is lost, and they still equal nftables' counts of the
    datagrams (issue 14: 5)."""
    pair = Pair()
    Resolver(pair)
    wire = DnsCounters(pair.a)
    nl = Netlens("--timeout", "1", "--netns", pair.a, "--ringbuf-kb", "4", command="dns")
    nl.p.send_signal(signal.SIGSTOP)
    names = [f"a.{ZONE}"] * 100 + [f"nothere.{ZONE}"] * 100 + ["outside.example"] * 100
    assert query_burst(pair, pair.B4, names) == 300
    assert query_burst(pair, SILENT4, ["gone.example"] * 20, wait=0.01, first_id=1000) == 0
    time.sleep(2.5)   # older than --timeout in the kernel's table, ended when the reader runs
    nl.p.send_signal(signal.SIGCONT)
    st = stats_of(nl.stop())
    counts = wire.read()

    assert counts == {"sent": 320, "NOERROR": 100, "SERVFAIL": 0, "NXDOMAIN": 100,
                      "REFUSED": 100}, counts
    assert st["lost"] > 500 and st["records"]["queries"] < 100, st   # records were lost
    assert (st["queries"], st["responses"], st["timeouts"], st["pending"]) == \
        (counts["sent"], 300, 20, 0), st
    server = one(st["servers"], server=f"{pair.B4}:53")
    assert (server["queries"], server["rcodes"], server["pending"]) == \
        (300, {"NOERROR": 100, "NXDOMAIN": 100, "REFUSED": 100}, 0), server
    assert server["latency"]["count"] == 300, server
    silent = one(st["servers"], server=f"{SILENT4}:53")
    assert (silent["queries"], silent["rcodes"]) == (20, {"TIMEOUT": 20}), silent


def test_retransmissions_counted_dead_upstream():
    """A query sent again with the same id is one query and a retransmission: to a resolver
    that drops everything, datagrams sent == queries + retransmissions (issue 14: 6)."""
    pair = Pair()
    Resolver(pair)
    drop_dns(pair.b)
    wire = DnsCounters(pair.a)
    nl = Netlens("--timeout", "1", "--netns", pair.a, command="dns")
    resend(pair, pair.B4, f"again.{ZONE}", copies=4)         # one query, 3 retransmissions
    pid, _, _ = dig(pair, pair.B4, "+tries=3", f"dig.{ZONE}", "A")   # a new port each try
    time.sleep(1.5)
    recs = nl.stop()
    sent = wire.read()["sent"]

    st = stats_of(recs)
    assert sent == 7 and (st["queries"], st["retransmits"]) == (4, 3), (sent, st)
    assert (st["responses"], st["timeouts"], st["pending"]) == (0, 4, 0), st
    again = one(recs, type="dns", qname=f"again.{ZONE}")
    assert (again["rcode"], again["retransmits"], again["id"]) == ("TIMEOUT", 3, 4242), again
    row = one(st["qnames"], qname=f"again.{ZONE}")
    assert (row["queries"], row["retransmits"], row["rcodes"]) == (1, 3, {"TIMEOUT": 1}), row
    digs = find(recs, type="dns", qname=f"dig.{ZONE}")
    assert sorted((r["pid"], r["retransmits"], r["rcode"]) for r in digs) == \
        [(pid, 0, "TIMEOUT")] * 3, digs
    server = one(st["servers"], server=f"{pair.B4}:53")
    assert (server["queries"], server["retransmits"], server["rcodes"]) == \
        (4, 3, {"TIMEOUT": 4}), server
    assert st["records"]["retransmits"] == st["retransmits"], st


def test_serve_metrics_per_server_folded():
    """serve's DNS series carry the server (issue 13); the kernel's counts equal nftables'
    per rcode; beyond --max-series the quieter server is folded into server="other"."""
    pair = Pair()
    Resolver(pair)
    wire = DnsCounters(pair.a)
    serve = Serve("--enable", "dns", "--netns", pair.a)
    folded = Serve("--enable", "dns", "--netns", pair.a, "--max-series", "1")
    names = [f"a.{ZONE}"] * 3 + [f"nothere.{ZONE}"] * 2 + ["outside.example"]
    assert query_burst(pair, pair.B4, names) == 6
    resend(pair, SILENT4, "gone.example", copies=3)   # 1 query, 2 retransmissions
    b4, silent = f"{pair.B4}:53", f"{SILENT4}:53"
    # serve's --timeout is 5 s.
    assert serve.wait_value("netlens_dns_timeouts_total", 1, timeout=12, server=silent) == 1
    page, counts = serve.metrics(), wire.read()
    assert counts == {"sent": 9, "NOERROR": 3, "SERVFAIL": 0, "NXDOMAIN": 2, "REFUSED": 1}
    want = {("netlens_dns_queries_total", b4, "qtype", "A"): 6,
            ("netlens_dns_responses_total", b4, "rcode", "NOERROR"): counts["NOERROR"],
            ("netlens_dns_responses_total", b4, "rcode", "NXDOMAIN"): counts["NXDOMAIN"],
            ("netlens_dns_responses_total", b4, "rcode", "REFUSED"): counts["REFUSED"],
            ("netlens_dns_queries_total", silent, "qtype", "A"): 1}
    for (name, server, k, v), n in want.items():
        assert serve.value(name, page, server=server, **{k: v}) == n, (name, server, v, page)
    assert serve.value("netlens_dns_timeouts_total", page, server=b4) == 0
    assert serve.value("netlens_dns_retransmits_total", page, server=silent) == 2
    assert serve.value("netlens_dns_retransmits_total", page, server=b4) == 0
    assert serve.value("netlens_dns_latency_seconds_count", page, server=b4) == 6
    # 6 datagrams sent to b4, 3 to the silent one: queries + retransmissions.
    assert 6 + 1 + 2 == counts["sent"]

    page = folded.metrics()
    assert folded.value("netlens_dns_queries_total", page, server=b4, qtype="A") == 6
    assert folded.value("netlens_dns_queries_total", page, server="other", qtype="A") == 1
    assert folded.value("netlens_dns_retransmits_total", page, server="other") == 2
    assert folded.value("netlens_series_folded", page,
                        family="netlens_dns_queries_total") == 1
    assert "server=\"" + silent not in page, page


def stage_dead_dns_upstream(pair, queries=6):
    """Staged incident: a DNS server address that drops every query (nftables in pair.b).
    Each of `queries` queries is sent twice from its own socket in pair.a (one
    retransmission each). Call with netlens running, then wait past its --timeout.
    Returns the kernel's counts: the server, datagrams sent (nftables in pair.a) and
    dropped (nftables in pair.b)."""
    drop_dns(pair.b)
    wire = DnsCounters(pair.a)
    for i in range(queries):
        resend(pair, pair.B4, f"dead{i}.{ZONE}", copies=2, gap=0.05, msg_id=100 + i)
    return {"server": f"{pair.B4}:53", "netns": pair.netns_a, "queries": queries,
            "sent": wire.read()["sent"], "dropped": dns_dropped(pair.b)}


def stage_failing_dns_server(pair, rcode, queries=5):
    """Staged incident: a server in pair.b answering `queries` queries from pair.a with
    rcode: SERVFAIL (a server that answers only that), REFUSED (dnsmasq without an
    upstream, for a name outside its zone) or NXDOMAIN (dnsmasq, a name its zone lacks).
    Call with netlens running. Returns the kernel's counts: datagrams sent and answers
    with that rcode received (nftables in pair.a), the server, the name."""
    if rcode == "SERVFAIL":
        RcodeServer(pair, RCODES[rcode])
        qname = f"fail.{ZONE}"
    else:
        Resolver(pair)
        qname = {"REFUSED": "outside.example", "NXDOMAIN": f"nothere.{ZONE}"}[rcode]
    wire = DnsCounters(pair.a)   # after dnsmasq's own readiness queries
    assert query_burst(pair, pair.B4, [qname] * queries) == queries
    counts = wire.read()
    return {"server": f"{pair.B4}:53", "netns": pair.netns_a, "qname": qname, "rcode": rcode,
            "sent": counts["sent"], "answers": counts[rcode]}


def test_stage_dead_dns_upstream_counts():
    """The staged dead upstream: netlens' timeouts and retransmissions are nftables'."""
    pair = Pair()
    nl = Netlens("--timeout", "1", "--netns", pair.a, command="dns")
    k = stage_dead_dns_upstream(pair)
    time.sleep(1.5)
    st = stats_of(nl.stop())
    assert (k["sent"], k["dropped"]) == (12, 12), k
    row = one(st["servers"], server=k["server"])
    assert (row["queries"], row["retransmits"], row["rcodes"], row["pending"]) == \
        (6, k["sent"] - 6, {"TIMEOUT": 6}, 0), row


def test_stage_failing_dns_server_counts():
    """The staged failing servers: netlens' answers by rcode are nftables'."""
    for rcode in ("SERVFAIL", "REFUSED", "NXDOMAIN"):
        pair = Pair()
        nl = Netlens("--netns", pair.a, command="dns")
        k = stage_failing_dns_server(pair, rcode)
        recs = nl.stop()
        assert (k["sent"], k["answers"]) == (5, 5), k
        st = stats_of(recs)
        name = one(st["qnames"], qname=k["qname"])
        assert (name["queries"], name["rcodes"]) == (k["sent"], {rcode: k["answers"]}), name
        assert one(st["servers"], server=k["server"])["rcodes"][rcode] == k["answers"], st
        assert len(find(recs, type="dns", qname=k["qname"], rcode=rcode)) == k["answers"]
        nltest.cleanup()


# Malformed messages, one per parse error kind. qname "x" is 01 78 00.
QUESTION = b"\x01x\x00\x00\x01\x00\x01"
MALFORMED = {
    "short_header": b"\x12\x34\x01",
    "bad_counts": header(qd=1, an=200) + QUESTION,                # 200 records in 0 bytes
    "truncated": header() + b"\x05ab",                            # label runs past the end
    "pointer_loop": header() + b"\xc0\x0c",                       # name points at itself
    "pointer_bounds": header() + b"\xc0\xff",                     # pointer past the message
    "label_type": header() + b"\x41x\x00\x00\x01\x00\x01",        # 0x40 label type
    "bad_rdata": header(an=1, flags=0x8180) + QUESTION +          # A with 3 bytes of rdata
                 b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x03\x0a\x00\x00",
}


def test_malformed_counted_then_valid_reported():
    pair = Pair()
    Resolver(pair)
    nl = Netlens("--netns", pair.a, command="dns")
    # To a host that does not exist: each datagram is seen once, leaving the client.
    send_udp(pair, SILENT4, 53, MALFORMED.values())
    pid, msg_id, _ = dig(pair, pair.B4, f"b.{ZONE}", "A")
    recs = nl.stop()
    errors = stats_of(recs)["parse_errors"]
    for kind in MALFORMED:
        assert errors[kind] == 1, (kind, errors)
    assert sum(errors.values()) == len(MALFORMED), errors
    rec = one(recs, type="dns", qname=f"b.{ZONE}")
    check_client_record(rec, pair, 4, pid, msg_id)
    assert rec["answers"][0]["data"] == B_ADDR, rec


def test_filter_netns_client_side_only():
    pair = Pair()
    Resolver(pair)
    nl = Netlens("--netns", pair.a, command="dns")
    pid, msg_id, _ = dig(pair, pair.B4, f"a.{ZONE}", "A")
    recs = nl.stop()
    rec = one(recs, type="dns", qname=f"a.{ZONE}")
    check_client_record(rec, pair, 4, pid, msg_id)
    st = stats_of(recs)
    # Only the client's socket: the query leaving, the answer arriving.
    assert (st["messages"], st["queries"], st["responses"]) == (2, 1, 1), st


def test_client_side_by_default_server_side_on_request():
    pair = Pair()
    Resolver(pair)
    # The server's namespace: its socket only takes queries and sends answers.
    server_ns = Netlens("--netns", pair.b, command="dns")
    server_ns_both = Netlens("--server-side", "--netns", pair.b, command="dns")
    both = Netlens("--server-side", command="dns")
    pid, msg_id, _ = dig(pair, pair.B4, f"a.{ZONE}", "A")

    recs = server_ns.stop()
    assert not [r for r in recs if r["type"] == "dns"], recs
    st = stats_of(recs)
    assert (st["messages"], st["queries"], st["responses"]) == (0, 0, 0), st

    # --server-side: the query reaching dnsmasq, its answer leaving.
    recs = server_ns_both.stop()
    rec = one(recs, type="dns", qname=f"a.{ZONE}")
    assert (rec["pid"], rec["comm"], rec["netns"], rec["id"]) == (0, "", pair.netns_b, msg_id), rec
    assert (rec["saddr"], rec["daddr"], rec["dport"], rec["rcode"]) == \
        (pair.A4, pair.B4, 53, "NOERROR"), rec
    st = stats_of(recs)
    assert (st["messages"], st["queries"], st["responses"]) == (2, 1, 1), st

    # Both sides of one query: one record, the client's view.
    recs = both.stop()
    check_client_record(one(recs, type="dns", qname=f"a.{ZONE}"), pair, 4, pid, msg_id)
    assert one(stats_of(recs)["servers"], server=f"{pair.B4}:53")["queries"] == 1



def test_filters_comm_cgroup_family():
    pair = Pair()
    Resolver(pair)
    cg = Cgroup("dns")
    by_comm = Netlens("-c", "dig", command="dns")
    by_other_comm = Netlens("-c", "nosuchcomm", command="dns")
    by_cgroup = Netlens("--cgroup", cg.path, command="dns")
    v6_only = Netlens("-6", command="dns")
    pid_in, id_in, _ = dig(pair, pair.B4, f"a.{ZONE}", "A", prefix=cg.join)
    pid_out, id_out, _ = dig(pair, pair.B6, f"b.{ZONE}", "A")

    recs = [r for r in by_comm.stop() if r["type"] == "dns"]
    assert sorted((r["pid"], r["id"]) for r in recs) == sorted([(pid_in, id_in),
                                                               (pid_out, id_out)]), recs
    assert not [r for r in by_other_comm.stop() if r["type"] == "dns"]
    recs = [r for r in by_cgroup.stop() if r["type"] == "dns"]
    assert [(r["pid"], r["qname"]) for r in recs] == [(pid_in, f"a.{ZONE}")], recs
    assert recs[0]["cgroup_id"] == cg.id, recs
    recs = [r for r in v6_only.stop() if r["type"] == "dns"]
    assert [(r["pid"], r["family"]) for r in recs] == [(pid_out, 6)], recs


class NetlensIn(Netlens):
    """netlens dns run inside a namespace (for -i on that namespace's interface)."""

    def __init__(self, ns, *args):
        self.argv = ["ip", "netns", "exec", ns, NETLENS, "dns", "-o", "json"] + list(args)
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        defer(self._kill)
        self._wait_attached()


def clsact(pair):
    return "clsact" in sh("tc", "qdisc", "show", "dev", "nltb", ns=pair.b)


def test_interface_server_view_and_clean_detach():
    pair = Pair()
    Resolver(pair)
    nl = NetlensIn(pair.b, "-i", "nltb")
    # TCX links (Linux 6.6+): no clsact qdisc is needed, none is added.
    assert "tc ingress+egress on nltb (TCX links)" in nl.attached, nl.attached
    assert not clsact(pair)
    pid, msg_id, _ = dig(pair, pair.B4, f"a.{ZONE}", "A")
    recs = nl.stop()
    rec = one(recs, type="dns", qname=f"a.{ZONE}")
    # Seen on the server's interface: the query came in, the answer went out.
    assert rec["id"] == msg_id and rec["netns"] == pair.netns_b, rec
    assert (rec["saddr"], rec["daddr"], rec["rcode"]) == (pair.A4, pair.B4, "NOERROR"), rec
    # Under `ip netns exec` netlens mounts cgroup v2 itself, so the owner hooks
    # attach and the querying process is known (it was pid 0 before).
    assert rec["pid"] == pid and rec["answers"][0]["data"] == A_ADDR, rec
    assert not clsact(pair), "a clsact qdisc was left behind"

    # A clsact qdisc that was there before stays, with its own filter.
    sh("tc", "qdisc", "add", "dev", "nltb", "clsact", ns=pair.b)
    sh("tc", "filter", "add", "dev", "nltb", "ingress", "pref", "7", "protocol", "all",
       "u32", "match", "u32", "0", "0", "classid", "1:1", ns=pair.b)
    nl = NetlensIn(pair.b, "-i", "nltb")
    dig(pair, pair.B4, f"b.{ZONE}", "A")
    one(nl.stop(sig=signal.SIGTERM), type="dns", qname=f"b.{ZONE}")
    assert clsact(pair)
    filters = sh("tc", "filter", "show", "dev", "nltb", "ingress", ns=pair.b)
    assert "u32" in filters and "bpf" not in filters, filters


def test_cgroup_links_removed_at_exit():
    def attached_ids():
        out = sh("bpftool", "-j", "cgroup", "show", cgroup2_root())
        return {p["id"] for p in json.loads(out.strip() or "[]") if p["name"].startswith("dns_")}

    before = attached_ids()
    nl = Netlens(command="dns")
    mine = attached_ids() - before
    assert len(mine) == 4, mine   # cgroup_skb x2, connect4/6 (sendmsg4/6 with -i only)
    nl.stop(sig=signal.SIGTERM, settle=0)
    assert not attached_ids() & mine


def test_bad_options_exit_2():
    for args in (["-i", "nosuchif0"], ["--timeout", "0"], ["--timeout", "x"],
                 ["--dns-port", "70000"], ["--top", "0"], ["-i", "lo", "--server-side"]):
        r = subprocess.run([NETLENS, "dns", *args, "-d", "3"], capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("netlens: "), (args, r.stderr)
    r = subprocess.run([NETLENS, "dns", "-i", "lo", "--cgroup", cgroup2_root(), "-d", "3"],
                       capture_output=True, text=True, timeout=20)
    assert "--cgroup does not apply with -i" in r.stderr, r.stderr
    r = subprocess.run([NETLENS, "dns", "-i", "lo", "--server-side", "-d", "3"],
                       capture_output=True, text=True, timeout=20)
    assert "--server-side does not apply with -i" in r.stderr, r.stderr


def test_ip_netns_exec_mounts_cgroup2():
    """`ip netns exec` remounts /sys and hides the cgroup v2 mount: dns mounts its own
    (in that command's private mount namespace) and sees the queries all the same."""
    pair = Pair()
    Resolver(pair)
    nl = Netlens("--netns", pair.a, command="dns", prefix=("ip", "netns", "exec", pair.a))
    assert "mounted by netlens" in nl.attached, nl.attached
    pid, msg_id, _ = dig(pair, pair.B4, f"a.{ZONE}", "A")
    recs = nl.stop()
    check_client_record(one(recs, type="dns", qname=f"a.{ZONE}"), pair, 4, pid, msg_id)
    # The mount was the command's own: none is left on the host.
    assert "/run/netlens/cgroup2" not in open("/proc/self/mounts").read()
