"""netlens serve: a real Prometheus scrapes it; metrics exact under traffic; HTTP robustness."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

from nltest import (NETLENS, Pair, Proc, Serve, connections, defer, free_port, http_get,
                    parse_metrics, sh)


class Prometheus:
    """Debian's prometheus on a free loopback port, scraping targets every 0.5 s."""

    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="nlt-prom-")
        defer(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n"
                    "scrape_configs:\n  - job_name: netlens\n    static_configs:\n"
                    f"      - targets: {json.dumps(targets)}\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.p = Proc(["prometheus", f"--config.file={cfg}",
                       f"--storage.tsdb.path={self.dir}/data",
                       f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"])
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if http_get(self.url + "/-/ready", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus did not become ready")

    def query(self, expr):
        """The value of an instant vector query with one series (None if empty)."""
        code, body = http_get(self.url + "/api/v1/query?" +
                              urllib.parse.urlencode({"query": expr}))
        assert code == 200, body
        result = json.loads(body)["data"]["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def scraped_since(self, t0, target_up=True):
        """Waits for a scrape that started after t0 (time.time())."""
        deadline = time.time() + 15
        while time.time() < deadline:
            code, body = http_get(self.url + "/api/v1/targets")
            active = json.loads(body)["data"]["activeTargets"]
            if active and all(a["health"] == "up" for a in active) == target_up:
                last = min(a["lastScrape"] for a in active)
                # RFC 3339 with nanoseconds: compare as epoch seconds.
                secs = time.mktime(time.strptime(last[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                if secs > t0 + 1:
                    return
            time.sleep(0.2)
        raise AssertionError("no scrape after the traffic")


def test_prometheus_counts_exactly_k_connections():
    pair = Pair()
    port, k = 7301, 7
    serve = Serve("--enable", "conns", "-P", port)
    prom = Prometheus([f"127.0.0.1:{serve.port}"])
    series = f'netlens_tcp_connections_total{{direction="outbound",daddr="{Pair.B4}",dport="{port}"}}'
    sent = f'netlens_tcp_sent_bytes_total{{direction="outbound",daddr="{Pair.B4}",dport="{port}"}}'
    # One connection first, so the series exists before the K.
    connections(pair, port, 1)
    serve.wait_value("netlens_tcp_connections_total", 1, direction="outbound", daddr=Pair.B4,
                     dport=port)
    prom.scraped_since(time.time())
    before, sent_before = prom.query(series), prom.query(sent)
    assert (before, sent_before) == (1, 1000), (before, sent_before)
    connections(pair, port, k, send=3000)
    serve.wait_value("netlens_tcp_connections_total", 1 + k, direction="outbound",
                     daddr=Pair.B4, dport=port)
    prom.scraped_since(time.time())
    assert prom.query(series) - before == k
    assert prom.query(sent) - sent_before == k * 3000
    inbound = f'netlens_tcp_connections_total{{direction="inbound",daddr="{Pair.B4}",dport="{port}"}}'
    assert prom.query(inbound) == 1 + k
    assert prom.query('netlens_module_up{module="conns"}') == 1
    assert prom.query('netlens_events_lost_total{module="conns"}') == 0
    serve.stop()


def test_promtool_check_metrics_under_traffic():
    """Every module at once in the server's namespace (flows on its veth), with traffic."""
    pair = Pair()
    port = 7302
    serve = Serve("--interval", 1, "-i", "nltb", ns=pair.b)
    assert "7 of 7 modules attached" in serve.started, serve.started
    connections(pair, port, 3, send=20000)
    sh("python3", "-c", "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
       f"[s.sendto(b'x', ('{Pair.B4}', 7399)) for _ in range(5)]", ns=pair.a)
    time.sleep(2.5)   # a collection (--interval 1) and a new page
    page = serve.metrics()
    check = subprocess.run(["promtool", "check", "metrics"], input=page, text=True,
                           capture_output=True)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), \
        (check.stdout, check.stderr)
    m = parse_metrics(page)
    names = {name for name, _ in m}
    for family in ("netlens_tcp_connections_total", "netlens_build_info",
                   "netlens_bpf_program_runs_total", "process_resident_memory_bytes",
                   "process_cpu_seconds_total", "netlens_events_lost_total"):
        assert family in names, family
    for module in ("conns", "latency", "retrans", "drops", "flows", "dns", "block"):
        assert m[("netlens_module_up", frozenset({("module", module)}))] == 1, module
    # bpf_stats is on while serving: the TCP core's state program (conns,
    # latency and retrans share it, labelled module="tcp") ran for these connections.
    runs = [v for (name, labels), v in m.items()
            if name == "netlens_bpf_program_runs_total" and ("module", "tcp") in labels]
    assert sum(runs) > 0, runs
    serve.stop()


def test_concurrent_scrapes_lose_nothing():
    pair = Pair()
    port, k, clients, seconds = 7303, 20, 16, 4
    serve = Serve("--enable", "conns", "-P", port)
    answers, failures = [], []
    stop = threading.Event()

    def scrape():
        while not stop.is_set():
            try:
                code, body = http_get(serve.url + "/metrics", timeout=5)
                answers.append(code)
                if code != 200 or "netlens_build_info" not in body:
                    failures.append(code)
            except OSError as e:
                failures.append(repr(e))

    threads = [threading.Thread(target=scrape) for _ in range(clients)]
    for t in threads:
        t.start()
    t0 = time.time()
    connections(pair, port, k)
    time.sleep(max(0, seconds - (time.time() - t0)))
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
    assert len(answers) >= clients * 4, len(answers)
    v = serve.wait_value("netlens_tcp_connections_total", k, direction="outbound",
                         daddr=Pair.B4, dport=port)
    assert v == k, v
    time.sleep(1.2)   # the page is at most a second old
    page = serve.metrics()
    assert serve.value("netlens_events_lost_total", page, module="conns") == 0
    assert serve.value("netlens_scrapes_total", page, code=200) >= len(answers)
    serve.stop()


def raw_request(port, data, wait=5):
    """Sends raw bytes to the agent and returns what it answered (b'' if it just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def test_bad_http_requests_get_errors_and_agent_carries_on():
    serve = Serve("--enable", "conns")
    assert serve.get("/nothing")[0] == 404
    assert serve.get("/metrics/../etc")[0] in (400, 404)
    r = raw_request(serve.port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                    b"Connection: close\r\n\r\nabc")
    assert r.startswith(b"HTTP/1.1 405"), r[:80]
    huge = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"
    r = raw_request(serve.port, huge)
    assert r == b"" or r.startswith(b"HTTP/1.1 431") or r.startswith(b"HTTP/1.1 413"), r[:80]
    assert raw_request(serve.port, b"NOT HTTP AT ALL\r\n\r\n").split(b" ")[1:2] in ([b"400"], [])
    # A slow client holding a half-sent request does not stall anybody else.
    slow = socket.create_connection(("127.0.0.1", serve.port))
    slow.sendall(b"GET /metr")
    t0 = time.time()
    for _ in range(5):
        assert serve.get("/metrics", timeout=2)[0] == 200
    assert time.time() - t0 < 3
    slow.close()
    code, body = serve.get("/healthz")
    assert (code, body) == (200, "conns: attached\n"), (code, body)
    serve.stop()


def held_by_serve(port):
    """(established connections to port, connections waiting in its accept queue)."""
    est = sh("ss", "-Htn", "state", "established", f"( sport = :{port} )")
    listen = sh("ss", "-Hltn", f"( sport = :{port} )").split()
    return len(est.splitlines()), int(listen[1])


def test_scrapes_answered_within_1s_while_500_slow_and_idle_clients_hold_connections():
    serve = Serve("--enable", "conns")
    idle, slow = [], []
    for i in range(500):
        s = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
        (idle if i % 2 else slow).append(s)
    for s in slow:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    stop = threading.Event()

    def trickle():   # a header line every 2 s on each slow connection
        n = 0
        while not stop.wait(2):
            for s in slow:
                s.sendall(b"X-Slow-%d: 1\r\n" % n)
            n += 1

    t = threading.Thread(target=trickle)
    t.start()
    try:
        time.sleep(2.5)   # past the first trickle
        assert held_by_serve(serve.port) == (500, 0)
        times = []
        for _ in range(5):
            t0 = time.time()
            code, body = serve.get("/metrics", timeout=5)
            times.append(time.time() - t0)
            assert code == 200 and "netlens_build_info" in body, code
            time.sleep(0.5)
        assert max(times) < 1, times
        assert held_by_serve(serve.port) == (500, 0)
    finally:
        stop.set()
        t.join()
    # The slow requests end: each is answered in full.
    for s in slow:
        s.sendall(b"Connection: close\r\n\r\n")
    for s in slow:
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and b"netlens_build_info" in data, data[:80]
        s.close()
    for s in idle:
        s.close()
    time.sleep(1.2)   # the page is at most a second old
    assert serve.value("netlens_scrapes_total", code=200) == 5 + len(slow)
    serve.stop()


def test_healthz_503_when_a_module_cannot_attach():
    pair = Pair()
    # Another XDP program already on the interface: serve's flows refuses to replace it.
    other = Proc(["ip", "netns", "exec", pair.b, NETLENS, "flows", "-i", "nltb", "--hook", "xdp",
                  "-o", "json"])
    deadline = time.time() + 15
    while "xdp" not in sh("ip", "link", "show", "nltb", ns=pair.b) and time.time() < deadline:
        time.sleep(0.1)
    serve = Serve("--enable", "conns,flows", "-i", "nltb", "--flows-hook", "xdp", ns=pair.b)
    assert "1 of 2 modules attached" in serve.started, serve.started
    assert any("flows:" in e for e in serve.errors), serve.errors
    code, body = serve.get("/healthz")
    assert code == 503 and "conns: attached" in body and "flows: " in body, (code, body)
    assert serve.value("netlens_module_up", module="flows") == 0
    assert serve.value("netlens_module_up", module="conns") == 1
    serve.stop()
    other.kill()


def test_bad_options_exit_2_with_one_line():
    for args, want in ((["--listen", "nowhere"], "is not ADDR:PORT"),
                       (["--listen", "localhost:80"], "numeric"),
                       (["--enable", "conns,nope"], "unknown module 'nope'"),
                       (["--enable", "flows"], "flows needs -i"),
                       (["--max-series", "0"], "not a number"),
                       (["--ipfix", "127.0.0.1:4739"], "--ipfix exports flows")):
        r = subprocess.run([NETLENS, "serve"] + args, capture_output=True, text=True)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and want in r.stderr, (args, r.stderr)


def test_port_in_use_exits_1_before_loading():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run([NETLENS, "serve", "--listen", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.strip() == f"netlens: serve: cannot listen on 127.0.0.1 port {port}: " \
                               "Address already in use", r.stderr


def test_max_series_folds_the_rest_into_other():
    pair = Pair()
    ports = {7311: 4, 7312: 3, 7313: 2, 7314: 1}
    serve = Serve("--enable", "conns", "--max-series", 3,
                  *[a for p in ports for a in ("-P", p)])
    for port, count in ports.items():
        connections(pair, port, count)
    serve.wait_value("netlens_tcp_connections_total", 10, direction="other", daddr="other",
                     dport="other", timeout=3)
    time.sleep(1.2)
    page = parse_metrics(serve.metrics())
    series = {(dict(labels)["direction"], dict(labels)["dport"]): v
              for (name, labels), v in page.items() if name == "netlens_tcp_connections_total"}
    assert len(series) == 4 and ("other", "other") in series, series
    assert sum(series.values()) == 2 * sum(ports.values()), series
    # The busiest destination (both directions) is exported one by one, exactly.
    for direction in ("outbound", "inbound"):
        assert page[("netlens_tcp_connections_total", frozenset(
            {("direction", direction), ("daddr", Pair.B4), ("dport", "7311")}))] == 4
    assert page[("netlens_series_folded",
                 frozenset({("family", "netlens_tcp_connections_total")}))] == 5
    serve.stop()
