"""The deployment files in deploy/: checked with the real tools (systemd-analyze,
promtool) and by running netlens serve the way each of them runs it.

The systemd unit and the DaemonSet are run, not only parsed: netlens serve
starts in a test namespace with exactly their capability bounding set,
no_new_privs and read-only /sys and root file system (what the unit's
Protect* settings and a non-privileged container give), and every module
must attach with nothing degraded.
"""
import json
import math
import os
import re
import select
import shutil
import subprocess
import tempfile
import time

import yaml

import dnsenv
import nltest

DEPLOY = os.path.join(nltest.ROOT, "deploy")
UNIT = os.path.join(DEPLOY, "systemd", "netlens.service")
DEFAULTS = os.path.join(DEPLOY, "systemd", "netlens.default")
DAEMONSET = os.path.join(DEPLOY, "kubernetes", "daemonset.yaml")
PROM = os.path.join(DEPLOY, "prometheus")
DASHBOARD = os.path.join(DEPLOY, "grafana", "netlens-dashboard.json")
PRIVILEGES = os.path.join(nltest.ROOT, "docs", "privileges.md")
PORT = 9787
MODULES_NO_FLOWS = ["conns", "latency", "retrans", "drops", "dns"]


def run(*argv, cwd=None):
    """Runs a command that must succeed; (stdout, stderr)."""
    r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, f"{' '.join(argv)}: exit {r.returncode}: {r.stdout}{r.stderr}"
    return r.stdout, r.stderr


def startup_capabilities():
    """The set docs/privileges.md says to grant at start, e.g. ["CAP_BPF", ...]."""
    with open(PRIVILEGES) as f:
        m = re.search(r"The set to grant at start: `([A-Z_ \n]+)`", f.read())
    assert m, "docs/privileges.md names no start-up set"
    return m.group(1).split()


def unit_settings():
    """{(section, key): [values]} of the unit file."""
    out, section = {}, None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            out.setdefault((section, key), []).append(value)
    return out


def daemonset_docs():
    with open(DAEMONSET) as f:
        return list(yaml.safe_load_all(f))


def agent_container():
    ds = [d for d in daemonset_docs() if d["kind"] == "DaemonSet"][0]
    return ds, ds["spec"]["template"]["spec"]["containers"][0]


# In a mount namespace of the agent's own: the directories in $WRITABLE stay
# writable (bind mounts of their own), the root file system and /sys with
# everything under it (cgroup, tracefs, BTF) become read-only.
CONFINE = """set -e
mount --make-rprivate /
for w in $WRITABLE; do mount --bind "$w" "$w"; done
for m in / $(findmnt -rn -o TARGET -R /sys); do mount -o remount,bind,ro "$m"; done
exec "$@"
"""


class Confined:
    """netlens serve in the client namespace of a Pair, with the capability
    bounding set caps, no_new_privs, and read-only / and /sys but for the
    writable directories."""

    def __init__(self, pair, caps, argv, writable=()):
        bounding = ",".join(["-all"] + ["+" + c.lower()[len("cap_"):] for c in caps])
        self.pair = pair
        self.p = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{pair.a}", "unshare", "--mount", "sh", "-c", CONFINE,
             "sh", "setpriv", "--no-new-privs", f"--bounding-set={bounding}", "--"] + argv,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, WRITABLE=" ".join(writable)))
        nltest.defer(self.stop)
        self.stderr = []
        deadline = time.time() + 20
        while select.select([self.p.stderr], [], [], max(0, deadline - time.time()))[0]:
            line = self.p.stderr.readline()
            if not line:
                raise AssertionError(f"serve exited {self.p.wait()}: {self.stderr}")
            self.stderr.append(line.rstrip("\n"))
            if "modules attached" in line:
                return
        raise AssertionError(f"serve did not start in time: {self.stderr}")

    def get(self, url):
        return nltest.http_get(url, ns=self.pair.a)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            _, err = self.p.communicate(timeout=20)
            self.stderr += err.splitlines()
            assert self.p.returncode == 0, f"serve exit {self.p.returncode}: {self.stderr}"


