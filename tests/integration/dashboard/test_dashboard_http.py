#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard over plain HTTP (no browser): kubed serves /ui/ to anyone
with the right content types and a strict Content-Security-Policy, the API
behind it still wants a token, the page's HTML has no inline script, and
the one-time login codes (`kube dashboard`) hand out the caller's own
token exactly once.

usage: test_dashboard_http.py KUBED KUBE
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

TOKEN = "dash-admin-token"
VIEWER = "dash-viewer-token"


def token_file(d, token):
    """A --token-auth-file with one user "viewer" (no RBAC bindings)."""
    path = os.path.join(d, "tokens.csv")
    with open(path, "w") as fh:
        fh.write('%s,viewer,viewer-uid,"viewers"\n' % token)
    return path


def csp_ok(t, r, what):
    csp = r.headers.get("Content-Security-Policy", "")
    d = dict((p.strip().split(" ", 1) + [""])[:2] for p in csp.split(";")
             if p.strip())
    t(d.get("default-src") == "'none'" and d.get("script-src") == "'self'"
      and d.get("frame-ancestors") == "'none'" and "unsafe" not in csp,
      what + ": strict CSP", csp)
    t(r.headers.get("X-Content-Type-Options") == "nosniff",
      what + ": nosniff", r.headers)


def static_files(t, k):
    r = k.request("GET", "/ui/", token=False)
    t(r.status == 200 and r.headers.get("Content-Type", "").startswith(
        "text/html"), "GET /ui/ without a token serves the page", r)
    csp_ok(t, r, "/ui/")
    html = r.body
    # No inline script or style, no event-handler attributes: the CSP
    # would block them.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    t(scripts and all('src="' in a and not body.strip()
                      for a, body in scripts),
      "every <script> of index.html has a src and no body", scripts)
    t(not re.search(r"<style|\son[a-z]+=|style=", html),
      "index.html has no inline style or handler")
    t('id="login"' in html, "the page has the login form")
    srcs = re.findall(r'<script src="([^"]+)"', html)
    t(srcs == ["app.js", "charts.js", "pages.js"],
      "index.html loads app.js, charts.js (usage from the metrics API), "
      "then pages.js", srcs)
    for name, ctype in (("app.js", "text/javascript"),
                        ("charts.js", "text/javascript"),
                        ("pages.js", "text/javascript"),
                        ("app.css", "text/css"),
                        ("favicon.svg", "image/svg+xml"),
                        ("index.html", "text/html")):
        r = k.request("GET", "/ui/" + name, token=False)
        t(r.status == 200 and
          r.headers.get("Content-Type", "").startswith(ctype),
          "/ui/%s is %s" % (name, ctype),
          (r.status, r.headers.get("Content-Type")))
        csp_ok(t, r, "/ui/" + name)
        etag = r.headers.get("ETag")
        r2 = k.request("GET", "/ui/" + name, token=False,
                       headers={"If-None-Match": etag or "x"})
        t(etag and r2.status == 304, "/ui/%s revalidates (304)" % name,
          (etag, r2.status))
    r = k.request("GET", "/ui", token=False)
    t(r.status == 301 and r.headers.get("Location") == "/ui/",
      "/ui redirects to /ui/", r)
    r = k.request("GET", "/ui/nope.js", token=False)
    t(r.status == 404 and r.json().get("kind") == "Status",
      "an unknown file is a 404 Status", r)
    r = k.request("GET", "/ui/../api/v1/secrets", token=False)
    t(r.status in (401, 404), "no way from /ui/ into the API", r)
    r = k.request("PUT", "/ui/app.js", body="x", token=False)
    t(r.status == 405, "the files are read-only (405)", r)
    r = k.request("GET", "/ui/", token="wrong-token")
    t(r.status == 401, "a wrong token is refused even on /ui/", r)
    # The API behind the page is not opened by it.
    for path in ("/api/v1/pods", "/apis/apps/v1/deployments",
                 "/api/v1/namespaces/default/pods/x/log"):
        r = k.request("GET", path, token=False)
        t(r.status == 401, "GET %s without a token: 401" % path, r)


