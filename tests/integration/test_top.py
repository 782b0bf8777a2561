"""netlens top: the full-screen view under tmux (a terminal of a fixed size) and the plain
snapshot, over refused connects and DNS queries staged between two namespaces."""
import json
import os
import random
import re
import subprocess
import time

import nltest
from dnsenv import ZONE, Resolver, dig
from nltest import NETLENS, Pair, defer, nstat, peer, sh

WIDTH, HEIGHT = 200, 60
SESSION = f"nlt-top-{os.getpid()}"


def stage_refused(pair, port, count, name="nlt-refused"):
    """count connects from a to b:port where nothing listens, one process each.

    Returns (client pids, the kernel's counts: TcpAttemptFails in a, TcpOutRsts in b).
    """
    before = nstat(pair.a, "TcpAttemptFails")["TcpAttemptFails"], nstat(pair.b, "TcpOutRsts")["TcpOutRsts"]
    pids = []
    for _ in range(count):
        cli = peer(pair.a, "client", pair.B4, port, name=name)
        assert cli.expect("ERROR") == ["111"]
        cli.wait()
        pids.append(cli.pid)
    return pids, {"attempt_fails": nstat(pair.a, "TcpAttemptFails")["TcpAttemptFails"] - before[0],
                  "out_rsts": nstat(pair.b, "TcpOutRsts")["TcpOutRsts"] - before[1]}


def stage_nxdomain(pair, name, count):
    """count queries for a name the resolver in b does not have (NXDOMAIN), one dig each.

    Returns the dig pids and their statuses as dig printed them.
    """
    pids, statuses = [], []
    for _ in range(count):
        pid, _, out = dig(pair, pair.B4, name, "A")
        pids.append(pid)
        statuses.append(re.search(r"status: (\w+)", out).group(1))
    return pids, statuses


class Tmux:
    """A detached tmux session running bash, WIDTH x HEIGHT."""

    def __init__(self):
        sh("tmux", "new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT),
           "env PS1='nlt-shell$ ' TERM=xterm-256color bash --norc --noprofile")
        defer(lambda: sh("tmux", "kill-session", "-t", SESSION, check=False))
        self.wait_for(r"nlt-shell\$")

    def keys(self, *keys):
        sh("tmux", "send-keys", "-t", SESSION, *keys)

    def screen(self):
        return sh("tmux", "capture-pane", "-p", "-t", SESSION)

    def show(self, what):
        return sh("tmux", "display-message", "-p", "-t", SESSION, what).strip()

    def wait_for(self, pattern, timeout=15):
        """The screen once pattern (a regex) is on it."""
        deadline = time.time() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text, re.M):
                return text
            if time.time() > deadline:
                raise AssertionError(f"{pattern!r} not on the screen:\n{text}")
            time.sleep(0.2)

    def top_pid(self):
        """netlens' pid: the shell's child (nsenter execs it)."""
        shell = self.show("#{pane_pid}")
        deadline = time.time() + 10
        while time.time() < deadline:
            out = sh("ps", "-o", "pid=,comm=", "--ppid", shell, check=False).split()
            if len(out) == 2 and out[1] == "netlens":
                return int(out[0])
            time.sleep(0.1)
        raise AssertionError("netlens did not start under tmux")


