# SPDX-License-Identifier: Apache-2.0
"""A tiny custom and external metrics adapter for tests: an HTTPS server
on loopback (a self-signed certificate made with openssl) that answers
custom.metrics.k8s.io/v1beta2 (pods of a selector, one object) and
external.metrics.k8s.io/v1beta1 from values the test sets, as
prometheus-adapter would, and records what it was asked and by whom
(X-Remote-User)."""
import datetime
import http.server
import json
import os
import ssl
import subprocess
import threading
import urllib.parse

CUSTOM = "/apis/custom.metrics.k8s.io/v1beta2"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Adapter:
    """pods(ns, selector) -> pod names is the test's; pod_values,
    object_values and external_values map a metric name to its value
    (a quantity string)."""

    def __init__(self, tmp, pods):
        self.tmp = tmp
        self.pods = pods
        self.pod_values = {}
        self.object_values = {}
        self.external_values = {}
        self.requests = []
        self.server = None

    @staticmethod
    def available():
        return os.access("/usr/bin/openssl", os.X_OK)

    @staticmethod
    def certificate(tmp, name, dns):
        """A self-signed certificate for DNS name dns: (cert, key) paths."""
        cert = os.path.join(tmp, name + ".crt")
        key = os.path.join(tmp, name + ".key")
        subprocess.run(["/usr/bin/openssl", "req", "-x509", "-newkey",
                        "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=" + dns, "-addext", "subjectAltName=DNS:" + dns,
                        "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        return cert, key

    def start(self, dns="metrics-adapter.default.svc"):
        """Serve with a certificate for dns (what the API server checks:
        <service>.<namespace>.svc); self.cert_pem is its PEM."""
        cert, key = self.certificate(self.tmp, "adapter", dns)
        with open(cert) as f:
            self.cert_pem = f.read()
        adapter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                adapter.requests.append(
                    (u.path, q, self.headers.get("X-Remote-User")))
                code, body = adapter.answer(u.path, q)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket,
                                             server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        return self

    def expose(self, api, name="metrics-adapter",
               ns="/api/v1/namespaces/default"):
        """A Service `name` (port 443, named https) whose Endpoints point
        at this adapter on loopback."""
        api.create(ns + "/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name},
            "spec": {"ports": [{"name": "https", "port": 443,
                                "targetPort": self.port}]}})
        api.create(ns + "/endpoints", {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                         "ports": [{"name": "https", "port": self.port}]}]})

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def not_found(self, what):
        return 404, {"kind": "Status", "apiVersion": "v1", "status":
                     "Failure", "reason": "NotFound", "code": 404,
                     "message": "the server could not find the metric %s"
                     % what}

    def answer(self, path, q):
        # discovery, as custom metrics adapters list their metrics:
        # "<resource>/<metric>" (custom) or "<metric>" (external)
        if path == CUSTOM:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                         "groupVersion": "custom.metrics.k8s.io/v1beta2",
                         "resources": [
                             {"name": "pods/packets-per-second",
                              "singularName": "", "namespaced": True,
                              "kind": "MetricValueList", "verbs": ["get"]},
                             {"name": "services/requests-per-second",
                              "singularName": "", "namespaced": True,
                              "kind": "MetricValueList", "verbs": ["get"]}]}
        if path == EXTERNAL:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                         "groupVersion": "external.metrics.k8s.io/v1beta1",
                         "resources": [
                             {"name": "queue_messages_ready",
                              "singularName": "", "namespaced": True,
                              "kind": "ExternalMetricValueList",
                              "verbs": ["get"]}]}
        if path.startswith(CUSTOM + "/namespaces/"):
            parts = path[len(CUSTOM) + 1:].split("/")
            # namespaces/NS/RESOURCE/NAME/METRIC
            if len(parts) != 5:
                return self.not_found(path)
            ns, res, name, metric = parts[1], parts[2], parts[3], parts[4]
            if res == "pods" and name == "*":
                if metric not in self.pod_values:
                    return self.not_found(metric + " for pods")
                sel = q.get("labelSelector", [""])[0]
                names = self.pods(ns, sel)
                val = self.pod_values[metric]
            else:
                if metric not in self.object_values:
                    return self.not_found(metric)
                names = [name]
                val = self.object_values[metric]
            kind = "Pod" if res == "pods" else res
            return 200, {
                "kind": "MetricValueList",
                "apiVersion": "custom.metrics.k8s.io/v1beta2",
                "metadata": {},
                "items": [{"describedObject": {"kind": kind,
                                               "namespace": ns, "name": n,
                                               "apiVersion": "/v1"},
                           "metric": {"name": metric, "selector": None},
                           "timestamp": now(), "windowSeconds": 60,
                           "value": val} for n in names]}
        if path.startswith(EXTERNAL + "/namespaces/"):
            parts = path[len(EXTERNAL) + 1:].split("/")
            if len(parts) != 3 or parts[2] not in self.external_values:
                return self.not_found(path)
            return 200, {
                "kind": "ExternalMetricValueList",
                "apiVersion": "external.metrics.k8s.io/v1beta1",
                "metadata": {},
                "items": [{"metricName": parts[2],
                           "metricLabels": {"queue": "worker_tasks"},
                           "timestamp": now(), "value": v}
                          for v in self.external_values[parts[2]]]}
        return self.not_found(path)