def assert_all_attached(agent, base, modules):
    code, body = agent.get(base + "/healthz")
    assert (code, body) == (200, "".join(f"{m}: attached\n" for m in modules)), (code, body)
    code, page = agent.get(base + "/metrics")
    assert code == 200, code
    samples = nltest.parse_metrics(page)
    for m in modules:
        assert samples[("netlens_module_up", frozenset({("module", m)}))] == 1, m
        # bpf_stats (CAP_SYS_ADMIN) is on: every module has run-time samples
        # (conns, latency and retrans under their shared TCP core's label).
        label = "tcp" if m in ("conns", "latency", "retrans") else m
        assert any(name == "netlens_bpf_program_run_seconds_total" and ("module", label) in labels
                   for name, labels in samples), f"no BPF run time for {m}"


def assert_runs_whole(pair, caps, argv, listen):
    """netlens serve run as argv, confined to caps, listening on listen:
    every default module attached, BPF statistics on, and nothing printed
    but the start line (no warning about kernel addresses or statistics)."""
    agent = Confined(pair, caps, argv)
    assert_all_attached(agent, f"http://{listen}", MODULES_NO_FLOWS)
    agent.stop()
    n = len(MODULES_NO_FLOWS)
    assert agent.stderr == [f"netlens serve: {n} of {n} modules attached; metrics on "
                            f"http://{listen}/metrics; Ctrl-C to stop"], agent.stderr


# -- systemd ---------------------------------------------------------------

def test_unit_settings():
    s = unit_settings()
    assert s[("Service", "ExecStart")] == ["/usr/local/sbin/netlens serve $NETLENS_OPTS"]
    assert s[("Service", "EnvironmentFile")] == ["-/etc/default/netlens"]
    assert s[("Service", "Restart")] == ["on-failure"]
    assert s[("Service", "CapabilityBoundingSet")][0].split() == startup_capabilities()
    assert s[("Service", "LogsDirectory")] == ["netlens"]
    assert s[("Service", "LimitMEMLOCK")] == ["infinity"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables",
                "ProtectControlGroups"):
        assert s[("Service", key)] == ["yes"], key
    assert s[("Service", "ProtectSystem")] == ["strict"]
    # It would take CAP_SYSLOG out of the bounding set.
    assert ("Service", "ProtectKernelLogs") not in s
    assert s[("Install", "WantedBy")] == ["multi-user.target"]


def test_unit_verifies():
    """systemd-analyze verify exits 0 even on unknown keys: its output must be empty."""
    with tempfile.TemporaryDirectory() as tmp:
        unit = os.path.join(tmp, "netlens.service")
        with open(UNIT) as f, open(unit, "w") as out:
            out.write(f.read().replace("/usr/local/sbin/netlens", nltest.NETLENS))
        out, err = run("systemd-analyze", "verify", unit)
        assert (out, err) == ("", ""), out + err
        # The check does catch a misspelt key.
        with open(unit, "a") as f:
            f.write("ProtectSystm=strict\n")
        _, err = run("systemd-analyze", "verify", unit)
        assert "Unknown key 'ProtectSystm'" in err, err


def test_unit_runs_serve_with_its_capabilities():
    """ExecStart with the shipped /etc/default/netlens, the unit's bounding set."""
    s = unit_settings()
    env = subprocess.run(["sh", "-c", f". {DEFAULTS}; printf %s \"$NETLENS_OPTS\""],
                         capture_output=True, text=True, check=True).stdout
    argv = s[("Service", "ExecStart")][0].replace("$NETLENS_OPTS", env).split()
    argv[0] = nltest.NETLENS
    assert_runs_whole(nltest.Pair(), s[("Service", "CapabilityBoundingSet")][0].split(), argv,
                      f"127.0.0.1:{PORT}")


