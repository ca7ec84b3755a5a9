/* SPDX-License-Identifier: Apache-2.0 */
/* Pod Security admission: the Pod Security Standards (privileged,
 * baseline, restricted) a namespace asks for with its labels
 * pod-security.kubernetes.io/enforce|warn[-version], checked as
 * kube-apiserver's PodSecurity plugin does and worded as it words them:
 * a pod violating the enforce level is refused ("violates PodSecurity
 * \"restricted:latest\": ..."), one violating the warn level gets a
 * Warning ("would violate PodSecurity ..."), and so do workload templates
 * (Deployments, Jobs, ...); relabelling a namespace warns about its
 * existing pods.  Not checked: AppArmor, SELinux options, Windows host
 * processes; the audit mode (no audit log here). */
#include <strings.h>

#include "api/api-private.h"
#include "apiserver/internal.h"

#define PSA_PREFIX "pod-security.kubernetes.io/"

enum level { L_PRIVILEGED, L_BASELINE, L_RESTRICTED, L_INVALID };

static enum level parse_level(const char *v) {
  if (!v)
    return L_PRIVILEGED;
  if (streq(v, "privileged"))
    return L_PRIVILEGED;
  if (streq(v, "baseline"))
    return L_BASELINE;
  if (streq(v, "restricted"))
    return L_RESTRICTED;
  return L_INVALID;
}

static const char *const level_names[] = {"privileged", "baseline",
                                          "restricted", "restricted"};

/* One mode of a namespace: level and the "level:version" it prints. */
struct mode {
  enum level level;
  char text[80];
};

static void read_mode(json_object *ns, const char *mode, struct mode *out) {
  char key[96];
  snprintf(key, sizeof key, PSA_PREFIX "%s", mode);
  json_object *labels = kube_json_get(ns, "metadata.labels");
  json_object *v = NULL;
  const char *lv = labels && json_object_object_get_ex(labels, key, &v)
                       ? json_object_get_string(v)
                       : NULL;
  snprintf(key, sizeof key, PSA_PREFIX "%s-version", mode);
  const char *ver = labels && json_object_object_get_ex(labels, key, &v)
                        ? json_object_get_string(v)
                        : NULL;
  /* An invalid level enforces the strictest one, as kube-apiserver does. */
  out->level = parse_level(lv);
  snprintf(out->text, sizeof out->text, "%s:%s", level_names[out->level],
           ver && *ver ? ver : "latest");
}

/* ---- findings ---- */

struct findings {
  kube_strbuf_t all;     /* "reason (detail), reason (detail)" */
  kube_strbuf_t reasons; /* "reason, reason" */
  size_t n;
};

static void add(struct findings *f, const char *reason, const char *detail) {
  if (f->n++) {
    kube_strbuf_append(&f->all, ", ");
    kube_strbuf_append(&f->reasons, ", ");
  }
  kube_strbuf_append(&f->all, reason);
  kube_strbuf_append(&f->reasons, reason);
  if (detail && *detail)
    kube_strbuf_printf(&f->all, " (%s)", detail);
}

static void findings_clear(struct findings *f) {
  kube_strbuf_clear(&f->all);
  kube_strbuf_clear(&f->reasons);
}

/* A list of quoted names: `"a", "b"`. */
struct names {
  kube_strbuf_t sb;
  size_t n;
};

static void names_add(struct names *l, const char *name) {
  for (size_t i = 0, off = 0; i < l->n; i++) {
    /* Names repeat across checks of one container list: keep them once. */
    const char *p = l->sb.data + off;
    size_t len = strcspn(p + 1, "\"");
    if (strlen(name) == len && strncmp(p + 1, name, len) == 0)
      return;
    off += len + 2 + 2;
  }
  kube_strbuf_printf(&l->sb, "%s\"%s\"", l->n++ ? ", " : "", name);
}

/* `container "a"` / `containers "a", "b"`. */
static void subject(kube_strbuf_t *out, const char *what, struct names *l) {
  kube_strbuf_printf(out, "%s%s %s", what, l->n > 1 ? "s" : "",
                     l->sb.data ? l->sb.data : "");
}

/* ---- the pod spec ---- */

