/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Field-error accumulation for validation, modelled on
 * k8s.io/apimachinery/pkg/util/validation/field: every problem becomes a
 * cause (field, type, body) and the message lists "field: body" entries.
 * Private to the api module.
 */
#ifndef KUBE_API_VALIDATE_H
#define KUBE_API_VALIDATE_H

#include "api/internal.h"

struct vcause {
  char *field;
  const char *type;
  char *body;
};

typedef struct verrs {
  struct vcause *causes;
  size_t n, cap;
  bool oom;
} verrs_t;

/* Field paths are composed into fixed buffers of this size. */
#define FP_MAX 512

/* printf into a path buffer: api_fp(buf, "%s.containers[%zu]", base, i). */
KUBE_PRINTF(2, 3) char *api_fp(char buf[FP_MAX], const char *fmt, ...);

void api_v_add(verrs_t *v, const char *field, const char *type,
               const char *body);
/* "Required value[: detail]" */
void api_v_required(verrs_t *v, const char *field, const char *detail);
/* `Invalid value: "s"[: detail]` (value quoted as Go's %q) */
void api_v_invalid(verrs_t *v, const char *field, const char *value,
                   const char *detail);
/* `Invalid value: 42[: detail]` */
void api_v_invalid_int(verrs_t *v, const char *field, int64_t value,
                       const char *detail);
/* `Invalid value: <raw>[: detail]` with raw printed as is */
void api_v_invalid_raw(verrs_t *v, const char *field, const char *raw,
                       const char *detail);
/* Invalid value for any JSON value: strings quoted, numbers plain. */
void api_v_invalid_json(verrs_t *v, const char *field, json_object *value,
                        const char *detail);
/* `Unsupported value: "x": supported values: "a", "b"` */
void api_v_unsupported(verrs_t *v, const char *field, const char *value,
                       const char *const *supported);
/* `Duplicate value: "x"` */
void api_v_duplicate(verrs_t *v, const char *field, const char *value);
/* `Forbidden: detail` */
void api_v_forbidden(verrs_t *v, const char *field, const char *detail);
/* `Too long: detail` */
void api_v_toolong(verrs_t *v, const char *field, const char *detail);
/* `Not found: "x"` */
void api_v_notfound(verrs_t *v, const char *field, const char *value);

/* spec.template.metadata.labels: `selector` does not match them. */
void api_v_template_labels(verrs_t *v, json_object *labels);

/* Go's %#v of a map[string]string, keys sorted. */
void api_go_map_string(kube_strbuf_t *sb, json_object *map);

bool api_in_set(const char *s, const char *const *set);
/* qsort comparator of an array of strings. */
int api_str_ptr_cmp(const void *a, const void *b);

/* Shared checks. */
void api_validate_labels(verrs_t *v, json_object *labels, const char *field);
void api_validate_label_selector(verrs_t *v, json_object *sel,
                                 const char *field);
void api_validate_port_number(verrs_t *v, json_object *port, const char *field,
                              bool required);
void api_validate_iana_svc_name(verrs_t *v, const char *name,
                                const char *field);
void api_validate_quantity(verrs_t *v, json_object *q, const char *field,
                           bool nonneg, kube_quantity_t *out, bool *ok);
bool api_valid_ip(const char *s);
void api_validate_dns_label(verrs_t *v, const char *s, const char *field);
void api_validate_dns_subdomain(verrs_t *v, const char *s, const char *field);
void api_validate_immutable(verrs_t *v, json_object *now, json_object *old,
                            const char *field);
int64_t api_jint_or(json_object *o, const char *key, int64_t def);

/* Workload helpers: o[key] >= 0; the selector is required, valid and
 * selects the template's labels; an int-or-percent ("25%" or 3); a
 * rolling update's maxUnavailable/maxSurge. */
void api_validate_nonneg(verrs_t *v, json_object *o, const char *key,
                         const char *field);
void api_validate_selector_template(verrs_t *v, json_object *spec,
                                    const char *kind_word);
bool api_int_or_percent(verrs_t *v, json_object *x, const char *field,
                        int64_t *value, bool *pct);
void api_validate_rolling_update(verrs_t *v, json_object *ru, const char *field,
                                 bool surge_allowed);

/* Pod validators (validate-pod.c). */
void api_validate_pod_spec(verrs_t *v, json_object *spec, const char *field,
                           bool is_template);
void api_validate_pod(verrs_t *v, json_object *obj, json_object *old);
/* An update through pods/ephemeralcontainers (only
 * spec.ephemeralContainers differs from old). */
void api_validate_pod_ephemeral(verrs_t *v, json_object *obj,
                                json_object *old);
void api_validate_pod_template(verrs_t *v, json_object *tmpl, const char *field,
                               const char *const *restart_policies,
                               const char *owner_kind);

#endif /* KUBE_API_VALIDATE_H */