def metrics_api(t, k):
    """What the usage charts read: metrics.k8s.io NodeMetrics and
    PodMetrics.  kubed --no-node has no node to sample, so the group is
    not served (as a cluster without metrics-server): a 404 Status, which
    the page shows as "not available" and keeps polling; without a token
    the API refuses the page's poll like any other call."""
    r = k.request("GET", "/apis/metrics.k8s.io/v1beta1")
    t(r.status == 404 and r.json().get("kind") == "Status",
      "no node: metrics.k8s.io/v1beta1 is not served (404 Status)", r)
    for path in ("/apis/metrics.k8s.io/v1beta1/nodes",
                 "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
                 "/apis/metrics.k8s.io/v1beta1/pods"):
        r = k.request("GET", path)
        t(r.status == 404 and r.json().get("reason") == "NotFound",
          "GET %s: 404 NotFound (the page's 'not available')" % path, r)
        r = k.request("GET", path, token=False)
        t(r.status == 401, "GET %s without a token: 401" % path, r)
    r = k.request("GET", "/ui/charts.js", token=False)
    for want in ("/apis/metrics.k8s.io/v1beta1", "'/nodes'", "'pods'"):
        t(want in r.body, "charts.js polls %s" % want)
    t("innerHTML" not in r.body, "charts.js builds the DOM without innerHTML")


def exchange(k, code, ctype="application/json"):
    return k.request("POST", "/ui/login/exchange",
                     body=json.dumps({"code": code}), ctype=ctype,
                     token=False)


def login_codes(t, k):
    r = k.request("POST", "/ui/login/codes", token=False)
    t(r.status == 401, "a login code needs credentials", r)
    r = k.request("POST", "/ui/login/codes", token="wrong-token")
    t(r.status == 401, "a login code needs valid credentials", r)
    r = k.request("GET", "/ui/login/codes")
    t(r.status == 405, "GET /ui/login/codes: 405", r)
    r = k.request("POST", "/ui/login/codes")
    t(r.status == 201, "admin gets a login code", r)
    c = r.json()
    code = c.get("code", "")
    t(re.fullmatch(r"[0-9a-f]{64}", code) and
      c.get("path") == "/ui/#code=" + code and
      c.get("url") == "https://127.0.0.1:%d/ui/#code=%s" % (k.port, code),
      "the code is 256 random bits, in the URL's fragment", c)
    t(TOKEN not in r.body, "the answer does not carry the token", r)
    r = exchange(k, code, ctype="application/x-www-form-urlencoded")
    t(r.status == 415, "a form post cannot exchange a code (415)", r)
    r = exchange(k, "0" * 64)
    t(r.status == 401 and "unknown, used or expired" in r.json()["message"],
      "an unknown code: 401", r)
    r = k.request("POST", "/ui/login/exchange", body="{", token=False,
                  ctype="application/json")
    t(r.status == 400, "a malformed exchange: 400", r)
    r = exchange(k, code)
    t(r.status == 200 and r.json().get("token") == TOKEN,
      "the code gives the caller's token", r)
    t(r.headers.get("Cache-Control") == "no-store",
      "the token answer is not cached", r.headers)
    r = exchange(k, code)
    t(r.status == 401, "a code works once", r)
    # Another user's code gives that user's token, and RBAC still applies
    # to what the token can do.
    r = k.request("POST", "/ui/login/codes", token=VIEWER)
    t(r.status == 201, "a token-file user gets a code", r)
    r = exchange(k, r.json()["code"])
    t(r.status == 200 and r.json().get("token") == VIEWER,
      "... which gives that user's token, not the admin's", r)
    r = k.request("GET", "/api/v1/namespaces/default/pods", token=VIEWER)
    t(r.status == 403, "the viewer's token is still subject to RBAC", r)
    # The unix socket's user (system:masters, no bearer) gets the admin
    # token.
    r = k.unix_request("POST", "/ui/login/codes")
    t(r.status == 201, "a code over the unix socket", r)
    r = exchange(k, r.json()["code"])
    t(r.status == 200 and r.json().get("token") == TOKEN,
      "... gives the admin token", r)
    # Only the newest 16 codes are kept.
    codes = [k.request("POST", "/ui/login/codes").json()["code"]
             for _ in range(17)]
    t(exchange(k, codes[0]).status == 401, "the 17th code evicts the oldest")
    t(exchange(k, codes[16]).status == 200, "the newest code still works")


