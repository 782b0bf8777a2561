"""Helpers for netlens integration tests: namespaces, peers, the netlens process.

Every namespace, cgroup and process a test creates is registered here and
removed at the end of the test, pass or fail (and at interpreter exit).
"""
import atexit
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# NETLENS_BIN: another build of netlens, for benchmarks that compare two builds.
NETLENS = os.environ.get("NETLENS_BIN", os.path.join(ROOT, "build", "netlens"))
PEER = os.path.join(os.path.dirname(__file__), "peer.py")
PREFIX = "nlt"

_cleanups = []
_pair_seq = itertools.count()
# Network namespaces of the current test's pairs: records from any other
# namespace (another checkout's tests running at the same time) are not ours.
_own_netns = set()


def sh(*argv, check=True, ns=None):
    """Runs a command (inside namespace ns if given) and returns its stdout."""
    if ns:
        argv = ("ip", "netns", "exec", ns) + argv
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {r.stderr.strip()}")
    return r.stdout


def defer(fn):
    _cleanups.append(fn)


def cleanup():
    _own_netns.clear()
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep cleaning; report what failed
            print(f"  cleanup: {e}")


atexit.register(cleanup)


def _exit_on_signal(sig, frame):
    raise SystemExit(128 + sig)   # unwinds through atexit: namespaces are removed


signal.signal(signal.SIGTERM, _exit_on_signal)


def remove_stale():
    """Namespaces left by a killed test run: their owner pid (the tag) is gone.

    Runs of other checkouts may be going on at the same time; their
    namespaces belong to live processes and are left alone.
    """
    for name in sh("ip", "netns", "list", check=False).split():
        parts = name.split("-")
        if len(parts) >= 3 and parts[0] == PREFIX and parts[1].isdigit() \
                and not os.path.exists(f"/proc/{parts[1]}"):
            sh("ip", "netns", "del", name, check=False)


class Pair:
    """Two namespaces, client (a) and server (b), joined by a veth pair.

    a: 10.231.0.1/24  fd00:231::1/64      b: 10.231.0.2/24  fd00:231::2/64
    """
    A4, B4, A6, B6 = "10.231.0.1", "10.231.0.2", "fd00:231::1", "fd00:231::2"

    def __init__(self):
        tag = f"{os.getpid()}-{next(_pair_seq)}"
        self.a, self.b = f"{PREFIX}-{tag}-a", f"{PREFIX}-{tag}-b"
        for ns in (self.a, self.b):
            sh("ip", "netns", "add", ns)
            defer(lambda ns=ns: sh("ip", "netns", "del", ns, check=False))
        sh("ip", "link", "add", "nlta", "netns", self.a, "type", "veth",
           "peer", "name", "nltb", "netns", self.b)
        for ns, dev, v4, v6 in ((self.a, "nlta", self.A4, self.A6),
                                (self.b, "nltb", self.B4, self.B6)):
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            # Addresses after link up: an IPv6 prefix route added while the
            # link is down appears late, and the first SYN meets a reject route.
            sh("ip", "addr", "add", v4 + "/24", "dev", dev, ns=ns)
            sh("ip", "addr", "add", v6 + "/64", "dev", dev, "nodad", ns=ns)
        self.netns_a = os.stat(f"/run/netns/{self.a}").st_ino
        self.netns_b = os.stat(f"/run/netns/{self.b}").st_ino
        _own_netns.update((self.netns_a, self.netns_b))

    def addr(self, side, family):
        return {("a", 4): self.A4, ("b", 4): self.B4,
                ("a", 6): self.A6, ("b", 6): self.B6}[(side, family)]


def cgroup2_root():
    """Where cgroup v2 is mounted (the first mount)."""
    with open("/proc/self/mounts") as f:
        for line in f:
            mnt, fstype = line.split()[1:3]
            if fstype == "cgroup2":
                return mnt
    raise AssertionError("cgroup v2 is not mounted")


class Cgroup:
    """A cgroup v2 directory of the test's own, removed at the end.

    .path, .id (its inode: the cgroup id), and .join: a command prefix that
    moves the process into the cgroup before it execs the rest.
    """

    def __init__(self, tag):
        self.path = os.path.join(cgroup2_root(), f"{PREFIX}-{tag}-{os.getpid()}")
        os.mkdir(self.path)
        defer(lambda: os.rmdir(self.path))
        self.id = os.stat(self.path).st_ino
        self.join = ("sh", "-c", f'echo $$ > {self.path}/cgroup.procs && exec "$@"', "sh")


