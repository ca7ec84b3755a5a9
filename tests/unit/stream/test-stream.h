/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KUBE_TEST_STREAM_H
#define KUBE_TEST_STREAM_H
#include <ctype.h>
int run_session_tests(void);
#endif
