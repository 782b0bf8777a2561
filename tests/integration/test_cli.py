"""Command-line contract: exit codes and one-line errors."""
import json
import subprocess

from nltest import NETLENS, free_port


def run(*args, user=None):
    argv = [NETLENS] + list(args)
    if user:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def assert_usage_error(*args, words=()):
    r = run(*args)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netlens: "), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert r.stdout == "", r.stdout


def test_usage_errors():
    assert_usage_error("frobnicate", words=("unknown command", "frobnicate"))
    assert_usage_error("conns", "--frob", words=("unknown option", "--frob"))
    assert_usage_error("conns", "-x", words=("unknown option", "-x"))
    assert_usage_error("conns", "-p", "abc", words=("--pid", "abc"))
    assert_usage_error("conns", "-p", "0")
    assert_usage_error("conns", "-d", "-1", words=("--duration",))
    assert_usage_error("conns", "-d", "soon")
    assert_usage_error("conns", "-P", "70000", words=("--port",))
    assert_usage_error("conns", "-o", "xml", words=("table or json",))
    assert_usage_error("conns", "--cgroup", "/nonexistent/cg", words=("cgroup v2",))
    assert_usage_error("conns", "--cgroup", "/tmp", words=("not a cgroup v2 directory",))
    assert_usage_error("conns", "--netns", "nlt-no-such-ns", words=("--netns", "no such network namespace"))
    assert_usage_error("conns", "--interval", "0", words=("--interval",))
    assert_usage_error("conns", "-c", "a-name-longer-than-15")
    assert_usage_error("conns", "--max-conns", "12", words=("--max-conns",))
    assert_usage_error("conns", "--hook", "kprobe", words=("--hook",))
    assert_usage_error("conns", "-p")
    assert_usage_error("conns", "stray", words=("unexpected argument",))


def test_not_root_is_exit_1():
    r = run("conns", "-d", "1", user=65534)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "needs root" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = run("probe", user=65534)
    assert r.returncode == 1 and "needs root" in r.stderr, r.stderr


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and "conns" in r.stdout and "probe" in r.stdout
    r = run("conns", "--help")
    assert r.returncode == 0
    for opt in ("--output", "--duration", "--pid", "--comm", "--port", "--cgroup",
                "--netns", "--interval", "--verbose", "--ipv4", "--ipv6"):
        assert opt in r.stdout, opt
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("netlens ")


def test_no_command_runs_top():
    """netlens without a command is `top` (issue 13): not on a terminal, its snapshot."""
    r = run("-d", "0.5")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("netlens top: 0.5 s, modules: conns latency"), r.stdout
    assert r.stderr.startswith("netlens top: watching for 0.5 s"), r.stderr


def test_output_errors():
    with open("/dev/full", "w") as full:
        r = subprocess.run([NETLENS, "conns", "-o", "json", "-d", "0.5"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 1 and "writing output failed: No space left on device" in r.stderr
    # A reader that goes away (| head) is a normal end.
    p = subprocess.Popen([NETLENS, "conns", "-o", "json", "-d", "0.5"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.close()
    assert p.wait(timeout=30) == 0


def test_probe_json():
    r = run("probe", "-o", "json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["type"] == "probe" and p["btf"] is True
    assert p["hooks"]["ring_buffer"]["ok"] and p["hooks"]["raw_tracepoint"]["ok"]
    assert p["tracepoints"]["sock:inet_sock_set_state"] is True
    assert p["capabilities"]["conns"]["ok"] is True
    assert "inet_sock_set_state" in p["capabilities"]["conns"]["method"]
    for hook in ("kprobe", "fentry", "xdp_native", "xdp_generic", "tc", "sock_ops", "uprobe"):
        assert hook in p["hooks"], hook


def test_interval_repeats_the_summary():
    r = run("conns", "-o", "json", "-d", "1.1", "--interval", "0.25", "-P", "1")
    assert r.returncode == 0, r.stderr
    stats = [json.loads(line) for line in r.stdout.splitlines()]
    assert [s["type"] for s in stats] == ["stats"] * 5, r.stdout   # 4 intervals + exit


def test_netns_must_be_a_network_namespace():
    """A file that is not a namespace, or an inode no namespace has, is refused."""
    assert_usage_error("conns", "--netns", "/etc/passwd", words=("not a network namespace",))
    assert_usage_error("conns", "--netns", "/proc/self/ns/mnt", words=("not a network namespace",))
    assert_usage_error("conns", "--netns", "12345", words=("no network namespace has this inode",))


def test_numbers_are_decimal_and_lists_have_no_empty_or_repeated_items():
    assert_usage_error("conns", "-d", "0x10", words=("--duration", "0x10"))
    assert_usage_error("conns", "-d", "1e1", words=("--duration",))
    assert_usage_error("conns", "--interval", "inf", words=("--interval",))
    assert_usage_error("serve", "--enable", "conns,,dns", words=("--enable", "empty module name"))
    assert_usage_error("serve", "--enable", "conns,conns", words=("--enable", "named twice"))
    assert_usage_error("serve", "--enable", ",", words=("empty module name",))


def test_long_values_are_echoed_as_a_short_prefix():
    """A 100 KB argument is named by its first characters, never echoed whole."""
    long = "x" * 100000
    for args in (("conns", "--" + long), ("conns", "-p", long), ("conns", "--netns", long),
                 ("drops", "--reason", long), ("serve", "--enable", long), (long,)):
        r = run(*args)
        assert r.returncode == 2, (args[:1], r.returncode)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and len(lines[0]) < 400 and "xxx..." in lines[0], lines[0][:500]
    r = run("serve", "--listen", f"127.0.0.1:{free_port()}", "--enable", "drops",
            "--events-file", "/nonexistent/" + long)
    assert r.returncode == 1 and len(r.stderr) < 400 and "xxx..." in r.stderr, r.stderr[:500]
