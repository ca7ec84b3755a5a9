/* SPDX-License-Identifier: Apache-2.0 */
/* libkube apiserver (being written). */
#ifndef LIBKUBE_APISERVER_H
#define LIBKUBE_APISERVER_H

#include <libkube/core.h>

#endif /* LIBKUBE_APISERVER_H */