class Proc:
    """A child process whose stdout lines the test reads one at a time."""

    def __init__(self, argv, prefix=()):
        self.p = subprocess.Popen(list(prefix) + list(argv), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.pid = self.p.pid
        self._pending = b""
        defer(self.kill)

    def line(self, timeout=10):
        """The next stdout line; select() sees the pipe, so we buffer ourselves."""
        deadline = time.time() + timeout
        fd = self.p.stdout.fileno()
        while b"\n" not in self._pending:
            r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
            if not r:
                raise AssertionError(f"no output from {self.p.args} within {timeout}s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"{self.p.args} ended: {self.p.stderr.read().strip()}")
            self._pending += chunk
        out, self._pending = self._pending.split(b"\n", 1)
        return out.decode().strip()

    def expect(self, word, timeout=10):
        out = self.line(timeout).split()
        assert out[0] == word, f"expected {word}, got {out}"
        return out[1:]

    def wait(self, timeout=30):
        return self.p.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def peer(ns, *args, name=None, prefix=()):
    """Runs peer.py in a namespace. 'ip netns exec' execs, so the pid is the peer's."""
    argv = ["ip", "netns", "exec", ns, "python3", PEER] + [str(a) for a in args]
    if name:
        argv += ["--name", name]
    return Proc(argv, prefix=prefix)


def exchange(pair, family, port, name_c="nlt-client", name_s="nlt-server",
             send=100000, reply=2500, server_args=(), client_args=(),
             client_end="DONE"):
    """One connection: the client sends `send` bytes, the server answers `reply`.

    Returns (server pid, client pid, client port).
    """
    srv = peer(pair.b, "server", pair.addr("b", family), port, "--expect", send,
               "--reply", reply, *server_args, name=name_s)
    srv.expect("READY")
    cli = peer(pair.a, "client", pair.addr("b", family), port, "--send", send,
               "--expect", reply, *client_args, name=name_c)
    cport = int(cli.expect("CONNECTED")[0])
    cli.expect(client_end)
    srv.expect("ACCEPTED")
    srv.expect("DONE")
    cli.wait()
    srv.wait()
    return srv.pid, cli.pid, cport


class Netlens:
    """build/netlens COMMAND -o json ARGS, started and stopped with SIGINT; prefix
    runs before it and must exec it (e.g. ip netns exec NS)."""

    def __init__(self, *args, command="conns", prefix=()):
        self.argv = list(prefix) + [NETLENS, command, "-o", "json"] + [str(a) for a in args]
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        defer(self._kill)
        self._wait_attached()

    def _wait_attached(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.p.stderr], [], [], deadline - time.time())
            if not r:
                break
            line = self.p.stderr.readline()
            if not line:
                raise AssertionError(f"netlens exited {self.p.wait()}: {self.p.stderr.read()}")
            if "attached" in line:
                self.attached = line   # says which hooks were chosen
                return
        raise AssertionError("netlens did not attach in time")

    def stop(self, sig=signal.SIGINT, settle=0.3):
        """Stops netlens and returns its records (all JSON lines)."""
        time.sleep(settle)   # let the last records reach the ring buffer reader
        self.p.send_signal(sig)
        out, err = self.p.communicate(timeout=20)
        assert self.p.returncode == 0, f"netlens exit {self.p.returncode}: {err}"
        return [r for r in map(json.loads, out.splitlines()) if self.ours(r)]

    @staticmethod
    def ours(record):
        """False for a record about a namespace of another test run."""
        return not _own_netns or record.get("netns", next(iter(_own_netns))) in _own_netns

    def _kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def find(records, **match):
    """Records whose fields equal every key=value given."""
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def one(records, **match):
    found = find(records, **match)
    assert len(found) == 1, f"expected one record with {match}, got {len(found)}: {found}"
    return found[0]


# An LD_PRELOAD shim that makes the bpf(2) calls matching REFUSE (a C condition on
# the command `a` and the attributes `b`) fail with ERRNO, for the process it is
# preloaded into: a kernel without some feature, emulated.
BPF_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

long syscall(long nr, ...)
{
    static long (*real)(long, ...);
    va_list ap;
    long a, b, c, d, e, f;

    va_start(ap, nr);
    a = va_arg(ap, long); b = va_arg(ap, long); c = va_arg(ap, long);
    d = va_arg(ap, long); e = va_arg(ap, long); f = va_arg(ap, long);
    va_end(ap);
    if (!real)
        real = dlsym(RTLD_NEXT, "syscall");
    if (nr == SYS_bpf && (REFUSE)) {
        errno = ERRNO;
        return -1;
    }
    return real(nr, a, b, c, d, e, f);
}
"""


def bpf_shim(refuse, errno_name):
    """The path of a BPF_SHIM built for this test (removed at its end)."""
    d = tempfile.mkdtemp(prefix="nlt-shim-")
    defer(lambda: shutil.rmtree(d))
    src, lib = os.path.join(d, "shim.c"), os.path.join(d, "shim.so")
    with open(src, "w") as f:
        f.write(BPF_SHIM.replace("REFUSE", refuse).replace("ERRNO", errno_name))
    sh("gcc", "-shared", "-fPIC", "-o", lib, src, "-ldl")
    return lib


def netlens_refusing_tracing(*args, command):
    """netlens started as on a kernel that refuses tp_btf (tracing programs: EPERM)."""
    os.environ["LD_PRELOAD"] = bpf_shim(
        "a == BPF_PROG_LOAD && ((union bpf_attr *)b)->prog_type == BPF_PROG_TYPE_TRACING",
        "EPERM")
    try:
        return Netlens(*args, command=command)
    finally:
        del os.environ["LD_PRELOAD"]


def held_connections(pair, port, count, *nl_args, command="conns"):
    """count connections held open (accept queue, never accepted) while
    netlens COMMAND runs with nl_args (e.g. a small --max-conns); returns its records."""
    srv = peer(pair.b, "server", pair.B4, port, "--no-accept")
    srv.expect("READY")
    nl = Netlens("-P", port, *nl_args, command=command)
    hold = peer(pair.a, "hold", pair.B4, port, "--count", count)
    assert hold.expect("HELD") == [str(count)]
    for p in (hold, srv):
        p.p.stdin.write("\n")
        p.p.stdin.flush()
        p.expect("DONE")
    return nl.stop()


def nstat(ns, *names):
    """The kernel's own SNMP counters in namespace ns, {name: value}: absolute (a fresh
    namespace starts at 0), zeros included, nstat's history left alone."""
    out = sh("nstat", "-asz", *names, ns=ns)
    values = {ln.split()[0]: int(ln.split()[1]) for ln in out.splitlines()[1:] if ln.strip()}
    return {n: values.get(n, 0) for n in names}


