"""What the test peers (peer.py, latency_peer.py, drops_udp.py, flows_traffic.py) share."""
import ctypes
import socket

PR_SET_NAME = 15


def set_comm(name):
    """The process name netlens reports (comm, at most 15 bytes)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def say(*words):
    """One status line for the test, flushed at once."""
    print(*words, flush=True)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv_exactly(sock, n):
    """Reads n bytes; False if the peer closed first."""
    got = 0
    while got < n:
        chunk = sock.recv(min(65536, n - got))
        if not chunk:
            return False
        got += len(chunk)
    return True
