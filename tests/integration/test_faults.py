"""Faults: netlens killed with SIGKILL leaves nothing attached (TCX and XDP links), and
what a killed run left on a kernel without TCX (netlink filters, an XDP program
attached through netlink) is recognised by the next run, removed and said once.

A kernel without TCX (before Linux 6.6) is emulated by a shim preloaded into
netlens (no_tcx()): bpf(BPF_LINK_CREATE) refuses the TCX attach types as such a kernel does.
"""
import glob
import os
import re
import signal
import subprocess

from nltest import NETLENS, Pair, bpf_shim, defer, free_port, sh


STALE = re.compile(r"^netlens (flows|dns): removed (\d+) TC filters? left on nltb by a "
                   r"netlens run that is gone$")


def no_tcx():
    """A shim (nltest.bpf_shim) that refuses TCX links as kernels before 6.6 do."""
    return bpf_shim("a == BPF_LINK_CREATE && "
                    "(((union bpf_attr *)b)->link_create.attach_type == 46 || "   # TCX_INGRESS
                    "((union bpf_attr *)b)->link_create.attach_type == 47)",      # TCX_EGRESS
                    "EINVAL")


class Run:
    """netlens ARGS inside namespace ns (nsenter --net), stdout discarded; .said: the
    stderr lines up to and with the one that says what was attached."""

    def __init__(self, ns, *args, preload=None):
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = preload
        argv = ["nsenter", f"--net=/run/netns/{ns}", NETLENS] + [str(a) for a in args]
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, env=env)
        defer(self.kill)
        self.said = []
        while True:
            line = self.p.stderr.readline()
            assert line, f"netlens exited {self.p.wait()}: {self.said}"
            self.said.append(line.rstrip("\n"))
            if "attached" in line:
                return

    def tcx_progs(self):
        """Program ids of the TCX links the process holds."""
        ids = set()
        for path in glob.glob(f"/proc/{self.p.pid}/fdinfo/*"):
            with open(path) as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
            if info.get("link_type", "").strip() == "tcx":
                ids.add(int(info["prog_id"]))
        return ids

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def stop(self, sig=signal.SIGINT):
        """Clean exit; the stderr lines after the start line."""
        self.p.send_signal(sig)
        err = self.p.communicate(timeout=20)[1]
        assert self.p.returncode == 0, (self.p.returncode, err)
        return err.splitlines()


def filters(pair):
    """The bpf filters on nltb, ingress and egress, as tc prints them."""
    return [line for d in ("ingress", "egress")
            for line in sh("tc", "filter", "show", "dev", "nltb", d, ns=pair.b).splitlines()
            if " bpf " in line and " handle " in line]


def xdp_on(pair):
    return "prog/xdp" in sh("ip", "link", "show", "dev", "nltb", ns=pair.b)


def prog_exists(prog_id):
    return subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)],
                          capture_output=True).returncode == 0


def commands():
    """The three commands that attach to an interface's TC hooks: (argv, TC programs)."""
    return [(("flows", "-i", "nltb", "--hook", "tc"), 2),
            (("dns", "-i", "nltb"), 2),
            (("serve", "--listen", f"127.0.0.1:{free_port()}", "--enable", "flows,dns",
              "-i", "nltb"), 2)]   # in serve, -i is flows' (dns watches cgroups)


def test_kill9_with_tcx_leaves_nothing_attached():
    for argv, nprogs in commands():
        pair = Pair()
        run = Run(pair.b, *argv)
        assert "TCX links" in run.said[-1] or argv[0] == "serve", run.said
        progs = run.tcx_progs()
        assert len(progs) == nprogs, progs
        assert filters(pair) == []
        run.kill()
        # The links ended with the process: their programs are freed, nothing is left.
        assert [p for p in progs if prog_exists(p)] == [], argv
        assert filters(pair) == [] and not xdp_on(pair), argv
        assert "clsact" not in sh("tc", "qdisc", "show", "dev", "nltb", ns=pair.b)


def test_kill9_without_tcx_next_run_removes_the_stale_filters_once():
    shim = no_tcx()
    for argv, nprogs in commands():
        for next_preload in (None, shim):   # the next run with TCX, and without
            pair = Pair()
            run = Run(pair.b, *argv, preload=shim)
            assert "netlink filters" in run.said[-1] or argv[0] == "serve", run.said
            left = filters(pair)
            assert len(left) == nprogs and all("handle 0x6e6c" in f for f in left), left
            run.kill()
            assert filters(pair) == left, "netlink filters outlive their process"

            nxt = Run(pair.b, *argv, preload=next_preload)
            said = [line for line in nxt.said if STALE.match(line)]
            assert len(said) == 1 and STALE.match(said[0]).group(2) == str(nprogs), nxt.said
            now = filters(pair)
            assert len(now) == (nprogs if next_preload else 0), now
            assert not set(now) & set(left), now
            after = nxt.stop(signal.SIGTERM if argv[0] == "serve" else signal.SIGINT)
            assert not [line for line in after if "removed" in line], after
            assert filters(pair) == [] and not xdp_on(pair), (argv, next_preload)


def test_stale_netlink_xdp_program_removed_and_link_ends_with_kill9():
    """An older netlens attached XDP through netlink: its program, attached so and held
    by no process, is found, removed and said; ours now is a link that kill -9 ends."""
    pair = Pair()
    sh("ip", "link", "add", "nltx", "type", "veth", "peer", "name", "nlty", ns=pair.b)
    sh("ip", "link", "set", "nltx", "up", ns=pair.b)
    donor = Run(pair.b, "flows", "-i", "nltx", "--hook", "xdp", "--xdp-mode", "generic")
    out = sh("ip", "link", "show", "dev", "nltx", ns=pair.b)
    prog = int(re.search(r"prog/xdp id (\d+)", out).group(1))
    # netlens' own flows_xdp attached through netlink, as before links; then its run dies.
    sh("bpftool", "net", "attach", "xdpgeneric", "id", str(prog), "dev", "nltb", ns=pair.b)
    donor.kill()
    assert f"prog/xdp id {prog}" in sh("ip", "link", "show", "dev", "nltb", ns=pair.b)

    run = Run(pair.b, "flows", "-i", "nltb", "--hook", "xdp", "--xdp-mode", "generic")
    assert run.said[:-1] == [f"netlens flows: removed the XDP program (id {prog}) left on "
                             "nltb by a netlens run that is gone"], run.said
    assert not prog_exists(prog)
    out = sh("ip", "link", "show", "dev", "nltb", ns=pair.b)
    mine = int(re.search(r"prog/xdp id (\d+)", out).group(1))
    assert mine != prog
    run.kill()
    assert not xdp_on(pair) and not prog_exists(mine)

