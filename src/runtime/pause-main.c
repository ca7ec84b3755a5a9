/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube-pause: PID 1 of a pod's shared PID namespace (shareProcessNamespace;
 * see sandbox-pid.c), the kubelet's pause: it reaps the zombies of the
 * pod's orphans and exits on SIGINT/SIGTERM.  libc only, started by the
 * libkube runtime; it is not meant to be run by hand.
 */
#include "runtime/internal.h"

int main(int argc, char **argv) {
  (void)argv;
  if (argc > 1) {
    fprintf(stderr, "kube-pause: takes no arguments; the libkube runtime "
                    "starts it as the PID 1 of a pod's process namespace\n");
    return 2;
  }
  rt_pause_loop();
}
