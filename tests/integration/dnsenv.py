"""DNS test fixtures: a real resolver (dnsmasq) with a local zone, and dig.

The resolver listens on the server namespace (b) of a Pair; queries are sent
from the client namespace (a) with dig from bind9-dnsutils.
"""
import json
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




def query(qname, qtype=1, msg_id=1):
    """A DNS query message (RD set) for qname."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in qname.split("."))
    return header(id=msg_id) + labels + b"\x00" + qtype.to_bytes(2, "big") + b"\x00\x01"


# Sends each query (hex) from one UDP socket and waits up to `wait` s for its answer.
_BURST = """
import socket, sys
server, wait = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(wait)
answered = 0
for h in sys.argv[3:]:
    s.sendto(bytes.fromhex(h), (server, 53))
    try:
        s.recv(4096)
        answered += 1
    except socket.timeout:
        pass
print(answered)
"""


def query_burst(pair, server, qnames, wait=0.5, first_id=1):
    """One query per name from one socket in pair.a (ids from first_id); returns how many
    were answered."""
    msgs = [query(n, msg_id=first_id + i).hex() for i, n in enumerate(qnames)]
    return int(nltest.sh("python3", "-c", _BURST, server, str(wait), *msgs, ns=pair.a))


RCODES = {"NOERROR": 0, "SERVFAIL": 2, "NXDOMAIN": 3, "REFUSED": 5}


class DnsCounters:
    """nftables counters in a namespace: UDP datagrams to port 53 sent, and answers
    received by rcode (the 4 low bits of the DNS header's 4th byte: bits 92-95 after
    the start of the UDP header). The kernel's own count of what went on the wire."""

    def __init__(self, ns):
        self.ns = ns
        rules = ["add table inet nltdns",
                 "add chain inet nltdns out { type filter hook output priority 0; }",
                 "add chain inet nltdns in { type filter hook input priority 0; }",
                 "add rule inet nltdns out udp dport 53 counter comment \"sent\""]
        rules += [f"add rule inet nltdns in udp sport 53 @th,92,4 {v} counter comment \"{k}\""
                  for k, v in RCODES.items()]
        nltest.sh("nft", "; ".join(rules), ns=ns)

    def read(self):
        """{"sent": n, "NOERROR": n, ...}"""
        out = json.loads(nltest.sh("nft", "-j", "list", "table", "inet", "nltdns", ns=self.ns))
        counts = {}
        for item in out["nftables"]:
            rule = item.get("rule")
            if rule:
                counter = next(e["counter"] for e in rule["expr"] if "counter" in e)
                counts[rule["comment"]] = counter["packets"]
        return counts


# Sends the same query (same socket, same id) `copies` times, `gap` s apart: a client's
# retransmissions, as a stub resolver sends them.
_RESEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    s.sendto(bytes.fromhex(sys.argv[4]), (sys.argv[1], 53))
    time.sleep(float(sys.argv[2]))
"""


def resend(pair, server, qname, copies, gap=0.1, msg_id=4242):
    nltest.sh("python3", "-c", _RESEND, server, str(gap), str(copies),
              query(qname, msg_id=msg_id).hex(), ns=pair.a)


def drop_dns(ns):
    """A resolver address that drops every query (nftables in its namespace)."""
    nltest.sh("nft", "add table inet nltdrop; add chain inet nltdrop in { type filter hook "
              "input priority 0; }; add rule inet nltdrop in udp dport 53 counter drop", ns=ns)


def dns_dropped(ns):
    """The datagrams drop_dns's rule dropped."""
    out = json.loads(nltest.sh("nft", "-j", "list", "table", "inet", "nltdrop", ns=ns))
    return next(e["counter"]["packets"] for item in out["nftables"] if "rule" in item
                for e in item["rule"]["expr"] if "counter" in e)


# Answers every query with one rcode (the question echoed, no answer): a server failing.
_RCODE_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("READY", flush=True)
while True:
    q, peer = s.recvfrom(4096)
    s.sendto(q[:2] + bytes([0x81, 0x80 | int(sys.argv[2])]) + q[4:], peer)
"""


class RcodeServer:
    """A DNS server in pair.b on B4:53 that answers every query with rcode (e.g. 2, SERVFAIL)."""

    def __init__(self, pair, rcode):
        self.p = nltest.Proc(["ip", "netns", "exec", pair.b, "python3", "-c", _RCODE_SERVER,
                              pair.B4, str(rcode)])
        self.p.expect("READY")
