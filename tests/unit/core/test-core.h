/* SPDX-License-Identifier: Apache-2.0 */
/* The groups of the core unit test program, one per source file. */
#ifndef TEST_CORE_H
#define TEST_CORE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

int run_quantity_tests(void);
int run_selector_tests(void);
int run_loop_tests(void);

#endif
