#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard in a real headless Chromium (Debian's chromium and
chromium-driver, driven by Debian's python3-selenium; nothing downloads a
browser).  kubed runs without a node; the controller suites' stand-in
kubelet marks bound pods Running and Ready.  kubectl 1.32 creates a
deployment and a service; the browser is refused without a token, signs
in, sees the objects on every page, scales the deployment (the API shows
the new replicas and the page the new pods through its watch), deletes a
pod, opens a pod's detail (containers, events, YAML/JSON, the log
followed through kubed's proxy from a stand-in kubelet port, and a clear
message for a pod whose node is gone), signs in with a `kube dashboard`
one-time link, and works at phone width.  Screenshots go to OUTDIR.

usage: test_dashboard_browser.py KUBED KUBE OUTDIR
"""
import http.server
import json
import os
import re
import shutil
import ssl
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "controllers"))
from ctl_harness import (KUBECTL, Cli, FakeKubelet, Failures,  # noqa: E402
                         Kubed, add_nodes, wait)
from test_dashboard_http import token_file  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
TOKEN = "dash-browser-token"
VIEWER = "dash-browser-viewer"


def missing():
    for p in (CHROMIUM, DRIVER, KUBECTL):
        if not os.access(p, os.X_OK):
            return p + " is missing"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium is missing"
    return None


class Browser:
    """One headless Chromium session (its own profile directory)."""

    def __init__(self, base, outdir, width=1280, height=900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.outdir = outdir
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=base)
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        # kubed's certificate is its own CA's: the test trusts it as
        # `curl -k` would; root needs --no-sandbox.
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--ignore-certificate-errors",
                  "--no-first-run", "--disable-extensions",
                  "--disable-background-networking",
                  "--window-size=%d,%d" % (width, height),
                  "--user-data-dir=" + self.profile):
            o.add_argument(a)
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(
            service=Service(DRIVER, log_output=os.path.join(base, "driver.log")),
            options=o)
        self.d.set_script_timeout(20)
        self.console = []

    def shot(self, name):
        self.d.save_screenshot(os.path.join(self.outdir, name + ".png"))

    def logs(self):
        self.console += self.d.get_log("browser")
        return self.console

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


class NodeLogs:
    """The log endpoint of a kubelet port (GET /containerLogs/NS/POD/C) on
    127.0.0.1 with kubed's serving certificate: kubed proxies pods/log of
    the test's node here, as it does to a node agent in another process.
    A followed log sends one line, then a second once `more` is set, then
    stays open."""

    def __init__(self, data_dir):
        self.more = threading.Event()
        self.stop_ev = threading.Event()
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def chunk(self, text):
                b = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                self.wfile.flush()

            def do_GET(self):
                path, _, query = self.path.partition("?")
                parts = path.split("/")
                if len(parts) != 5 or parts[1] != "containerLogs":
                    self.send_error(404)
                    return
                outer.seen.append(query)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.chunk("log line 1 from %s\n" % parts[3])
                if "follow=true" not in query:
                    self.wfile.write(b"0\r\n\r\n")
                    return
                while not outer.more.wait(0.1):
                    if outer.stop_ev.is_set():
                        return
                self.chunk("log line 2 (followed)\n")
                outer.stop_ev.wait(60)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(data_dir, "tls.crt"),
                            os.path.join(data_dir, "tls.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.stop_ev.set()
        self.srv.shutdown()
        self.srv.server_close()


def by(how):
    from selenium.webdriver.common.by import By
    return getattr(By, how)


class Suite:
    def __init__(self, t, k, kubectl, base, outdir):
        self.t = t
        self.k = k
        self.kubectl = kubectl
        self.base = base
        self.outdir = outdir
        self.url = "https://127.0.0.1:%d/ui/" % k.port
        self.b = None

    # ---- helpers ----

    def css(self, sel):
        return self.b.d.find_elements(by("CSS_SELECTOR"), sel)

    def text(self, sel):
        return " ".join(e.text for e in self.css(sel))

    def until(self, cond, timeout=20):
        """Poll a condition on the page; its value or None."""
        def f():
            try:
                return cond()
            except Exception:  # element replaced by a re-render: try again
                return None
        return wait(f, timeout=timeout, step=0.1)

    def visible(self, id_):
        return self.b.d.execute_script(
            "return !document.getElementById(arguments[0]).hidden", id_)

    def go(self, page):
        self.b.d.execute_script("location.hash = arguments[0]", "#/" + page)

    def rows(self, table_id):
        return [r.text for r in self.css("#%s tbody tr" % table_id)
                if "none" != r.text.strip() and not r.text.startswith("no ")]

    def api(self, *args):
        rc, out, err = self.kubectl.run(*args)
        return out if rc == 0 else None

    def replicas(self):
        out = self.api("get", "deployment", "web", "-o",
                       "jsonpath={.spec.replicas}")
        return int(out) if out and out.isdigit() else None

    def pod_names(self):
        out = self.api("get", "pods", "-l", "app=web", "-o", "json")
        if not out:
            return []
        return sorted(p["metadata"]["name"] for p in json.loads(out)["items"]
                      if not p["metadata"].get("deletionTimestamp"))

    def fetch_status(self, path, token=None):
        """A fetch() from the page's origin; its HTTP status."""
        return self.b.d.execute_async_script("""
            const [path, token, done] = arguments;
            const h = token ? {Authorization: 'Bearer ' + token} : {};
            fetch(path, {headers: h, credentials: 'omit'})
              .then(r => done(r.status), e => done(String(e)));""",
            path, token)

    def sign_in(self, token):
        box = self.b.d.find_element(by("ID"), "login-token")
        box.clear()
        box.send_keys(token)
        self.b.d.find_element(by("ID"), "login-submit").click()

    # ---- the steps ----

    def setup_objects(self):
        t = self.t
        ok = self.api("create", "deployment", "web", "--image=nginx:1.25",
                      "--replicas=2", "--port=80")
        t(ok is not None, "kubectl create deployment web")
        ok = self.api("expose", "deployment", "web", "--port=80")
        t(ok is not None, "kubectl expose deployment web")
        running = wait(lambda: len([
            p for p in json.loads(self.api("get", "pods", "-l", "app=web",
                                           "-o", "json") or '{"items":[]}')
            ["items"] if p.get("status", {}).get("phase") == "Running"]) == 2,
            timeout=60)
        t(running, "two web pods Running (stand-in kubelet)")

    def refused_without_token(self):
        t, d = self.t, self.b.d
        d.get(self.url)
        t(self.until(lambda: self.visible("login")),
          "without a token the login page shows")
        t(not self.visible("app"), "... and nothing else")
        self.b.shot("01-login")
        for path in ("/api/v1/pods", "/apis/apps/v1/deployments"):
            st = self.fetch_status(path)
            t(st == 401, "the browser's API call without a token: 401 " + path,
              st)
        t(d.execute_script("return sessionStorage.length") == 0,
          "nothing stored before sign-in")
        self.sign_in("not-a-valid-token")
        err = self.until(lambda: "401" in self.text("#login-error") and
                         self.text("#login-error"))
        t(err, "a wrong token is refused with the API's 401", err)
        t(self.visible("login") and not self.visible("app"),
          "... and the login page stays")
        self.b.shot("02-login-refused")

    def overview(self):
        t, d = self.t, self.b.d
        self.sign_in(TOKEN)
        t(self.until(lambda: self.visible("app")), "the token signs in")
        t(self.until(lambda: self.text("#user") == "admin"),
          "the page shows who signed in", self.text("#user"))
        t("login-token" not in d.current_url and TOKEN not in d.current_url,
          "no token in the URL", d.current_url)
        t(d.execute_script("return document.cookie") == "",
          "no cookie holds the token")
        nodes = self.until(lambda: "node-a" in self.text("#overview-nodes")
                           and self.text("#overview-nodes"))
        t(nodes and "64 cores" in nodes and "256.0 GiB" in nodes,
          "overview lists the node with its capacity", nodes)
        t(self.until(lambda: "capacity only" in self.text("#metrics-note")),
          "without the metrics API: capacity only")
        run = self.until(lambda: self.text('#phases [data-phase="Running"] b')
                         == "2")
        t(run, "overview counts 2 Running pods",
          self.text("#phases"))
        ev = self.until(lambda: "ScalingReplicaSet" in self.text("#events"))
        t(ev, "overview shows recent events", self.text("#events"))
        self.b.shot("03-overview")

    def workloads(self):
        t = self.t
        self.go("workloads")
        dep = self.until(lambda: "web" in self.text("#deployments") and
                         "2/2" in self.text("#deployments"))
        t(dep, "workloads: deployment web 2/2 ready", self.text("#deployments"))
        t(self.until(lambda: "web-" in self.text("#replicasets")),
          "workloads: its replica set")
        pods = self.until(lambda: len([r for r in self.rows("pods")
                                       if r.startswith("web-") and
                                       "Running" in r]) == 2)
        t(pods, "workloads: two Running web pods", self.rows("pods"))
        self.b.shot("04-workloads")
        # Scale to 3 with the page's control: the API has it, and the watch
        # brings the new pod onto the page without a reload.
        box = self.css('#deployments input.replicas')[0]
        box.clear()
        box.send_keys("3")
        self.css('#deployments button.scale[data-name="web"]')[0].click()
        t(wait(lambda: self.replicas() == 3, timeout=20),
          "Scale sets spec.replicas=3 through the API", self.replicas())
        t(self.until(lambda: "scaled to 3" in self.text("#flash")),
          "the page confirms the scale")
        t(self.until(lambda: len([r for r in self.rows("pods")
                                  if r.startswith("web-") and
                                  "Running" in r]) == 3, timeout=40),
          "the watch shows the third pod Running", self.rows("pods"))
        t(self.until(lambda: "3/3" in self.text("#deployments"), timeout=40),
          "the deployment shows 3/3", self.text("#deployments"))
        self.b.shot("05-scaled")
        # Delete a pod (two clicks): it goes, the replica set replaces it.
        victim = self.pod_names()[0]
        btn = self.css('#pods button.delete[data-name="%s"]' % victim)[0]
        btn.click()
        t(btn.text == "Confirm delete", "delete asks for a second click")
        btn.click()
        t(wait(lambda: victim not in self.pod_names(), timeout=30),
          "Delete removes the pod through the API")
        t(wait(lambda: len(self.pod_names()) == 3, timeout=30),
          "... and the replica set replaces it")
        t(self.until(lambda: victim not in self.text("#pods"), timeout=30),
          "the deleted pod leaves the page")

    def pod_detail(self):
        t = self.t
        name = self.pod_names()[0]
        self.go("workloads")
        link = self.until(lambda: [a for a in self.css("#pods a")
                                   if a.text == name])
        t(link, "the pod links to its detail")
        if not link:
            return
        link[0].click()
        t(self.until(lambda: "nginx:1.25" in self.text("#containers")),
          "pod detail: its container and image", self.text("#containers"))
        t(self.until(lambda: "Running" in self.text("#pod-status")),
          "pod detail: Running")
        # Logs follow the node's stream: the first line, then one the
        # stand-in kubelet writes only now, with no reload.
        line1 = "log line 1 from " + name
        t(self.until(lambda: line1 in self.text("#logs")),
          "pod detail: the log stream's first line", self.text("#logs"))
        t(self.text("#log-note") == "following…", "the log is followed",
          self.text("#log-note"))
        self.logs.more.set()
        t(self.until(lambda: "log line 2 (followed)" in self.text("#logs")),
          "pod detail: a later line arrives through the open stream",
          self.text("#logs"))
        t(self.logs.seen and all("follow=true" in q and "container=nginx" in q
                                 for q in self.logs.seen),
          "the page asked the node to follow the container's log",
          self.logs.seen)
        y = self.until(lambda: ("name: " + name) in self.text("#object") and
                       self.text("#object"))
        t(y and "kind: Pod" in y, "pod detail: the YAML view")
        self.css('button.fmt[data-fmt="json"]')[0].click()
        js = self.until(lambda: self.text("#object").startswith("{") and
                        self.text("#object"))
        try:
            t(js and json.loads(js)["metadata"]["name"] == name,
              "pod detail: the JSON view parses")
        except ValueError:
            t(False, "pod detail: the JSON view parses", js[:200])
        self.b.shot("06-pod-detail")

    def metrics_unavailable(self):
        """kubed --no-node serves no metrics.k8s.io (a cluster without
        metrics-server): the usage columns and charts say n/a, a note says
        why, the page asks again every period, and the rest works."""
        t, d = self.t, self.b.d
        self.go("workloads")
        heads = self.until(lambda: [e.get_attribute("textContent")
                                    for e in self.css("#pods thead th")])
        t(heads and "CPU" in heads and "Memory" in heads,
          "workloads: the pods table has CPU and Memory columns", heads)
        cells = self.until(lambda: [c.text for c in self.css("#pods td .mx")]
                           if d.execute_script(
                               "return document.getElementById('view')"
                               ".dataset.metrics") == "unavailable" else None)
        t(cells and all(c == "n/a" for c in cells),
          "workloads: without the metrics API the usage cells say n/a", cells)
        t(self.until(lambda: "not available" in self.text("#metrics-note")),
          "workloads: a note says the metrics API is not available",
          self.text("#metrics-note"))
        polls = lambda: int(d.execute_script(  # noqa: E731
            "return document.getElementById('view').dataset.metricsPolls || 0"))
        p0 = polls()
        t(self.until(lambda: polls() > p0, timeout=30),
          "the page polls the metrics API again on its period", (p0, polls()))
        t(self.until(lambda: "web" in self.text("#deployments") and
                     len([r for r in self.rows("pods") if "Running" in r]) >= 2),
          "workloads still work without metrics", self.rows("pods"))
        self.b.shot("06b-workloads-no-metrics")
        name = self.pod_names()[0]
        self.go("pod/default/" + name)
        t(self.until(lambda: len(self.css("#pod-usage .mx")) == 2 and
                     all(c.text.startswith("n/a") for c in self.css("#pod-usage .mx"))),
          "pod detail: CPU and memory say n/a", self.text("#pod-usage"))
        t(self.until(lambda: "the metrics API is not available" in
                     self.text("#container-usage")),
          "pod detail: the per-container usage says why", self.text("#container-usage"))
        t(self.until(lambda: "Running" in self.text("#pod-status")),
          "pod detail still works without metrics")
        self.go("nodes")
        node = self.until(lambda: "node-a" in self.text("#nodes") and self.text("#nodes"))
        t(node and "n/a" in node and "64 cores" in node,
          "nodes: capacity shown, usage n/a", node)
        errors = [l for l in self.b.logs() if l.get("level") == "SEVERE" and
                  l.get("source") != "network"]  # refused calls are expected
        t(not errors, "no script errors on the pages with usage", errors[:5])

    def logs_without_node(self):
        """A pod bound to a node that does not exist: the log panel says
        why there is no log."""
        t = self.t
        ok = self.api("run", "lonely", "--image=busybox", "--restart=Never",
                      "--overrides", '{"spec":{"nodeName":"node-gone"}}')
        t(ok is not None, "kubectl run lonely (bound to a missing node)")
        self.go("pod/default/lonely")
        msg = self.until(lambda: "No logs" in self.text("#logs") and
                         self.text("#logs"))
        t(msg and "node-gone" in msg,
          "pod detail: a clear message when no node serves the log", msg)
        self.b.shot("07-pod-no-node")

    def other_pages(self):
        t = self.t
        self.go("services")
        svc = self.until(lambda: "web" in self.text("#services") and
                         re.search(r"10\.244\.\d+\.\d+:80",
                                   self.text("#services")))
        t(svc, "services: web with its endpoints", self.text("#services"))
        self.b.shot("08-services")
        self.go("nodes")
        t(self.until(lambda: "node-a" in self.text("#nodes") and
                     "Ready" in self.text("#nodes")), "nodes: node-a Ready")
        self.b.shot("09-nodes")
        self.go("namespaces")
        t(self.until(lambda: all(n in self.text("#namespaces") for n in
                                 ("default", "kube-system"))),
          "namespaces: default and kube-system")
        # A namespace's link narrows the other pages to it.
        link = [a for a in self.css("#namespaces a") if a.text == "kube-system"]
        t(link, "namespaces link to their workloads")
        if link:
            link[0].click()
            t(self.until(lambda: "no deployments" in self.text("#deployments")
                         and "no pods" in self.text("#pods")),
              "kube-system has none of default's workloads",
              self.text("#deployments"))
            sel = self.b.d.execute_script(
                "return document.getElementById('ns').value")
            t(sel == "kube-system", "the namespace menu follows", sel)
            self.b.d.execute_script(
                "const s = document.getElementById('ns'); s.value = '';"
                "s.dispatchEvent(new Event('change'))")
            t(self.until(lambda: "web" in self.text("#deployments")),
              "all namespaces again")
        self.go("events")
        t(self.until(lambda: "SuccessfulCreate" in self.text("#events")),
          "events: the replica set's SuccessfulCreate")
        self.b.shot("10-events")

    def phone(self):
        t, d = self.t, self.b.d
        d.set_window_size(390, 844)
        self.go("workloads")
        t(self.until(lambda: "web" in self.text("#deployments")),
          "phone width: workloads render")
        time.sleep(0.3)  # layout settles after the resize
        over = d.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        t(over <= 1, "phone width: the page does not scroll sideways", over)
        self.b.shot("11-phone-workloads")
        self.go("overview")
        self.until(lambda: self.text('#phases [data-phase="Running"] b'))
        self.b.shot("12-phone-overview")
        d.set_window_size(1280, 900)

    def sign_out(self):
        t, d = self.t, self.b.d
        self.css("#logout")[0].click()
        t(self.until(lambda: self.visible("login")), "sign out shows login")
        t(d.execute_script("return sessionStorage.length") == 0,
          "sign out forgets the token")

    def rbac(self):
        """A token-file user without bindings signs in but sees 403s."""
        t = self.t
        self.sign_in(VIEWER)
        t(self.until(lambda: self.text("#user") == "viewer"),
          "a ServiceAccount-less viewer token signs in")
        self.go("workloads")
        err = self.until(lambda: "forbidden" in self.text("#view").lower())
        t(err, "RBAC applies: the viewer sees the API's Forbidden",
          self.text("#view")[:300])
        self.b.shot("13-viewer-forbidden")
        self.sign_out()

    def login_link(self, kube):
        """`kube dashboard` prints a one-time link: a fresh browser opens
        it signed in, and the code leaves the address bar."""
        t = self.t
        cli = Cli(kube, self.k, "kube")
        try:
            rc, out, err = cli.run("dashboard")
        finally:
            cli.cleanup()
        url = out.strip()
        t(rc == 0 and "#code=" in url, "kube dashboard prints a link", err)
        ok = self.in_fresh_browser(url, "14-login-link", """
            return !document.getElementById('app').hidden &&
              !location.href.includes('code=') &&
              document.getElementById('user').textContent""")
        t(ok == "admin", "the one-time link signs in and the code leaves "
          "the address bar", ok)
        # The same link again, in another fresh session: spent.
        msg = self.in_fresh_browser(url, "15-login-link-spent", """
            return document.getElementById('login-error').textContent""")
        t(msg and "used or expired" in msg, "the link works only once", msg)

    def in_fresh_browser(self, url, shot, script):
        """Open url in a new browser session; what script returns once
        it returns something."""
        b = Browser(self.base, self.outdir)
        try:
            b.d.get(url)
            v = wait(lambda: b.d.execute_script(script), timeout=20)
            b.shot(shot)
            return v
        finally:
            b.quit()

    def csp(self):
        t = self.t
        r = self.k.request("GET", "/ui/", token=False)
        csp = r.headers.get("Content-Security-Policy", "")
        t("script-src 'self'" in csp and "unsafe" not in csp,
          "the page's CSP allows only its own scripts", csp)
        bad = [l for l in self.b.logs()
               if "Content Security Policy" in l.get("message", "") or
               "Uncaught" in l.get("message", "")]
        t(not bad, "no CSP violation or script error in the console", bad)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    kubed, kube, outdir = sys.argv[1:4]
    why = missing()
    if why:
        print("SKIP: %s (apt-get install chromium chromium-driver "
              "python3-selenium)" % why)
        return 77
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):  # this run's screenshots only
        if old.endswith(".png"):
            os.unlink(os.path.join(outdir, old))
    f = Failures()
    base = tempfile.mkdtemp(prefix="kube-dash-browser-")
    k = Kubed(kubed, token=TOKEN,
              extra=["--no-registry", "--token-auth-file",
                     token_file(base, VIEWER)])
    kubelet = None
    kubectl = None
    logs = None
    s = None
    try:
        k.start()
        add_nodes(k, ["node-a"])
        logs = NodeLogs(k.data)
        r = k.request("PATCH", "/api/v1/nodes/node-a/status", {"status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": logs.port}}}},
            ctype="application/merge-patch+json")
        f.check(r.status == 200, "node-a's kubelet port is the test's", r)
        kubelet = FakeKubelet(k, ["node-a"]).start()
        kubectl = Cli(KUBECTL, k, "kubectl")
        s = Suite(f.check, k, kubectl, base, outdir)
        s.logs = logs
        s.setup_objects()
        s.b = Browser(base, outdir)
        for step in (s.refused_without_token, s.overview, s.workloads,
                     s.pod_detail, s.metrics_unavailable, s.logs_without_node, s.other_pages,
                     s.phone, s.csp,
                     s.sign_out, s.rbac):
            try:
                step()
            except Exception as e:  # a step's crash fails it, not the rest
                f.check(False, step.__name__ + " raised", repr(e)[:500])
                try:
                    s.b.shot("failed-" + step.__name__)
                except Exception:
                    pass
        s.login_link(kube)
    finally:
        if s and s.b:
            s.b.quit()
        if kubelet:
            kubelet.stop()
        if logs:
            logs.stop()
        if f.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        if kubectl:
            kubectl.cleanup()
        k.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    print("screenshots in", outdir)
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
