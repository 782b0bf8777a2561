#!/usr/bin/env python3
"""UDP peers for the drops tests.

  drops_udp.py send ADDR PORT --count N [--size S] [--ports K]
        sends N datagrams from one socket (to each of K ports from PORT
        on); prints "SENT N SPORT"
  drops_udp.py recv ADDR PORT --rcvbuf B [--raw]
        binds a UDP socket (--raw: a raw IPPROTO_UDP socket, which gets a
        copy of every UDP datagram) with SO_RCVBUF B and never reads; prints
        "READY"; on a line on stdin reads what the socket holds without
        blocking and prints "HELD N"

  drops_udp.py tcp-server ADDR PORT --count N
        accepts N connections; reads --size bytes of each, answers as many,
        closes at the client's end; prints "READY", then "DONE N"
  drops_udp.py tcp-storm ADDR PORT --count N
        N connections one after the other (bench/connstorm.c's): each sends
        --size bytes, reads the answer and closes; prints "DONE N"

  drops_udp.py frag-needed ADDR --count N
        sends N ICMP "fragmentation needed" messages (next-hop MTU 1280)
        to ADDR about a UDP datagram it sent; prints "SENT N"

Each sets its comm with --name and prints one flushed status line per step.
"""
import argparse
import socket
import struct
import sys

from peerlib import family_of, recv_exactly, say, set_comm


def send(a):
    s = socket.socket(family_of(a.addr), socket.SOCK_DGRAM)
    for port in range(a.port, a.port + a.ports):
        s.connect((a.addr, port))
        for _ in range(a.count):
            try:
                s.send(b"d" * a.size)
            except ConnectionRefusedError:
                # The ICMP error of an earlier datagram: this one was not sent yet.
                s.send(b"d" * a.size)
            except PermissionError:
                pass   # dropped by an output rule, inside send(2)
    say("SENT", a.count, s.getsockname()[1])


def recv(a):
    if a.raw:
        s = socket.socket(family_of(a.addr), socket.SOCK_RAW, socket.IPPROTO_UDP)
    else:
        s = socket.socket(family_of(a.addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    s.bind((a.addr, 0 if a.raw else a.port))
    say("READY")
    sys.stdin.readline()
    s.setblocking(False)
    held = 0
    while True:
        try:
            s.recv(65536)
        except BlockingIOError:
            break
        held += 1
    say("HELD", held)


def tcp_server(a):
    s = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(256)
    say("READY")
    for _ in range(a.count):
        c, _ = s.accept()
        recv_exactly(c, a.size)
        c.sendall(b"r" * a.size)
        while c.recv(65536):
            pass
        c.close()
    say("DONE", a.count)


def tcp_storm(a):
    for _ in range(a.count):
        c = socket.create_connection((a.addr, a.port))
        c.sendall(b"q" * a.size)
        recv_exactly(c, a.size)
        c.close()
    say("DONE", a.count)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff


def frag_needed(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    src = socket.inet_aton(a.addr)
    # The offending datagram as the router saw it: an IPv4 header with DF,
    # from ADDR, and its first 8 bytes (a UDP header).
    far = socket.inet_aton("10.9.0.7")
    inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 0, 0x4000, 64, 17, 0, src, far)
    inner += struct.pack("!HHHH", 40000, 5001, 1480, 0)
    msg = struct.pack("!BBHHH", 3, 4, 0, 0, 1280) + inner
    msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    for _ in range(a.count):
        s.sendto(msg, (a.addr, 0))
    say("SENT", a.count)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["send", "recv", "tcp-server", "tcp-storm", "frag-needed"])
    p.add_argument("addr")
    p.add_argument("port", type=int, nargs="?", default=0)
    p.add_argument("--name", default="")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--ports", type=int, default=1)
    p.add_argument("--rcvbuf", type=int, default=0)
    p.add_argument("--raw", action="store_true")
    a = p.parse_args()
    if a.name:
        set_comm(a.name)
    {"send": send, "recv": recv, "tcp-server": tcp_server, "tcp-storm": tcp_storm,
     "frag-needed": frag_needed}[a.role](a)


if __name__ == "__main__":
    main()
