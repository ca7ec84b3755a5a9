/* SPDX-License-Identifier: Apache-2.0 */
/* OCI config.json <-> kube_rt_config_t. */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "runtime/internal.h"

static const char *const ns_names[KUBE_NS__COUNT] = {
    [KUBE_NS_PID] = "pid",       [KUBE_NS_NETWORK] = "network",
    [KUBE_NS_MOUNT] = "mount",   [KUBE_NS_IPC] = "ipc",
    [KUBE_NS_UTS] = "uts",       [KUBE_NS_USER] = "user",
    [KUBE_NS_CGROUP] = "cgroup",
};

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static const char *const seccomp_ops[] = {
    NULL,          "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

/* Set while re-reading a stored config (exec): the host paths it names were
 * checked at create time and may be gone since (a joined namespace). */
static __thread bool skip_host_checks;

static int invalid(kube_error_t *err, const char *field, const char *fmt, ...)
    KUBE_PRINTF(3, 4);
static int invalid(kube_error_t *err, const char *field, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  kube_error_set(err, KUBE_REASON_INVALID, 0, "%s: %s", field, msg);
  kube_error_add_cause(err, field, "FieldValueInvalid", msg);
  return -1;
}

void kube_seccomp_free(kube_seccomp_t *s);

static void free_strv(char **v, size_t n) {
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

KUBE_EXPORT void kube_seccomp_free(kube_seccomp_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n_rules; i++) {
    free_strv(s->rules[i].names, s->rules[i].n_names);
    free(s->rules[i].args);
  }
  free(s->rules);
  free(s);
}

KUBE_EXPORT void kube_rt_config_free(kube_rt_config_t *c) {
  if (!c)
    return;
  free(c->root_path);
  free(c->hostname);
  free_strv(c->args, c->n_args);
  free_strv(c->env, c->n_env);
  free(c->cwd);
  free(c->additional_gids);
  free(c->rlimits);
  for (size_t i = 0; i < c->n_mounts; i++) {
    free(c->mounts[i].destination);
    free(c->mounts[i].type);
    free(c->mounts[i].source);
    free_strv(c->mounts[i].options, c->mounts[i].n_options);
  }
  free(c->mounts);
  for (size_t i = 0; i < c->n_namespaces; i++)
    free(c->namespaces[i].path);
  free(c->namespaces);
  free(c->uid_mappings);
  free(c->gid_mappings);
  free_strv(c->masked_paths, c->n_masked_paths);
  free_strv(c->readonly_paths, c->n_readonly_paths);
  free(c->cgroups_path);
  free(c->resources.cpuset_cpus);
  free(c->resources.cpuset_mems);
  free(c->resources.device_rules);
  kube_seccomp_free(c->seccomp);
  free(c->bundle);
  free_strv(c->sysctl_keys, c->n_sysctl);
  free_strv(c->sysctl_values, c->n_sysctl);
  rt_spec_extra_free(c);
  free(c);
}

static kube_rt_config_t *config_alloc(void) {
  kube_rt_config_t *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->struct_size = sizeof *c;
  c->resources.memory_limit = -1;
  c->resources.memory_swap = -1;
  c->resources.cpu_shares = -1;
  c->resources.cpu_quota = -1;
  c->resources.cpu_period = -1;
  c->resources.pids_limit = -1;
  return c;
}

/* ---- parsing ------------------------------------------------------------- */

#define get rt_json_get

json_object *rt_json_get(json_object *o, const char *key) {
  json_object *v = NULL;
  if (o && json_object_is_type(o, json_type_object) &&
      json_object_object_get_ex(o, key, &v) &&
      !json_object_is_type(v, json_type_null))
    return v;
  return NULL;
}

static int get_string(json_object *o, const char *key, const char *field,
                      char **out, kube_error_t *err) {
  json_object *v = get(o, key);
  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_string))
    return invalid(err, field, "must be a string");
  *out = strdup(json_object_get_string(v));
  return *out ? 0 : kube_make_oom(err);
}

static int get_int64(json_object *o, const char *key, const char *field,
                     int64_t *out, bool *present, kube_error_t *err) {
  json_object *v = get(o, key);
  if (present)
    *present = v != NULL;
  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_int))
    return invalid(err, field, "must be an integer");
  errno = 0;
  *out = json_object_get_int64(v);
  if (errno == ERANGE) /* uint64 values such as a max uint rlimit */
    *out = (int64_t)json_object_get_uint64(v);
  return 0;
}

static int get_strv(json_object *o, const char *key, const char *field,
                    char ***out, size_t *n_out, bool null_term,
                    kube_error_t *err) {
  json_object *v = get(o, key);
  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_array))
    return invalid(err, field, "must be an array of strings");
  size_t n = json_object_array_length(v);
  char **arr = calloc(n + 1, sizeof *arr);
  if (!arr)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(v, i);
    if (!json_object_is_type(e, json_type_string)) {
      free_strv(arr, i);
      return invalid(err, field, "element %zu must be a string", i);
    }
    if (!(arr[i] = strdup(json_object_get_string(e)))) {
      free_strv(arr, i);
      return kube_make_oom(err);
    }
  }
  (void)null_term;
  *out = arr;
  *n_out = n;
  return 0;
}

static int parse_caps(json_object *o, kube_rt_caps_t *caps, kube_error_t *err) {
  static const char *const sets[] = {"bounding", "effective", "inheritable",
                                     "permitted", "ambient"};
  uint64_t *dst[] = {&caps->bounding, &caps->effective, &caps->inheritable,
                     &caps->permitted, &caps->ambient};
  for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
    json_object *v = get(o, sets[s]);
    *dst[s] = 0;
    if (!v)
      continue;
    char field[64];
    snprintf(field, sizeof field, "process.capabilities.%s", sets[s]);
    if (!json_object_is_type(v, json_type_array))
      return invalid(err, field, "must be an array");
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      const char *name =
          json_object_get_string(json_object_array_get_idx(v, i));
      int cap = kube_cap_from_name(name);
      if (cap < 0)
        return invalid(err, field, "unknown capability \"%s\"",
                       name ? name : "");
      *dst[s] |= 1ULL << cap;
    }
  }
  return 0;
}

