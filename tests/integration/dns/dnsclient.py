# SPDX-License-Identifier: Apache-2.0
"""A minimal DNS client over UDP and TCP (python3 standard library), for
tests: builds one query, parses the answer's sections into
(name, type, rdata-text) tuples."""
import random
import socket
import struct

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "TXT": 16,
         "AAAA": 28, "SRV": 33, "OPT": 41, "ANY": 255}
NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED"}


def build_query(name, qtype="A", edns=None, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    hdr = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l)
    q += b"\0" + struct.pack("!HH", TYPES[qtype], 1)
    if edns:
        q += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return qid, hdr + q


def _name(msg, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        ln = msg[off]
        if ln == 0:
            off += 1
            break
        if ln & 0xC0 == 0xC0:
            ptr = struct.unpack("!H", msg[off:off + 2])[0] & 0x3FFF
            if not jumped:
                end = off + 2
            jumped, off = True, ptr
            continue
        labels.append(msg[off + 1:off + 1 + ln].decode("ascii", "replace"))
        off += 1 + ln
    return ".".join(labels) + ".", (end if jumped else off)


def _rdata(msg, off, rtype, rdlen):
    d = msg[off:off + rdlen]
    if rtype == 1:
        return socket.inet_ntop(socket.AF_INET, d)
    if rtype == 28:
        return socket.inet_ntop(socket.AF_INET6, d)
    if rtype in (2, 5, 12):
        return _name(msg, off)[0]
    if rtype == 33:
        prio, weight, port = struct.unpack("!HHH", d[:6])
        return "%d %d %d %s" % (prio, weight, port, _name(msg, off + 6)[0])
    if rtype == 6:
        mname, o = _name(msg, off)
        rname, o = _name(msg, o)
        return "%s %s %d %d %d %d %d" % ((mname, rname) + struct.unpack("!IIIII", msg[o:o + 20]))
    if rtype == 16:
        return d[1:1 + d[0]].decode()
    return d.hex()


class Reply:
    def __init__(self, msg):
        self.raw = msg
        (self.id, flags, qd, an, ns, ar) = struct.unpack("!HHHHHH", msg[:12])
        self.tc = bool(flags & 0x0200)
        self.aa = bool(flags & 0x0400)
        self.rcode = RCODES.get(flags & 15, str(flags & 15))
        off = 12
        for _ in range(qd):
            _, off = _name(msg, off)
            off += 4
        self.sections = []
        for count in (an, ns, ar):
            rrs = []
            for _ in range(count):
                name, off = _name(msg, off)
                rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
                off += 10
                rrs.append((name.lower(), NAMES.get(rtype, str(rtype)),
                            _rdata(msg, off, rtype, rdlen)))
                off += rdlen
            self.sections.append(rrs)
        self.answer, self.authority, self.additional = self.sections

    def values(self, rtype=None):
        return sorted(r[2] for r in self.answer if rtype is None or r[1] == rtype)

    def __repr__(self):
        return "<%s tc=%s %r>" % (self.rcode, self.tc, self.sections)


def query(server, port, name, qtype="A", tcp=False, edns=None, timeout=3):
    qid, q = build_query(name, qtype, edns)
    if tcp:
        with socket.create_connection((server, port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    raise OSError("connection closed")
                buf += chunk
            msg = buf[2:2 + struct.unpack("!H", buf[:2])[0]]
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(q, (server, port))
            while True:
                msg, _ = s.recvfrom(65536)
                if msg[:2] == q[:2]:
                    break
    r = Reply(msg)
    assert r.id == qid
    return r
