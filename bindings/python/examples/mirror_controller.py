#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A custom controller in about 20 lines: every ConfigMap labelled
mirror=yes gets a copy named <name>-mirror in its namespace, kept in sync
by server-side apply and deleted with it.

    python3 mirror_controller.py             # against ~/.kube/config
    python3 mirror_controller.py --demo      # an in-process libkube.Server
"""
import sys
import threading

import libkube


def mirror_controller(client):
    def reconcile(key):
        ns, name = key.split("/")
        source = ctl.get(key)  # from the informer's cache
        if source is None:     # the source is gone: so goes the mirror
            try:
                client.delete("v1", "ConfigMap", name + "-mirror", ns)
            except libkube.ApiError as e:
                if e.code != 404:
                    raise      # retried with backoff
            return
        client.apply({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": name + "-mirror", "namespace": ns},
                      "data": source.get("data", {})},
                     field_manager="mirror-controller", force=True)

    ctl = libkube.Controller(client, "v1", "ConfigMap", reconcile,
                             label_selector="mirror=yes", workers=2)
    return ctl


def demo():
    with libkube.Server() as srv:
        client = srv.client()
        ctl = mirror_controller(client)
        worker = threading.Thread(target=ctl.run)
        worker.start()
        client.create({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "greeting",
                                    "labels": {"mirror": "yes"}},
                       "data": {"hello": "world"}})
        for ev in client.watch("v1", "ConfigMap", "default", timeout=10):
            if ev["object"]["metadata"]["name"] == "greeting-mirror":
                print("mirrored:", ev["object"]["data"])
                break
        ctl.stop()
        worker.join()


if __name__ == "__main__":
    if sys.argv[1:] == ["--demo"]:
        demo()
    else:
        mirror_controller(libkube.Client()).run()