typedef void (*container_fn)(json_object *c, const char *name, void *arg);

static void each_container(json_object *spec, container_fn fn, void *arg) {
  static const char *const lists[] = {"initContainers", "containers",
                                      "ephemeralContainers"};
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
    json_object *a = NULL;
    if (!json_object_object_get_ex(spec, lists[i], &a) ||
        !json_object_is_type(a, json_type_array))
      continue;
    for (size_t j = 0; j < json_object_array_length(a); j++) {
      json_object *c = json_object_array_get_idx(a, j);
      const char *name = kube_json_get_string(c, "name");
      fn(c, name ? name : "", arg);
    }
  }
}

static bool get_bool(json_object *o, const char *path, bool *out) {
  json_object *v = kube_json_get(o, path);
  if (!v || !json_object_is_type(v, json_type_boolean))
    return false;
  *out = json_object_get_boolean(v);
  return true;
}

static bool is_true(json_object *o, const char *path) {
  bool b = false;
  return get_bool(o, path, &b) && b;
}

/* Baseline capabilities a container may add. */
static bool baseline_cap(const char *c) {
  static const char *const ok[] = {
      "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE",     "FOWNER",  "FSETID",
      "KILL",        "MKNOD",  "NET_BIND_SERVICE", "SETFCAP", "SETGID",
      "SETPCAP",     "SETUID", "SYS_CHROOT"};
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
    if (streq(c, ok[i]))
      return true;
  return false;
}

struct caps_ctx {
  bool restricted;
  struct names add_bad, caps, no_drop;
};

static void caps_check(json_object *c, const char *name, void *arg) {
  struct caps_ctx *x = arg;
  json_object *add = kube_json_get(c, "securityContext.capabilities.add");
  for (size_t i = 0; add && json_object_is_type(add, json_type_array) &&
                     i < json_object_array_length(add);
       i++) {
    const char *cap = json_object_get_string(json_object_array_get_idx(add, i));
    if (!cap)
      continue;
    bool ok =
        x->restricted ? streq(cap, "NET_BIND_SERVICE") : baseline_cap(cap);
    if (!ok) {
      names_add(&x->add_bad, name);
      names_add(&x->caps, cap);
    }
  }
  if (!x->restricted)
    return;
  json_object *drop = kube_json_get(c, "securityContext.capabilities.drop");
  bool all = false;
  for (size_t i = 0; drop && json_object_is_type(drop, json_type_array) &&
                     i < json_object_array_length(drop);
       i++) {
    const char *cap =
        json_object_get_string(json_object_array_get_idx(drop, i));
    if (cap && streq(cap, "ALL"))
      all = true;
  }
  if (!all)
    names_add(&x->no_drop, name);
}

static void check_caps(json_object *spec, bool restricted, struct findings *f) {
  struct caps_ctx x = {.restricted = restricted};
  each_container(spec, caps_check, &x);
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  if (x.no_drop.n) {
    subject(&d, "container", &x.no_drop);
    kube_strbuf_append(&d, " must set securityContext.capabilities.drop="
                           "[\"ALL\"]");
  }
  if (x.add_bad.n) {
    if (d.len)
      kube_strbuf_append(&d, "; ");
    subject(&d, "container", &x.add_bad);
    kube_strbuf_printf(&d,
                       " must not include %s in "
                       "securityContext.capabilities.add",
                       x.caps.sb.data);
  }
  if (d.len)
    add(f,
        restricted ? "unrestricted capabilities"
                   : "non-default "
                     "capabilities",
        d.data);
  kube_strbuf_clear(&d);
  kube_strbuf_clear(&x.add_bad.sb);
  kube_strbuf_clear(&x.caps.sb);
  kube_strbuf_clear(&x.no_drop.sb);
}

static void check_host_namespaces(json_object *spec, struct findings *f) {
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  static const char *const keys[] = {"hostNetwork", "hostPID", "hostIPC"};
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    if (is_true(spec, keys[i]))
      kube_strbuf_printf(&d, "%s%s=true", d.len ? ", " : "", keys[i]);
  if (d.len)
    add(f, "host namespaces", d.data);
  kube_strbuf_clear(&d);
}

