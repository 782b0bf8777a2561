#!/usr/bin/env python3
"""Small servers for the http tests (run inside a namespace):

  slow ADDR PORT SECONDS   HTTP/1.1 keep-alive; every answer after SECONDS
  chunked ADDR PORT BYTES  one response of BYTES body bytes in 64 KiB chunks; prints
                           SENT and the bytes it wrote (header and chunk framing too)
  reset ADDR PORT          reads a request, then resets the connection (SO_LINGER 0)
  binary ADDR PORT         a binary request/response protocol, 5 exchanges
  garbage ADDR PORT        answers anything with 'HTTP/1.1 200' after a non-HTTP request

Prints READY once listening, then serves one connection and exits.
"""
import socket
import struct
import sys
import time


def listen(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    print("READY", flush=True)
    return s


def read_request(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


def slow(c, seconds):
    while read_request(c):
        time.sleep(seconds)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n")


def chunked(c, size):
    read_request(c)
    parts = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"]
    block, left = b"x" * 65536, size
    while left:
        n = min(left, len(block))
        parts.append(b"%x\r\n" % n + block[:n] + b"\r\n")
        left -= n
    parts.append(b"0\r\n\r\n")
    for p in parts:
        c.sendall(p)
    print("SENT", sum(map(len, parts)), flush=True)


def reset(c):
    read_request(c)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def binary(c):
    for _ in range(5):
        if not c.recv(64):
            return
        c.sendall(b"\x00\x02\xffOK" * 4)


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = listen(addr, port)
    c, _ = s.accept()
    if mode == "slow":
        slow(c, float(sys.argv[4]))
    elif mode == "chunked":
        chunked(c, int(sys.argv[4]))
    elif mode == "reset":
        reset(c)
    elif mode == "binary":
        binary(c)
    elif mode == "garbage":
        for _ in range(5):
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