static int parse_process(json_object *p, kube_rt_config_t *c,
                         kube_error_t *err) {
  if (!p)
    return invalid(err, "process", "required");
  if (get_strv(p, "args", "process.args", &c->args, &c->n_args, true, err) <
          0 ||
      get_strv(p, "env", "process.env", &c->env, &c->n_env, true, err) < 0 ||
      get_string(p, "cwd", "process.cwd", &c->cwd, err) < 0)
    return -1;
  if (!c->args || c->n_args == 0)
    return invalid(err, "process.args", "must not be empty");
  if (c->cwd && c->cwd[0] != '/')
    return invalid(err, "process.cwd", "must be an absolute path");
  json_object *user = get(p, "user");
  int64_t v;
  bool present;
  if (get_int64(user, "uid", "process.user.uid", &v, &present, err) < 0)
    return -1;
  if (present && (v < 0 || v > UINT32_MAX - 1))
    return invalid(err, "process.user.uid", "out of range");
  c->uid = present ? (uid_t)v : 0;
  if (get_int64(user, "gid", "process.user.gid", &v, &present, err) < 0)
    return -1;
  if (present && (v < 0 || v > UINT32_MAX - 1))
    return invalid(err, "process.user.gid", "out of range");
  c->gid = present ? (gid_t)v : 0;
  json_object *ag = get(user, "additionalGids");
  if (ag) {
    if (!json_object_is_type(ag, json_type_array))
      return invalid(err, "process.user.additionalGids", "must be an array");
    c->n_additional_gids = json_object_array_length(ag);
    c->additional_gids = calloc(c->n_additional_gids + 1, sizeof(gid_t));
    if (!c->additional_gids)
      return kube_make_oom(err);
    for (size_t i = 0; i < c->n_additional_gids; i++)
      c->additional_gids[i] =
          (gid_t)json_object_get_int64(json_object_array_get_idx(ag, i));
  }
  json_object *caps = get(p, "capabilities");
  if (caps && parse_caps(caps, &c->caps, err) < 0)
    return -1;
  json_object *nnp = get(p, "noNewPrivileges");
  c->no_new_privileges = nnp && json_object_get_boolean(nnp);
  json_object *oom = get(p, "oomScoreAdj");
  if (oom) {
    int64_t adj = json_object_get_int64(oom);
    if (adj < -1000 || adj > 1000)
      return invalid(err, "process.oomScoreAdj", "must be in [-1000, 1000]");
    c->has_oom_score_adj = true;
    c->oom_score_adj = (int)adj;
  }
  json_object *rl = get(p, "rlimits");
  if (rl) {
    if (!json_object_is_type(rl, json_type_array))
      return invalid(err, "process.rlimits", "must be an array");
    size_t n = json_object_array_length(rl);
    c->rlimits = calloc(n + 1, sizeof *c->rlimits);
    if (!c->rlimits)
      return kube_make_oom(err);
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(rl, i);
      char field[64];
      snprintf(field, sizeof field, "process.rlimits[%zu].type", i);
      json_object *t = get(e, "type");
      const char *name = t ? json_object_get_string(t) : "";
      int res = -1;
      for (size_t k = 0; k < ARRAY_SIZE(rlimit_names); k++)
        if (streq(rlimit_names[k].name, name))
          res = rlimit_names[k].resource;
      if (res < 0)
        return invalid(err, field, "unknown rlimit \"%s\"", name);
      int64_t soft = 0, hard = 0;
      if (get_int64(e, "soft", field, &soft, NULL, err) < 0 ||
          get_int64(e, "hard", field, &hard, NULL, err) < 0)
        return -1;
      if ((uint64_t)soft > (uint64_t)hard)
        return invalid(err, field, "soft limit above hard limit");
      c->rlimits[c->n_rlimits++] =
          (kube_rt_rlimit_t){res, (uint64_t)soft, (uint64_t)hard};
    }
  }
  return 0;
}

static int parse_mounts(json_object *m, kube_rt_config_t *c,
                        kube_error_t *err) {
  if (!m)
    return 0;
  if (!json_object_is_type(m, json_type_array))
    return invalid(err, "mounts", "must be an array");
  size_t n = json_object_array_length(m);
  c->mounts = calloc(n + 1, sizeof *c->mounts);
  if (!c->mounts)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(m, i);
    kube_rt_mount_t *mt = &c->mounts[c->n_mounts++];
    char field[64];
    snprintf(field, sizeof field, "mounts[%zu].destination", i);
    if (get_string(e, "destination", field, &mt->destination, err) < 0)
      return -1;
    if (!mt->destination || mt->destination[0] != '/')
      return invalid(err, field, "must be an absolute path");
    if (strstr(mt->destination, "/../") ||
        str_has_suffix(mt->destination, "/.."))
      return invalid(err, field, "must not contain \"..\"");
    snprintf(field, sizeof field, "mounts[%zu].type", i);
    if (get_string(e, "type", field, &mt->type, err) < 0)
      return -1;
    snprintf(field, sizeof field, "mounts[%zu].source", i);
    if (get_string(e, "source", field, &mt->source, err) < 0)
      return -1;
    snprintf(field, sizeof field, "mounts[%zu].options", i);
    if (get_strv(e, "options", field, &mt->options, &mt->n_options, true, err) <
        0)
      return -1;
    bool bind = mt->type && streq(mt->type, "bind");
    for (size_t k = 0; k < mt->n_options; k++)
      if (streq(mt->options[k], "bind") || streq(mt->options[k], "rbind"))
        bind = true;
    if (bind && !skip_host_checks) {
      snprintf(field, sizeof field, "mounts[%zu].source", i);
      struct stat st;
      if (!mt->source || stat(mt->source, &st) < 0)
        return invalid(err, field, "bind source \"%s\" does not exist",
                       mt->source ? mt->source : "");
    } else if (!bind && !mt->type) {
      snprintf(field, sizeof field, "mounts[%zu].type", i);
      return invalid(err, field, "required for a non-bind mount");
    }
  }
  return 0;
}

