/* SPDX-License-Identifier: Apache-2.0 */
/* libkube runtime (being written). */
#ifndef LIBKUBE_RUNTIME_H
#define LIBKUBE_RUNTIME_H

#include <libkube/core.h>

#endif /* LIBKUBE_RUNTIME_H */
