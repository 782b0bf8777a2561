#!/usr/bin/env python3
"""Traffic for the flows tests, run inside a namespace.

  flows_traffic.py udp DST PORT COUNT SIZE [--src ADDR] [--ports N] [--rate PPS]
      COUNT datagrams of SIZE payload bytes to DST, ports PORT..PORT+N-1 in turn
  flows_traffic.py tcp-sink ADDR PORT        accepts one connection, reads to EOF
  flows_traffic.py tcp-send DST PORT BYTES   connects, sends BYTES, closes
  flows_traffic.py raw IFACE HEXFRAME COUNT  sends a crafted Ethernet frame COUNT times

Prints DONE (and for tcp-send the client port) when finished.
"""
import argparse
import socket
import sys
import time

from peerlib import family_of


def udp(a):
    s = socket.socket(family_of(a.dst), socket.SOCK_DGRAM)
    if a.src:
        s.bind((a.src, 0))
    payload = b"x" * a.size
    gap = 1.0 / a.rate if a.rate else 0
    start = time.monotonic()
    for i in range(a.count):
        s.sendto(payload, (a.dst, a.port + i % a.ports))
        if gap:
            delay = start + (i + 1) * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    print("DONE", flush=True)


def tcp_sink(a):
    ls = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(1)
    print("READY", flush=True)
    c, _ = ls.accept()
    got = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += len(b)
    c.close()
    print("DONE", got, flush=True)


def tcp_send(a):
    s = socket.create_connection((a.dst, a.port))
    buf = b"y" * 65536
    left = a.bytes
    while left:
        left -= s.send(buf[:min(left, len(buf))])
    port = s.getsockname()[1]
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
    print("DONE", port, flush=True)


def raw(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    frame = bytes.fromhex(a.frame)
    for _ in range(a.count):
        s.send(frame)
    print("DONE", flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("udp")
    u.add_argument("dst")
    u.add_argument("port", type=int)
    u.add_argument("count", type=int)
    u.add_argument("size", type=int)
    u.add_argument("--src")
    u.add_argument("--ports", type=int, default=1)
    u.add_argument("--rate", type=float, default=0)
    k = sub.add_parser("tcp-sink")
    k.add_argument("addr")
    k.add_argument("port", type=int)
    t = sub.add_parser("tcp-send")
    t.add_argument("dst")
    t.add_argument("port", type=int)
    t.add_argument("bytes", type=int)
    r = sub.add_parser("raw")
    r.add_argument("iface")
    r.add_argument("frame")
    r.add_argument("count", type=int)
    a = p.parse_args()
    {"udp": udp, "tcp-sink": tcp_sink, "tcp-send": tcp_send, "raw": raw}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