static int parse_id_maps(json_object *a, const char *field,
                         kube_rt_id_map_t **out, size_t *n_out,
                         kube_error_t *err) {
  if (!a)
    return 0;
  if (!json_object_is_type(a, json_type_array))
    return invalid(err, field, "must be an array");
  size_t n = json_object_array_length(a);
  *out = calloc(n + 1, sizeof **out);
  if (!*out)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(a, i);
    int64_t cid = 0, hid = 0, size = 0;
    if (get_int64(e, "containerID", field, &cid, NULL, err) < 0 ||
        get_int64(e, "hostID", field, &hid, NULL, err) < 0 ||
        get_int64(e, "size", field, &size, NULL, err) < 0)
      return -1;
    if (cid < 0 || hid < 0 || size <= 0 || cid > UINT32_MAX ||
        hid > UINT32_MAX || size > UINT32_MAX)
      return invalid(err, field, "entry %zu out of range", i);
    (*out)[i] =
        (kube_rt_id_map_t){(uint32_t)cid, (uint32_t)hid, (uint32_t)size};
  }
  *n_out = n;
  return 0;
}

int rt_seccomp_action_parse(const char *s, kube_seccomp_action_t *out) {
  static const struct {
    const char *name;
    kube_seccomp_action_t a;
  } t[] = {{"SCMP_ACT_ALLOW", KUBE_SECCOMP_ALLOW},
           {"SCMP_ACT_ERRNO", KUBE_SECCOMP_ERRNO},
           {"SCMP_ACT_KILL", KUBE_SECCOMP_KILL},
           {"SCMP_ACT_KILL_THREAD", KUBE_SECCOMP_KILL},
           {"SCMP_ACT_KILL_PROCESS", KUBE_SECCOMP_KILL_PROCESS},
           {"SCMP_ACT_TRAP", KUBE_SECCOMP_TRAP},
           {"SCMP_ACT_LOG", KUBE_SECCOMP_LOG}};
  for (size_t i = 0; s && i < ARRAY_SIZE(t); i++)
    if (streq(t[i].name, s)) {
      *out = t[i].a;
      return 0;
    }
  return -1;
}

const char *rt_seccomp_action_name(kube_seccomp_action_t a) {
  switch (a) {
  case KUBE_SECCOMP_ALLOW:
    return "SCMP_ACT_ALLOW";
  case KUBE_SECCOMP_ERRNO:
    return "SCMP_ACT_ERRNO";
  case KUBE_SECCOMP_KILL:
    return "SCMP_ACT_KILL";
  case KUBE_SECCOMP_KILL_PROCESS:
    return "SCMP_ACT_KILL_PROCESS";
  case KUBE_SECCOMP_TRAP:
    return "SCMP_ACT_TRAP";
  case KUBE_SECCOMP_LOG:
    return "SCMP_ACT_LOG";
  }
  return "SCMP_ACT_ALLOW";
}

static int parse_seccomp(json_object *s, kube_rt_config_t *c,
                         kube_error_t *err) {
  if (!s)
    return 0;
  kube_seccomp_t *sc = calloc(1, sizeof *sc);
  if (!sc)
    return kube_make_oom(err);
  c->seccomp = sc;
  json_object *da = get(s, "defaultAction");
  if (!da || rt_seccomp_action_parse(json_object_get_string(da),
                                     &sc->default_action) < 0)
    return invalid(err, "linux.seccomp.defaultAction", "unknown action \"%s\"",
                   da ? json_object_get_string(da) : "");
  json_object *de = get(s, "defaultErrnoRet");
  sc->default_errno = de ? json_object_get_int(de) : 0;
  json_object *sys = get(s, "syscalls");
  if (!sys)
    return 0;
  if (!json_object_is_type(sys, json_type_array))
    return invalid(err, "linux.seccomp.syscalls", "must be an array");
  size_t n = json_object_array_length(sys);
  sc->rules = calloc(n + 1, sizeof *sc->rules);
  if (!sc->rules)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(sys, i);
    kube_seccomp_rule_t *r = &sc->rules[sc->n_rules++];
    char field[64];
    snprintf(field, sizeof field, "linux.seccomp.syscalls[%zu]", i);
    if (get_strv(e, "names", field, &r->names, &r->n_names, true, err) < 0)
      return -1;
    json_object *a = get(e, "action");
    if (!a ||
        rt_seccomp_action_parse(json_object_get_string(a), &r->action) < 0)
      return invalid(err, field, "unknown action \"%s\"",
                     a ? json_object_get_string(a) : "");
    json_object *er = get(e, "errnoRet");
    r->errno_ret = er ? json_object_get_int(er) : 0;
    json_object *args = get(e, "args");
    if (args && json_object_is_type(args, json_type_array)) {
      r->n_args = json_object_array_length(args);
      r->args = calloc(r->n_args + 1, sizeof *r->args);
      if (!r->args)
        return kube_make_oom(err);
      for (size_t k = 0; k < r->n_args; k++) {
        json_object *ae = json_object_array_get_idx(args, k);
        int64_t idx = 0, val = 0, val2 = 0;
        get_int64(ae, "index", field, &idx, NULL, NULL);
        get_int64(ae, "value", field, &val, NULL, NULL);
        get_int64(ae, "valueTwo", field, &val2, NULL, NULL);
        json_object *op = get(ae, "op");
        const char *ops = op ? json_object_get_string(op) : "";
        int opi = 0;
        for (int z = 1; z < (int)ARRAY_SIZE(seccomp_ops); z++)
          if (streq(seccomp_ops[z], ops))
            opi = z;
        if (!opi || idx < 0 || idx > 5)
          return invalid(err, field, "bad argument filter %zu", k);
        r->args[k] =
            (kube_seccomp_arg_t){(unsigned)idx, (uint64_t)val, (uint64_t)val2,
                                 (kube_seccomp_op_t)opi};
      }
    }
  }
  return 0;
}

