/* SPDX-License-Identifier: Apache-2.0 */
/* libkube client (being written). */
#ifndef LIBKUBE_CLIENT_H
#define LIBKUBE_CLIENT_H

#include <libkube/core.h>

#endif /* LIBKUBE_CLIENT_H */
