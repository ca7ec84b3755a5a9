/* SPDX-License-Identifier: Apache-2.0 */
/* The Go type table hash.c prints templates with (gotypes.c). */
#ifndef KUBE_CONTROLLER_HASH_H
#define KUBE_CONTROLLER_HASH_H

#include "controller/internal.h"

/* "Type{Field:gotype:json;...}" per struct, NULL-terminated. */
extern const char *const ctl_go_structs[];
/* Named types whose underlying type is string, NULL-terminated. */
extern const char *const ctl_go_string_types[];

/* resource.Quantity as ParseQuantity leaves it on its int64 fast path. */
struct ctl_goquantity {
  int64_t value;
  int32_t scale;
  const char *format; /* "DecimalSI", "BinarySI", "DecimalExponent", "" */
  char s[64];         /* the cached string (empty when not kept) */
  bool fast;          /* false: the inf.Dec path (printed approximately) */
};

/* ParseQuantity(str): 0, or -1 when str is not a quantity. */
int ctl_goquantity_parse(const char *str, struct ctl_goquantity *q);
/* Quantity.String(): the canonical text into buf. */
char *ctl_goquantity_string(const struct ctl_goquantity *q, char *buf,
                            size_t len);

#endif /* KUBE_CONTROLLER_HASH_H */