static int parse_resources(json_object *r, kube_rt_resources_t *res,
                           kube_error_t *err) {
  if (!r)
    return 0;
  json_object *mem = get(r, "memory"), *cpu = get(r, "cpu"),
              *pids = get(r, "pids");
  bool present;
  int64_t v;
  if (get_int64(mem, "limit", "linux.resources.memory.limit", &v, &present,
                err) < 0)
    return -1;
  if (present) {
    if (v == 0 || v < -1 || (v > 0 && v < 4096))
      return invalid(err, "linux.resources.memory.limit",
                     "must be -1 or at least 4096 bytes, got %lld",
                     (long long)v);
    res->memory_limit = v;
  }
  if (get_int64(mem, "swap", "linux.resources.memory.swap", &v, &present, err) <
      0)
    return -1;
  if (present) {
    if (v < -1 || (v > 0 && res->memory_limit > 0 && v < res->memory_limit))
      return invalid(err, "linux.resources.memory.swap",
                     "must be -1 or at least the memory limit");
    res->memory_swap = v;
  }
  if (get_int64(cpu, "shares", "linux.resources.cpu.shares", &v, &present,
                err) < 0)
    return -1;
  if (present && v != 0) {
    if (v < 2 || v > 262144)
      return invalid(err, "linux.resources.cpu.shares",
                     "must be in [2, 262144]");
    res->cpu_shares = v;
  }
  if (get_int64(cpu, "quota", "linux.resources.cpu.quota", &v, &present, err) <
      0)
    return -1;
  if (present && v != 0) {
    if (v != -1 && v < 1000)
      return invalid(err, "linux.resources.cpu.quota",
                     "must be -1 or at least 1000 microseconds");
    res->cpu_quota = v;
  }
  if (get_int64(cpu, "period", "linux.resources.cpu.period", &v, &present,
                err) < 0)
    return -1;
  if (present && v != 0) {
    if (v < 1000 || v > 1000000)
      return invalid(err, "linux.resources.cpu.period",
                     "must be in [1000, 1000000] microseconds");
    res->cpu_period = v;
  }
  if (get_string(cpu, "cpus", "linux.resources.cpu.cpus", &res->cpuset_cpus,
                 err) < 0 ||
      get_string(cpu, "mems", "linux.resources.cpu.mems", &res->cpuset_mems,
                 err) < 0)
    return -1;
  for (char *s = res->cpuset_cpus; s && *s; s++)
    if (!strchr("0123456789,-", *s))
      return invalid(err, "linux.resources.cpu.cpus", "bad cpu list");
  json_object *devs = get(r, "devices");
  if (devs) {
    if (!json_object_is_type(devs, json_type_array))
      return invalid(err, "linux.resources.devices", "must be an array");
    size_t n = json_object_array_length(devs);
    res->device_rules = calloc(n + 1, sizeof *res->device_rules);
    if (!res->device_rules)
      return kube_make_oom(err);
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(devs, i);
      kube_rt_device_rule_t *d = &res->device_rules[res->n_device_rules++];
      char field[64];
      snprintf(field, sizeof field, "linux.resources.devices[%zu]", i);
      json_object *a = get(e, "allow"), *t = get(e, "type"),
                  *acc = get(e, "access");
      d->allow = a && json_object_get_boolean(a);
      const char *ts = t ? json_object_get_string(t) : "a";
      if (strlen(ts) != 1 || !strchr("acb", ts[0]))
        return invalid(err, field, "type must be a, c or b");
      d->type = ts[0];
      bool has;
      d->major = d->minor = -1;
      if (get_int64(e, "major", field, &d->major, &has, err) < 0 ||
          get_int64(e, "minor", field, &d->minor, &has, err) < 0)
        return -1;
      const char *as = acc ? json_object_get_string(acc) : "rwm";
      if (strlen(as) > 3 || strspn(as, "rwm") != strlen(as))
        return invalid(err, field, "access must be a subset of rwm");
      snprintf(d->access, sizeof d->access, "%s", *as ? as : "rwm");
    }
  }
  if (get_int64(pids, "limit", "linux.resources.pids.limit", &v, &present,
                err) < 0)
    return -1;
  if (present) {
    if (v == 0 || v < -1)
      return invalid(err, "linux.resources.pids.limit",
                     "must be -1 or positive");
    res->pids_limit = v;
  }
  return 0;
}

