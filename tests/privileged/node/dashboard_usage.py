#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard's usage charts with real metrics, in a headless Chromium
(Debian's chromium, chromium-driver, python3-selenium): run by
test-metrics.sh (section dashboard) inside the test's network namespace,
against kubed with its node while pod POD burns CPU.  Prints "ok ..." /
"FAIL ..." lines; exits 77 when the browser is missing.

usage: dashboard_usage.py URL TOKEN NODE POD OUTDIR"""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "dashboard"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "controllers"))
from test_dashboard_browser import Browser, by, missing  # noqa: E402
from ctl_harness import wait  # noqa: E402


def milli(text):
    """"123m (41%)" / "1.5" -> millicores, or None."""
    m = re.match(r"^([0-9.]+)(m?)", text or "")
    if not m:
        return None
    v = float(m.group(1))
    return v if m.group(2) else v * 1000


def main():
    url, token, node, pod, outdir = sys.argv[1:6]
    why = missing()
    if why:
        print("SKIP: " + why)
        return 77
    os.makedirs(outdir, exist_ok=True)
    base = tempfile.mkdtemp(prefix="kube-dash-usage-")
    b = Browser(base, outdir)
    d = b.d
    fails = 0

    def check(cond, what, detail=""):
        nonlocal fails
        print(("ok " if cond else "FAIL ") + what + ("" if cond else ": %r" % (detail,)))
        fails += not cond

    def css(sel):
        return d.find_elements(by("CSS_SELECTOR"), sel)

    def until(cond, timeout=40):
        def f():
            try:
                return cond()
            except Exception:  # re-rendered under us: try again
                return None
        return wait(f, timeout=timeout, step=0.2)

    try:
        d.get(url + "/ui/")
        box = until(lambda: d.find_element(by("ID"), "login-token"))
        box.send_keys(token)
        d.find_element(by("ID"), "login-submit").click()
        check(until(lambda: not d.execute_script(
            "return document.getElementById('app').hidden")), "signed in")
        # Overview: the node's CPU and memory bars from NodeMetrics.
        cells = until(lambda: [c.text for c in css("#overview-nodes .mx.has-usage")]
                      if len(css("#overview-nodes .mx.has-usage .bar .fill")) == 2 else None)
        check(cells and milli(cells[0]) and "%" in cells[0] and "iB" in cells[1],
              "overview: node %s has CPU and memory usage bars" % node, cells)
        b.shot("usage-01-overview")
        # Workloads: the burning pod's CPU cell (PodMetrics) above 100m.
        d.execute_script("location.hash = '#/workloads'")

        def pod_cpu():
            for r in css("#pods tbody tr"):
                if r.get_attribute("data-key") == "default/" + pod:
                    c = r.find_elements(by("CSS_SELECTOR"), ".mx.has-usage")
                    if len(c) == 2 and (milli(c[0].text) or 0) > 100:
                        return c[0].text, c[1].text
            return None
        got = until(pod_cpu, timeout=60)
        check(got, "workloads: pod %s shows CPU > 100m and its memory" % pod, got)
        check(until(lambda: len(css("#pods svg.chart")) >= 2),
              "workloads: usage charts beside the values")
        b.shot("usage-02-workloads")
        # Pod detail: the CPU chart gathers points from later polls.
        d.execute_script("location.hash = arguments[0]", "#/pod/default/" + pod)
        pts = until(lambda: int(css("#pod-usage svg.chart")[0]
                                .get_attribute("data-points")) >= 2 and
                    css("#pod-usage svg.chart")[0].get_attribute("data-points"), timeout=60)
        check(pts, "pod detail: the CPU chart has %s samples (polled again)" % pts, pts)
        check(until(lambda: len(css("#pod-usage polyline.series.cpu")) == 1 and
                    len(css("#pod-usage polyline.series.mem")) == 1),
              "pod detail: CPU and memory lines drawn")
        rows = until(lambda: [r.text for r in css("#container-usage tbody tr")]
                     if "spin" in d.find_element(by("ID"), "container-usage").text else None)
        check(rows and any(r.startswith("spin") for r in rows),
              "pod detail: per-container usage lists spin", rows)
        b.shot("usage-03-pod-detail")
        errs = [l for l in b.logs() if l.get("level") == "SEVERE"]
        check(not errs, "no errors in the browser console", errs[:5])
    finally:
        b.quit()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
