/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

int cmd_runtime(int argc, char **argv) {
  return cli_fail("runtime: not built yet");
}