def test_unit_events_file_in_its_logs_directory():
    """The shipped --events-file example under the unit's confinement: the
    logs directory (a fresh one standing for /var/log/netlens) is the only
    writable place, and every connection's record lands there."""
    with open(DEFAULTS) as f:
        opts = re.search(r'^#\s+NETLENS_OPTS="(--events-file /var/log/netlens/\S+)"', f.read(),
                         re.M).group(1)
    logs = tempfile.mkdtemp(prefix="nlt-logs-")
    nltest.defer(lambda: shutil.rmtree(logs))
    pair = nltest.Pair()
    argv = [nltest.NETLENS, "serve", "--enable", "conns"] + \
        opts.replace("/var/log/netlens", logs).split()
    agent = Confined(pair, unit_settings()[("Service", "CapabilityBoundingSet")][0].split(), argv,
                     writable=[logs])
    nltest.connections(pair, 8080, 3)
    agent.stop()
    assert os.listdir(logs) == [os.path.basename(argv[-1])]
    with open(argv[-1]) as f:
        records = [json.loads(line) for line in f]
    connects = [r for r in records if r["type"] == "connect" and r["netns"] == pair.netns_a]
    assert [(r["daddr"], r["dport"]) for r in connects] == [(pair.B4, 8080)] * 3, connects


def test_confinement_is_real():
    """Without CAP_SYS_ADMIN the same run loses its BPF statistics: the
    bounding set the tests above apply does bind."""
    caps = [c for c in startup_capabilities() if c != "CAP_SYS_ADMIN"]
    agent = Confined(nltest.Pair(), caps, [nltest.NETLENS, "serve", "--enable", "conns"])
    agent.stop()
    assert agent.stderr[0] == ("netlens serve: bpf_stats unavailable (Operation not permitted): "
                               "no per-program run time"), agent.stderr


def test_make_install():
    with tempfile.TemporaryDirectory() as tmp:
        run("make", "--no-print-directory", "-C", nltest.ROOT, "install", f"DESTDIR={tmp}")
        files = {os.path.relpath(os.path.join(d, f), tmp): os.stat(os.path.join(d, f)).st_mode & 0o777
                 for d, _, fs in os.walk(tmp) for f in fs}
        assert files == {"usr/local/sbin/netlens": 0o755,
                         "etc/systemd/system/netlens.service": 0o644,
                         "etc/default/netlens": 0o644}, files
        with open(os.path.join(tmp, "etc/systemd/system/netlens.service")) as a, open(UNIT) as b:
            assert a.read() == b.read()
        # An existing /etc/default/netlens is the admin's: kept.
        with open(os.path.join(tmp, "etc/default/netlens"), "w") as f:
            f.write('NETLENS_OPTS="--enable dns"\n')
        run("make", "--no-print-directory", "-C", nltest.ROOT, "install", f"DESTDIR={tmp}")
        with open(os.path.join(tmp, "etc/default/netlens")) as f:
            assert f.read() == 'NETLENS_OPTS="--enable dns"\n'


# -- Kubernetes ------------------------------------------------------------

