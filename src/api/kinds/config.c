/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ConfigMap, Secret and ServiceAccount (core/v1): columns and cells,
 * Secret defaults (stringData into data), validation of data keys,
 * base64 values and immutability.
 */
#include <ctype.h>

#include "api/kinds/kind.h"

#define CONFIG_KEY_MSG                                                         \
  "a valid config key must consist of alphanumeric characters, '-', '_' or "   \
  "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "      \
  "validation is '[-._a-zA-Z0-9]+')"
#define MAX_CONFIG_SIZE (1024 * 1024)

static const kube_kind_column_t configmap_columns[] = {
    COL_NAME,
    COL("DATA", "string",
        "Data contains the configuration data. Each key must consist of "
        "alphanumeric characters, '-', '_' or '.'."),
    COL_AGE, COL_END};

static const kube_kind_column_t secret_columns[] = {
    COL_NAME,
    COL("TYPE", "string",
        "Used to facilitate programmatic handling of "
        "secret data."),
    COL("DATA", "string",
        "Data contains the secret data. Each key must consist of "
        "alphanumeric characters, '-', '_' or '.'."),
    COL_AGE, COL_END};

static const kube_kind_column_t sa_columns[] = {
    COL_NAME,
    COL("SECRETS", "string",
        "Secrets is a list of the secrets in the same namespace that pods "
        "running using this ServiceAccount are allowed to use."),
    COL_AGE, COL_END};

static const char *const sel_secrets[] = {"type", NULL};

static const char *const sub_sa[] = {"token", NULL};

static void count_cells(json_object *cells, json_object *obj, time_t now,
                        const char *k1, const char *k2, bool arr) {
  api_cell_str(cells, api_name_of(obj));
  int64_t n = 0;
  if (arr) {
    n = (int64_t)jarr_len(jget_arr(obj, k1));
  } else {
    json_object *a = jget_obj(obj, k1);
    json_object *b = k2 ? jget_obj(obj, k2) : NULL;
    n = (a ? json_object_object_length(a) : 0) +
        (b ? json_object_object_length(b) : 0);
  }
  api_cell_int(cells, n);
  api_cell_age(cells, obj, now);
}

static void secret_cells(json_object *cells, json_object *obj, time_t now,
                         const kube_kind_t *kind) {
  json_object *data = jget_obj(obj, "data");
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, jget_str0(obj, "type"));
  api_cell_int(cells, data ? json_object_object_length(data) : 0);
  api_cell_age(cells, obj, now);
}

/* type Opaque, and stringData folded into data (the v1 conversion does
 * this: stringData is write-only and wins over data). */
static void secret_defaults(json_object *obj, const kube_kind_t *kind) {
  if (empty_str(obj, "type"))
    api_jset(obj, "type", jstr("Opaque"));
  json_object *sd = jget_obj(obj, "stringData");
  if (!sd)
    return;
  json_object *data = api_jensure_obj(obj, "data");
  if (!data)
    return;
  json_object_object_foreach(sd, k, v) {
    if (!json_object_is_type(v, json_type_string))
      continue;
    char *enc = kube_base64_encode(json_object_get_string(v),
                                   (size_t)json_object_get_string_len(v));
    if (enc)
      api_jset(data, k, jstr(enc));
    free(enc);
  }
  json_object_object_del(obj, "stringData");
}

static void validate_config_key(verrs_t *v, const char *key,
                                const char *field) {
  size_t len = strlen(key);
  if (len > 253)
    api_v_invalid(v, field, key, "must be no more than 253 characters");
  bool ok = len > 0;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.')
      ok = false;
  }
  if (!ok)
    api_v_invalid(v, field, key, CONFIG_KEY_MSG);
  if (streq(key, "."))
    api_v_invalid(v, field, key, "must not be '.'");
  else if (streq(key, ".."))
    api_v_invalid(v, field, key, "must not be '..'");
  else if (str_has_prefix(key, ".."))
    api_v_invalid(v, field, key, "must not start with '..'");
}

