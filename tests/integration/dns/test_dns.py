#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Cluster DNS through kubed (--no-node): Services, headless Services with
EndpointSlices and hand-written Endpoints, ExternalName, created through
the API and asked over UDP and TCP (this test's client, and dig when
installed): A, SRV with additional addresses, PTR, pod names,
NXDOMAIN/NODATA with the SOA, truncation over UDP and the full answer over
TCP, kube-system/kube-dns pointing at the listener, answers following a
Service's deletion, malformed packets survived, other names forwarded to an
upstream this test runs on loopback, and SERVFAIL with --dns-upstream none.

usage: test_dns.py KUBED"""
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "apiserver"))
sys.path.insert(0, HERE)
from kubed_harness import Failures, Kubed  # noqa: E402
import dnsclient  # noqa: E402

D = "cluster.local."


def free_udp_tcp_port(ip):
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ip, 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


class Upstream:
    """A DNS server on loopback (UDP and TCP) answering every question
    with A 192.0.2.77 (the only upstream this test lets kubed use)."""

    def __init__(self):
        self.port = free_udp_tcp_port("127.0.0.1")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.tsock = socket.socket()
        self.tsock.bind(("127.0.0.1", self.port))
        self.tsock.listen(8)
        self.seen = []
        self.stop = False
        self.threads = [threading.Thread(target=self.run, daemon=True),
                        threading.Thread(target=self.run_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def answer(self, msg, tcp):
        qend = 12
        while msg[qend]:
            qend += msg[qend] + 1
        qend += 5
        self.seen.append((dnsclient._name(msg, 12)[0], "tcp" if tcp else "udp"))
        hdr = msg[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + \
            socket.inet_aton("192.0.2.77")
        return hdr + msg[12:qend] + ans

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                msg, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            self.sock.sendto(self.answer(msg, False), addr)

    def run_tcp(self):
        self.tsock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.tsock.accept()
            except socket.timeout:
                continue
            with c:
                c.settimeout(2)
                buf = b""
                try:
                    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                    r = self.answer(buf[2:], True)
                    c.sendall(struct.pack("!H", len(r)) + r)
                except OSError:
                    pass

    def names(self):
        return [n for n, _ in self.seen]

    def close(self):
        self.stop = True
        for t in self.threads:
            t.join()
        self.sock.close()
        self.tsock.close()


def eventually(fn, timeout=10):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.05)


def svc(name, ns="default", spec=None):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns}, "spec": spec or {}}


def slice_(name, svcname, endpoints, ports, ns="default"):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svcname}},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def main():
    kubed = sys.argv[1]
    t = Failures()
    ip = "127.0.%d.%d" % (random.randrange(1, 255), random.randrange(2, 255))
    port = free_udp_tcp_port(ip)
    up = Upstream()
    k = Kubed(kubed, extra=["--cluster-dns-listen", "%s:%d" % (ip, port),
                            "--dns-upstream", "127.0.0.1:%d" % up.port])

    def q(name, qtype="A", **kw):
        return dnsclient.query(ip, port, name, qtype, **kw)

    try:
        k.start()
        t.check("cluster DNS for cluster.local listening on %s:%d" % (ip, port)
                in k.read_log(), "kubed logs where DNS listens")
        # kube-system/kube-dns: the cluster DNS address, endpoints here.
        r = eventually(lambda: (lambda x: x if x.status == 200 else None)(
            k.request("GET", "/api/v1/namespaces/kube-system/services/kube-dns")))
        t.check(r and r.json()["spec"]["clusterIP"] == "10.96.0.10",
                "kube-dns Service has ClusterIP 10.96.0.10", r and r.json())
        ep = eventually(lambda: (lambda x: x if x.status == 200 else None)(
            k.request("GET", "/api/v1/namespaces/kube-system/endpoints/kube-dns")))
        sub = ep.json()["subsets"][0] if ep else {}
        t.check(sub.get("addresses", [{}])[0].get("ip") == ip and
                {p["port"] for p in sub.get("ports", [])} == {port},
                "kube-dns Endpoints point at the listener", sub)
        a = eventually(lambda: q("kube-dns.kube-system.svc." + D).values())
        t.check(a == ["10.96.0.10"], "kube-dns answers its own name", a)

        # A ClusterIP Service.
        r = k.request("POST", "/api/v1/namespaces/default/services",
                      svc("web", spec={"selector": {"app": "web"}, "ports": [
                          {"name": "http", "port": 80, "targetPort": 8080}]}))
        t.check(r.status == 201, "create Service web", r)
        cip = r.json()["spec"]["clusterIP"]
        a = eventually(lambda: q("web.default.svc." + D).values())
        t.check(a == [cip], "web A = its ClusterIP", (a, cip))
        rr = q("_http._tcp.web.default.svc." + D, "SRV")
        t.check(rr.values("SRV") == ["0 100 80 web.default.svc.cluster.local."],
                "web SRV _http._tcp", rr)
        t.check(("web.default.svc.cluster.local.", "A", cip) in rr.additional,
                "SRV target's address in the additional section", rr)
        rev = ".".join(reversed(cip.split("."))) + ".in-addr.arpa."
        rr = q(rev, "PTR")
        t.check(rr.values() == ["web.default.svc.cluster.local."],
                "PTR of the ClusterIP", rr)
        rr = q("web.default.svc." + D, "AAAA")
        t.check(rr.rcode == "NOERROR" and not rr.answer and rr.authority and
                rr.authority[0][1] == "SOA", "AAAA: NODATA with SOA", rr)
        rr = q("nothere.default.svc." + D)
        t.check(rr.rcode == "NXDOMAIN" and rr.aa and rr.authority and
                rr.authority[0][1] == "SOA", "missing name: NXDOMAIN + SOA", rr)
        rr = q("10-42-3-4.default.pod." + D)
        t.check(rr.values() == ["10.42.3.4"], "pod name", rr)

        # A headless Service with an EndpointSlice (StatefulSet hostname).
        k.request("POST", "/api/v1/namespaces/default/services",
                  svc("db", spec={"clusterIP": "None",
                                  "ports": [{"name": "pg", "port": 5432}]}))
        r = k.request("POST",
                      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                      slice_("db-1", "db", [
                          {"addresses": ["10.42.0.5"], "hostname": "db-0",
                           "conditions": {"ready": True}},
                          {"addresses": ["10.42.0.6"], "conditions": {"ready": True}},
                          {"addresses": ["10.42.0.7"], "conditions": {"ready": False}}],
                          [{"name": "pg", "port": 5432, "protocol": "TCP"}]))
        t.check(r.status == 201, "create EndpointSlice db-1", r)
        a = eventually(lambda: q("db.default.svc." + D).values())
        t.check(a == ["10.42.0.5", "10.42.0.6"],
                "headless: A per ready endpoint", a)
        t.check(q("db-0.db.default.svc." + D).values() == ["10.42.0.5"],
                "hostname.svc record")
        rr = q("_pg._tcp.db.default.svc." + D, "SRV")
        t.check(rr.values() == ["0 50 5432 10-42-0-6.db.default.svc.cluster.local.",
                                "0 50 5432 db-0.db.default.svc.cluster.local."],
                "headless SRV: one per endpoint", rr)
        t.check(q("5.0.42.10.in-addr.arpa.", "PTR").values() ==
                ["db-0.db.default.svc.cluster.local."], "PTR of an endpoint")

        # Hand-written Endpoints of a Service without selector.
        k.request("POST", "/api/v1/namespaces/default/services",
                  svc("legacy", spec={"clusterIP": "None",
                                      "ports": [{"port": 53, "protocol": "UDP"}]}))
        r = k.request("POST", "/api/v1/namespaces/default/endpoints", {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "legacy", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "10.42.9.1"}, {"ip": "10.42.9.2"}],
                         "ports": [{"port": 53, "protocol": "UDP"}]}]})
        t.check(r.status == 201, "create Endpoints legacy", r)
        a = eventually(lambda: q("legacy.default.svc." + D).values())
        t.check(a == ["10.42.9.1", "10.42.9.2"], "Endpoints without slices", a)

        # ExternalName.
        k.request("POST", "/api/v1/namespaces/default/services",
                  svc("mail", spec={"type": "ExternalName",
                                    "externalName": "mail.example.org"}))
        rr = eventually(lambda: (lambda x: x if x.answer else None)(
            q("mail.default.svc." + D)))
        t.check(rr and rr.answer[0][1:] == ("CNAME", "mail.example.org."),
                "ExternalName: CNAME", rr)

        # 60 endpoints: TC over UDP (512), fits EDNS0 (1232), all over TCP.
        k.request("POST", "/api/v1/namespaces/default/services",
                  svc("big", spec={"clusterIP": "None"}))
        k.request("POST",
                  "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                  slice_("big-1", "big", [{"addresses": ["10.43.0.%d" % i]}
                                          for i in range(1, 61)], []))
        eventually(lambda: len(q("big.default.svc." + D, tcp=True).answer) == 60)
        rr = q("big.default.svc." + D)
        t.check(rr.tc and not rr.answer and len(rr.raw) <= 512,
                "60 A records over UDP: TC set", rr)
        rr = q("big.default.svc." + D, edns=4096)
        t.check(not rr.tc and len(rr.answer) == 60 and len(rr.raw) <= 1232,
                "EDNS0: 60 A records fit in 1232 bytes", len(rr.raw))
        rr = q("big.default.svc." + D, tcp=True)
        t.check(not rr.tc and len(rr.answer) == 60, "TCP: all 60", len(rr.answer))

        # Garbage does not hurt it.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for n in (0, 1, 5, 12, 13, 40, 512, 3000):
                s.sendto(bytes(random.randrange(256) for _ in range(n)), (ip, port))
            s.sendto(b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f", (ip, port))
        with socket.create_connection((ip, port)) as s:
            s.sendall(b"\x00\x05junk!\xff\xff")
        t.check(q("web.default.svc." + D).values() == [cip],
                "answers after malformed packets")

        # Other names go upstream (loopback only).
        rr = q("www.example.com.")
        t.check(rr.values() == ["192.0.2.77"] and
                ("www.example.com.", "udp") in up.seen,
                "other names forwarded to the upstream", (rr, up.seen))
        rr = q("tcp.example.com.", tcp=True)
        t.check(rr.values() == ["192.0.2.77"] and
                ("tcp.example.com.", "tcp") in up.seen,
                "a TCP client's query goes upstream over TCP", (rr, up.seen))

        # dig, when installed, agrees.
        dig = shutil.which("dig")
        if dig:
            out = subprocess.run([dig, "@" + ip, "-p", str(port), "+short", "+tcp",
                                  "db.default.svc.cluster.local"],
                                 capture_output=True, text=True, timeout=10).stdout
            t.check(sorted(out.split()) == ["10.42.0.5", "10.42.0.6"],
                    "dig +tcp headless", out)
            out = subprocess.run([dig, "@" + ip, "-p", str(port), "+short", "SRV",
                                  "_http._tcp.web.default.svc.cluster.local"],
                                 capture_output=True, text=True, timeout=10).stdout
            t.check(out.strip() == "0 100 80 web.default.svc.cluster.local.",
                    "dig SRV", out)
        else:
            print("note: dig not installed; the Python client alone asked")

        # Its counters in /metrics.
        m = k.request("GET", "/metrics").body
        m = m.decode() if isinstance(m, bytes) else m
        got = {l.split()[0]: float(l.split()[1]) for l in m.splitlines()
               if l.startswith("kubed_dns_")}
        t.check(got.get("kubed_dns_queries_total", 0) > 20 and
                got.get("kubed_dns_nxdomain_total", 0) >= 1 and
                got.get("kubed_dns_forwarded_total", 0) >= 2 and
                got.get("kubed_dns_truncated_total", 0) >= 1 and
                got.get("kubed_dns_dropped_total", 0) >= 1,
                "kubed_dns_* metrics", got)

        # kubectl cluster-info lists it as a real cluster's CoreDNS.
        kubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
        if os.path.exists(kubectl):
            out = subprocess.run([kubectl, "--kubeconfig",
                                  os.path.join(k.data, "kubeconfig.yaml"), "cluster-info"],
                                 capture_output=True, text=True, timeout=30).stdout
            t.check("CoreDNS is running at" in out and "kube-dns:dns/proxy" in out,
                    "kubectl cluster-info shows CoreDNS", out)
        else:
            print("note: %s not installed; cluster-info not checked" % kubectl)

        # Deleting the Service removes its records.
        r = k.request("DELETE", "/api/v1/namespaces/default/services/web")
        t.check(r.status == 200, "delete Service web", r)
        rr = eventually(lambda: (lambda x: x if x.rcode == "NXDOMAIN" else None)(
            q("web.default.svc." + D)))
        t.check(rr is not None, "web is NXDOMAIN after its deletion")
        rr = q(rev, "PTR")
        # (the reverse name is not ours any more: it goes upstream, whose
        # stand-in answers every question with an A record)
        t.check(not rr.values("PTR"), "its PTR went too", rr)
        k.request("DELETE", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/db-1")
        rr = eventually(lambda: (lambda x: x if not x.answer else None)(
            q("db.default.svc." + D)))
        t.check(rr and rr.rcode == "NOERROR", "headless without endpoints: NODATA", rr)
        t.check(k.stop() == 0, "kubed stops cleanly")

        # --dns-upstream none: SERVFAIL at once, nothing sent.
        before = len(up.seen)
        k2 = Kubed(kubed, extra=["--cluster-dns-listen", "%s:%d" % (ip, port),
                                 "--dns-upstream", "none"])
        try:
            k2.start()
            rr = eventually(lambda: q("www.example.com."), 5)
            t.check(rr.rcode == "SERVFAIL" and len(up.seen) == before,
                    "upstream none: SERVFAIL, nothing sent", rr)
        finally:
            k2.stop()
        # A bad flag is refused before anything starts.
        p = subprocess.run([kubed, "server", "--no-node", "--store", "memory",
                            "--data-dir", os.path.join(k.tmp, "bad"),
                            "--listen", "unix:" + os.path.join(k.tmp, "x.sock"),
                            "--dns-upstream", "not-an-address"],
                           capture_output=True, text=True, timeout=20)
        t.check(p.returncode != 0 and "bad DNS upstream" in p.stderr,
                "bad --dns-upstream refused", p.stderr[-300:])
    finally:
        k.stop(kill=True)
        up.close()
        if t.failed:
            print(k.read_log()[-3000:])
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
