/* SPDX-License-Identifier: Apache-2.0 */
/* libkube scheduler (being written). */
#ifndef LIBKUBE_SCHEDULER_H
#define LIBKUBE_SCHEDULER_H

#include <libkube/core.h>

#endif /* LIBKUBE_SCHEDULER_H */