/* Each volume's source: the one key beside "name". */
static const char *volume_type(json_object *v) {
  json_object_object_foreach(v, key, val) {
    (void)val;
    if (!streq(key, "name"))
      return key;
  }
  return NULL;
}

static void check_volumes(json_object *spec, bool restricted,
                          struct findings *f) {
  static const char *const allowed[] = {"configMap",   "csi",
                                        "downwardAPI", "emptyDir",
                                        "ephemeral",   "persistentVolumeClaim",
                                        "projected",   "secret"};
  json_object *vols = kube_json_get(spec, "volumes");
  struct names host = {0}, bad = {0}, types = {0};
  for (size_t i = 0; vols && json_object_is_type(vols, json_type_array) &&
                     i < json_object_array_length(vols);
       i++) {
    json_object *v = json_object_array_get_idx(vols, i);
    const char *name = kube_json_get_string(v, "name");
    const char *type = volume_type(v);
    if (!name || !type)
      continue;
    if (streq(type, "hostPath"))
      names_add(&host, name);
    bool ok = false;
    for (size_t j = 0; j < ARRAY_SIZE(allowed); j++)
      ok |= streq(type, allowed[j]);
    if (!ok) {
      names_add(&bad, name);
      names_add(&types, type);
    }
  }
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  if (host.n) {
    subject(&d, "volume", &host);
    add(f, "hostPath volumes", d.data);
  }
  if (restricted && bad.n) {
    kube_strbuf_reset(&d);
    subject(&d, "volume", &bad);
    kube_strbuf_printf(&d, " %s restricted volume type%s %s",
                       bad.n > 1 ? "use" : "uses", types.n > 1 ? "s" : "",
                       types.sb.data);
    add(f, "restricted volume types", d.data);
  }
  kube_strbuf_clear(&d);
  kube_strbuf_clear(&host.sb);
  kube_strbuf_clear(&bad.sb);
  kube_strbuf_clear(&types.sb);
}

struct ports_ctx {
  struct names who;
  kube_strbuf_t ports;
  size_t n_ports;
};

static void ports_check(json_object *c, const char *name, void *arg) {
  struct ports_ctx *x = arg;
  json_object *ports = kube_json_get(c, "ports");
  for (size_t i = 0; ports && json_object_is_type(ports, json_type_array) &&
                     i < json_object_array_length(ports);
       i++) {
    json_object *hp =
        kube_json_get(json_object_array_get_idx(ports, i), "hostPort");
    int64_t p = hp ? json_object_get_int64(hp) : 0;
    if (p) {
      names_add(&x->who, name);
      kube_strbuf_printf(&x->ports, "%s%lld", x->n_ports++ ? ", " : "",
                         (long long)p);
    }
  }
}

static void check_host_ports(json_object *spec, struct findings *f) {
  struct ports_ctx x = {0};
  each_container(spec, ports_check, &x);
  if (x.who.n) {
    kube_strbuf_t d = KUBE_STRBUF_INIT;
    subject(&d, "container", &x.who);
    kube_strbuf_printf(&d, " %s hostPort%s %s", x.who.n > 1 ? "use" : "uses",
                       x.n_ports > 1 ? "s" : "", x.ports.data);
    add(f, "hostPort", d.data);
    kube_strbuf_clear(&d);
  }
  kube_strbuf_clear(&x.who.sb);
  kube_strbuf_clear(&x.ports);
}

/* Containers whose `path` is (or is not, `want` false) the value. */
struct match_ctx {
  const char *path;
  const char *value; /* string compare; NULL: boolean true */
  bool negate;       /* collect those NOT matching */
  bool unset;        /* collect those without the field */
  bool not_false;    /* collect those without it set to false */
  struct names who;
};

static void match_check(json_object *c, const char *name, void *arg) {
  struct match_ctx *x = arg;
  bool hit;
  if (x->unset) {
    hit = !kube_json_get(c, x->path);
  } else if (x->not_false) {
    bool b = true;
    hit = !get_bool(c, x->path, &b) || b;
  } else if (x->value) {
    const char *v = kube_json_get_string(c, x->path);
    hit = v && streq(v, x->value);
  } else {
    bool b = false;
    hit = get_bool(c, x->path, &b) && b;
  }
  if (hit != x->negate)
    names_add(&x->who, name);
}

