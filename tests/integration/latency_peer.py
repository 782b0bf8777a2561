#!/usr/bin/env python3
"""Request/response peers for the latency and retrans tests.

  latency_peer.py server ADDR PORT [--req N] [--resp M] [--sleep S] [--accept K]
  latency_peer.py client ADDR PORT [--count C] [--req N] [--resp M] [--wait] [--hold]

The server answers every request of --req bytes with --resp bytes after
sleeping --sleep seconds, until the client closes; it serves --accept
connections one after the other. The client connects (with --wait, then
waits for a line on stdin), makes --count exchanges, prints DONE, and with --hold keeps the connection open until a
line arrives on stdin (so the test can read `ss` for it). Both print one
status line per step and set their comm with --name.
"""
import argparse
import socket
import sys
import time

from peerlib import family_of, recv_exactly, say, set_comm


def server(a):
    s = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(16)
    say("READY")
    for _ in range(a.accept):
        c, peer = s.accept()
        say("ACCEPTED", peer[1])
        while recv_exactly(c, a.req):
            time.sleep(a.sleep)
            c.sendall(b"r" * a.resp)
        c.close()
    s.close()
    say("DONE")


def client(a):
    c = socket.create_connection((a.addr, a.port))
    say("CONNECTED", c.getsockname()[1])
    if a.wait:
        sys.stdin.readline()
    for _ in range(a.count):
        c.sendall(b"q" * a.req)
        if not recv_exactly(c, a.resp):
            raise SystemExit("server closed early")
    say("DONE")
    if a.hold:
        sys.stdin.readline()
    c.close()
    say("CLOSED")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--name", default="")
    p.add_argument("--req", type=int, default=100)
    p.add_argument("--resp", type=int, default=100)
    p.add_argument("--sleep", type=float, default=0)
    p.add_argument("--accept", type=int, default=1)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--hold", action="store_true")
    p.add_argument("--wait", action="store_true", help="client: a stdin line before the exchanges")
    a = p.parse_args()
    if a.name:
        set_comm(a.name)
    {"server": server, "client": client}[a.role](a)


if __name__ == "__main__":
    main()