static bool is_b64(int c) {
  return isalnum(c) || c == '+' || c == '/';
}

/* Standard base64 with padding; -1 when valid, else the bad offset. */
static long base64_error(const char *s) {
  size_t len = strlen(s);
  size_t i = 0;
  for (; i < len && is_b64((unsigned char)s[i]); i++)
    ;
  size_t pad = 0;
  for (; i < len && s[i] == '='; i++, pad++)
    ;
  if (i != len)
    return (long)i;
  if (pad > 2 || (len % 4) != 0)
    return (long)(len - pad - ((len - pad) % 4));
  return -1;
}

static bool immutable_set(json_object *old) {
  return old && jget_bool(old, "immutable", false);
}

static void validate_configmap(verrs_t *v, json_object *obj, json_object *old,
                               const kube_kind_t *kind) {
  json_object *data = jget(obj, "data"), *bin = jget(obj, "binaryData");
  char f[FP_MAX];
  size_t total = 0;
  if (data && !json_object_is_type(data, json_type_object))
    api_v_invalid_json(v, "data", data, "must be a map of strings");
  if (json_object_is_type(data, json_type_object)) {
    json_object_object_foreach(data, k, val) {
      validate_config_key(v, k, api_fp(f, "data[%s]", k));
      if (!json_object_is_type(val, json_type_string))
        api_v_invalid_json(v, api_fp(f, "data[%s]", k), val,
                           "must be a string");
      else
        total += (size_t)json_object_get_string_len(val);
    }
  }
  if (json_object_is_type(bin, json_type_object)) {
    json_object_object_foreach(bin, k, val) {
      validate_config_key(v, k, api_fp(f, "binaryData[%s]", k));
      if (jget(data, k))
        api_v_invalid(v, api_fp(f, "binaryData[%s]", k), k,
                      "duplicate of key present in data");
      const char *s = json_object_get_string(val);
      if (!json_object_is_type(val, json_type_string) || base64_error(s) >= 0)
        api_v_invalid(v, api_fp(f, "binaryData[%s]", k), "<binary>",
                      "must be base64 encoded");
      else
        total += strlen(s) / 4 * 3;
    }
  }
  if (total > MAX_CONFIG_SIZE)
    api_v_toolong(v, "", "must have at most 1048576 bytes");
  if (immutable_set(old)) {
    if (!json_object_equal(data, jget(old, "data")))
      api_v_forbidden(v, "data", "field is immutable when `immutable` is set");
    if (!json_object_equal(bin, jget(old, "binaryData")))
      api_v_forbidden(v, "binaryData",
                      "field is immutable when `immutable` is set");
    if (!jget_bool(obj, "immutable", false))
      api_v_forbidden(v, "immutable",
                      "field is immutable when `immutable` is set");
  }
}

static void secret_requires(verrs_t *v, json_object *data, const char *key) {
  char f[FP_MAX];
  if (!jget(data, key))
    api_v_required(v, api_fp(f, "data[%s]", key), NULL);
}

