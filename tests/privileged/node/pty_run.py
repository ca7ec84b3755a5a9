#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Run a command on a pseudo-terminal (kubectl -it wants one) and talk to
it: each step waits for a regular expression in the output, then types
its text.  Prints everything the command wrote; exits with its status, or
124 when an expected output did not come within the timeout.

usage: pty_run.py TIMEOUT 'REGEX=>TEXT' ... -- COMMAND [ARG...]
(TEXT may use \\r; an empty TEXT types nothing)"""
import os
import pty
import re
import select
import sys
import time


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cut = args.index("--")
    timeout = float(args[0])
    steps = [s.split("=>", 1) for s in args[1:cut]]
    argv = args[cut + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = b""
    deadline = time.time() + timeout

    def pump(t):
        """Read what is there within t seconds; False at the end."""
        nonlocal out
        if not select.select([fd], [], [], t)[0]:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side of the pty closed
            chunk = b""
        out += chunk
        return len(chunk) > 0

    pos = 0
    alive = True
    for regex, text in steps:
        while not re.search(regex, out[pos:].decode(errors="replace")):
            if time.time() > deadline or not alive:
                sys.stdout.write(out.decode(errors="replace"))
                print("\npty_run: no %r" % regex)
                if alive:
                    os.kill(pid, 9)
                os.waitpid(pid, 0)
                return 124
            alive = pump(0.2)
        pos = len(out)
        if text:
            os.write(fd, text.replace("\\r", "\r").encode())
    ended = not alive
    while not ended and time.time() < deadline:
        ended = not pump(0.2)
    sys.stdout.write(out.decode(errors="replace"))
    if not ended:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("\npty_run: still running at the deadline")
        return 124
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