static int parse_linux(json_object *l, kube_rt_config_t *c, kube_error_t *err) {
  if (!l)
    return 0;
  json_object *ns = get(l, "namespaces");
  if (ns) {
    if (!json_object_is_type(ns, json_type_array))
      return invalid(err, "linux.namespaces", "must be an array");
    size_t n = json_object_array_length(ns);
    c->namespaces = calloc(n + 1, sizeof *c->namespaces);
    if (!c->namespaces)
      return kube_make_oom(err);
    bool seen[KUBE_NS__COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(ns, i);
      char field[64];
      snprintf(field, sizeof field, "linux.namespaces[%zu].type", i);
      json_object *t = get(e, "type");
      const char *tn = t ? json_object_get_string(t) : "";
      int type = -1;
      for (int k = 0; k < KUBE_NS__COUNT; k++)
        if (streq(ns_names[k], tn))
          type = k;
      if (type < 0)
        return invalid(err, field, "unknown namespace type \"%s\"", tn);
      if (seen[type])
        return invalid(err, field, "duplicate namespace \"%s\"", tn);
      seen[type] = true;
      kube_rt_namespace_t *dst = &c->namespaces[c->n_namespaces++];
      dst->type = (kube_ns_type_t)type;
      snprintf(field, sizeof field, "linux.namespaces[%zu].path", i);
      if (get_string(e, "path", field, &dst->path, err) < 0)
        return -1;
      if (dst->path && !skip_host_checks && access(dst->path, F_OK) < 0)
        return invalid(err, field, "namespace \"%s\" does not exist",
                       dst->path);
    }
  }
  if (parse_id_maps(get(l, "uidMappings"), "linux.uidMappings",
                    &c->uid_mappings, &c->n_uid_mappings, err) < 0 ||
      parse_id_maps(get(l, "gidMappings"), "linux.gidMappings",
                    &c->gid_mappings, &c->n_gid_mappings, err) < 0)
    return -1;
  if (get_strv(l, "maskedPaths", "linux.maskedPaths", &c->masked_paths,
               &c->n_masked_paths, true, err) < 0 ||
      get_strv(l, "readonlyPaths", "linux.readonlyPaths", &c->readonly_paths,
               &c->n_readonly_paths, true, err) < 0 ||
      get_string(l, "cgroupsPath", "linux.cgroupsPath", &c->cgroups_path, err) <
          0)
    return -1;
  if (c->cgroups_path && strchr(c->cgroups_path, ':'))
    return invalid(err, "linux.cgroupsPath",
                   "systemd slice paths are not supported");
  if (c->cgroups_path && strstr(c->cgroups_path, ".."))
    return invalid(err, "linux.cgroupsPath", "must not contain \"..\"");
  if (parse_resources(get(l, "resources"), &c->resources, err) < 0)
    return -1;
  json_object *sc = get(l, "sysctl");
  if (sc) {
    if (!json_object_is_type(sc, json_type_object))
      return invalid(err, "linux.sysctl", "must be an object");
    size_t n = (size_t)json_object_object_length(sc);
    c->sysctl_keys = calloc(n + 1, sizeof(char *));
    c->sysctl_values = calloc(n + 1, sizeof(char *));
    if (!c->sysctl_keys || !c->sysctl_values)
      return kube_make_oom(err);
    json_object_object_foreach(sc, key, val) {
      char field[300];
      snprintf(field, sizeof field, "linux.sysctl.%s", key);
      if (!json_object_is_type(val, json_type_string))
        return invalid(err, field, "must be a string");
      if (!*key || strstr(key, "..") ||
          strspn(key,
                 "abcdefghijklmnopqrstuvwxyz"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") != strlen(key))
        return invalid(err, field, "bad sysctl name");
      c->sysctl_keys[c->n_sysctl] = strdup(key);
      c->sysctl_values[c->n_sysctl] = strdup(json_object_get_string(val));
      if (!c->sysctl_keys[c->n_sysctl] || !c->sysctl_values[c->n_sysctl++])
        return kube_make_oom(err);
    }
  }
  return parse_seccomp(get(l, "seccomp"), c, err);
}

KUBE_EXPORT kube_rt_config_t *kube_rt_config_parse(const char *json,
                                                   const char *bundle_dir,
                                                   kube_error_t *err) {
  enum json_tokener_error jerr;
  json_object *root = json_tokener_parse_verbose(json, &jerr);
  if (!root || !json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    kube_error_set(err, KUBE_REASON_INVALID, 0, "config.json: %s",
                   root ? "not an object" : json_tokener_error_desc(jerr));
    return NULL;
  }
  kube_rt_config_t *c = config_alloc();
  if (!c) {
    json_object_put(root);
    kube_make_oom(err);
    return NULL;
  }
  char *rootpath = NULL;
  json_object *r = get(root, "root");
  if (get_string(r, "path", "root.path", &rootpath, err) < 0)
    goto fail;
  if (!rootpath) {
    invalid(err, "root.path", "required");
    goto fail;
  }
  json_object *ro = get(r, "readonly");
  c->root_readonly = ro && json_object_get_boolean(ro);
  if (rootpath[0] == '/' || !bundle_dir) {
    c->root_path = rootpath;
  } else {
    if (asprintf(&c->root_path, "%s/%s", bundle_dir, rootpath) < 0)
      c->root_path = NULL;
    free(rootpath);
    if (!c->root_path) {
      kube_make_oom(err);
      goto fail;
    }
  }
  {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(c->root_path, real) || stat(real, &st) < 0 ||
        !S_ISDIR(st.st_mode)) {
      invalid(err, "root.path",
              "rootfs \"%s\" does not exist or is not a directory",
              c->root_path);
      goto fail;
    }
    free(c->root_path);
    if (!(c->root_path = strdup(real))) {
      kube_make_oom(err);
      goto fail;
    }
  }
  if (get_string(root, "hostname", "hostname", &c->hostname, err) < 0 ||
      parse_process(get(root, "process"), c, err) < 0 ||
      parse_mounts(get(root, "mounts"), c, err) < 0 ||
      parse_linux(get(root, "linux"), c, err) < 0 ||
      rt_spec_parse_extra(root, c, err) < 0)
    goto fail;
  if (bundle_dir && !(c->bundle = strdup(bundle_dir))) {
    kube_make_oom(err);
    goto fail;
  }
  json_object_put(root);
  return c;
fail:
  json_object_put(root);
  kube_rt_config_free(c);
  return NULL;
}

kube_rt_config_t *rt_config_parse_stored(const char *json, kube_error_t *err) {
  skip_host_checks = true;
  kube_rt_config_t *c = kube_rt_config_parse(json, NULL, err);
  skip_host_checks = false;
  return c;
}

KUBE_EXPORT kube_rt_config_t *kube_rt_config_load(const char *bundle_dir,
                                                  kube_error_t *err) {
  char real[PATH_MAX];
  if (!realpath(bundle_dir ? bundle_dir : ".", real)) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, errno, "bundle %s: %s",
                   bundle_dir ? bundle_dir : ".", strerror(errno));
    return NULL;
  }
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/config.json", real);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, errno, "%s: %s", path,
                   strerror(errno));
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    kube_strbuf_append_len(&sb, buf, (size_t)n);
  if (n < 0 || sb.oom || !sb.data) {
    kube_strbuf_clear(&sb);
    kube_make_error(err, errno, "read %s", path);
    return NULL;
  }
  kube_rt_config_t *c = kube_rt_config_parse(sb.data, real, err);
  kube_strbuf_clear(&sb);
  return c;
}