def cli(t, k, kube):
    env = dict(os.environ, KUBECONFIG=os.path.join(k.data, "kubeconfig.yaml"))
    p = subprocess.run([kube, "dashboard"], capture_output=True, text=True,
                       timeout=30, env=env)
    url = p.stdout.strip()
    m = re.fullmatch(r"https://127\.0\.0\.1:%d/ui/#code=([0-9a-f]{64})" %
                     k.port, url)
    t(p.returncode == 0 and m, "kube dashboard prints the URL", p)
    t(TOKEN not in p.stdout + p.stderr, "kube dashboard never shows the token")
    t("once" in p.stderr, "kube dashboard says the link works once", p.stderr)
    if m:
        r = exchange(k, m.group(1))
        t(r.status == 200 and r.json().get("token") == TOKEN,
          "the printed code signs in", r)
    p = subprocess.run([kube, "--server", "unix:" + k.sock, "dashboard"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, HOME=k.tmp))
    t(p.returncode == 0 and p.stdout.startswith(
        "https://127.0.0.1:%d/ui/#code=" % k.port),
      "over the unix socket it prints the HTTPS URL", p)
    # A client certificate cannot go into a browser: its user is told to
    # sign in with a token; a certificate in system:masters is an admin.
    for user, groups, want in (("alice", [], None),
                               ("root", ["-g", "system:masters"], TOKEN)):
        cfg = os.path.join(k.tmp, user + ".kubeconfig")
        p = subprocess.run([kube, "config", "new-user", user, "--data-dir",
                            k.data, "-o", cfg] + groups, capture_output=True,
                           text=True, timeout=30, env=env)
        t(p.returncode == 0, "kube config new-user " + user, p)
        p = subprocess.run([kube, "--kubeconfig", cfg, "dashboard"],
                           capture_output=True, text=True, timeout=30,
                           env=env)
        if want is None:
            t(p.returncode != 0 and "client certificate" in p.stderr and
              "kubectl create token" in p.stderr,
              "a certificate user is told to use a token", p)
            continue
        m = re.search(r"#code=([0-9a-f]{64})", p.stdout)
        r = exchange(k, m.group(1)) if m else None
        t(r and r.status == 200 and r.json().get("token") == want,
          "a system:masters certificate gets the admin token", (p, r))
    p = subprocess.run([kube, "dashboard", "extra"], capture_output=True,
                       text=True, timeout=30, env=env)
    t(p.returncode != 0 and "usage" in p.stderr, "kube dashboard ARG: usage",
      p)


def no_dashboard(t, kubed, kube, tmp):
    k = Kubed(kubed, token=TOKEN, extra=["--no-registry", "--no-dashboard"],
              data_dir=tempfile.mkdtemp(dir=tmp))
    try:
        k.start()
        r = k.request("GET", "/ui/", token=False)
        t(r.status == 401, "--no-dashboard: /ui/ is not served", r)
        env = dict(os.environ,
                   KUBECONFIG=os.path.join(k.data, "kubeconfig.yaml"))
        p = subprocess.run([kube, "dashboard"], capture_output=True,
                           text=True, timeout=30, env=env)
        t(p.returncode != 0 and "no dashboard" in p.stderr,
          "--no-dashboard: kube dashboard says so", p)
    finally:
        k.cleanup()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    f = Failures()
    t = f.check
    tmp = tempfile.mkdtemp(prefix="kube-dash-http-")
    k = Kubed(kubed, token=TOKEN,
              extra=["--no-registry", "--token-auth-file",
                     token_file(tmp, VIEWER)])
    try:
        k.start()
        static_files(t, k)
        metrics_api(t, k)
        login_codes(t, k)
        cli(t, k, kube)
        no_dashboard(t, kubed, kube, tmp)
    finally:
        if f.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        k.cleanup()
        subprocess.run(["rm", "-rf", tmp])
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