def test_daemonset_structure():
    docs = daemonset_docs()
    assert [d["kind"] for d in docs] == ["Namespace", "ServiceAccount", "DaemonSet"]
    assert all(d["metadata"].get("namespace", "netlens") == "netlens" for d in docs)
    ds, c = agent_container()
    pod = ds["spec"]["template"]["spec"]
    assert ds["spec"]["selector"]["matchLabels"] == ds["spec"]["template"]["metadata"]["labels"]
    assert (pod["hostNetwork"], pod["hostPID"]) == (True, True)
    assert pod["serviceAccountName"] == "netlens" and pod["automountServiceAccountToken"] is False

    sc = c["securityContext"]
    assert (sc["privileged"], sc["allowPrivilegeEscalation"], sc["runAsUser"]) == (False, False, 0)
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert ["CAP_" + cap for cap in sc["capabilities"]["add"]] == startup_capabilities()

    # Every mount has its volume and the other way round; all read-only host paths.
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts.keys() == volumes.keys()
    assert {n: (m["mountPath"], volumes[n]["hostPath"]["path"], m["readOnly"])
            for n, m in mounts.items()} == {
        "tracefs": ("/sys/kernel/tracing", "/sys/kernel/tracing", True),
        "cgroup": ("/sys/fs/cgroup", "/sys/fs/cgroup", True)}

    # The node's IP through the downward API, one port everywhere.
    assert c["env"] == [{"name": "HOST_IP",
                         "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}]
    assert c["args"] == ["serve", "--listen", f"$(HOST_IP):{PORT}"]
    assert c["ports"] == [{"name": "metrics", "containerPort": PORT, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": PORT}, probe
    ann = ds["spec"]["template"]["metadata"]["annotations"]
    assert ann == {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT),
                   "prometheus.io/path": "/metrics"}
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "1", "memory": "256Mi"}}


def test_daemonset_container_runs():
    """The container's command line, $(HOST_IP) expanded as Kubernetes does,
    with its capabilities and no privilege escalation, listening on the
    namespace's address: the probes' URL answers 200 with every module."""
    _, c = agent_container()
    pair = nltest.Pair()
    argv = [a.replace("$(HOST_IP)", pair.A4) for a in c["command"] + c["args"]]
    argv[0] = nltest.NETLENS
    assert_runs_whole(pair, ["CAP_" + cap for cap in c["securityContext"]["capabilities"]["add"]],
                      argv, f"{pair.A4}:{PORT}")


# -- Prometheus ------------------------------------------------------------

def alert_names():
    with open(os.path.join(PROM, "alerts.yml")) as f:
        return [r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]]


def test_alert_rules_check():
    out, _ = run("promtool", "check", "rules", os.path.join(PROM, "alerts.yml"))
    assert f"SUCCESS: {len(alert_names())} rules found" in out, out
    assert len(alert_names()) == 9


def test_alert_rules_unit_tests():
    """promtool's own rule tests; each alert has a case where it fires and
    one where it does not."""
    out, _ = run("promtool", "test", "rules", "alerts_test.yml", cwd=PROM)
    assert out.strip().splitlines() == ["Unit Testing:  alerts_test.yml", "  SUCCESS"], out
    with open(os.path.join(PROM, "alerts_test.yml")) as f:
        cases = [c for t in yaml.safe_load(f)["tests"] for c in t["alert_rule_test"]]
    for name in alert_names():
        fired = [c for c in cases if c["alertname"] == name and c["exp_alerts"]]
        silent = [c for c in cases if c["alertname"] == name and not c["exp_alerts"]]
        assert fired and silent, name


def test_scrape_config():
    out, _ = run("promtool", "check", "config", "prometheus.yml", cwd=PROM)
    assert "SUCCESS: prometheus.yml is valid prometheus config file syntax" in out, out
    with open(os.path.join(PROM, "prometheus.yml")) as f:
        jobs = yaml.safe_load(f)["scrape_configs"]
    assert jobs == [{"job_name": "netlens",
                     "static_configs": [{"targets": [f"127.0.0.1:{PORT}"]}]}]


# -- Grafana ---------------------------------------------------------------

def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_targets():
    """[(panel title, refId, expr)] of every panel."""
    return [(p["title"], t["refId"], t["expr"]) for p in dashboard()["panels"]
            for t in p.get("targets", [])]


def test_dashboard_structure():
    d = dashboard()
    assert d["schemaVersion"] == 38 and d["uid"] == "netlens"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == \
        ("datasource", "prometheus")
    assert variables["instance"]["query"]["query"] == "label_values(netlens_build_info, instance)"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    cells = set()
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            for t in p["targets"]:
                assert 'instance=~"$instance"' in t["expr"], (p["title"], t["refId"])
    titles = [p["title"] for p in d["panels"] if p["type"] != "row"]
    assert len(titles) == 19, titles


PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                "group_right", "bool", "offset"}


def series_names(expr):
    """Metric names an expression selects: identifiers left once label
    matchers, ranges, grouping clauses and function names are taken out."""
    expr = re.sub(r'\{[^}]*\}|\[[^\]]*\]', " ", expr)
    expr = re.sub(r'\b(by|without|on|ignoring)\s*\([^)]*\)', " ", expr)
    return {w for w in re.findall(r'(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()', expr)
            if w not in PROMQL_WORDS}


def used_series():
    """{series name: where} of every name the dashboard and the alerts select."""
    with open(os.path.join(PROM, "alerts.yml")) as f:
        rules = [(r["alert"], r["expr"]) for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    used = {}
    for where, expr in [(f"{t} {r}", e) for t, r, e in dashboard_targets()] + rules:
        names = series_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        for n in names:
            used.setdefault(n, where)
    return used


def page_series(page):
    """{series name: family type} of a /metrics page (histograms expanded)."""
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", page, re.M))
    out = {}
    for name in re.findall(r"^([a-zA-Z_:][\w:]*)[{ ]", page, re.M):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        out[name] = types.get(name, types.get(base))
    return out


def test_deploy_files_use_exported_metrics():
    """Every series the dashboard and the alerts select is on the page of a
    real netlens serve (every module, flows on the veth) once traffic of each
    kind went by: connections, a refused connect (and its dropped SYN), a DNS
    answer. up is Prometheus' own."""
    used = used_series()
    assert {n for n in used if n.endswith("_bucket")} == {
        "netlens_tcp_handshake_seconds_bucket", "netlens_tcp_request_seconds_bucket",
        "netlens_dns_latency_seconds_bucket", "netlens_http_request_duration_seconds_bucket"}
    pair = nltest.Pair()
    resolver = dnsenv.Resolver(pair)
    # A blocker with a rate limit on the agent's interface (no traffic from TEST-NET-1).
    nltest.sh("nsenter", f"--net=/run/netns/{pair.a}", nltest.NETLENS, "block", "-i", "nlta",
              "limit", "192.0.2.0/24", "--pps", "100")
    nltest.defer(lambda: nltest.sh("nsenter", f"--net=/run/netns/{pair.a}", nltest.NETLENS,
                                   "block", "-i", "nlta", "detach", check=False))
    agent = Confined(pair, startup_capabilities(),
                     [nltest.NETLENS, "serve", "-i", "nlta", "--interval", "1", "--enable",
                      "conns,latency,retrans,drops,flows,dns,http,block"])
    nltest.connections(pair, 8080, 3)
    one_http_request(pair, 8081)
    refused = nltest.sh("python3", "-c", REFUSED, pair.B4, "9", ns=pair.a, check=False)
    assert refused == "ECONNREFUSED\n", refused
    dnsenv.dig(pair, resolver.pair.B4, f"b.{dnsenv.ZONE}")
    deadline = time.time() + 15
    while True:
        code, page = agent.get(f"http://127.0.0.1:{PORT}/metrics")
        found = page_series(page)
        missing = {n: w for n, w in used.items() if n not in found and n != "up"}
        if not missing or time.time() > deadline:
            break
        time.sleep(0.5)
    assert code == 200 and not missing, f"not on netlens' page: {missing}"
    for n in used:
        if n.endswith("_bucket"):
            assert found[n] == "histogram", n


HTTP_ONCE = """import http.server, sys
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), http.server.SimpleHTTPRequestHandler).handle_request()
"""


def one_http_request(pair, port):
    """A GET answered by Python's HTTP server (netlens http's series)."""
    srv = subprocess.Popen(["nsenter", f"--net=/run/netns/{pair.b}", "python3", "-c", HTTP_ONCE,
                            pair.B4, str(port)], cwd="/", stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    nltest.defer(lambda: srv.poll() is None and srv.kill())
    deadline = time.time() + 10
    while nltest.sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    f"http://{pair.B4}:{port}/", ns=pair.a, check=False) != "200":
        assert time.time() < deadline, "no HTTP server"
        time.sleep(0.1)
    srv.wait(timeout=10)


REFUSED = """import errno, socket, sys
s = socket.socket()
print(errno.errorcode[s.connect_ex((sys.argv[1], int(sys.argv[2])))])
"""


# Series for evaluating every dashboard query with promtool: one sample a
# minute from 0, each counter growing by N a minute, so rate()[5m] at
# minute 10 is exactly 5N/300 (no extrapolation).
H = 'job="netlens",instance="host1:9787"'
SERIES = {
    f'netlens_tcp_connections_total{{{H},direction="outbound",daddr="10.0.0.1",dport="443"}}': 600,
    f'netlens_tcp_connections_total{{{H},direction="inbound",daddr="10.0.0.9",dport="8080"}}': 120,
    f'netlens_tcp_connection_failures_total{{{H},direction="outbound",daddr="10.0.0.2",dport="5432",errno="ECONNREFUSED"}}': 30,
    f'netlens_tcp_sent_segments_total{{{H},direction="outbound",daddr="10.0.0.1",dport="443"}}': 1200,
    f'netlens_tcp_retransmitted_segments_total{{{H},direction="outbound",daddr="10.0.0.1",dport="443"}}': 120,
    f'netlens_tcp_sent_bytes_total{{{H},direction="outbound",daddr="10.0.0.1",dport="443"}}': 60000,
    f'netlens_tcp_received_bytes_total{{{H},direction="outbound",daddr="10.0.0.1",dport="443"}}': 6000,
    f'netlens_packet_drops_total{{{H},kind="kfree_skb",reason="NO_SOCKET",location="__udp4_lib_rcv"}}': 600,
    f'netlens_packet_drops_total{{{H},kind="kfree_skb",reason="NO_SOCKET",location="tcp_v4_rcv"}}': 300,
    f'netlens_packet_drops_total{{{H},kind="kfree_skb",reason="NETFILTER_DROP",location="nft_do_chain"}}': 60,
    f'netlens_flow_bytes_total{{{H},ifname="eth0",direction="ingress"}}': 6000000,
    f'netlens_flow_bytes_total{{{H},ifname="eth0",direction="egress"}}': 600000,
    f'netlens_block_dropped_packets_total{{{H},ifname="eth0",rule="10.0.0.0/8"}}': 3000,
    f'netlens_block_dropped_packets_total{{{H},ifname="eth0",rule="::/0"}}': 600,
    f'netlens_block_ratelimited_packets_total{{{H},ifname="eth0",rule="::/0"}}': 600,
    f'netlens_dns_responses_total{{{H},rcode="NOERROR"}}': 540,
    f'netlens_dns_responses_total{{{H},rcode="NXDOMAIN"}}': 30,
    f'netlens_dns_timeouts_total{{{H}}}': 30,
    f'netlens_dns_queries_total{{{H},qtype="A"}}': 360,
    f'netlens_dns_queries_total{{{H},qtype="AAAA"}}': 240,
    f'netlens_http_requests_total{{{H},side="server",method="GET",status="2xx",daddr="10.0.0.1",dport="80"}}': 1140,
    f'netlens_http_requests_total{{{H},side="server",method="GET",status="5xx",daddr="10.0.0.1",dport="80"}}': 60,
    f'netlens_events_total{{{H},module="conns"}}': 6000,
    f'netlens_events_lost_total{{{H},module="conns"}}': 60,
    f'netlens_bpf_program_runs_total{{{H},module="conns",program="conns_state_raw"}}': 312500,
    f'netlens_bpf_program_run_seconds_total{{{H},module="conns",program="conns_state_raw"}}': 0.0625,
    f'process_cpu_seconds_total{{{H}}}': 3,
    # Another host: the $instance filter keeps it out of every panel.
    'netlens_events_total{job="netlens",instance="host2:9787",module="conns"}': 999,
}
GAUGES = {
    f'process_resident_memory_bytes{{{H}}}': 50331648,
    f'netlens_bpf_map_memory_bytes{{{H},module="conns"}}': 16777216,
    f'netlens_bpf_map_memory_bytes{{{H},module="dns"}}': 4194304,
}
# Histograms: {labels: [(le, N per minute), ...]} (cumulative, +Inf last).
HISTOGRAMS = {
    "netlens_tcp_handshake_seconds": {
        'daddr="10.0.0.1",dport="443"': [("0.000064", 30), ("0.000128", 57), ("0.000256", 60),
                                         ("+Inf", 60)],
        'daddr="10.0.0.9",dport="8080"': [("0.000064", 30), ("0.000128", 57), ("0.000256", 60),
                                          ("+Inf", 60)]},
    "netlens_tcp_request_seconds": {
        'daddr="10.0.0.1",dport="443"': [("0.008192", 0), ("0.016384", 30), ("0.032768", 60),
                                         ("+Inf", 60)]},
    "netlens_dns_latency_seconds": {
        '': [("0.001024", 30), ("0.002048", 54), ("0.004096", 60), ("+Inf", 60)]},
    "netlens_http_request_duration_seconds": {
        'side="server",daddr="10.0.0.1",dport="80",method="GET"': [
            ("0.000512", 600), ("0.001024", 1140), ("0.002048", 1200), ("+Inf", 1200)]},
}


def rate(n):
    return (10 * n - 5 * n) / 300


def quantile(q, family):
    """histogram_quantile over sum by (le) of the family's rates, in the
    order of Prometheus' bucketQuantile (so the floats are the same)."""
    total = {}
    for buckets in HISTOGRAMS[family].values():
        for le, n in buckets:
            total[le] = total[le] + rate(n) if le in total else rate(n)
    b = sorted((float(le), c) for le, c in total.items())
    rank = q * b[-1][1]
    i = next((i for i in range(len(b) - 1) if b[i][1] >= rank), len(b) - 1)
    start, count = (0.0, b[i][1]) if i == 0 else (b[i - 1][0], b[i][1] - b[i - 1][1])
    if i > 0:
        rank -= b[i - 1][1]
    return start + (b[i][0] - start) * (rank / count)


def expected_panels():
    """{(panel, refId): [(labels, value)]} for SERIES, GAUGES and HISTOGRAMS."""
    ns_per_run = rate(0.0625) / rate(312500) * 1e9
    return {
        ("Connections/s by destination", "A"): [
            ('direction="inbound",daddr="10.0.0.9",dport="8080"', rate(120)),
            ('direction="outbound",daddr="10.0.0.1",dport="443"', rate(600))],
        ("Connect failures/s by destination", "A"): [
            ('daddr="10.0.0.2",dport="5432",errno="ECONNREFUSED"', rate(30))],
        ("Handshake latency", "A"): [("", quantile(0.5, "netlens_tcp_handshake_seconds"))],
        ("Handshake latency", "B"): [("", quantile(0.99, "netlens_tcp_handshake_seconds"))],
        ("Request latency", "A"): [("", quantile(0.5, "netlens_tcp_request_seconds"))],
        ("Request latency", "B"): [("", quantile(0.99, "netlens_tcp_request_seconds"))],
        ("Retransmit ratio by destination", "A"): [
            ('direction="outbound",daddr="10.0.0.1",dport="443"', rate(120) / rate(1200))],
        ("Throughput of closed connections", "A"): [('direction="outbound"', rate(60000))],
        ("Throughput of closed connections", "B"): [('direction="outbound"', rate(6000))],
        ("Drops/s by reason", "A"): [('reason="NETFILTER_DROP"', rate(60)),
                                     ('reason="NO_SOCKET"', rate(600) + rate(300))],
        ("Flow bytes/s by interface and direction", "A"): [
            ('ifname="eth0",direction="egress"', rate(600000)),
            ('ifname="eth0",direction="ingress"', rate(6000000))],
        ("Blocker drops/s by rule", "A"): [('ifname="eth0",rule="10.0.0.0/8"', rate(3000)),
                                           ('ifname="eth0",rule="::/0"', rate(600))],
        ("Blocker drops/s by rule", "B"): [('ifname="eth0",rule="::/0"', rate(600))],
        ("DNS answers/s by rcode", "A"): [('rcode="NOERROR"', rate(540)),
                                          ('rcode="NXDOMAIN"', rate(30))],
        ("DNS answers/s by rcode", "B"): [("", rate(30))],
        ("DNS queries/s by type", "A"): [('qtype="A"', rate(360)), ('qtype="AAAA"', rate(240))],
        ("DNS latency", "A"): [("", quantile(0.5, "netlens_dns_latency_seconds"))],
        ("DNS latency", "B"): [("", quantile(0.99, "netlens_dns_latency_seconds"))],
        ("Events and lost events/s by module", "A"): [('module="conns"', rate(6000))],
        ("Events and lost events/s by module", "B"): [('module="conns"', rate(60))],
        ("BPF time per run by program", "A"): [
            ('module="conns",program="conns_state_raw"', ns_per_run)],
        ("BPF CPU by module", "A"): [('module="conns"', rate(0.0625))],
        ("BPF CPU by module", "B"): [("", rate(3))],
        ("HTTP requests/s by endpoint", "A"): [
            ('side="server",daddr="10.0.0.1",dport="80"', rate(1140) + rate(60))],
        ("HTTP error ratio by endpoint", "A"): [
            ('side="server",daddr="10.0.0.1",dport="80"', rate(60) / (rate(1140) + rate(60)))],
        ("HTTP p99 duration by endpoint", "A"): [
            ('side="server",daddr="10.0.0.1",dport="80"',
             quantile(0.99, "netlens_http_request_duration_seconds"))],
        ("Agent memory", "A"): [("", 50331648)],
        ("Agent memory", "B"): [("", 16777216 + 4194304)],
    }


def input_series():
    out = [{"series": s, "values": f"0+{n}x10"} for s, n in SERIES.items()]
    out += [{"series": s, "values": f"{v}x10"} for s, v in GAUGES.items()]
    for family, groups in HISTOGRAMS.items():
        for labels, buckets in groups.items():
            for le, n in buckets:
                lb = ",".join(x for x in (H, labels, f'le="{le}"') if x)
                out.append({"series": f"{family}_bucket{{{lb}}}", "values": f"0+{n}x10"})
    return out


# promtool compares floats exactly; Prometheus' rate() and this file's
# arithmetic may differ in the last bit, so both sides are rounded to 1e-9
# the way PromQL's round() does it.
QUANTUM = 1e-9


def rounded(v):
    inverse = 1.0 / QUANTUM
    return math.floor(v * inverse + 0.5) / inverse


def test_dashboard_queries_evaluate():
    """Every panel query, with Grafana's variables filled in, evaluated by
    promtool on known series: exact values to 1e-9 (a syntax error fails it
    too)."""
    expected = expected_panels()
    targets = dashboard_targets()
    assert {(t, r) for t, r, _ in targets} == set(expected.keys())
    cases = []
    for title, ref, expr in targets:
        promql = expr.replace("$__rate_interval", "5m").replace("$instance", "host1:9787")
        cases.append({"expr": f"round({promql}, {QUANTUM})", "eval_time": "10m", "exp_samples": [
            {"labels": "{" + labels + "}", "value": rounded(value)}
            for labels, value in expected[(title, ref)]]})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_test.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"evaluation_interval": "1m", "tests": [
                {"interval": "1m", "input_series": input_series(),
                 "promql_expr_test": cases}]}, f)
        out, _ = run("promtool", "test", "rules", path)
    assert out.strip().splitlines()[-1] == "  SUCCESS", out
