"""DNS test fixtures: a real resolver (dnsmasq) with a local zone, and dig.

The resolver listens on the server namespace (b) of a Pair; queries are sent
from the client namespace (a) with dig from bind9-dnsutils.
"""
import re
import subprocess
import time

import nltest

ZONE = "nlt.test"
A_ADDR, AAAA_ADDR, B_ADDR = "10.9.8.7", "fd00:98::7", "10.9.8.8"
# Nobody answers there: a host on the client's subnet that does not exist.
SILENT4 = "10.231.0.9"


class Resolver:
    """dnsmasq in pair.b on port 53: a.nlt.test A/AAAA, b.nlt.test A, c -> d -> b CNAMEs."""

    def __init__(self, pair):
        argv = ["ip", "netns", "exec", pair.b, "dnsmasq", "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=",
                "--user=root", "--port=53", "--bind-interfaces",
                f"--listen-address={pair.B4}", f"--listen-address={pair.B6}",
                f"--local=/{ZONE}/",   # unknown names in the zone: NXDOMAIN, never forwarded
                f"--address=/a.{ZONE}/{A_ADDR}", f"--address=/a.{ZONE}/{AAAA_ADDR}",
                f"--host-record=b.{ZONE},{B_ADDR}",
                f"--cname=c.{ZONE},d.{ZONE}", f"--cname=d.{ZONE},b.{ZONE}"]
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        nltest.defer(self.stop)
        self.pair = pair
        self._wait_ready()

    def _wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError(f"dnsmasq exited: {self.p.stderr.read().decode()}")
            out = nltest.sh("dig", f"@{self.pair.B4}", "+tries=1", "+time=1", "+short",
                            f"b.{ZONE}", ns=self.pair.a, check=False)
            if B_ADDR in out:
                return
            time.sleep(0.1)
        raise AssertionError("dnsmasq did not answer in time")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def dig(pair, server, *args, prefix=()):
    """Runs dig in pair.a; returns (pid, message id, stdout). 'ip netns exec' execs: pid is dig's."""
    p = subprocess.Popen([*prefix, "ip", "netns", "exec", pair.a, "dig", f"@{server}", "+tries=1",
                          "+time=1", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, _ = p.communicate(timeout=20)
    m = re.search(r"status: \w+, id: (\d+)", out)
    return p.pid, int(m.group(1)) if m else None, out


def send_udp(pair, addr, port, payloads):
    """Sends raw UDP datagrams from pair.a, one per payload (bytes)."""
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for h in sys.argv[3:]: s.sendto(bytes.fromhex(h),(sys.argv[1],int(sys.argv[2])))\n")
    nltest.sh("python3", "-c", code, addr, str(port), *[p.hex() for p in payloads], ns=pair.a)


def header(qd=1, an=0, ns=0, ar=0, id=0x1234, flags=0x0100):
    return (id.to_bytes(2, "big") + flags.to_bytes(2, "big") + qd.to_bytes(2, "big")
            + an.to_bytes(2, "big") + ns.to_bytes(2, "big") + ar.to_bytes(2, "big"))