def bpf_objects_of(pid):
    """The ids of the BPF programs and links process pid holds (its fds' fdinfo)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except OSError:
            continue
        for kind in ("prog", "link"):
            m = re.search(rf"^{kind}_id:\s+(\d+)", info, re.M)
            if m:
                ids.add((kind, int(m.group(1))))
    return ids


def bpf_objects_left(ids):
    """Those of ids the kernel still has (bpftool lists every program and link)."""
    left = set()
    for kind in ("prog", "link"):
        left |= {(kind, o["id"]) for o in json.loads(sh("bpftool", "-j", kind, "show") or "[]")}
    return ids & left


def row(screen, *cells):
    """The one line of the screen that has every cell, as a list of its words."""
    lines = [ln for ln in screen.splitlines() if all(c in ln.split() for c in cells)]
    assert len(lines) == 1, f"expected one line with {cells}:\n{screen}"
    return lines[0].split()


def start_top(tmux, pair, *args):
    tmux.keys(f"nsenter --net=/run/netns/{pair.b} {NETLENS} top -i nltb "
              + " ".join(args), "Enter")
    pid = tmux.top_pid()
    tmux.wait_for(r"netlens top .*1 Destinations")
    return pid


def wait_quit(tmux, pid, ids, pair):
    """After quitting: the process gone, the shell back on the normal screen, nothing attached."""
    deadline = time.time() + 20
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}"), "netlens did not exit"
    assert tmux.show("#{alternate_on}") == "0"
    tmux.keys("echo restored-$((6*7))", "Enter")
    tmux.wait_for(r"^restored-42$")
    assert not bpf_objects_left(ids), bpf_objects_left(ids)
    for hook in ("ingress", "egress"):
        assert sh("tc", "filter", "show", "dev", "nltb", hook, ns=pair.b) == "", hook


def test_views_keys_resize_quit():
    pair = Pair()
    Resolver(pair)
    tmux = Tmux()
    port = random.randint(20000, 29999)   # below ip_local_port_range: a service port
    nxname = f"nx{os.getpid()}.{ZONE}"
    pid = start_top(tmux, pair, "--processes")
    ids = bpf_objects_of(pid)
    assert any(k == "prog" for k, _ in ids) and any(k == "link" for k, _ in ids), ids
    assert tmux.show("#{alternate_on}") == "1"

    refused, kernel = stage_refused(pair, port, 3)
    assert kernel == {"attempt_fails": 3, "out_rsts": 3}, kernel
    digs, statuses = stage_nxdomain(pair, nxname, 2)
    assert statuses == ["NXDOMAIN", "NXDOMAIN"]

    # 1: destinations, the refused one with its errno, as many as the kernel counted.
    dest = f"{pair.B4}:{port}"
    screen = tmux.wait_for(rf"^{re.escape(dest)}\s+outbound.*ECONNREFUSED:3")
    r = row(screen, dest, "outbound")
    assert r[3:6] == ["0", str(kernel["attempt_fails"]), "ECONNREFUSED:3"], r
    assert "Destinations (TCP)" in screen and "sort CONNECTS" in screen

    # 2: drops: each SYN nobody listened for, freed as NO_SOCKET in tcp_v4_rcv.
    tmux.keys("2")
    screen = tmux.wait_for(rf"^NO_SOCKET\s+tcp_v4_rcv\S*\s+{re.escape(dest)}\s")
    r = row(screen, "NO_SOCKET", dest)
    assert r[-2:] == [str(kernel["out_rsts"]), str(pair.netns_b)], r

    # 3: DNS: the name, its queries and rcodes.
    tmux.keys("3")
    screen = tmux.wait_for(rf"^name\s+{re.escape(nxname)}\s")
    r = row(screen, "name", nxname)
    assert r[2:5] == ["2", "2", "0"] and r[6:] == ["NXDOMAIN:2"], r

    # 4: processes: each refused client failed once; each dig got one failed answer.
    tmux.keys("4")
    screen = tmux.wait_for(r"^\s*PID\s+COMM\s+CONNS")
    for p in refused:
        assert row(screen, str(p))[1:4] == ["nlt-refused", "0", "1"], screen
    for p in digs:
        assert row(screen, str(p))[1:2] + row(screen, str(p))[6:8] == ["dig", "1", "1"], screen

    # 5: flows on nltb (-i), the last second's: a refused SYN from a to b:port+1, its RST back.
    tmux.keys("5")
    tmux.wait_for(r"Flows \(top talkers\)")
    flow_dest = f"{pair.B4}:{port + 1}"
    stage_refused(pair, port + 1, 1)
    syn = rf"^{re.escape(pair.A4)}:(\d+)\s+{re.escape(flow_dest)}\s+tcp\s+1\s+74B\s"  # 14+20+40
    sport = re.search(syn, tmux.wait_for(syn), re.M).group(1)
    rst = rf"^{re.escape(flow_dest)}\s+{re.escape(pair.A4)}:{sport}\s+tcp\s+1\s+54B\s"   # 14+20+20
    assert re.search(rst, tmux.screen(), re.M), tmux.screen()

    # Tab goes round to the destinations; / filters; s sorts; space pauses.
    tmux.keys("Tab")
    tmux.wait_for(r"^Destinations \(TCP\)")
    tmux.keys("/", *str(port), "Enter")
    screen = tmux.wait_for(rf'filter "{port}"')
    table = screen.split("Destinations (TCP)")[1]
    assert [ln.split()[0] for ln in table.splitlines()[2:] if ln.strip()][:-1] == [dest], screen
    tmux.keys("s")
    tmux.wait_for(r"sort FAILED")
    tmux.keys(">", ">")
    tmux.wait_for(r"sort HS_P99")
    tmux.keys("<")
    tmux.wait_for(r"sort ERRNO")
    tmux.keys("Space")
    tmux.wait_for(r"\[PAUSED\]")
    stage_refused(pair, port, 1)
    time.sleep(2.5)
    assert "ECONNREFUSED:3" in row(tmux.screen(), dest, "outbound"), tmux.screen()
    tmux.keys("p")
    screen = tmux.wait_for(rf"^{re.escape(dest)}\s+outbound.*ECONNREFUSED:4")
    assert "[PAUSED]" not in screen

    # h: the help; any key closes it.
    tmux.keys("h")
    tmux.wait_for(r"netlens top: keys")
    tmux.keys("x")
    deadline = time.time() + 5
    while "netlens top: keys" in tmux.screen() and time.time() < deadline:
        time.sleep(0.2)
    assert "netlens top: keys" not in tmux.screen()

    # A resize: drawn again at the new size, still refreshed.
    sh("tmux", "resize-window", "-t", SESSION, "-x", "90", "-y", "25")
    screen = tmux.wait_for(r"netlens top .*1 Destinations")
    assert all(len(ln) <= 90 for ln in screen.splitlines()), screen
    assert len(screen.splitlines()) <= 25
    stage_refused(pair, port, 1)
    tmux.wait_for(rf"^{re.escape(dest)}\s+outbound.*ECONNREFUSED:5")
    sh("tmux", "resize-window", "-t", SESSION, "-x", "20", "-y", "4")
    tmux.wait_for(r"netlens top")
    sh("tmux", "resize-window", "-t", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT))
    tmux.wait_for(r"netlens top .*1 Destinations")

    tmux.keys("q")
    wait_quit(tmux, pid, ids, pair)


BURST = """
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(n)
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    s, _ = srv.accept()
    c.close()
    s.close()
