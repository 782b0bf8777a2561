"""netlens serve after attach: only the capabilities docs/privileges.md lists,
still serving counters that rise with traffic, and a clean detach on SIGTERM."""
import glob
import json
import os
import subprocess

from nltest import NETLENS, Pair, Serve, connections, free_port, nstat, sh
from test_retrans import nft_input

NET_ADMIN = 1 << 12


def task_status(pid):
    """{field: value} of /proc/PID/task/*/status, one dict per thread."""
    out = []
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        with open(path) as f:
            out.append(dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line))
    return out


def assert_dropped(pid, kept, uid=0):
    """Every thread (the HTTP one too): exactly kept, nothing to regain."""
    threads = task_status(pid)
    assert len(threads) >= 2, threads   # the event loop and libmicrohttpd's thread
    for st in threads:
        caps = {k: int(st[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
        assert caps == {"CapInh": 0, "CapPrm": kept, "CapEff": kept, "CapBnd": 0,
                        "CapAmb": 0}, (st["Name"], caps)
        assert st["NoNewPrivs"] == "1", st
        assert [int(u) for u in st["Uid"].split()] == [uid] * 4, st["Uid"]


def bpf_links(pid):
    """{link id: link type} of the BPF links process pid holds."""
    links = {}
    for path in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(path) as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except FileNotFoundError:
            continue
        if "link_id" in info:
            links[int(info["link_id"])] = info["link_type"].strip()
    return links


def live_link_ids():
    return {link["id"] for link in json.loads(sh("bpftool", "-j", "link", "show") or "[]")}


def flows_attachments(ns, dev):
    """What is attached to dev: an XDP program, TC filters (ingress, egress), clsact."""
    found = set()
    if "prog/xdp" in sh("ip", "-n", ns, "link", "show", dev):
        found.add("xdp")
    for direction in ("ingress", "egress"):
        if " bpf " in sh("tc", "-n", ns, "filter", "show", "dev", dev, direction, check=False):
            found.add(direction)
    if "clsact" in sh("tc", "-n", ns, "qdisc", "show", "dev", dev):
        found.add("clsact")
    return found


def serve_flows(pair, hook):
    """serve with flows on the client's veth; its capabilities and attachments checked."""
    s = Serve("--enable", "conns,latency,retrans,flows", "-i", "nlta", "--flows-hook", hook,
              "--interval", 1, ns=pair.a)
    assert open(f"/proc/{s.pid}/comm").read() == "netlens\n"
    assert_dropped(s.pid, NET_ADMIN)
    return s


def test_serve_keeps_net_admin_for_xdp_and_detaches():
    pair = Pair()
    s = serve_flows(pair, "xdp")
    assert flows_attachments(pair.a, "nlta") == {"xdp"}
    s.stop()
    assert flows_attachments(pair.a, "nlta") == set()


def test_serve_keeps_net_admin_for_tc_and_detaches():
    pair = Pair()
    port = 23391
    s = serve_flows(pair, "tc")
    # TCX links (Linux 6.6+), held by serve: no netlink filter, no clsact qdisc.
    assert list(bpf_links(s.pid).values()).count("tcx") == 2, bpf_links(s.pid)
    assert flows_attachments(pair.a, "nlta") == set()
    dest = {"daddr": pair.B4, "dport": port}
    # Maps, ring buffers and test runs still work without the capabilities: counters rise.
    connections(pair, port, 3)
    assert s.wait_value("netlens_tcp_connections_total", 3, direction="outbound", **dest) == 3
    assert s.wait_value("netlens_tcp_handshake_seconds_count", 3, **dest) == 3
    connections(pair, port, 2)
    assert s.wait_value("netlens_tcp_connections_total", 5, direction="outbound", **dest) == 5
    assert s.wait_value("netlens_tcp_handshake_seconds_count", 5, **dest) == 5
    # One connection whose first SYN is dropped: exactly one retransmission of one segment.
    nft_input(pair.b, f"tcp dport {port + 1} tcp flags & (syn | ack) == syn "
              "numgen inc mod 1000 == 0 counter drop")
    before = nstat(pair.a, "TcpRetransSegs")["TcpRetransSegs"]
    connections(pair, port + 1, 1)
    kernel = nstat(pair.a, "TcpRetransSegs")["TcpRetransSegs"] - before
    assert kernel == 1, (kernel, sh("nft", "list chain inet nlt in", ns=pair.b))
    lossy = {"daddr": pair.B4, "dport": port + 1}
    out = {"direction": "outbound"}     # retrans' series: the client side
    assert s.wait_value("netlens_tcp_retransmits_total", 1, **out, **lossy) == 1, \
        [ln for ln in s.metrics().splitlines() if "retrans" in ln]
    page = s.metrics()
    assert s.value("netlens_tcp_retransmitted_segments_total", page, **out, **lossy) == 1
    assert s.value("netlens_tcp_sent_segments_total", page, **out, **dest) > 0
    assert s.value("netlens_tcp_retransmits_total", page, **out, **dest) == 0
    assert s.value("netlens_parse_errors_total", page, module="retrans") == 0
    assert s.wait_value("netlens_tcp_handshake_seconds_count", 1, **lossy) == 1
    # The retransmitted SYN left after the initial RTO: the handshake took a second or more.
    assert s.value("netlens_tcp_handshake_seconds_bucket", le="0.524288", **lossy) == 0
    links = bpf_links(s.pid)
    assert "raw_tracepoint" in links.values(), links
    s.stop()
    assert flows_attachments(pair.a, "nlta") == set()
    assert not set(links) & live_link_ids()


def test_serve_as_user_without_capabilities_removes_cgroup_links():
    s = Serve("--enable", "conns,dns", "--interval", 1, "--user", "nobody")
    nobody = int(sh("id", "-u", "nobody"))
    assert_dropped(s.pid, 0, uid=nobody)
    assert s.wait_value("netlens_module_up", 1, module="dns") == 1
    links = bpf_links(s.pid)
    assert list(links.values()).count("cgroup") == 4, links   # dns: cgroup_skb x2, connect4/6
    assert s.get("/healthz")[0] == 200
    s.stop()
    assert not set(links) & live_link_ids()
    assert not os.path.exists(f"/proc/{s.pid}")


def test_serve_starts_with_the_documented_set():
    """docs/privileges.md's start set is enough for every module (CAP_SYS_ADMIN only for
    bpf_stats), and all of it but CAP_NET_ADMIN is gone once attached."""
    pair = Pair()
    for caps, extra in (("bpf,+perfmon,+net_admin,+sys_admin,+syslog,+setpcap", []),
                        ("bpf,+perfmon,+net_admin,+syslog,+setpcap", ["--no-bpf-stats"])):
        # nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup v2 mount.
        r = subprocess.run(["nsenter", f"--net=/run/netns/{pair.a}", "setpriv",
                            f"--bounding-set=-all,+{caps}", NETLENS, "serve", "--listen",
                            f"127.0.0.1:{free_port()}", "-i", "nlta", "-d", "2"] + extra,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (caps, r.stderr)
        assert r.stderr.startswith("netlens serve: 7 of 7 modules attached;"), (caps, r.stderr)
        assert flows_attachments(pair.a, "nlta") == set()