static void containers_matching(json_object *spec, struct match_ctx *x) {
  each_container(spec, match_check, x);
}

static void check_simple(json_object *spec, struct findings *f,
                         const char *reason, const char *path,
                         const char *value, const char *must) {
  struct match_ctx x = {.path = path, .value = value};
  containers_matching(spec, &x);
  if (x.who.n) {
    kube_strbuf_t d = KUBE_STRBUF_INIT;
    subject(&d, "container", &x.who);
    kube_strbuf_printf(&d, " %s", must);
    add(f, reason, d.data);
    kube_strbuf_clear(&d);
  }
  kube_strbuf_clear(&x.who.sb);
}

static void check_sysctls(json_object *spec, struct findings *f) {
  static const char *const safe[] = {"kernel.shm_rmid_forced",
                                     "net.ipv4.ip_local_port_range",
                                     "net.ipv4.ip_unprivileged_port_start",
                                     "net.ipv4.tcp_syncookies",
                                     "net.ipv4.ping_group_range",
                                     "net.ipv4.ip_local_reserved_ports",
                                     "net.ipv4.tcp_keepalive_time",
                                     "net.ipv4.tcp_fin_timeout",
                                     "net.ipv4.tcp_keepalive_intvl",
                                     "net.ipv4.tcp_keepalive_probes"};
  json_object *s = kube_json_get(spec, "securityContext.sysctls");
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  for (size_t i = 0; s && json_object_is_type(s, json_type_array) &&
                     i < json_object_array_length(s);
       i++) {
    const char *n =
        kube_json_get_string(json_object_array_get_idx(s, i), "name");
    bool ok = false;
    for (size_t j = 0; n && j < ARRAY_SIZE(safe); j++)
      ok |= streq(n, safe[j]);
    if (n && !ok)
      kube_strbuf_printf(&d, "%s%s", d.len ? ", " : "", n);
  }
  if (d.len)
    add(f, "forbidden sysctls", d.data);
  kube_strbuf_clear(&d);
}

/* seccompProfile: baseline forbids Unconfined; restricted also wants
 * RuntimeDefault or Localhost on the pod or every container. */
static void check_seccomp(json_object *spec, bool restricted,
                          struct findings *f) {
  const char *pod =
      kube_json_get_string(spec, "securityContext.seccompProfile.type");
  bool pod_bad = pod && streq(pod, "Unconfined");
  struct match_ctx unconf = {.path = "securityContext.seccompProfile.type",
                             .value = "Unconfined"};
  containers_matching(spec, &unconf);
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  if (pod_bad)
    kube_strbuf_append(&d, "pod");
  if (unconf.who.n) {
    kube_strbuf_append(&d, pod_bad ? " and " : "");
    subject(&d, "container", &unconf.who);
  }
  if (d.len)
    kube_strbuf_append(&d, " must not set securityContext.seccompProfile.type "
                           "to \"Unconfined\"");
  if (restricted &&
      !(pod && (streq(pod, "RuntimeDefault") || streq(pod, "Localhost")))) {
    /* Containers that set nothing themselves. */
    struct match_ctx unset = {.path = "securityContext.seccompProfile.type",
                              .unset = true};
    if (!pod_bad)
      containers_matching(spec, &unset);
    struct names missing = unset.who;
    if (missing.n) {
      if (d.len)
        kube_strbuf_append(&d, "; ");
      kube_strbuf_append(&d, "pod or ");
      subject(&d, "container", &missing);
      kube_strbuf_append(&d, " must set securityContext.seccompProfile.type "
                             "to \"RuntimeDefault\" or \"Localhost\"");
    }
    kube_strbuf_clear(&missing.sb);
  }
  if (d.len)
    add(f, "seccompProfile", d.data);
  kube_strbuf_clear(&d);
  kube_strbuf_clear(&unconf.who.sb);
}

struct nonroot_ctx {
  bool pod_true;
  struct names set_false, missing;
};

static void nonroot_check(json_object *c, const char *name, void *arg) {
  struct nonroot_ctx *x = arg;
  bool v = false;
  if (get_bool(c, "securityContext.runAsNonRoot", &v)) {
    if (!v)
      names_add(&x->set_false, name);
  } else if (!x->pod_true) {
    names_add(&x->missing, name);
  }
}

