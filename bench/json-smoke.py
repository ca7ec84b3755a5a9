#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""json-smoke: run a bench-* program in its smallest mode with --json and
check what issue 13 asks of its output: a readable table first, then one
JSON object of its figures on the last line, with at least one number.
Exit 77 (a missing tool, no root) passes through.  Prints a summary line.

usage: json-smoke.py PROGRAM [ARGS...]
"""
import json
import subprocess
import sys


def main():
    if len(sys.argv) < 2:
        print("usage: json-smoke.py PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    # the bench's name, also when run through an interpreter
    names = [a.rsplit("/", 1)[-1] for a in sys.argv[1:]]
    name = next((n for n in names if n.startswith("bench-")), names[0])
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True,
                       timeout=600)
    sys.stderr.write(p.stderr[-4000:])
    if p.returncode == 77:
        print("json-smoke %s: SKIP (%s)" % (name, p.stdout.strip()[-200:]))
        return 77
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    problems = []
    if p.returncode != 0:
        problems.append("exit status %d" % p.returncode)
    obj = None
    try:
        obj = json.loads(lines[-1]) if lines else None
    except ValueError as e:
        problems.append("last line is not JSON (%s): %r" % (e, lines[-1][:200]))
    if obj is not None and not isinstance(obj, dict):
        problems.append("last line is not a JSON object")
    if isinstance(obj, dict) and not any(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for v in obj.values()):
        problems.append("the JSON object holds no number")
    if len(lines) < 2:
        problems.append("no table before the JSON object")
    if problems:
        sys.stdout.write(p.stdout[-4000:])
        print("json-smoke %s: FAIL: %s" % (name, "; ".join(problems)))
        return 1
    print("json-smoke %s: ok, %d table lines, %d JSON keys"
          % (name, len(lines) - 1, len(obj)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
