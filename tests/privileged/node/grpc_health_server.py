# SPDX-License-Identifier: Apache-2.0
"""A grpc.health.v1.Health server for the probe test (python3-grpcio; no
generated code: the messages are encoded here).  Check answers the status
named in STATUS_FILE (SERVING, NOT_SERVING) for the service "" and "app";
any other service is NOT_FOUND "unknown service", as grpc's health server.
  grpc_health_server.py ADDRESS:PORT STATUS_FILE"""
import sys
import time
from concurrent import futures

import grpc

STATUS = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2, "SERVICE_UNKNOWN": 3}


def service_of(req):
    # HealthCheckRequest: field 1 (service), length-delimited
    if len(req) < 2 or req[0] != 0x0A:
        return ""
    n, i, shift = 0, 1, 0
    while True:
        b = req[i]
        n |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if not b & 0x80:
            break
    return req[i:i + n].decode()


def main():
    addr, status_file = sys.argv[1], sys.argv[2]

    def check(req, ctx):
        if service_of(req) not in ("", "app"):
            ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        with open(status_file) as f:
            st = STATUS.get(f.read().strip(), 0)
        return bytes([0x08, st])

    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {"Check": grpc.unary_unary_rpc_method_handler(check)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(addr)
    server.start()
    print("listening", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