static void check_run_as_non_root(json_object *spec, struct findings *f) {
  bool pod = false,
       pod_set = get_bool(spec, "securityContext.runAsNonRoot", &pod);
  struct nonroot_ctx x = {.pod_true = pod_set && pod};
  each_container(spec, nonroot_check, &x);
  struct names set_false = x.set_false, missing = x.missing;
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  if (pod_set && !pod)
    kube_strbuf_append(&d, "pod must not set securityContext.runAsNonRoot="
                           "false");
  if (set_false.n) {
    if (d.len)
      kube_strbuf_append(&d, "; ");
    subject(&d, "container", &set_false);
    kube_strbuf_append(&d, " must not set securityContext.runAsNonRoot=false");
  }
  if (missing.n && !(pod_set && !pod)) {
    if (d.len)
      kube_strbuf_append(&d, "; ");
    kube_strbuf_append(&d, "pod or ");
    subject(&d, "container", &missing);
    kube_strbuf_append(&d, " must set securityContext.runAsNonRoot=true");
  }
  if (d.len)
    add(f, "runAsNonRoot != true", d.data);
  kube_strbuf_clear(&d);
  kube_strbuf_clear(&set_false.sb);
  kube_strbuf_clear(&missing.sb);
}

struct uid0_ctx {
  struct names who;
};

static void uid0_check(json_object *c, const char *name, void *arg) {
  json_object *u = kube_json_get(c, "securityContext.runAsUser");
  if (u && json_object_is_type(u, json_type_int) &&
      json_object_get_int64(u) == 0)
    names_add(&((struct uid0_ctx *)arg)->who, name);
}

static void check_run_as_user(json_object *spec, struct findings *f) {
  json_object *u = kube_json_get(spec, "securityContext.runAsUser");
  bool pod = u && json_object_is_type(u, json_type_int) &&
             json_object_get_int64(u) == 0;
  struct uid0_ctx x = {0};
  each_container(spec, uid0_check, &x);
  kube_strbuf_t d = KUBE_STRBUF_INIT;
  if (pod)
    kube_strbuf_append(&d, "pod");
  if (x.who.n) {
    kube_strbuf_append(&d, pod ? " and " : "");
    subject(&d, "container", &x.who);
  }
  if (d.len) {
    kube_strbuf_append(&d, " must not set runAsUser=0");
    add(f, "runAsUser=0", d.data);
  }
  kube_strbuf_clear(&d);
  kube_strbuf_clear(&x.who.sb);
}

/* Every check of `level` on a pod spec, in kube-apiserver's order. */
static void evaluate(json_object *spec, enum level level, struct findings *f) {
  if (level == L_PRIVILEGED || !spec)
    return;
  bool restricted = level >= L_RESTRICTED;
  if (!restricted)
    check_caps(spec, false, f);
  check_host_namespaces(spec, f);
  check_volumes(spec, false, f);
  check_host_ports(spec, f);
  check_simple(spec, f, "privileged", "securityContext.privileged", NULL,
               "must not set securityContext.privileged=true");
  check_simple(spec, f, "procMount", "securityContext.procMount", "Unmasked",
               "must not set securityContext.procMount to \"Unmasked\"");
  if (!restricted)
    check_seccomp(spec, false, f);
  check_sysctls(spec, f);
  if (!restricted)
    return;
  /* Must be false: those not explicitly false. */
  struct match_ctx ape = {.path = "securityContext.allowPrivilegeEscalation",
                          .not_false = true};
  containers_matching(spec, &ape);
  if (ape.who.n) {
    kube_strbuf_t d = KUBE_STRBUF_INIT;
    subject(&d, "container", &ape.who);
    kube_strbuf_append(&d, " must set securityContext."
                           "allowPrivilegeEscalation=false");
    add(f, "allowPrivilegeEscalation != false", d.data);
    kube_strbuf_clear(&d);
  }
  kube_strbuf_clear(&ape.who.sb);
  check_caps(spec, true, f);
  check_volumes(spec, true, f);
  check_run_as_non_root(spec, f);
  check_run_as_user(spec, f);
  check_seccomp(spec, true, f);
}

