#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check every #include of the library against the architecture table that
meson.build states (module -> modules it may use, external headers it may
include), so an upward dependency fails the build.

usage: check-layering.py SRCDIR STAMP MODULE=deps:externals ...
  deps and externals are comma-separated; '-' for none.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main():
    srcdir, stamp, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    table = {}
    for spec in specs:
        name, rest = spec.split("=", 1)
        deps, ext = rest.split(":", 1)
        table[name] = (set() if deps == "-" else set(deps.split(",")),
                       set() if ext == "-" else set(ext.split(",")))
    # Every external library any module may use: a header under one of these
    # directories is a library header and must be declared.
    known_ext = set().union(*(e for _, e in table.values()))
    problems = []
    for module, (deps, ext) in sorted(table.items()):
        mdir = os.path.join(srcdir, "src", module)
        if not os.path.isdir(mdir):
            problems.append(f"src/{module}: listed in meson.build but missing")
            continue
        allowed_public = deps | {module}
        for root, _, files in os.walk(mdir):
            for fn in sorted(files):
                if not fn.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, fn)
                rel = os.path.relpath(path, srcdir)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for kind, inc in INCLUDE.findall(text):
                    top = inc.split("/", 1)[0]
                    if kind == '"' and "/" in inc and top in table:
                        if top != module and top not in deps:
                            problems.append(
                                f'{rel}: includes "{inc}" but {module} may '
                                f'use only {sorted(deps) or "nothing"}')
                    elif kind == "<" and top == "libkube":
                        pub = inc.split("/", 1)[1].rsplit(".", 1)[0]
                        if pub in ("libkube",) or pub not in table and \
                                pub not in PUBLIC_ALIASES:
                            continue
                        owner = PUBLIC_ALIASES.get(pub, pub)
                        if owner not in allowed_public:
                            problems.append(
                                f"{rel}: includes <{inc}> but {module} may "
                                f"use only {sorted(deps) or 'nothing'}")
                    elif kind == "<" and top in known_ext and top not in ext:
                        problems.append(
                            f"{rel}: includes <{inc}>: {top} is not among "
                            f"{module}'s libraries in meson.build")
    if problems:
        print("layering: the tree breaks the architecture stated in "
              "meson.build:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    with open(stamp, "w") as f:
        f.write("ok\n")
    return 0


# Public headers whose name differs from the module that owns them.
PUBLIC_ALIASES = {"kit": "client", "kubectl": "client"}

if __name__ == "__main__":
    sys.exit(main())