def free_port():
    """A TCP port free on loopback right now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10, ns=None):
    """(status, body) of a GET; in namespace ns through curl if given."""
    if ns:
        out = sh("curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", str(timeout),
                 url, ns=ns)
        body, _, code = out.rpartition("\n")
        return int(code), body
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of a Prometheus text page."""
    import re
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = sample.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(label.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class Serve:
    """build/netlens serve on a free loopback port (in network namespace ns if given).

    nsenter --net, not `ip netns exec`: the latter also remounts /sys, which
    hides the cgroup v2 mount the dns module attaches to.
    """

    def __init__(self, *args, ns=None, port=None):
        self.port = port or free_port()
        self.ns = ns
        self.url = f"http://127.0.0.1:{self.port}"
        prefix = ["nsenter", f"--net=/run/netns/{ns}"] if ns else []
        self.argv = prefix + [NETLENS, "serve", "--listen", f"127.0.0.1:{self.port}"] + \
            [str(a) for a in args]
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.pid = self.p.pid
        defer(self._kill)
        self._wait_started()

    def _wait_started(self, timeout=20):
        """Reads stderr lines up to the start line; the earlier ones are errors."""
        deadline = time.time() + timeout
        fd, pending = self.p.stderr.fileno(), b""
        self.errors = []
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
            chunk = os.read(fd, 4096) if r else b""
            if r and not chunk:
                raise AssertionError(f"serve exited {self.p.wait()}: {pending.decode()}")
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if b"modules attached" in line:
                    self.started = line.decode()
                    return
                self.errors.append(line.decode())
        raise AssertionError(f"serve did not start in time: {self.errors}")

    def get(self, path, timeout=10):
        return http_get(self.url + path, timeout=timeout, ns=self.ns)

    def metrics(self):
        code, body = self.get("/metrics")
        assert code == 200, (code, body)
        return body

    def value(self, name, page=None, **labels):
        """A sample's value (0 if absent) on the current page (or page)."""
        m = parse_metrics(page if page is not None else self.metrics())
        return m.get((name, frozenset((k, str(v)) for k, v in labels.items())), 0)

    def wait_value(self, name, want, timeout=15, **labels):
        """Waits until a sample reaches want (pages are rebuilt every second)."""
        deadline = time.time() + timeout
        while True:
            v = self.value(name, **labels)
            if v >= want or time.time() > deadline:
                return v
            time.sleep(0.2)

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        out, err = self.p.communicate(timeout=20)
        assert self.p.returncode == 0, f"serve exit {self.p.returncode}: {err}"
        return err

    def _kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def connections(pair, port, count, family=4, send=1000, reply=100):
    """count sequential connections from a to b:port, each sending send bytes
    and receiving reply; returns when all are closed."""
    srv = peer(pair.b, "server", pair.addr("b", family), port, "--expect", send,
               "--reply", reply, "--accept", count, name="nlt-server")
    srv.expect("READY")
    for _ in range(count):
        cli = peer(pair.a, "client", pair.addr("b", family), port, "--send", send,
                   "--expect", reply, name="nlt-client")
        cli.expect("CONNECTED")
        cli.expect("DONE")
        cli.wait()
    for _ in range(count):
        srv.expect("ACCEPTED")
    srv.expect("DONE")
    srv.wait()
