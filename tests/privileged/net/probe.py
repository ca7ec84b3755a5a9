#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Clients and servers for the Service tests (run inside the test's
network namespace).

  probe.py tcp ADDR PORT N      N HTTP GETs, one connection each: prints
                                "peer=ADDR:PORT" per distinct peer name
                                getpeername() gave and each distinct body;
                                "refused" when a connect is refused, else
                                "error: MESSAGE"
  probe.py udp ADDR PORT N [fresh]
                                N datagrams from one unconnected socket
                                (fresh: from a new socket each, i.e. a new
                                source port: a new conntrack flow for a
                                DNAT datapath): prints "from=ADDR:PORT" per
                                distinct source recvfrom() gave and each
                                distinct reply
  probe.py tls ADDR PORT        a TLS handshake: "tls ok peer=ADDR:PORT"
  probe.py udphold ADDR PORT FILE
                                one socket: a datagram ("first=REPLY"),
                                then, once FILE exists (20 s at most), 5
                                more: "after=REPLY" per distinct reply
  probe.py udpserve ADDR PORT   answer every datagram with "udp-ADDR"
  probe.py acceptserve ADDR PORT  accept connections and close them
  probe.py latency ADDR PORT N ADDR2 PORT2
                                median microseconds of connect() to each,
                                alternating
"""
import socket
import sys
import time


def tcp(addr, port, n):
    peers, bodies = set(), set()
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((addr, port))
        except ConnectionRefusedError:
            print("refused")
            return 0
        except OSError as e:
            print("error: " + e.strerror)
            return 0
        peers.add("%s:%d" % s.getpeername())
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        bodies.add(data.split(b"\r\n\r\n", 1)[-1].decode().strip())
    for p in sorted(peers):
        print("peer=" + p)
    for b in sorted(bodies):
        print(b)
    return 0


def tls(addr, port):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((addr, port), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            print("tls ok peer=%s:%d" % t.getpeername())
    return 0


def udp(addr, port, n, fresh=False):
    s = None
    froms, replies = set(), set()
    for _ in range(n):
        if s is None or fresh:
            if s is not None:
                s.close()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
        s.sendto(b"ping", (addr, port))
        try:
            data, src = s.recvfrom(512)
        except socket.timeout:
            print("timeout")
            continue
        froms.add("%s:%d" % src)
        replies.add(data.decode())
    for f in sorted(froms):
        print("from=" + f)
    for r in sorted(replies):
        print(r)
    return 0


def udphold(addr, port, path):
    import os
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)

    def ask():
        s.sendto(b"ping", (addr, port))
        try:
            return s.recvfrom(512)[0].decode()
        except socket.timeout:
            return "timeout"

    print("first=" + ask(), flush=True)
    for _ in range(200):
        if os.path.exists(path):
            break
        time.sleep(0.1)
    for r in sorted({ask() for _ in range(5)}):
        print("after=" + r)
    return 0


def udpserve(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        _, src = s.recvfrom(512)
        s.sendto(("udp-" + addr).encode(), src)


def acceptserve(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4096)
    while True:
        c, _ = s.accept()
        c.close()


def latency(addr, port, n, addr2, port2):
    """Alternate connects to both targets (the machine's load hits both
    alike); print each one's median microseconds."""
    times = ([], [])
    for i in range(2 * n):
        which = i % 2
        s = socket.socket()
        t = time.perf_counter()
        s.connect((addr, port) if which == 0 else (addr2, port2))
        times[which].append(time.perf_counter() - t)
        s.close()
    med = [sorted(x)[len(x) // 2] * 1e6 for x in times]
    print("%.1f %.1f" % (med[0], med[1]))
    return 0


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "tcp":
        return tcp(addr, port, int(sys.argv[4]))
    if mode == "tls":
        return tls(addr, port)
    if mode == "udp":
        return udp(addr, port, int(sys.argv[4]),
                   len(sys.argv) > 5 and sys.argv[5] == "fresh")
    if mode == "udphold":
        return udphold(addr, port, sys.argv[4])
    if mode == "udpserve":
        return udpserve(addr, port)
    if mode == "acceptserve":
        return acceptserve(addr, port)
    if mode == "latency":
        return latency(addr, port, int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    return 2


if __name__ == "__main__":
    sys.exit(main())