/* ---- serialisation ---------------------------------------------------------
 */

static json_object *strv_json(char **v, size_t n) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < n; i++)
    json_object_array_add(a, json_object_new_string(v[i]));
  return a;
}

static json_object *caps_json(uint64_t m) {
  json_object *a = json_object_new_array();
  for (int i = 0; rt_cap_names[i]; i++)
    if (m & (1ULL << i))
      json_object_array_add(a, json_object_new_string(rt_cap_names[i]));
  return a;
}

static json_object *idmap_json(const kube_rt_id_map_t *m, size_t n) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "containerID",
                           json_object_new_int64(m[i].container_id));
    json_object_object_add(e, "hostID", json_object_new_int64(m[i].host_id));
    json_object_object_add(e, "size", json_object_new_int64(m[i].size));
    json_object_array_add(a, e);
  }
  return a;
}

static json_object *seccomp_json(const kube_seccomp_t *s) {
  json_object *o = json_object_new_object();
  json_object_object_add(
      o, "defaultAction",
      json_object_new_string(rt_seccomp_action_name(s->default_action)));
  if (s->default_errno)
    json_object_object_add(o, "defaultErrnoRet",
                           json_object_new_int(s->default_errno));
  json_object *arch = json_object_new_array();
  json_object_array_add(arch, json_object_new_string("SCMP_ARCH_X86_64"));
  json_object_array_add(arch, json_object_new_string("SCMP_ARCH_X86"));
  json_object_array_add(arch, json_object_new_string("SCMP_ARCH_X32"));
  json_object_object_add(o, "architectures", arch);
  json_object *sys = json_object_new_array();
  for (size_t i = 0; i < s->n_rules; i++) {
    const kube_seccomp_rule_t *r = &s->rules[i];
    json_object *e = json_object_new_object();
    json_object_object_add(e, "names", strv_json(r->names, r->n_names));
    json_object_object_add(
        e, "action", json_object_new_string(rt_seccomp_action_name(r->action)));
    if (r->errno_ret)
      json_object_object_add(e, "errnoRet", json_object_new_int(r->errno_ret));
    if (r->n_args) {
      json_object *args = json_object_new_array();
      for (size_t k = 0; k < r->n_args; k++) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "index",
                               json_object_new_int(r->args[k].index));
        json_object_object_add(a, "value",
                               json_object_new_uint64(r->args[k].value));
        json_object_object_add(a, "valueTwo",
                               json_object_new_uint64(r->args[k].value_two));
        json_object_object_add(
            a, "op", json_object_new_string(seccomp_ops[r->args[k].op]));
        json_object_array_add(args, a);
      }
      json_object_object_add(e, "args", args);
    }
    json_object_array_add(sys, e);
  }
  json_object_object_add(o, "syscalls", sys);
  return o;
}

KUBE_EXPORT char *kube_rt_config_to_json(const kube_rt_config_t *c,
                                         kube_error_t *err) {
  return rt_config_to_json(c, true, err);
}

