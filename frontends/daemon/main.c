/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "kube-config.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("Client Version: v%s\n", KUBE_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: kube <command> [args]\n");
  return 1;
}