static void validate_secret(verrs_t *v, json_object *obj, json_object *old,
                            const kube_kind_t *kind) {
  json_object *data = jget(obj, "data");
  char f[FP_MAX];
  size_t total = 0;
  if (data && !json_object_is_type(data, json_type_object))
    api_v_invalid_json(v, "data", data, "must be a map of strings");
  if (json_object_is_type(data, json_type_object)) {
    json_object_object_foreach(data, k, val) {
      validate_config_key(v, k, api_fp(f, "data[%s]", k));
      const char *s = json_object_get_string(val);
      long bad =
          json_object_is_type(val, json_type_string) ? base64_error(s) : 0;
      if (bad >= 0) {
        char msg[80];
        snprintf(msg, sizeof(msg), "illegal base64 data at input byte %ld",
                 bad);
        api_v_invalid(v, api_fp(f, "data[%s]", k), "<secret contents redacted>",
                      msg);
      } else {
        total += strlen(s) / 4 * 3;
      }
    }
  }
  json_object *sdata = jget_obj(obj, "stringData");
  if (sdata) {
    json_object_object_foreach(sdata, k, val) {
      validate_config_key(v, k, api_fp(f, "stringData[%s]", k));
      if (json_object_is_type(val, json_type_string))
        total += (size_t)json_object_get_string_len(val);
    }
  }
  if (total > MAX_CONFIG_SIZE)
    api_v_toolong(v, "data", "must have at most 1048576 bytes");
  const char *type = jget_str0(obj, "type");
  json_object *md = jget_obj(obj, "metadata");
  if (streq(type, "kubernetes.io/service-account-token")) {
    if (!*jget_str0(jget_obj(md, "annotations"),
                    "kubernetes.io/service-account.name"))
      api_v_required(
          v, "metadata.annotations[kubernetes.io/service-account.name]", NULL);
  } else if (streq(type, "kubernetes.io/dockercfg")) {
    secret_requires(v, data, ".dockercfg");
  } else if (streq(type, "kubernetes.io/dockerconfigjson")) {
    secret_requires(v, data, ".dockerconfigjson");
  } else if (streq(type, "kubernetes.io/basic-auth")) {
    if (!jget(data, "username") && !jget(data, "password"))
      api_v_required(v, "data[username]", NULL);
  } else if (streq(type, "kubernetes.io/ssh-auth")) {
    secret_requires(v, data, "ssh-privatekey");
  } else if (streq(type, "kubernetes.io/tls")) {
    secret_requires(v, data, "tls.crt");
    secret_requires(v, data, "tls.key");
  }
  if (old) {
    const char *otype = jget_str0(old, "type");
    if (!streq(otype, type))
      api_v_invalid(v, "type", type, "field is immutable");
    if (immutable_set(old)) {
      if (!json_object_equal(data, jget(old, "data")))
        api_v_forbidden(v, "data",
                        "field is immutable when `immutable` is set");
      if (!jget_bool(obj, "immutable", false))
        api_v_forbidden(v, "immutable",
                        "field is immutable when `immutable` is set");
    }
  }
}

/* ---- strategies ------------------------------------------------------------
 */

static void configmap_cells(json_object *c, json_object *obj, time_t now,
                            const kube_kind_t *k) {
  count_cells(c, obj, now, "data", "binaryData", false);
}

static void sa_cells(json_object *c, json_object *obj, time_t now,
                     const kube_kind_t *k) {
  count_cells(c, obj, now, "secrets", NULL, true);
}

static const struct kube_kind_strategy configmap_strategy = {
    .type = &api_t_ConfigMap,
    .validate = validate_configmap,
    .cells = configmap_cells,
};
static const struct kube_kind_strategy secret_strategy = {
    .type = &api_t_Secret,
    .validate = validate_secret,
    .defaults = secret_defaults,
    .cells = secret_cells,
};
static const struct kube_kind_strategy sa_strategy = {
    .type = &api_t_ServiceAccount,
    .cells = sa_cells,
};

const kube_kind_t api_kind_configmap = KIND(
    "", "v1", "ConfigMap", "configmaps", "configmap", true, NAMES("cm"),
    api_verbs_all, NULL, NULL, configmap_columns, NULL, &configmap_strategy);
const kube_kind_t api_kind_secret =
    KIND("", "v1", "Secret", "secrets", "secret", true, NULL, api_verbs_all,
         NULL, NULL, secret_columns, sel_secrets, &secret_strategy);
const kube_kind_t api_kind_serviceaccount = KIND(
    "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true,
    NAMES("sa"), api_verbs_all, NULL, sub_sa, sa_columns, NULL, &sa_strategy);