/* ---- the namespace ---- */

/* The enforce and warn modes of namespace `ns`; false when it is not
 * there (the namespace check refuses the write anyway).  The labels of
 * the last namespace read are kept with its record's revision: pods
 * created in a row in one namespace need no parse of it. */
static bool namespace_modes(kube_apiserver_t *srv, const char *ns,
                            struct mode *enforce, struct mode *warn) {
  const kube_kind_t *nsk = kube_kind_by_resource("", "v1", "namespaces");
  cleanup_free char *key = nsk && ns ? as_store_key(nsk, NULL, ns) : NULL;
  kube_store_record_t *rec = key ? kube_store_get(srv->store, key, NULL) : NULL;
  if (!rec)
    return false;
  typeof(srv->psa_ns) *c = &srv->psa_ns;
  if (c->rev && c->rev == rec->mod_revision && streq(c->ns, ns)) {
    kube_store_record_unref(rec);
    enforce->level = c->enforce;
    warn->level = c->warn;
    snprintf(enforce->text, sizeof enforce->text, "%s", c->enforce_text);
    snprintf(warn->text, sizeof warn->text, "%s", c->warn_text);
    return true;
  }
  json_object *o = as_record_to_tree(rec, NULL);
  int64_t rev = rec->mod_revision;
  kube_store_record_unref(rec);
  if (!o)
    return false;
  read_mode(o, "enforce", enforce);
  read_mode(o, "warn", warn);
  json_object_put(o);
  if (strlen(ns) < sizeof c->ns) {
    snprintf(c->ns, sizeof c->ns, "%s", ns);
    c->rev = rev;
    c->enforce = enforce->level;
    c->warn = warn->level;
    snprintf(c->enforce_text, sizeof c->enforce_text, "%s", enforce->text);
    snprintf(c->warn_text, sizeof c->warn_text, "%s", warn->text);
  }
  return true;
}

/* ---- the admission functions ---- */

int as_podsecurity_pod(const kube_apiserver_admission_attrs_t *a, void *arg,
                       kube_error_t *err) {
  struct mode enforce, warn;
  if (!namespace_modes(arg, a->namespace_, &enforce, &warn))
    return 0;
  json_object *spec = kube_json_get(kube_object_json(a->object), "spec");
  int rc = 0;
  if (enforce.level != L_PRIVILEGED) {
    struct findings f = {0};
    evaluate(spec, enforce.level, &f);
    if (f.n)
      rc = kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                          "pods \"%s\" is forbidden: violates PodSecurity "
                          "\"%s\": %s",
                          a->name ? a->name : "", enforce.text, f.all.data);
    findings_clear(&f);
  }
  if (rc == 0 && warn.level != L_PRIVILEGED) {
    struct findings f = {0};
    evaluate(spec, warn.level, &f);
    if (f.n)
      kube_apiserver_admission_warn(a, "would violate PodSecurity \"%s\": %s",
                                    warn.text, f.all.data);
    findings_clear(&f);
  }
  return rc;
}

/* The pod template of a workload. */
static json_object *template_spec(json_object *obj, const char *resource) {
  if (streq(resource, "cronjobs"))
    return kube_json_get(obj, "spec.jobTemplate.spec.template.spec");
  return kube_json_get(obj, "spec.template.spec");
}

int as_podsecurity_workload(const kube_apiserver_admission_attrs_t *a,
                            void *arg, kube_error_t *err) {
  kube_apiserver_t *srv = arg;
  json_object *spec = template_spec(kube_object_json(a->object), a->resource);
  if (!spec)
    return 0;
  if (a->old_object) {
    json_object *old =
        template_spec(kube_object_json(a->old_object), a->resource);
    if (old && json_object_equal(old, spec))
      return 0; /* the template did not change: nothing new to say */
  }
  struct mode enforce, warn;
  if (!namespace_modes(srv, a->namespace_, &enforce, &warn))
    return 0;
  /* Workloads are never refused (their pods are): the warn and enforce
   * levels both warn, as kube-apiserver does. */
  struct mode *m = warn.level >= enforce.level ? &warn : &enforce;
  if (m->level == L_PRIVILEGED)
    return 0;
  struct findings f = {0};
  evaluate(spec, m->level, &f);
  if (f.n)
    kube_apiserver_admission_warn(a, "would violate PodSecurity \"%s\": %s",
                                  m->text, f.all.data);
  findings_clear(&f);
  return 0;
}

