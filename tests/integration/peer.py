#!/usr/bin/env python3
"""TCP peers with exact byte counts for the integration tests.

  peer.py server ADDR PORT --expect N --reply M [--accept K] [--no-accept]
                [--close-first] [--reset]
  peer.py client ADDR PORT --send N --expect M [--wait-eof] [--abort-after S]
  peer.py hold ADDR PORT --count N   (N connections, closed on a line on stdin)

Each sets its comm with --name, prints one status line per step (flushed)
so the test can follow it, and exits 0 on success.
"""
import argparse
import socket
import sys
import time

from peerlib import family_of, recv_exactly, say, set_comm


def need(sock, n):
    if not recv_exactly(sock, n):
        raise SystemExit(f"peer closed before {n} bytes")


def wait_eof(sock):
    while sock.recv(65536):
        pass


def server(a):
    s = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(256)
    say("READY", s.getsockname()[1])
    if a.no_accept:
        # Keep the listener (and its unaccepted children) until told to go.
        sys.stdin.readline()
        s.close()
        say("DONE")
        return
    for _ in range(a.accept):
        c, peer = s.accept()
        say("ACCEPTED", peer[1])
        if a.reset:
            # Close with the request unread: the kernel answers with a RST.
            time.sleep(0.3)
            c.close()
            continue
        need(c, a.expect)
        c.sendall(b"r" * a.reply)
        if not a.close_first:
            wait_eof(c)
        c.close()
    s.close()
    say("DONE")


def client(a):
    c = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
    if a.abort_after:
        # Give up on a handshake in flight: close before it completes.
        c.setblocking(False)
        say("CONNECTING", c.connect_ex((a.addr, a.port)))
        time.sleep(a.abort_after)
        c.close()
        say("DONE")
        return
    try:
        c.connect((a.addr, a.port))
    except OSError as e:
        say("ERROR", e.errno)
        return
    say("CONNECTED", c.getsockname()[1])
    try:
        c.sendall(b"q" * a.send)
        need(c, a.expect)
        if a.wait_eof:
            wait_eof(c)
    except ConnectionResetError:
        say("RESET")
        return
    c.close()
    say("DONE")


def hold(a):
    conns = []
    try:
        for _ in range(a.count):
            conns.append(socket.create_connection((a.addr, a.port)))
    except OSError as e:
        say("ERROR", e.errno)
    say("HELD", len(conns))
    sys.stdin.readline()
    for c in conns:
        c.close()
    say("DONE")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client", "hold"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--name", default="")
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--reply", type=int, default=0)
    p.add_argument("--accept", type=int, default=1)
    p.add_argument("--no-accept", action="store_true")
    p.add_argument("--close-first", action="store_true", help="server closes first")
    p.add_argument("--wait-eof", action="store_true", help="client closes after the server")
    p.add_argument("--reset", action="store_true", help="server closes with data unread")
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--abort-after", type=float, default=0,
                   help="client: non-blocking connect, close after this many seconds")
    a = p.parse_args()
    if a.name:
        set_comm(a.name)
    time.sleep(a.delay)
    {"server": server, "client": client, "hold": hold}[a.role](a)


if __name__ == "__main__":
    main()
