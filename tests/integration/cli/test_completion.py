#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kube --help and shell completion: `kube __complete` without a server
(built-in kinds) and against a real kubed (discovery, object names,
namespaces), and the bash and zsh scripts driven the way the shells call
them.

usage: test_completion.py KUBED KUBE"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

ZSH = shutil.which("zsh")


class Kube:
    def __init__(self, kube, env):
        self.kube = kube
        self.env = env

    def run(self, *args):
        p = subprocess.run([self.kube] + list(args), capture_output=True,
                           text=True, env=self.env, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def complete(self, *words):
        rc, out, err = self.run("__complete", *words)
        return out.splitlines() if rc == 0 else ["<rc %d: %s>" % (rc, err)]

    def shell(self, argv, script):
        p = subprocess.run(argv + [script], capture_output=True, text=True,
                           env=self.env, timeout=30)
        return p.stdout.splitlines()

    def bash(self, *words):
        """COMPREPLY after <TAB> with the cursor on the last word."""
        script = ('source <(kube completion bash)\n'
                  'COMP_WORDS=(kube %s); COMP_CWORD=%d\n'
                  '_kube; printf "%%s\\n" "${COMPREPLY[@]}"\n'
                  % (" ".join("'%s'" % w for w in words), len(words)))
        return self.shell(["bash", "-c"], script)

    def zsh(self, *words):
        """What _kube hands to compadd (or _files) in zsh."""
        script = ('compadd() { shift 2; print -l -- "$@"; }\n'
                  'compdef() { :; }\n_files() { print FILES; }\n'
                  'source <(kube completion zsh)\n'
                  'words=(kube %s); CURRENT=%d\n_kube\n'
                  % (" ".join("'%s'" % w for w in words), len(words) + 1))
        return self.shell([ZSH, "-f", "-c"], script)


def offline(t, k):
    rc, out, err = k.run("--help")
    t.check(rc == 0 and "Commands:" in out and "completion" in out, "kube --help", (rc, err))
    rc, out2, err = k.run("-h")
    t.check(rc == 0 and out2 == out, "kube -h", (rc, err))
    rc, out, err = k.run("--server", "unix:/nonexistent", "--help")
    t.check(rc == 0 and "Commands:" in out, "global flag before --help", (rc, err))
    rc, out, err = k.run("help", "get")
    t.check(rc == 0 and "kube get [flags]" in out and "--selector" in out, "kube help get",
            (rc, out[:200], err))
    rc, out, err = k.run("help", "nope")
    t.check(rc == 1 and 'unknown command "nope"' in err, "kube help nope", (rc, err))
    rc, out, err = k.run("completion")
    t.check(rc == 1 and err.startswith("error: Shell not specified."), "completion without shell",
            (rc, err))
    rc, out, err = k.run("completion", "fish")
    t.check(rc == 1 and 'Unsupported shell type "fish"' in err, "completion fish", (rc, err))
    rc, out, err = k.run("completion", "bash")
    t.check(rc == 0 and "complete -o default -F _kube kube" in out, "completion bash", (rc, err))
    rc = subprocess.run(["bash", "-n"], input=out, text=True).returncode
    t.check(rc == 0, "the bash script parses")

    t.check(k.complete("ge") == ["get"], "verbs", k.complete("ge"))
    verbs = k.complete("")
    t.check("describe" in verbs and "completion" in verbs and "__complete" not in verbs,
            "every verb, not the hidden one", verbs)
    t.check(k.complete("get", "--sel") == ["--selector"], "a verb's own flag",
            k.complete("get", "--sel"))
    t.check("--kubeconfig" in k.complete("describe", "--"), "global flags after a verb")
    t.check(k.complete("get", "-o", "ya") == ["yaml"], "-o formats", k.complete("get", "-o", "ya"))
    t.check(k.complete("create", "") == ["configmap", "deployment", "job", "namespace",
                                         "secret", "service"],
            "create subcommands", k.complete("create", ""))
    t.check(k.complete("create", "service", "n") == ["nodeport"], "service types")
    t.check(k.complete("completion", "") == ["bash", "zsh"], "completion shells")
    # No server: the kinds the library serves.
    t.check(k.complete("get", "deploy") == ["deployments.apps"], "built-in resource types",
            k.complete("get", "deploy"))
    t.check("pods" in k.complete("describe", "p"), "types for describe")
    t.check(k.bash("ge") == ["get"], "bash: verb", k.bash("ge"))
    t.check(k.bash("get", "--no-h") == ["--no-headers"], "bash: flag", k.bash("get", "--no-h"))
    if ZSH:
        rc, out, err = k.run("completion", "zsh")
        rc = subprocess.run([ZSH, "-n", "-f"], input=out, text=True).returncode
        t.check(rc == 0, "the zsh script parses")
        t.check(k.zsh("desc") == ["describe"], "zsh: verb", k.zsh("desc"))
        t.check(k.zsh("get", "--sel") == ["--selector"], "zsh: flag", k.zsh("get", "--sel"))
        t.check(k.zsh("apply", "-f", "") == ["FILES"], "zsh: files when nothing else",
                k.zsh("apply", "-f", ""))
    else:
        print("zsh is not installed: zsh checks skipped (scripts/setup.sh installs it)")


def online(t, k):
    for args in (["create", "namespace", "team"], ["run", "kubia", "--image=x"],
                 ["run", "kuard", "--image=x"], ["run", "inteam", "--image=x", "-n", "team"]):
        rc, out, err = k.run(*args)
        t.check(rc == 0, "setup " + " ".join(args), err)
    t.check(k.complete("get", "pods", "ku") == ["kuard", "kubia"], "object names",
            k.complete("get", "pods", "ku"))
    t.check(k.complete("describe", "pod/kub") == ["pod/kubia"], "TYPE/NAME",
            k.complete("describe", "pod/kub"))
    t.check(k.complete("-n", "team", "get", "po", "") == ["inteam"], "-n before the verb",
            k.complete("-n", "team", "get", "po", ""))
    t.check(k.complete("get", "pods", "--namespace=team", "") == ["inteam"], "--namespace=",
            k.complete("get", "pods", "--namespace=team", ""))
    ns = k.complete("get", "pods", "-n", "")
    t.check("default" in ns and "team" in ns and "kube-system" in ns, "namespaces for -n", ns)
    t.check(k.complete("logs", "kua") == ["kuard"], "pods for logs", k.complete("logs", "kua"))
    t.check(k.complete("get", "cronj") == ["cronjobs.batch"], "types from discovery",
            k.complete("get", "cronj"))
    t.check(k.bash("get", "pods", "kub") == ["kubia"], "bash: names from the server",
            k.bash("get", "pods", "kub"))
    if ZSH:
        t.check(k.zsh("delete", "pod", "kua") == ["kuard"], "zsh: names from the server",
                k.zsh("delete", "pod", "kua"))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], os.path.abspath(sys.argv[2])
    t = Failures()
    home = tempfile.mkdtemp(prefix="kube-completion-")
    env = dict(os.environ, HOME=home, KUBECONFIG="/nonexistent",
               PATH=os.path.dirname(kube) + os.pathsep + os.environ.get("PATH", ""))
    d = None
    try:
        # A kubeconfig whose server is not there: nothing to ask.
        dead = os.path.join(home, "dead.yaml")
        with open(dead, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                    "clusters:\n- name: c\n  cluster:\n    server: unix:%s/none.sock\n"
                    "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
                    "users:\n- name: u\n  user: {}\n" % home)
        offline(t, Kube(kube, dict(env, KUBECONFIG=dead)))
        d = Kubed(kubed, store="memory").start()
        online(t, Kube(kube, dict(env, KUBECONFIG=os.path.join(d.data, "kubeconfig.yaml"))))
    finally:
        if d:
            d.cleanup()
        shutil.rmtree(home, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