"""


def test_findings_on_top_in_their_color():
    """A one-page ring and a burst of connections: netlens' own finding (records lost), in cyan."""
    pair = Pair()
    tmux = Tmux()
    port = random.randint(20000, 29999)   # below ip_local_port_range: a service port
    pid = start_top(tmux, pair, "--processes", "--ringbuf-kb", "4", "-P", str(port))
    ids = bpf_objects_of(pid)
    sh("python3", "-c", BURST, str(port), "2000", ns=pair.b)
    finding = r"^notice   netlens: conns lost (\d+) of (\d+) records \(its ring buffer was full\)"
    m = re.search(finding, tmux.wait_for(finding), re.M)
    lost, total = int(m.group(1)), int(m.group(2))
    # Every connect, accept and both closes is a record: 4 per connection.
    assert 0 < lost < total == 4 * 2000, (lost, total)
    colored = sh("tmux", "capture-pane", "-e", "-p", "-t", SESSION)
    assert re.search(r"\x1b\[36m(\x1b\[[0-9;]*m)*notice ", colored), colored
    tmux.keys("q")
    wait_quit(tmux, pid, ids, pair)


def test_ctrl_c_and_sigterm_restore_and_detach():
    pair = Pair()
    tmux = Tmux()
    for stop in ("C-c", "TERM"):
        pid = start_top(tmux, pair)
        ids = bpf_objects_of(pid)
        assert ids
        if stop == "TERM":
            os.kill(pid, 15)
        else:
            tmux.keys("C-c")
        wait_quit(tmux, pid, ids, pair)


def test_unknown_terminal_gets_the_snapshot():
    """A terminal ncurses cannot drive (unknown TERM): the snapshot, not an exit from initscr()."""
    tmux = Tmux()
    tmux.keys(f"TERM=nlt-no-such-term {NETLENS} top -d 1; echo rc=$?", "Enter")
    screen = tmux.wait_for(r"^rc=\d+$")
    assert "rc=0" in screen and "cannot drive this terminal (TERM=nlt-no-such-term)" in screen
    assert re.search(r"^Findings$", screen, re.M) and re.search(r"^Processes$", screen, re.M)


def snapshot_over_refused(*args, count=2):
    """netlens top --once -d 3 ARGS over count refused connects: (its output, dest, kernel)."""
    pair = Pair()
    port = random.randint(20000, 29999)   # below ip_local_port_range: a service port
    p = subprocess.Popen([NETLENS, "top", "--once", "-d", "3", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    defer(lambda: p.poll() is None and p.kill())
    assert "watching for" in p.stderr.readline()   # attached: then the refused connects
    _, kernel = stage_refused(pair, port, count)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return out, f"{pair.B4}:{port}", kernel


def test_once_is_a_plain_snapshot():
    out, dest, kernel = snapshot_over_refused()
    assert "\x1b" not in out, "a snapshot has no terminal control sequences"
    heads = [ln for ln in out.splitlines() if ln in (
        "Findings", "Destinations (TCP)", "Drops", "DNS (names and servers)", "Processes",
        "Flows (top talkers)")]
    assert heads == ["Findings", "Destinations (TCP)", "Drops", "DNS (names and servers)",
                     "Processes", "Flows (top talkers)"], out
    r = row(out, dest, "outbound")
    assert r[4:6] == [str(kernel["attempt_fails"]), "ECONNREFUSED:2"], r
    assert "(no flow in the last second (flows needs -i IFACE))" in out


def test_without_processes_the_kernel_totals_stay():
    """Without --processes (serve's cost): the failures and their errnos still counted
    (kernel maps), no process."""
    out, dest, kernel = snapshot_over_refused()
    r = row(out, dest, "outbound")
    n = kernel["attempt_fails"]
    assert r[4:6] == [str(n), f"ECONNREFUSED:{n}"], r
    assert "Processes\n  (no process seen yet (per process only with --processes))\n" in out, out


def test_not_a_terminal_and_no_command_snapshot():
    for argv in ([NETLENS, "top", "-d", "1"], [NETLENS, "-d", "1"]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("netlens top: 1 s, modules: conns latency retrans drops dns"), \
            r.stdout
        assert "\nFindings\n" in r.stdout and "\nProcesses\n" in r.stdout


def test_bad_options_are_one_line():
    for args, want in ((["--bogus"], "--bogus"), (["-d", "abc"], "abc"),
                       (["--flows-hook", "nope"], "'nope' is not tc or xdp"),
                       (["-o", "json"], "-o")):
        r = subprocess.run([NETLENS, "top", *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (args, r)
        assert len(r.stderr.strip().splitlines()) == 1 and want in r.stderr, (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)
