/* SPDX-License-Identifier: Apache-2.0 */
/* kube image / kube push (cmd-image.c) and kube build (cmd-build.c). */
#ifndef KUBE_CLI_CMD_IMAGE_H
#define KUBE_CLI_CMD_IMAGE_H

#include <libkube/image.h>

int cmd_image(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_build(int argc, char **argv);

/* --data-dir, else $KUBE_DATA_DIR, else kubed's default (borrowed). */
const char *cli_image_data_dir(const char *flag);
/* Open the store; prints the error and returns NULL on failure. */
kube_image_store_t *cli_image_store(const char *data_dir);
/* Progress printer for pulls/pushes/imports (userdata may be NULL). */
void cli_image_progress(const kube_image_progress_t *p, void *userdata);

#endif /* KUBE_CLI_CMD_IMAGE_H */
