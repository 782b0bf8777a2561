"""netlens http: nginx, curl, redis and small servers between namespaces; exact counts
checked against nginx's access log, curl's own report and redis' INFO commandstats."""
import os
import shutil
import subprocess
import tempfile
import time

from nltest import (NETLENS, Cgroup, Netlens, Pair, Proc, Serve, defer, find, one, parse_metrics,
                    sh)

HTTP_PEER = os.path.join(os.path.dirname(__file__), "http_peer.py")
LOG_FORMAT = "$request_method $request_uri $status $request_length $bytes_sent $connection"

NGINX_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
daemon off;
events {{ worker_connections 64; }}
http {{
    log_format t '{fmt}';
    access_log {d}/access.log t;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    sendfile on;
    server {{
        listen {addr}:8080;
        listen {addr}:8443 ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        root {d}/www;
        location = /unavail {{ return 503; }}
        location = /nc {{ return 204; }}
        location = /k {{ return 200 "k"; }}
    }}
}}
"""


def nsenter(ns):
    return ["nsenter", f"--net=/run/netns/{ns}"]


def nginx(pair):
    """nginx in namespace b on 8080 (HTTP) and 8443 (HTTPS, a certificate made here)."""
    d = tempfile.mkdtemp(prefix="nlt-nginx-")
    defer(lambda: sh("rm", "-rf", d))
    os.chmod(d, 0o755)   # the worker runs as www-data
    os.mkdir(f"{d}/www")
    with open(f"{d}/www/index.html", "w") as f:
        f.write("hello\n" * 100)
    with open(f"{d}/www/big.bin", "wb") as f:
        f.write(os.urandom(300000))
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=nlt", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem")
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(NGINX_CONF.format(d=d, fmt=LOG_FORMAT, addr=pair.B4))
    master = Proc(nsenter(pair.b) + ["nginx", "-c", f"{d}/nginx.conf"])
    # SIGTERM before Proc's SIGKILL: a master killed outright leaves its worker running.
    defer(lambda: master.p.poll() is None and (master.p.terminate(), master.p.wait(10)))
    deadline = time.time() + 10
    while not os.path.exists(f"{d}/nginx.pid"):
        assert time.time() < deadline, "nginx did not start"
        time.sleep(0.05)
    time.sleep(0.2)
    return d


def access_log(d):
    """[(method, path, status, request_length, bytes_sent, connection)] as nginx wrote them
    (the path: the request's target without its query)."""
    with open(f"{d}/access.log") as f:
        return [(m, u.split("?")[0], int(s), int(rl), int(bs), int(c))
                for m, u, s, rl, bs, c in (ln.split() for ln in f)]


def curl(pair, urls, *args, prefix=()):
    """One curl, several URLs (one keep-alive connection); [(status, sent, received)] per URL."""
    argv = list(prefix) + nsenter(pair.a) + ["curl", "-s", "-k", "-w",
                              "%{http_code} %{size_request} %{size_header} %{size_download} "
                              "%{num_connects}\n", *args]
    for u in urls:
        argv += ["-o", "/dev/null", u]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rows = [tuple(map(int, ln.split())) for ln in out.splitlines()]
    assert sum(r[4] for r in rows) == 1, f"curl used more than one connection: {rows}"
    return [(code, req, hdr + body) for code, req, hdr, body, _ in rows]


PATHS = ["/index.html", "/big.bin", "/missing", "/unavail", "/index.html?x=1&y=2", "/"]


def check_nginx_exchange(pair, port, scheme, tls):
    d = nginx(pair)
    nl = Netlens("-P", port, command="http")
    urls = [f"{scheme}://{pair.B4}:{port}{p}" for p in PATHS]
    seen_by_curl = curl(pair, urls)
    assert [c[0] for c in seen_by_curl] == [200, 200, 404, 503, 200, 200], seen_by_curl
    recs = nl.stop()
    reqs = find(recs, type="request")
    log = access_log(d)

    # The server side: exactly nginx's own lines, field by field.
    server = find(reqs, side="server")
    assert len(server) == len(log) == len(PATHS), (server, log)
    assert sorted((r["method"], r["path"], r["status"], r["request_bytes"], r["response_bytes"])
                  for r in server) == sorted((m, u, s, rl, bs) for m, u, s, rl, bs, _ in log)
    # The client side: exactly what curl counted, in order.
    client = find(reqs, side="client")
    assert [(r["status"], r["request_bytes"], r["response_bytes"]) for r in client] == \
        seen_by_curl, (client, seen_by_curl)
    assert [r["path"] for r in client] == [p.split("?")[0] for p in PATHS]
    # The client's interval (its write to its read) holds the server's (its read to its write).
    for c, s in zip(client, server):
        assert c["path"] == s["path"] and c["duration_us"] >= s["duration_us"], (c, s)
    for r in reqs:
        assert r["tls"] is tls and r["proto"] == "http" and r["method"] == "GET", r
        assert r["host"] == f"{pair.B4}:{port}" and r["error"] is None, r
        assert r["duration_us"] is not None and r["duration_us"] < 1000000, r
        assert r["dport"] == port if r["side"] == "client" else r["sport"] == port, r
    assert {r["comm"] for r in server} == {"nginx"} and {r["comm"] for r in client} == {"curl"}
    assert {r["netns"] for r in server} == {pair.netns_b}
    assert {r["netns"] for r in client} == {pair.netns_a}
    # One connection on each side: the same tuple for every request.
    assert len({(r["sport"], r["dport"]) for r in client}) == 1
    # The summary: per side, 4 rows (2xx for 3 requests, 4xx, 5xx), errors only for the 503.
    sums = find(recs, type="http_summary", side="client")
    assert {(s["status_class"], s["requests"], s["errors"]) for s in sums} == \
        {("2xx", 4, 0), ("4xx", 1, 0), ("5xx", 1, 1)}, sums
    stats = one(recs, type="stats")
    assert stats["lost"] == 0 and stats["unparsed"] == 0 and stats["unmatched"] == 0, stats
    return recs


def test_nginx_plaintext_keepalive():
    """Six requests on one keep-alive connection: 200s (one sent by sendfile), 404, 503."""
    check_nginx_exchange(Pair(), 8080, "http", False)


def test_nginx_tls():
    """The same over HTTPS: OpenSSL's plaintext through the uprobes, tls true, same fields."""
    recs = check_nginx_exchange(Pair(), 8443, "https", True)
    assert one(recs, type="stats")["tls_libraries"] >= 1


def libssl_of(program):
    """The libssl.so.3 a program loads, as ldd says."""
    for ln in sh("ldd", program).splitlines():
        if ln.split()[0] == "libssl.so.3":
            return ln.split()[2]
    raise AssertionError(f"{program} does not load libssl.so.3")


def test_tls_library_of_another_shape():
    """curl on a copy of libssl whose SSL_read_ex begins with add $-8,%rsp (the same effect as
    its sub $8,%rsp): the copy's code has not the shape that points to ssl_read_internal, so
    netlens probes its four exported functions; nginx on the system's copy, probed inside.
    Both sides exact, tls true."""
    pair = Pair()
    d = nginx(pair)
    lib = libssl_of(shutil.which("curl"))
    libdir = tempfile.mkdtemp(prefix="nlt-libssl-")
    defer(lambda: sh("rm", "-rf", libdir))
    copy = os.path.join(libdir, "libssl.so.3")
    shutil.copy(lib, copy)
    addr = next(ln.split()[0] for ln in sh("nm", "-D", "--defined-only", lib).splitlines()
                if ln.split()[-1].split("@")[0] == "SSL_read_ex")
    head = sh("objdump", "-F", "-d", f"--start-address=0x{addr}", lib)
    off = int(head.split("(File Offset: ")[1].split(")")[0], 16)
    with open(copy, "r+b") as f:
        f.seek(off)
        assert f.read(4) == bytes.fromhex("4883ec08"), "SSL_read_ex: not sub $8,%rsp"
        f.seek(off)
        f.write(bytes.fromhex("4883c4f8"))
    assert f"libssl.so.3 => {copy} " in sh("env", f"LD_LIBRARY_PATH={libdir}", "ldd",
                                           shutil.which("curl"))
    # A process that maps the copy before netlens starts: its start scan finds it.
    Proc(["env", f"LD_PRELOAD={copy}", "sleep", "60"])
    time.sleep(0.3)
    nl = Netlens("-P", 8443, command="http")
    n = int(nl.attached.split("OpenSSL 3 in ")[1].split()[0])
    assert f"in {n} libssl.so.3 files, {n - 1} at ssl_read_internal" in nl.attached, nl.attached
    urls = [f"https://{pair.B4}:8443{p}" for p in PATHS]
    seen_by_curl = curl(pair, urls, prefix=["env", f"LD_LIBRARY_PATH={libdir}"])
    reqs = find(nl.stop(), type="request")
    log = access_log(d)
    client, server = find(reqs, side="client"), find(reqs, side="server")
    assert [(r["status"], r["request_bytes"], r["response_bytes"]) for r in client] == \
        seen_by_curl, (client, seen_by_curl)
    assert [(r["method"], r["path"], r["status"], r["request_bytes"], r["response_bytes"])
            for r in server] == [(m, u, s, rl, bs) for m, u, s, rl, bs, _ in log], (server, log)
    assert all(r["tls"] is True for r in reqs), reqs


def test_full_path_keeps_the_query():
    pair = Pair()
    nginx(pair)
    nl = Netlens("-P", 8080, "--full-path", command="http")
    curl(pair, [f"http://{pair.B4}:8080/index.html?x=1&y=2"])
    recs = nl.stop()
    assert {r["path"] for r in find(recs, type="request")} == {"/index.html?x=1&y=2"}


def test_filters_keep_one_exclude_one():
    """-c curl keeps the client side only; -P 8443 leaves out the plaintext port."""
    pair = Pair()
    nginx(pair)
    nl = Netlens("-c", "curl", "-P", 8443, command="http")
    curl(pair, [f"http://{pair.B4}:8080/index.html"])
    curl(pair, [f"https://{pair.B4}:8443/index.html"])
    recs = find(nl.stop(), type="request")
    assert [(r["side"], r["dport"], r["tls"]) for r in recs] == [("client", 8443, True)], recs


def peer(ns, *args):
    p = Proc(nsenter(ns) + ["python3", HTTP_PEER] + [str(a) for a in args])
    assert p.line() == "READY"
    return p


def test_duration_of_a_slow_server():
    """Five requests answered after 200 ms each: durations within [200, 300) ms on both sides."""
    pair = Pair()
    srv = peer(pair.b, "slow", pair.B4, 8090, 0.2)
    nl = Netlens("-P", 8090, command="http")
    curl(pair, [f"http://{pair.B4}:8090/s{i}" for i in range(5)])
    assert srv.line() == "DONE"
    recs = find(nl.stop(), type="request")
    assert len(recs) == 10, recs
    for r in recs:
        assert r["status"] == 200 and 200000 <= r["duration_us"] < 300000, r
    assert [r["path"] for r in find(recs, side="client")] == [f"/s{i}" for i in range(5)]


def test_chunked_5mb_response():
    """A 5 MB chunked body read in many pieces: one exchange, its exact size."""
    pair = Pair()
    size = 5 * 1024 * 1024
    srv = peer(pair.b, "chunked", pair.B4, 8091, size)
    nl = Netlens("-P", 8091, command="http")
    (status, _, received), = curl(pair, [f"http://{pair.B4}:8091/big"])
    sent = int(srv.line().split()[1])
    assert srv.line() == "DONE"
    recs = find(nl.stop(), type="request")
    c, s = one(recs, side="client"), one(recs, side="server")
    assert status == 200 and c["status"] == 200 and s["status"] == 200
    # curl counts the body decoded (without the chunks' framing): the wire has the framing.
    assert received < sent and c["response_bytes"] == sent == s["response_bytes"], (c, s, sent)


def test_reset_before_the_answer():
    """The server reads the request and resets: the client's record says reset, status null."""
    pair = Pair()
    srv = peer(pair.b, "reset", pair.B4, 8092)
    nl = Netlens("-P", 8092, command="http")
    r = subprocess.run(nsenter(pair.a) + ["curl", "-s", f"http://{pair.B4}:8092/r"])
    assert r.returncode == 56, r   # curl: failure receiving data (connection reset)
    assert srv.line() == "DONE"
    recs = find(nl.stop(), type="request")
    c, s = one(recs, side="client"), one(recs, side="server")
    assert c["status"] is None and c["error"] == "reset" and c["duration_us"] is None, c
    assert s["status"] is None and s["error"] == "closed", s
    assert c["path"] == s["path"] == "/r"


BINARY_CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
for _ in range(5):
    c.sendall(bytes.fromhex(sys.argv[3]) + b"\\x00\\x01\\x02" * 10)
    c.recv(64)
c.close()
"""


def test_non_http_stream_gives_no_record():
    """A binary protocol on port 80, and one that starts 'GET ' but is no HTTP: no record."""
    pair = Pair()
    nl = Netlens("-P", 80, command="http")
    for mode, first in (("binary", b"\x00\x02"), ("garbage", b"GET \x00")):
        srv = peer(pair.b, mode, pair.B4, 80)
        sh(*nsenter(pair.a), "python3", "-c", BINARY_CLIENT, pair.B4, "80", first.hex())
        assert srv.line() == "DONE"
    recs = nl.stop()
    assert find(recs, type="request") == [] and find(recs, type="http_summary") == [], recs
    # The GET-like stream: its 5 requests refused by the parser on both sides, and the
    # 5 answers to them left unmatched, all counted.
    stats = one(recs, type="stats")
    assert stats["unparsed"] == 10 and stats["unmatched"] == 10, stats


def test_redis():
    """SET, GET and an INCR of a string (an error reply), counted as redis-server counts them."""
    pair = Pair()
    Proc(nsenter(pair.b) + ["redis-server", "--port", "6390", "--bind", pair.B4, "--save", "",
                            "--appendonly", "no", "--protected-mode", "no"])
    cli = nsenter(pair.a) + ["redis-cli", "-h", pair.B4, "-p", "6390"]
    deadline = time.time() + 10
    while subprocess.run(cli + ["PING"], capture_output=True).returncode:
        assert time.time() < deadline, "redis-server did not start"
        time.sleep(0.1)
    nl = Netlens("-P", 6390, command="http")
    for cmd in (["SET", "k", "v"], ["GET", "k"], ["GET", "k"], ["INCR", "k"]):
        subprocess.run(cli + cmd, capture_output=True, check=True)
    recs = find(nl.stop(), type="request", proto="redis")
    stats = subprocess.run(cli + ["INFO", "commandstats"], capture_output=True, text=True).stdout
    calls = {ln.split(":")[0][8:].upper(): int(ln.split("calls=")[1].split(",")[0])
             for ln in stats.splitlines() if ln.startswith("cmdstat_")}
    for side in ("client", "server"):
        got = find(recs, side=side)
        assert {m: len(find(got, method=m)) for m in ("SET", "GET", "INCR")} == \
            {m: calls[m] for m in ("SET", "GET", "INCR")} == {"SET": 1, "GET": 2, "INCR": 1}, got
        incr = one(got, method="INCR")
        assert incr["error"].startswith("ERR value is not an integer"), incr
        assert all(r["status"] is None and r["duration_us"] is not None for r in got)
        assert [r["error"] for r in got if r["method"] != "INCR"] == [None] * 3


def test_without_syscall_tracepoints():
    """A kernel without the syscall tracepoints (their tracefs directory hidden by an empty
    one, in a mount namespace of the test's own): no owner for accepted sockets, which the
    filters read: one sentence, exit 1."""
    empty = tempfile.mkdtemp(prefix="nlt-empty-")
    defer(lambda: os.rmdir(empty))
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        f"mount --bind {empty} /sys/kernel/tracing/events/syscalls && "
                        f"exec {NETLENS} http -d 1"], capture_output=True, text=True)
    assert r.returncode == 1, r
    assert r.stderr.count("\n") == 1 and "syscalls:sys_exit_accept4" in r.stderr, r.stderr


def test_serve_metrics():
    """serve --enable http: requests per status class and a duration histogram, exact."""
    pair = Pair()
    nginx(pair)
    serve = Serve("--enable", "http")
    assert "1 of 1 modules attached" in serve.started, serve.started
    curl(pair, [f"http://{pair.B4}:8080{p}" for p in PATHS])
    want = {"2xx": 4, "4xx": 1, "5xx": 1}
    for side in ("client", "server"):
        for status, n in want.items():
            got = serve.wait_value("netlens_http_requests_total", n, side=side, method="GET",
                                   status=status, daddr=pair.B4, dport=8080)
            assert got == n, (side, status, got)
    page = parse_metrics(serve.metrics())
    count = page[("netlens_http_request_duration_seconds_count",
                  frozenset({"side": "client", "daddr": pair.B4, "dport": "8080",
                             "method": "GET"}.items()))]
    assert count == 6, count
    serve.stop()



def test_by_path_folds_beyond_max_paths():
    """--by path --max-paths 2: the first two paths kept, the requests on the others folded."""
    pair = Pair()
    nginx(pair)
    nl = Netlens("-P", 8080, "--by", "path", "--max-paths", "2", command="http")
    curl(pair, [f"http://{pair.B4}:8080{p}" for p in
                ("/index.html", "/index.html", "/big.bin", "/missing", "/unavail")])
    recs = nl.stop()
    for side in ("client", "server"):
        rows = {(s["path"], s["status_class"]): s["requests"]
                for s in find(recs, type="http_summary", side=side)}
        assert rows == {("/index.html", "2xx"): 2, ("/big.bin", "2xx"): 1,
                        ("(other)", "4xx"): 1, ("(other)", "5xx"): 1}, rows
    assert one(recs, type="stats")["paths_folded"] == 4   # /missing and /unavail, both sides


PIPELINE_CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
paths = sys.argv[4:]
reqs = [b"GET %s HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n" % p.encode() for p in paths]
for r in ([b"".join(reqs)] if sys.argv[3] == "one" else reqs):
    c.sendall(r)
got = b""
while got.count(b"HTTP/1.1 ") < len(paths):
    got += c.recv(65536)
c.close()
"""


def test_pipelined_requests():
    """Three requests in one send before any answer, then in three sends."""
    for sends in ("one", "three"):
        check_pipelined(sends)


def check_pipelined(sends):
    """Three requests before any answer: three exchanges on each side, in order.
    nginx writes each answer with its own call: its side equals nginx's access log field by
    field. The client reads them at once: an answer whose start lies past the first 256 bytes
    of what it read is 'unseen' (status null), never guessed."""
    pair = Pair()
    d = nginx(pair)
    nl = Netlens("-P", 8080, command="http")
    paths = ["/nc", "/k", "/missing"]
    sh(*nsenter(pair.a), "python3", "-c", PIPELINE_CLIENT, pair.B4, "8080", sends, *paths)
    recs = nl.stop()
    log = access_log(d)
    assert [(m, u, s) for m, u, s, _, _, _ in log] == [("GET", p, s) for p, s in
                                                        zip(paths, (204, 200, 404))], log
    assert len({c for *_, c in log}) == 1, log   # one connection: pipelined
    reqs = find(recs, type="request")
    server = find(reqs, side="server")
    assert [(r["method"], r["path"], r["status"], r["request_bytes"], r["response_bytes"])
            for r in server] == [(m, u, s, rl, bs) for m, u, s, rl, bs, _ in log], (server, log)
    assert all(r["error"] is None and r["duration_us"] is not None for r in server), server
    client = find(reqs, side="client")
    assert [(r["method"], r["path"], r["request_bytes"]) for r in client] == \
        [(m, u, rl) for m, u, _, rl, _, _ in log], (client, log)
    assert (client[0]["status"], client[0]["error"]) == (204, None), client
    for r, (_, _, status, _, sent, _) in zip(client[1:], log[1:]):
        assert (r["status"], r["error"]) in ((None, "unseen"), (status, None)), r
    assert one(recs, type="stats")["unparsed"] == 0


def test_cgroup_and_netns_filters_keep_one_exclude_one():
    """--cgroup keeps the curl started in the test's cgroup (not the one outside it, nor nginx);
    --netns nginx's namespace keeps the server side only."""
    pair = Pair()
    nginx(pair)
    cg = Cgroup("http")
    nl = Netlens("--cgroup", cg.path, "-P", 8080, command="http")
    curl(pair, [f"http://{pair.B4}:8080/index.html"], prefix=cg.join)
    curl(pair, [f"http://{pair.B4}:8080/missing"])
    recs = find(nl.stop(), type="request")
    assert [(r["side"], r["path"], r["cgroup_id"], r["status"]) for r in recs] == \
        [("client", "/index.html", cg.id, 200)], recs
    nl = Netlens("--netns", pair.b, "-P", 8080, command="http")
    curl(pair, [f"http://{pair.B4}:8080/missing"])
    recs = find(nl.stop(), type="request")
    assert [(r["side"], r["path"], r["netns"], r["status"]) for r in recs] == \
        [("server", "/missing", pair.netns_b, 404)], recs


PY_CLIENT = """
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]))
for p in sys.argv[3:]:
    c.request("GET", p)
    r = c.getresponse()
    print(r.status, len(r.read()), flush=True)
c.close()
"""


def test_python_client_keepalive():
    """http.client on one keep-alive connection, beside curl: both sides exactly nginx's log."""
    pair = Pair()
    d = nginx(pair)
    nl = Netlens("-P", 8080, command="http")
    out = subprocess.run(nsenter(pair.a) + ["python3", "-c", PY_CLIENT, pair.B4, "8080", *PATHS],
                         capture_output=True, text=True, check=True).stdout
    assert [int(ln.split()[0]) for ln in out.splitlines()] == [200, 200, 404, 503, 200, 200], out
    recs = nl.stop()
    log = access_log(d)
    assert len(log) == len(PATHS) and len({c for *_, c in log}) == 1, log
    reqs = find(recs, type="request")
    want = [(m, u, s, rl, bs) for m, u, s, rl, bs, _ in log]
    for side, comm in (("server", "nginx"), ("client", "python3")):
        got = find(reqs, side=side)
        assert [(r["method"], r["path"], r["status"], r["request_bytes"], r["response_bytes"])
                for r in got] == want, (side, got, log)
        assert {r["comm"] for r in got} == {comm} and all(r["error"] is None for r in got), got
        assert all(r["host"] == f"{pair.B4}:8080" and r["tls"] is False for r in got), got
    stats = one(recs, type="stats")
    assert stats["lost"] == 0 and stats["unparsed"] == 0 and stats["unmatched"] == 0, stats


SPLICE_CLIENT = """
import os, socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = b""
def answer():
    global buf
    while b"\\r\\n\\r\\n" not in buf:
        buf += c.recv(65536)
    head, buf = buf.split(b"\\r\\n\\r\\n", 1)
    size = int(head.lower().split(b"content-length: ")[1].split(b"\\r\\n")[0])
    while len(buf) < size:
        buf += c.recv(65536)
    buf = buf[size:]
for how, path in zip(sys.argv[3::2], sys.argv[4::2]):
    req = b"GET %s HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n" % path.encode()
    if how == "splice":
        r, w = os.pipe()
        os.write(w, req)
        assert os.splice(r, c.fileno(), len(req)) == len(req)
    else:
        c.sendall(req)
    answer()
c.close()
"""


def test_splice_send_is_counted_not_taken():
    """A request sent by splice(2) from a pipe: no system call names its bytes, so the client's
    side counts it without taking them (unparsed, its answer unmatched) and the exchanges
    around it stay exact; nginx's side reads it as usual."""
    pair = Pair()
    d = nginx(pair)
    nl = Netlens("-P", 8080, command="http")
    sh(*nsenter(pair.a), "python3", "-c", SPLICE_CLIENT, pair.B4, "8080",
       "send", "/index.html", "splice", "/missing", "send", "/k")
    recs = nl.stop()
    log = access_log(d)
    assert [(m, u, s) for m, u, s, *_ in log] == \
        [("GET", "/index.html", 200), ("GET", "/missing", 404), ("GET", "/k", 200)], log
    want = [(m, u, s, rl, bs) for m, u, s, rl, bs, _ in log]
    reqs = find(recs, type="request")
    fields = [(r["method"], r["path"], r["status"], r["request_bytes"], r["response_bytes"])
              for r in reqs if r["side"] == "server"]
    assert fields == want, (fields, log)
    fields = [(r["method"], r["path"], r["status"], r["request_bytes"], r["response_bytes"])
              for r in reqs if r["side"] == "client"]
    assert fields == [want[0], want[2]], (fields, log)
    stats = one(recs, type="stats")
    assert stats["unparsed"] == 1 and stats["unmatched"] == 1 and stats["lost"] == 0, stats