char *rt_config_to_json(const kube_rt_config_t *c, bool pretty,
                        kube_error_t *err) {
  json_object *root = json_object_new_object();
  json_object_object_add(root, "ociVersion", json_object_new_string("1.0.2"));
  json_object *p = json_object_new_object();
  json_object *user = json_object_new_object();
  json_object_object_add(user, "uid", json_object_new_int64(c->uid));
  json_object_object_add(user, "gid", json_object_new_int64(c->gid));
  if (c->n_additional_gids) {
    json_object *ag = json_object_new_array();
    for (size_t i = 0; i < c->n_additional_gids; i++)
      json_object_array_add(ag, json_object_new_int64(c->additional_gids[i]));
    json_object_object_add(user, "additionalGids", ag);
  }
  json_object_object_add(p, "user", user);
  json_object_object_add(p, "args", strv_json(c->args, c->n_args));
  json_object_object_add(p, "env", strv_json(c->env, c->n_env));
  json_object_object_add(p, "cwd",
                         json_object_new_string(c->cwd ? c->cwd : "/"));
  json_object *caps = json_object_new_object();
  json_object_object_add(caps, "bounding", caps_json(c->caps.bounding));
  json_object_object_add(caps, "effective", caps_json(c->caps.effective));
  json_object_object_add(caps, "inheritable", caps_json(c->caps.inheritable));
  json_object_object_add(caps, "permitted", caps_json(c->caps.permitted));
  json_object_object_add(caps, "ambient", caps_json(c->caps.ambient));
  json_object_object_add(p, "capabilities", caps);
  if (c->n_rlimits) {
    json_object *rl = json_object_new_array();
    for (size_t i = 0; i < c->n_rlimits; i++) {
      const char *name = NULL;
      for (size_t k = 0; k < ARRAY_SIZE(rlimit_names); k++)
        if (rlimit_names[k].resource == c->rlimits[i].resource)
          name = rlimit_names[k].name;
      if (!name)
        continue;
      json_object *e = json_object_new_object();
      json_object_object_add(e, "type", json_object_new_string(name));
      json_object_object_add(e, "hard",
                             json_object_new_uint64(c->rlimits[i].hard));
      json_object_object_add(e, "soft",
                             json_object_new_uint64(c->rlimits[i].soft));
      json_object_array_add(rl, e);
    }
    json_object_object_add(p, "rlimits", rl);
  }
  json_object_object_add(p, "noNewPrivileges",
                         json_object_new_boolean(c->no_new_privileges));
  if (c->has_oom_score_adj)
    json_object_object_add(p, "oomScoreAdj",
                           json_object_new_int(c->oom_score_adj));
  rt_spec_extra_json(root, p, c);
  json_object_object_add(root, "process", p);
  json_object *r = json_object_new_object();
  json_object_object_add(
      r, "path",
      json_object_new_string(c->root_path ? c->root_path : "rootfs"));
  json_object_object_add(r, "readonly",
                         json_object_new_boolean(c->root_readonly));
  json_object_object_add(root, "root", r);
  if (c->hostname)
    json_object_object_add(root, "hostname",
                           json_object_new_string(c->hostname));
  json_object *mounts = json_object_new_array();
  for (size_t i = 0; i < c->n_mounts; i++) {
    json_object *m = json_object_new_object();
    json_object_object_add(m, "destination",
                           json_object_new_string(c->mounts[i].destination));
    if (c->mounts[i].type)
      json_object_object_add(m, "type",
                             json_object_new_string(c->mounts[i].type));
    if (c->mounts[i].source)
      json_object_object_add(m, "source",
                             json_object_new_string(c->mounts[i].source));
    json_object_object_add(
        m, "options", strv_json(c->mounts[i].options, c->mounts[i].n_options));
    json_object_array_add(mounts, m);
  }
  json_object_object_add(root, "mounts", mounts);
  json_object *l = json_object_new_object();
  if (c->cgroups_path)
    json_object_object_add(l, "cgroupsPath",
                           json_object_new_string(c->cgroups_path));
  json_object *res = json_object_new_object();
  const kube_rt_resources_t *rs = &c->resources;
  if (rs->memory_limit > 0 || rs->memory_swap > 0) {
    json_object *mem = json_object_new_object();
    if (rs->memory_limit > 0)
      json_object_object_add(mem, "limit",
                             json_object_new_int64(rs->memory_limit));
    if (rs->memory_swap > 0)
      json_object_object_add(mem, "swap",
                             json_object_new_int64(rs->memory_swap));
    json_object_object_add(res, "memory", mem);
  }
  json_object *cpu = json_object_new_object();
  if (rs->cpu_shares > 0)
    json_object_object_add(cpu, "shares",
                           json_object_new_int64(rs->cpu_shares));
  if (rs->cpu_quota > 0)
    json_object_object_add(cpu, "quota", json_object_new_int64(rs->cpu_quota));
  if (rs->cpu_period > 0)
    json_object_object_add(cpu, "period",
                           json_object_new_int64(rs->cpu_period));
  if (rs->cpuset_cpus)
    json_object_object_add(cpu, "cpus",
                           json_object_new_string(rs->cpuset_cpus));
  if (rs->cpuset_mems)
    json_object_object_add(cpu, "mems",
                           json_object_new_string(rs->cpuset_mems));
  json_object_object_add(res, "cpu", cpu);
  if (rs->pids_limit > 0) {
    json_object *pids = json_object_new_object();
    json_object_object_add(pids, "limit",
                           json_object_new_int64(rs->pids_limit));
    json_object_object_add(res, "pids", pids);
  }
  if (rs->n_device_rules) {
    json_object *devs = json_object_new_array();
    for (size_t i = 0; i < rs->n_device_rules; i++) {
      const kube_rt_device_rule_t *d = &rs->device_rules[i];
      json_object *e = json_object_new_object();
      char t[2] = {d->type, 0};
      json_object_object_add(e, "allow", json_object_new_boolean(d->allow));
      json_object_object_add(e, "type", json_object_new_string(t));
      if (d->major >= 0)
        json_object_object_add(e, "major", json_object_new_int64(d->major));
      if (d->minor >= 0)
        json_object_object_add(e, "minor", json_object_new_int64(d->minor));
      json_object_object_add(e, "access", json_object_new_string(d->access));
      json_object_array_add(devs, e);
    }
    json_object_object_add(res, "devices", devs);
  }
  json_object_object_add(l, "resources", res);
  json_object *ns = json_object_new_array();
  for (size_t i = 0; i < c->n_namespaces; i++) {
    json_object *e = json_object_new_object();
    json_object_object_add(
        e, "type", json_object_new_string(ns_names[c->namespaces[i].type]));
    if (c->namespaces[i].path)
      json_object_object_add(e, "path",
                             json_object_new_string(c->namespaces[i].path));
    json_object_array_add(ns, e);
  }
  json_object_object_add(l, "namespaces", ns);
  if (c->n_uid_mappings)
    json_object_object_add(l, "uidMappings",
                           idmap_json(c->uid_mappings, c->n_uid_mappings));
  if (c->n_gid_mappings)
    json_object_object_add(l, "gidMappings",
                           idmap_json(c->gid_mappings, c->n_gid_mappings));
  json_object_object_add(l, "maskedPaths",
                         strv_json(c->masked_paths, c->n_masked_paths));
  json_object_object_add(l, "readonlyPaths",
                         strv_json(c->readonly_paths, c->n_readonly_paths));
  if (c->seccomp)
    json_object_object_add(l, "seccomp", seccomp_json(c->seccomp));
  if (c->n_sysctl) {
    json_object *sc = json_object_new_object();
    for (size_t i = 0; i < c->n_sysctl; i++)
      json_object_object_add(sc, c->sysctl_keys[i],
                             json_object_new_string(c->sysctl_values[i]));
    json_object_object_add(l, "sysctl", sc);
  }
  json_object_object_add(root, "linux", l);
  const char *s = json_object_to_json_string_ext(
      root, (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
                JSON_C_TO_STRING_NOSLASHESCAPE);
  char *out = s ? strdup(s) : NULL;
  json_object_put(root);
  if (!out)
    kube_make_oom(err);
  return out;
}

/* ---- defaults
 * ------------------------------------------------------------------- */

static int add_mount(kube_rt_config_t *c, const char *dest, const char *type,
                     const char *src, const char *opts) {
  kube_rt_mount_t *m = &c->mounts[c->n_mounts++];
  m->destination = strdup(dest);
  m->type = strdup(type);
  m->source = strdup(src);
  size_t n = 1;
  for (const char *s = opts; *s; s++)
    n += *s == ',';
  m->options = calloc(n + 1, sizeof(char *));
  if (!m->destination || !m->type || !m->source || !m->options)
    return -1;
  char *copy = strdup(opts), *save = NULL;
  if (!copy)
    return -1;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (!(m->options[m->n_options++] = strdup(t))) {
      free(copy);
      return -1;
    }
  free(copy);
  return 0;
}

static int strv_from(char ***out, size_t *n, const char *const *src) {
  size_t k = 0;
  while (src[k])
    k++;
  *out = calloc(k + 1, sizeof(char *));
  if (!*out)
    return -1;
  for (*n = 0; *n < k; (*n)++)
    if (!((*out)[*n] = strdup(src[*n])))
      return -1;
  return 0;
}

KUBE_EXPORT kube_rt_config_t *kube_rt_config_new_default(kube_error_t *err) {
  static const char *const args[] = {"sh", NULL};
  static const char *const env[] = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm", NULL};
  static const char *const masked[] = {"/proc/asound",
                                       "/proc/acpi",
                                       "/proc/kcore",
                                       "/proc/keys",
                                       "/proc/latency_stats",
                                       "/proc/timer_list",
                                       "/proc/timer_stats",
                                       "/proc/sched_debug",
                                       "/proc/scsi",
                                       "/sys/firmware",
                                       "/sys/devices/virtual/powercap",
                                       NULL};
  static const char *const readonly[] = {"/proc/bus",           "/proc/fs",
                                         "/proc/irq",           "/proc/sys",
                                         "/proc/sysrq-trigger", NULL};
  static const kube_ns_type_t nss[] = {KUBE_NS_PID,   KUBE_NS_NETWORK,
                                       KUBE_NS_IPC,   KUBE_NS_UTS,
                                       KUBE_NS_MOUNT, KUBE_NS_CGROUP};
  kube_rt_config_t *c = config_alloc();
  if (!c)
    goto oom;
  c->mounts = calloc(8, sizeof *c->mounts);
  c->namespaces = calloc(ARRAY_SIZE(nss), sizeof *c->namespaces);
  c->rlimits = calloc(1, sizeof *c->rlimits);
  if (!c->mounts || !c->namespaces || !c->rlimits)
    goto oom;
  if (!(c->root_path = strdup("rootfs")) ||
      !(c->hostname = strdup("libkube")) || !(c->cwd = strdup("/")) ||
      strv_from(&c->args, &c->n_args, args) < 0 ||
      strv_from(&c->env, &c->n_env, env) < 0 ||
      strv_from(&c->masked_paths, &c->n_masked_paths, masked) < 0 ||
      strv_from(&c->readonly_paths, &c->n_readonly_paths, readonly) < 0)
    goto oom;
  uint64_t caps = kube_caps_default();
  c->caps = (kube_rt_caps_t){caps, caps, 0, caps, 0};
  c->no_new_privileges = true;
  c->rlimits[c->n_rlimits++] = (kube_rt_rlimit_t){RLIMIT_NOFILE, 1024, 1024};
  if (add_mount(c, "/proc", "proc", "proc", "nosuid,noexec,nodev") < 0 ||
      add_mount(c, "/dev", "tmpfs", "tmpfs",
                "nosuid,strictatime,mode=755,size=65536k") < 0 ||
      add_mount(c, "/dev/pts", "devpts", "devpts",
                "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5") <
          0 ||
      add_mount(c, "/dev/shm", "tmpfs", "shm",
                "nosuid,noexec,nodev,mode=1777,size=65536k") < 0 ||
      add_mount(c, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev") <
          0 ||
      add_mount(c, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro") < 0)
    goto oom;
  for (size_t i = 0; i < ARRAY_SIZE(nss); i++)
    c->namespaces[c->n_namespaces++].type = nss[i];
  if (!(c->seccomp = kube_seccomp_default_profile()))
    goto oom;
  return c;
oom:
  kube_rt_config_free(c);
  kube_make_oom(err);
  return NULL;
}