/* Relabelling a namespace: refuse invalid levels, warn about the pods
 * that the new enforce level would refuse. */
int as_podsecurity_namespace(const kube_apiserver_admission_attrs_t *a,
                             void *arg, kube_error_t *err) {
  kube_apiserver_t *srv = arg;
  json_object *obj = kube_object_json(a->object);
  json_object *labels = kube_json_get(obj, "metadata.labels");
  static const char *const modes[] = {"enforce", "warn", "audit"};
  for (size_t i = 0; labels && i < ARRAY_SIZE(modes); i++) {
    char key[96];
    snprintf(key, sizeof key, PSA_PREFIX "%s", modes[i]);
    json_object *v = NULL;
    if (json_object_object_get_ex(labels, key, &v) &&
        parse_level(json_object_get_string(v)) == L_INVALID) {
      char field[160];
      snprintf(field, sizeof field, "metadata.labels[%s]", key);
      kube_error_set(err, KUBE_REASON_INVALID, 0,
                     "namespaces \"%s\" is invalid: %s: Invalid value: "
                     "\"%s\": must be one of privileged, baseline, "
                     "restricted",
                     a->name ? a->name : "", field, json_object_get_string(v));
      char msg[256];
      snprintf(msg, sizeof msg,
               "Invalid value: \"%.64s\": must be one of privileged, "
               "baseline, restricted",
               json_object_get_string(v));
      kube_error_add_cause(err, field, "FieldValueInvalid", msg);
      return -1;
    }
  }
  if (!a->old_object)
    return 0;
  struct mode now, before;
  read_mode(obj, "enforce", &now);
  read_mode(kube_object_json(a->old_object), "enforce", &before);
  if (now.level == L_PRIVILEGED || streq(now.text, before.text))
    return 0;
  const kube_kind_t *podk = kube_kind_by_resource("", "v1", "pods");
  cleanup_free char *prefix = podk ? as_store_prefix(podk, a->name) : NULL;
  kube_store_list_t l = {0};
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) < 0)
    return 0;
  bool header = false;
  /* Pods with the same violations are reported together. */
  struct group {
    char *reasons, *first;
    size_t others;
  } groups[32];
  size_t n_groups = 0;
  for (size_t i = 0; i < l.n; i++) {
    json_object *pod = as_record_to_tree(l.items[i], NULL);
    if (!pod)
      continue;
    struct findings f = {0};
    evaluate(kube_json_get(pod, "spec"), now.level, &f);
    if (f.n) {
      size_t g = 0;
      while (g < n_groups && !streq(groups[g].reasons, f.reasons.data))
        g++;
      if (g < n_groups) {
        groups[g].others++;
      } else if (n_groups < ARRAY_SIZE(groups)) {
        const char *name = kube_json_get_string(pod, "metadata.name");
        groups[n_groups++] = (struct group){.reasons = strdup(f.reasons.data),
                                            .first = strdup(name ? name : "")};
      }
    }
    findings_clear(&f);
    json_object_put(pod);
  }
  kube_store_list_clear(&l);
  for (size_t g = 0; g < n_groups; g++) {
    if (!header) {
      kube_apiserver_admission_warn(a,
                                    "existing pods in namespace \"%s\" "
                                    "violate the new PodSecurity enforce "
                                    "level \"%s\"",
                                    a->name ? a->name : "", now.text);
      header = true;
    }
    if (groups[g].reasons && groups[g].first) {
      if (groups[g].others)
        kube_apiserver_admission_warn(a, "%s (and %zu other pod%s): %s",
                                      groups[g].first, groups[g].others,
                                      groups[g].others > 1 ? "s" : "",
                                      groups[g].reasons);
      else
        kube_apiserver_admission_warn(a, "%s: %s", groups[g].first,
                                      groups[g].reasons);
    }
    free(groups[g].reasons);
    free(groups[g].first);
  }
  return 0;
}
