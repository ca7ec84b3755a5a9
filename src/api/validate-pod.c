/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod validation (ValidatePodSpec, ValidatePodUpdate and what they call):
 * containers, ports, env, resources, probes, volumes, tolerations,
 * affinity.
 */
#include <inttypes.h>

#include "api/validate.h"

static const char *const restart_policies[] = {"Always", "Never", "OnFailure",
                                               NULL};
static const char *const dns_policies[] = {
    "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None", NULL};
static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never",
                                            NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const toleration_ops[] = {"Equal", "Exists", NULL};
static const char *const taint_effects[] = {"NoExecute", "NoSchedule",
                                            "PreferNoSchedule", NULL};
static const char *const node_selector_ops[] = {
    "DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn", NULL};
static const char *const termination_message_policies[] = {
    "FallbackToLogsOnError", "File", NULL};

#define ENV_NAME_MSG                                                           \
  "a valid environment variable name must consist of alphabetic "              \
  "characters, digits, '_', '-', or '.', and must not start with a digit "     \
  "(e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for "  \
  "validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"

static bool env_name_ok(const char *s) {
  if (!*s || (*s >= '0' && *s <= '9'))
    return false;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

/* ---- resources --------------------------------------------------------- */

static bool standard_resource(const char *name) {
  static const char *const std[] = {"cpu",     "memory", "ephemeral-storage",
                                    "storage", "pods",   NULL};
  return api_in_set(name, std) || str_has_prefix(name, "hugepages-") ||
         (strchr(name, '/') && !kube_validate_label_key(name));
}

static void validate_resource_list(verrs_t *v, json_object *list,
                                   const char *field) {
  char f[FP_MAX];
  json_object_object_foreach(list, k, val) {
    api_fp(f, "%s[%s]", field, k);
    if (!standard_resource(k))
      api_v_invalid(v, f, k,
                    "must be a standard resource type or fully qualified");
    api_validate_quantity(v, val, f, true, NULL, NULL);
  }
}

static void validate_resources(verrs_t *v, json_object *res,
                               const char *field) {
  char f[FP_MAX];
  json_object *lim = jget_obj(res, "limits"), *req = jget_obj(res, "requests");
  if (lim)
    validate_resource_list(v, lim, api_fp(f, "%s.limits", field));
  if (req)
    validate_resource_list(v, req, api_fp(f, "%s.requests", field));
  if (!lim || !req)
    return;
  json_object_object_foreach(req, k, rv) {
    json_object *lv = jget(lim, k);
    kube_quantity_t rq, lq;
    if (!lv || !json_object_is_type(rv, json_type_string) ||
        !json_object_is_type(lv, json_type_string) ||
        kube_quantity_parse(json_object_get_string(rv), &rq, NULL) < 0 ||
        kube_quantity_parse(json_object_get_string(lv), &lq, NULL) < 0)
      continue;
    if (kube_quantity_cmp(&rq, &lq) > 0) {
      char msg[200];
      snprintf(msg, sizeof(msg), "must be less than or equal to %s limit of %s",
               k, json_object_get_string(lv));
      api_v_invalid(v, api_fp(f, "%s.requests[%s]", field, k),
                    json_object_get_string(rv), msg);
    } else if (strchr(k, '/') && !str_has_prefix(k, "kubernetes.io/") &&
               kube_quantity_cmp(&rq, &lq) != 0) {
      api_v_invalid(v, api_fp(f, "%s.requests[%s]", field, k),
                    json_object_get_string(rv), "must be equal to limit");
    }
  }
}

/* ---- probes
 * ------------------------------------------------------------------ */

static void validate_handler(verrs_t *v, json_object *h, const char *field,
                             bool probe) {
  char f[FP_MAX];
  int n = 0;
  const char *kinds[] = {"exec", "httpGet", "tcpSocket", "grpc", "sleep"};
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (jget(h, kinds[i]))
      n++;
  if (n == 0) {
    api_v_required(v, field, "must specify a handler type");
    return;
  }
  if (n > 1) {
    api_v_forbidden(v, field, "may not specify more than 1 handler type");
    return;
  }
  json_object *http = jget_obj(h, "httpGet");
  if (http) {
    json_object *port = jget(http, "port");
    if (json_object_is_type(port, json_type_string))
      api_validate_iana_svc_name(v, json_object_get_string(port),
                                 api_fp(f, "%s.httpGet.port", field));
    else
      api_validate_port_number(v, port, api_fp(f, "%s.httpGet.port", field),
                               true);
    const char *scheme = jget_str0(http, "scheme");
    static const char *const schemes[] = {"HTTP", "HTTPS", NULL};
    if (*scheme && !api_in_set(scheme, schemes))
      api_v_unsupported(v, api_fp(f, "%s.httpGet.scheme", field), scheme,
                        schemes);
  }
  json_object *tcp = jget_obj(h, "tcpSocket");
  if (tcp) {
    json_object *port = jget(tcp, "port");
    if (json_object_is_type(port, json_type_string))
      api_validate_iana_svc_name(v, json_object_get_string(port),
                                 api_fp(f, "%s.tcpSocket.port", field));
    else
      api_validate_port_number(v, port, api_fp(f, "%s.tcpSocket.port", field),
                               true);
  }
  json_object *ex = jget_obj(h, "exec");
  if (ex && jarr_len(jget_arr(ex, "command")) == 0)
    api_v_required(v, api_fp(f, "%s.exec.command", field), NULL);
  (void)probe;
}

static void validate_probe(verrs_t *v, json_object *p, const char *field) {
  char f[FP_MAX];
  if (!p)
    return;
  validate_handler(v, p, field, true);
  static const char *const nonneg[] = {"initialDelaySeconds", "timeoutSeconds",
                                       "periodSeconds", "successThreshold",
                                       "failureThreshold"};
  for (size_t i = 0; i < ARRAY_SIZE(nonneg); i++) {
    json_object *x = jget(p, nonneg[i]);
    if (jis_int(x) && json_object_get_int64(x) < 0)
      api_v_invalid_int(v, api_fp(f, "%s.%s", field, nonneg[i]),
                        json_object_get_int64(x),
                        "must be greater than or equal to 0");
  }
}

/* ---- containers
 * -------------------------------------------------------------- */

struct names {
  const char **v;
  size_t n, cap;
};

static bool names_has(struct names *ns, const char *s) {
  for (size_t i = 0; i < ns->n; i++)
    if (streq(ns->v[i], s))
      return true;
  return false;
}

static void names_add(struct names *ns, const char *s) {
  if (ns->n == ns->cap) {
    size_t cap = ns->cap ? ns->cap * 2 : 16;
    const char **nv = realloc(ns->v, cap * sizeof(*nv));
    if (!nv)
      return;
    ns->v = nv;
    ns->cap = cap;
  }
  ns->v[ns->n++] = s;
}

/* What a container of the pod is: probes and lifecycle are the app
 * containers' (and sidecars'); an ephemeral container may set neither
 * (validate_ephemeral reports them). */
enum ctr_type { CT_APP, CT_INIT, CT_EPHEMERAL };

static void validate_container(verrs_t *v, json_object *c, const char *field,
                               struct names *container_names,
                               struct names *volume_names, bool host_network,
                               enum ctr_type type) {
  char f[FP_MAX], g[FP_MAX];
  const char *name = jget_str0(c, "name");
  if (!*name) {
    api_v_required(v, api_fp(f, "%s.name", field), NULL);
  } else {
    api_validate_dns_label(v, name, api_fp(f, "%s.name", field));
    if (names_has(container_names, name))
      api_v_duplicate(v, api_fp(f, "%s.name", field), name);
    else
      names_add(container_names, name);
  }
  const char *image = jget_str0(c, "image");
  if (!*image)
    api_v_required(v, api_fp(f, "%s.image", field), NULL);
  else if (image[0] == ' ' || image[strlen(image) - 1] == ' ')
    api_v_invalid(v, api_fp(f, "%s.image", field), image,
                  "must not have leading or trailing whitespace");
  const char *pp = jget_str0(c, "imagePullPolicy");
  if (!*pp)
    api_v_required(v, api_fp(f, "%s.imagePullPolicy", field), NULL);
  else if (!api_in_set(pp, pull_policies))
    api_v_unsupported(v, api_fp(f, "%s.imagePullPolicy", field), pp,
                      pull_policies);
  const char *tmp = jget_str0(c, "terminationMessagePolicy");
  if (*tmp && !api_in_set(tmp, termination_message_policies))
    api_v_unsupported(v, api_fp(f, "%s.terminationMessagePolicy", field), tmp,
                      termination_message_policies);

  json_object *ports = jget_arr(c, "ports");
  struct names port_names = {0};
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    api_fp(f, "%s.ports[%zu]", field, i);
    const char *pname = jget_str0(p, "name");
    if (*pname) {
      api_validate_iana_svc_name(v, pname, api_fp(g, "%s.name", f));
      if (names_has(&port_names, pname))
        api_v_duplicate(v, api_fp(g, "%s.name", f), pname);
      else
        names_add(&port_names, pname);
    }
    api_validate_port_number(v, jget(p, "containerPort"),
                             api_fp(g, "%s.containerPort", f), true);
    json_object *hp = jget(p, "hostPort");
    api_validate_port_number(v, hp, api_fp(g, "%s.hostPort", f), false);
    if (host_network && jis_int(hp) && json_object_get_int64(hp) != 0 &&
        json_object_get_int64(hp) != jget_int(p, "containerPort", 0))
      api_v_invalid_int(
          v, api_fp(g, "%s.hostPort", f), json_object_get_int64(hp),
          "must match `containerPort` when `hostNetwork` is true");
    const char *proto = jget_str0(p, "protocol");
    if (!*proto)
      api_v_required(v, api_fp(g, "%s.protocol", f), NULL);
    else if (!api_in_set(proto, protocols))
      api_v_unsupported(v, api_fp(g, "%s.protocol", f), proto, protocols);
  }
  free(port_names.v);

  json_object *env = jget_arr(c, "env");
  for (size_t i = 0; i < jarr_len(env); i++) {
    json_object *e = jarr_at(env, i);
    api_fp(f, "%s.env[%zu]", field, i);
    const char *en = jget_str0(e, "name");
    if (!*en)
      api_v_required(v, api_fp(g, "%s.name", f), NULL);
    else if (!env_name_ok(en))
      api_v_invalid(v, api_fp(g, "%s.name", f), en, ENV_NAME_MSG);
    json_object *vf = jget_obj(e, "valueFrom");
    if (vf) {
      if (jget_str(e, "value") && *jget_str(e, "value"))
        api_v_invalid(v, api_fp(g, "%s.valueFrom", f), "",
                      "may not be specified when `value` is not empty");
      int srcs = !!jget(vf, "fieldRef") + !!jget(vf, "resourceFieldRef") +
                 !!jget(vf, "configMapKeyRef") + !!jget(vf, "secretKeyRef");
      if (srcs == 0)
        api_v_invalid(v, api_fp(g, "%s.valueFrom", f), "",
                      "must specify one of: `fieldRef`, `resourceFieldRef`, "
                      "`configMapKeyRef` or `secretKeyRef`");
      else if (srcs > 1)
        api_v_invalid(v, api_fp(g, "%s.valueFrom", f), "",
                      "may not have more than one field specified at a time");
      json_object *fr = jget_obj(vf, "fieldRef");
      if (fr && !*jget_str0(fr, "fieldPath"))
        api_v_required(v, api_fp(g, "%s.valueFrom.fieldRef.fieldPath", f),
                       NULL);
    }
  }
  validate_resources(v, jget_obj(c, "resources"),
                     api_fp(f, "%s.resources", field));

  json_object *mounts = jget_arr(c, "volumeMounts");
  struct names paths = {0};
  for (size_t i = 0; i < jarr_len(mounts); i++) {
    json_object *m = jarr_at(mounts, i);
    api_fp(f, "%s.volumeMounts[%zu]", field, i);
    const char *mn = jget_str0(m, "name");
    if (!*mn)
      api_v_required(v, api_fp(g, "%s.name", f), NULL);
    else if (!names_has(volume_names, mn))
      api_v_notfound(v, api_fp(g, "%s.name", f), mn);
    const char *mp = jget_str0(m, "mountPath");
    if (!*mp) {
      api_v_required(v, api_fp(g, "%s.mountPath", f), NULL);
    } else if (names_has(&paths, mp)) {
      api_v_invalid(v, api_fp(g, "%s.mountPath", f), mp, "must be unique");
    } else {
      names_add(&paths, mp);
    }
    const char *sp = jget_str0(m, "subPath");
    if (*sp && (sp[0] == '/' || strstr(sp, "..")))
      api_v_invalid(v, api_fp(g, "%s.subPath", f), sp,
                    sp[0] == '/' ? "must be a relative path"
                                 : "must not contain '..'");
  }
  free(paths.v);

  if (type == CT_EPHEMERAL)
    return;
  if (type == CT_APP) {
    validate_probe(v, jget_obj(c, "livenessProbe"),
                   api_fp(f, "%s.livenessProbe", field));
    validate_probe(v, jget_obj(c, "readinessProbe"),
                   api_fp(f, "%s.readinessProbe", field));
    validate_probe(v, jget_obj(c, "startupProbe"),
                   api_fp(f, "%s.startupProbe", field));
    json_object *lp = jget_obj(c, "livenessProbe");
    if (lp && jget_int(lp, "successThreshold", 1) != 1)
      api_v_invalid_int(v,
                        api_fp(f, "%s.livenessProbe.successThreshold", field),
                        jget_int(lp, "successThreshold", 1), "must be 1");
  } else {
    static const char *const no_probe[] = {"livenessProbe", "readinessProbe",
                                           "startupProbe", "lifecycle"};
    bool sidecar = streq(jget_str0(c, "restartPolicy"), "Always");
    for (size_t i = 0; i < ARRAY_SIZE(no_probe); i++)
      if (jget(c, no_probe[i]) && !sidecar)
        api_v_forbidden(
            v, api_fp(f, "%s.%s", field, no_probe[i]),
            "may not be set for init containers without restartPolicy "
            "set to Always");
  }
  json_object *lc = jget_obj(c, "lifecycle");
  if (lc) {
    if (jget(lc, "postStart"))
      validate_handler(v, jget_obj(lc, "postStart"),
                       api_fp(f, "%s.lifecycle.postStart", field), false);
    if (jget(lc, "preStop"))
      validate_handler(v, jget_obj(lc, "preStop"),
                       api_fp(f, "%s.lifecycle.preStop", field), false);
  }
}

/* ---- volumes
 * ------------------------------------------------------------------- */

static void validate_volumes(verrs_t *v, json_object *vols, const char *field,
                             struct names *names) {
  char f[FP_MAX], g[FP_MAX];
  for (size_t i = 0; i < jarr_len(vols); i++) {
    json_object *vol = jarr_at(vols, i);
    api_fp(f, "%s[%zu]", field, i);
    const char *name = jget_str0(vol, "name");
    if (!*name) {
      api_v_required(v, api_fp(g, "%s.name", f), NULL);
    } else {
      api_validate_dns_label(v, name, api_fp(g, "%s.name", f));
      if (names_has(names, name))
        api_v_duplicate(v, api_fp(g, "%s.name", f), name);
      else
        names_add(names, name);
    }
    size_t n = 0;
    for (const char *const *s = api_volume_sources; *s; s++)
      if (jget(vol, *s))
        n++;
    if (n == 0)
      api_v_required(v, f, "must specify a volume type");
    else if (n > 1)
      api_v_forbidden(v, f, "may not specify more than 1 volume type");
    json_object *hp = jget_obj(vol, "hostPath");
    if (hp) {
      const char *path = jget_str0(hp, "path");
      if (!*path)
        api_v_required(v, api_fp(g, "%s.hostPath.path", f), NULL);
      static const char *const hp_types[] = {"",
                                             "BlockDevice",
                                             "CharDevice",
                                             "Directory",
                                             "DirectoryOrCreate",
                                             "File",
                                             "FileOrCreate",
                                             "Socket",
                                             NULL};
      const char *t = jget_str0(hp, "type");
      if (!api_in_set(t, hp_types))
        api_v_unsupported(v, api_fp(g, "%s.hostPath.type", f), t, hp_types + 1);
    }
    json_object *pvc = jget_obj(vol, "persistentVolumeClaim");
    if (pvc && !*jget_str0(pvc, "claimName"))
      api_v_required(v, api_fp(g, "%s.persistentVolumeClaim.claimName", f),
                     NULL);
    json_object *cm = jget_obj(vol, "configMap");
    if (cm && !*jget_str0(cm, "name"))
      api_v_required(v, api_fp(g, "%s.configMap.name", f), NULL);
    json_object *sec = jget_obj(vol, "secret");
    if (sec && !*jget_str0(sec, "secretName"))
      api_v_required(v, api_fp(g, "%s.secret.secretName", f), NULL);
    json_object *ed = jget_obj(vol, "emptyDir");
    json_object *sl = jget(ed, "sizeLimit");
    if (sl)
      api_validate_quantity(v, sl, api_fp(g, "%s.emptyDir.sizeLimit", f), true,
                            NULL, NULL);
  }
}

/* ---- scheduling constraints ------------------------------------------------
 */

static void validate_tolerations(verrs_t *v, json_object *tols,
                                 const char *field) {
  char f[FP_MAX], g[FP_MAX];
  for (size_t i = 0; i < jarr_len(tols); i++) {
    json_object *t = jarr_at(tols, i);
    api_fp(f, "%s[%zu]", field, i);
    const char *key = jget_str0(t, "key");
    const char *op = jget_str0(t, "operator");
    if (*key) {
      const char *msg = kube_validate_label_key(key);
      if (msg)
        api_v_invalid(v, api_fp(g, "%s.key", f), key, msg);
    }
    if (!*key && *op != '\0' && !streq(op, "Exists"))
      api_v_invalid(v, api_fp(g, "%s.operator", f), op,
                    "operator must be Exists when `key` is empty, which means "
                    "\"match all values and all keys\"");
    if (!*key && !*op)
      api_v_invalid(v, api_fp(g, "%s.operator", f), op,
                    "operator must be Exists when `key` is empty, which means "
                    "\"match all values and all keys\"");
    const char *val = jget_str0(t, "value");
    if (*op && !api_in_set(op, toleration_ops)) {
      api_v_unsupported(v, api_fp(g, "%s.operator", f), op, toleration_ops);
    } else if (streq(op, "Exists") && *val) {
      api_v_invalid(v, api_fp(g, "%s.operator", f), val,
                    "value must be empty when `operator` is 'Exists'");
    } else if (!streq(op, "Exists")) {
      const char *msg = kube_validate_label_value(val);
      if (msg)
        api_v_invalid(v, api_fp(g, "%s.value", f), val, msg);
    }
    const char *eff = jget_str0(t, "effect");
    if (*eff && !api_in_set(eff, taint_effects))
      api_v_unsupported(v, api_fp(g, "%s.effect", f), eff, taint_effects);
    if (jget(t, "tolerationSeconds") &&
        !json_object_is_type(jget(t, "tolerationSeconds"), json_type_null) &&
        !streq(eff, "NoExecute"))
      api_v_invalid(
          v, api_fp(g, "%s.effect", f), eff,
          "effect must be 'NoExecute' when `tolerationSeconds` is set");
  }
}

static void validate_node_selector_term(verrs_t *v, json_object *term,
                                        const char *field) {
  char f[FP_MAX], g[FP_MAX];
  json_object *me = jget_arr(term, "matchExpressions");
  for (size_t i = 0; i < jarr_len(me); i++) {
    json_object *e = jarr_at(me, i);
    api_fp(f, "%s.matchExpressions[%zu]", field, i);
    const char *op = jget_str0(e, "operator");
    size_t nv = jarr_len(jget_arr(e, "values"));
    if (!api_in_set(op, node_selector_ops)) {
      api_v_unsupported(v, api_fp(g, "%s.operator", f), op, node_selector_ops);
    } else if ((streq(op, "In") || streq(op, "NotIn")) && nv == 0) {
      api_v_required(v, api_fp(g, "%s.values", f),
                     "must be specified when `operator` is 'In' or 'NotIn'");
    } else if ((streq(op, "Exists") || streq(op, "DoesNotExist")) && nv) {
      api_v_forbidden(v, api_fp(g, "%s.values", f),
                      "may not be specified when `operator` is 'Exists' or "
                      "'DoesNotExist'");
    } else if (streq(op, "Gt") || streq(op, "Lt")) {
      if (nv != 1) {
        api_v_required(v, api_fp(g, "%s.values", f),
                       "must be specified single value when `operator` is 'Lt' "
                       "or 'Gt'");
      } else {
        const char *s =
            json_object_get_string(jarr_at(jget_arr(e, "values"), 0));
        char *end = NULL;
        if (!s || !*s || (strtoll(s, &end, 10), *end))
          api_v_invalid(v, api_fp(g, "%s.values[0]", f), s ? s : "",
                        "must be an integer");
      }
    }
    const char *key = jget_str0(e, "key");
    const char *msg = kube_validate_label_key(key);
    if (msg)
      api_v_invalid(v, api_fp(g, "%s.key", f), key, msg);
  }
  json_object *mf = jget_arr(term, "matchFields");
  for (size_t i = 0; i < jarr_len(mf); i++) {
    json_object *e = jarr_at(mf, i);
    api_fp(f, "%s.matchFields[%zu]", field, i);
    if (!streq(jget_str0(e, "key"), "metadata.name"))
      api_v_invalid(v, api_fp(g, "%s.key", f), jget_str0(e, "key"),
                    "not a valid field selector key");
    const char *op = jget_str0(e, "operator");
    if (!streq(op, "In") && !streq(op, "NotIn"))
      api_v_unsupported(v, api_fp(g, "%s.operator", f), op,
                        (const char *const[]){"In", "NotIn", NULL});
    if (jarr_len(jget_arr(e, "values")) != 1)
      api_v_required(
          v, api_fp(g, "%s.values", f),
          "must be only one value when `operator` is 'In' or 'NotIn' "
          "for node field selector");
  }
}

static void validate_pod_affinity_term(verrs_t *v, json_object *term,
                                       const char *field) {
  char f[FP_MAX];
  api_validate_label_selector(v, jget_obj(term, "labelSelector"),
                              api_fp(f, "%s.labelSelector", field));
  const char *tk = jget_str0(term, "topologyKey");
  if (!*tk) {
    api_v_required(v, api_fp(f, "%s.topologyKey", field), "can not be empty");
  } else {
    const char *msg = kube_validate_label_key(tk);
    if (msg)
      api_v_invalid(v, api_fp(f, "%s.topologyKey", field), tk, msg);
  }
  json_object *nss = jget_arr(term, "namespaces");
  for (size_t i = 0; i < jarr_len(nss); i++) {
    const char *ns = json_object_get_string(jarr_at(nss, i));
    api_validate_dns_label(v, ns ? ns : "",
                           api_fp(f, "%s.namespaces[%zu]", field, i));
  }
}

static void validate_weight(verrs_t *v, json_object *w, const char *field) {
  int64_t weight = jget_int(w, "weight", 0);
  if (weight < 1 || weight > 100)
    api_v_invalid_int(v, field, weight, "must be in the range 1-100");
}

static void validate_affinity(verrs_t *v, json_object *aff, const char *field) {
  char f[FP_MAX], g[FP_MAX], h[FP_MAX];
  json_object *na = jget_obj(aff, "nodeAffinity");
  if (na) {
    json_object *req =
        jget_obj(na, "requiredDuringSchedulingIgnoredDuringExecution");
    if (req) {
      json_object *terms = jget_arr(req, "nodeSelectorTerms");
      api_fp(f,
             "%s.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
             "nodeSelectorTerms",
             field);
      if (jarr_len(terms) == 0)
        api_v_required(v, f, "must have at least one node selector term");
      for (size_t i = 0; i < jarr_len(terms); i++)
        validate_node_selector_term(v, jarr_at(terms, i),
                                    api_fp(g, "%s[%zu]", f, i));
    }
    json_object *pref =
        jget_arr(na, "preferredDuringSchedulingIgnoredDuringExecution");
    for (size_t i = 0; i < jarr_len(pref); i++) {
      json_object *p = jarr_at(pref, i);
      api_fp(f,
             "%s.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[%"
             "zu]",
             field, i);
      validate_weight(v, p, api_fp(g, "%s.weight", f));
      validate_node_selector_term(v, jget_obj(p, "preference"),
                                  api_fp(g, "%s.preference", f));
    }
  }
  static const char *const kinds[] = {"podAffinity", "podAntiAffinity"};
  for (size_t k = 0; k < 2; k++) {
    json_object *pa = jget_obj(aff, kinds[k]);
    if (!pa)
      continue;
    json_object *req =
        jget_arr(pa, "requiredDuringSchedulingIgnoredDuringExecution");
    for (size_t i = 0; i < jarr_len(req); i++)
      validate_pod_affinity_term(
          v, jarr_at(req, i),
          api_fp(f, "%s.%s.requiredDuringSchedulingIgnoredDuringExecution[%zu]",
                 field, kinds[k], i));
    json_object *pref =
        jget_arr(pa, "preferredDuringSchedulingIgnoredDuringExecution");
    for (size_t i = 0; i < jarr_len(pref); i++) {
      json_object *p = jarr_at(pref, i);
      api_fp(f, "%s.%s.preferredDuringSchedulingIgnoredDuringExecution[%zu]",
             field, kinds[k], i);
      validate_weight(v, p, api_fp(g, "%s.weight", f));
      validate_pod_affinity_term(v, jget_obj(p, "podAffinityTerm"),
                                 api_fp(h, "%s.podAffinityTerm", f));
    }
  }
}

/* ---- ephemeral containers
 * ------------------------------------------------------- */

/* A field an ephemeral container may not set holds something (Go's
 * reflect IsZero over the allow list; an empty `resources: {}`, which
 * defaulting adds, is zero). */
static bool set_nonzero(json_object *x) {
  if (!x || json_object_is_type(x, json_type_null))
    return false;
  if (json_object_is_type(x, json_type_array))
    return json_object_array_length(x) > 0;
  if (json_object_is_type(x, json_type_string))
    return *json_object_get_string(x) != '\0';
  return true;
}

static bool resources_set(json_object *res) {
  if (!res || !json_object_is_type(res, json_type_object))
    return set_nonzero(res);
  json_object_object_foreach(res, k, val) {
    (void)k;
    if (set_nonzero(val) && !(json_object_is_type(val, json_type_object) &&
                              json_object_object_length(val) == 0))
      return true;
  }
  return false;
}

/* validateEphemeralContainers: each one is a container (the common
 * checks), named uniquely among all the pod's containers, targeting one
 * of the pod's regular or init containers, and without what serves the
 * workload (ports, probes, lifecycle, resources, restartPolicy, subPath
 * mounts). */
static void validate_ephemeral(verrs_t *v, json_object *ecs, const char *field,
                               struct names *container_names,
                               struct names *volume_names, bool host_network) {
  static const char *const not_allowed[] = {
      "ports",          "resizePolicy",  "livenessProbe", "readinessProbe",
      "startupProbe",   "lifecycle",     "restartPolicy"};
  char f[FP_MAX], g[FP_MAX];
  size_t n_other = container_names->n;
  for (size_t i = 0; i < jarr_len(ecs); i++) {
    json_object *ec = jarr_at(ecs, i);
    api_fp(f, "%s[%zu]", field, i);
    validate_container(v, ec, f, container_names, volume_names, host_network,
                       CT_EPHEMERAL);
    const char *target = jget_str0(ec, "targetContainerName");
    if (*target) {
      bool found = false;
      for (size_t k = 0; k < n_other && !found; k++)
        found = streq(container_names->v[k], target);
      if (!found)
        api_v_notfound(v, api_fp(g, "%s.targetContainerName", f), target);
    }
    for (size_t k = 0; k < ARRAY_SIZE(not_allowed); k++)
      if (set_nonzero(jget(ec, not_allowed[k])))
        api_v_forbidden(v, api_fp(g, "%s.%s", f, not_allowed[k]),
                        "cannot be set for an Ephemeral Container");
    if (resources_set(jget(ec, "resources")))
      api_v_forbidden(v, api_fp(g, "%s.resources", f),
                      "cannot be set for an Ephemeral Container");
    json_object *mounts = jget_arr(ec, "volumeMounts");
    for (size_t m = 0; m < jarr_len(mounts); m++) {
      static const char *const sub[] = {"subPath", "subPathExpr"};
      for (size_t s = 0; s < 2; s++)
        if (*jget_str0(jarr_at(mounts, m), sub[s]))
          api_v_forbidden(
              v, api_fp(g, "%s.volumeMounts[%zu].%s", f, m, sub[s]),
              "cannot be set for an Ephemeral Container");
    }
  }
}

/* ---- pod spec
 * ------------------------------------------------------------------- */

void api_validate_pod_spec(verrs_t *v, json_object *spec, const char *field,
                           bool is_template) {
  char f[FP_MAX];
  if (!spec) {
    api_v_required(v, field, NULL);
    return;
  }
  struct names volume_names = {0}, container_names = {0};
  validate_volumes(v, jget_arr(spec, "volumes"), api_fp(f, "%s.volumes", field),
                   &volume_names);
  bool host_network = jget_bool(spec, "hostNetwork", false);
  json_object *ics = jget_arr(spec, "initContainers");
  for (size_t i = 0; i < jarr_len(ics); i++)
    validate_container(v, jarr_at(ics, i),
                       api_fp(f, "%s.initContainers[%zu]", field, i),
                       &container_names, &volume_names, host_network, CT_INIT);
  json_object *cs = jget_arr(spec, "containers");
  if (jarr_len(cs) == 0)
    api_v_required(v, api_fp(f, "%s.containers", field), NULL);
  for (size_t i = 0; i < jarr_len(cs); i++)
    validate_container(v, jarr_at(cs, i),
                       api_fp(f, "%s.containers[%zu]", field, i),
                       &container_names, &volume_names, host_network, CT_APP);
  validate_ephemeral(v, jget_arr(spec, "ephemeralContainers"),
                     api_fp(f, "%s.ephemeralContainers", field),
                     &container_names, &volume_names, host_network);
  free(container_names.v);
  free(volume_names.v);

  const char *rp = jget_str0(spec, "restartPolicy");
  if (!*rp)
    api_v_required(v, api_fp(f, "%s.restartPolicy", field), NULL);
  else if (!api_in_set(rp, restart_policies))
    api_v_unsupported(v, api_fp(f, "%s.restartPolicy", field), rp,
                      restart_policies);
  const char *dp = jget_str0(spec, "dnsPolicy");
  if (!*dp)
    api_v_required(v, api_fp(f, "%s.dnsPolicy", field), NULL);
  else if (!api_in_set(dp, dns_policies))
    api_v_unsupported(v, api_fp(f, "%s.dnsPolicy", field), dp, dns_policies);
  if (streq(dp, "None") && !jget_obj(spec, "dnsConfig"))
    api_v_required(v, api_fp(f, "%s.dnsConfig", field),
                   "must provide `dnsConfig` when `dnsPolicy` is None");

  json_object *tgp = jget(spec, "terminationGracePeriodSeconds");
  if (jis_int(tgp) && json_object_get_int64(tgp) < 0)
    api_v_invalid_int(v, api_fp(f, "%s.terminationGracePeriodSeconds", field),
                      json_object_get_int64(tgp),
                      "must be greater than or equal to 0");
  json_object *ads = jget(spec, "activeDeadlineSeconds");
  if (ads && jis_int(ads)) {
    int64_t a = json_object_get_int64(ads);
    if (a < 1 || a > 2147483647)
      api_v_invalid_int(v, api_fp(f, "%s.activeDeadlineSeconds", field), a,
                        "must be between 1 and 2147483647, inclusive");
  }
  api_validate_labels(v, jget(spec, "nodeSelector"),
                      api_fp(f, "%s.nodeSelector", field));
  const char *node = jget_str0(spec, "nodeName");
  if (*node)
    api_validate_dns_subdomain(v, node, api_fp(f, "%s.nodeName", field));
  const char *sa = jget_str0(spec, "serviceAccountName");
  if (*sa)
    api_validate_dns_subdomain(v, sa,
                               api_fp(f, "%s.serviceAccountName", field));
  const char *hn = jget_str0(spec, "hostname");
  if (*hn)
    api_validate_dns_label(v, hn, api_fp(f, "%s.hostname", field));
  const char *sd = jget_str0(spec, "subdomain");
  if (*sd)
    api_validate_dns_label(v, sd, api_fp(f, "%s.subdomain", field));
  validate_tolerations(v, jget_arr(spec, "tolerations"),
                       api_fp(f, "%s.tolerations", field));
  json_object *aff = jget_obj(spec, "affinity");
  if (aff)
    validate_affinity(v, aff, api_fp(f, "%s.affinity", field));
  const char *pcn = jget_str0(spec, "priorityClassName");
  if (*pcn)
    api_validate_dns_subdomain(v, pcn,
                               api_fp(f, "%s.priorityClassName", field));
  (void)is_template;
}

/* The fields a pod update may change; everything else in spec is
 * immutable (ValidatePodUpdate). */
static void validate_pod_spec_update(verrs_t *v, json_object *spec,
                                     json_object *old) {
  json_object *a = NULL, *b = NULL;
  if (json_object_deep_copy(spec, &a, NULL) < 0 ||
      json_object_deep_copy(old, &b, NULL) < 0 || !a || !b) {
    json_object_put(a);
    json_object_put(b);
    if (!json_object_equal(spec, old))
      api_v_forbidden(v, "spec", "pod updates may not change fields");
    return;
  }
  /* images may change */
  static const char *const lists[] = {"containers", "initContainers"};
  for (size_t l = 0; l < 2; l++) {
    json_object *ca = jget_arr(a, lists[l]), *cb = jget_arr(b, lists[l]);
    if (jarr_len(ca) == jarr_len(cb)) {
      for (size_t i = 0; i < jarr_len(ca); i++) {
        json_object *img = jget(jarr_at(cb, i), "image");
        if (img)
          api_jset(jarr_at(ca, i), "image", json_object_get(img));
      }
    }
  }
  /* activeDeadlineSeconds may be set or lowered, never raised or removed */
  json_object *nad = jget(a, "activeDeadlineSeconds");
  json_object *oad = jget(b, "activeDeadlineSeconds");
  if (jis_int(nad) && (!jis_int(oad) || json_object_get_int64(nad) <=
                                            json_object_get_int64(oad))) {
    json_object_object_del(a, "activeDeadlineSeconds");
    json_object_object_del(b, "activeDeadlineSeconds");
  }
  /* tolerations may only be added */
  json_object *nt = jget_arr(a, "tolerations"),
              *ot = jget_arr(b, "tolerations");
  bool superset = true;
  for (size_t i = 0; i < jarr_len(ot); i++) {
    bool found = false;
    for (size_t j = 0; !found && j < jarr_len(nt); j++)
      found = json_object_equal(jarr_at(ot, i), jarr_at(nt, j));
    superset = superset && found;
  }
  if (superset) {
    json_object_object_del(a, "tolerations");
    json_object_object_del(b, "tolerations");
  }
  /* a negative grace period may be raised to 1 */
  json_object *ng = jget(a, "terminationGracePeriodSeconds");
  json_object *og = jget(b, "terminationGracePeriodSeconds");
  if (jis_int(og) && json_object_get_int64(og) < 0 && jis_int(ng) &&
      json_object_get_int64(ng) == 1) {
    json_object_object_del(a, "terminationGracePeriodSeconds");
    json_object_object_del(b, "terminationGracePeriodSeconds");
  }
  /* scheduling gates may be removed */
  json_object_object_del(a, "schedulingGates");
  json_object_object_del(b, "schedulingGates");
  if (!json_object_equal(a, b))
    api_v_forbidden(
        v, "spec",
        "pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
        "additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to "
        "1 if it was previously negative)");
  json_object_put(a);
  json_object_put(b);
}

/* The kubelet's mirror of a static pod keeps its annotation for good, and
 * no pod gains one by an update (ValidatePodSpecificAnnotationUpdates);
 * the spec is as immutable as any pod's. */
#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"
static void validate_mirror_annotation(verrs_t *v, json_object *obj,
                                       json_object *old) {
  json_object *na = jget_obj(jget_obj(obj, "metadata"), "annotations");
  json_object *oa = jget_obj(jget_obj(old, "metadata"), "annotations");
  json_object *nv = na ? jget(na, MIRROR_ANNOTATION) : NULL;
  json_object *ov = oa ? jget(oa, MIRROR_ANNOTATION) : NULL;
  const char *field = "metadata.annotations[" MIRROR_ANNOTATION "]";
  if (ov && (!nv || !json_object_equal(nv, ov)))
    api_v_forbidden(v, field, "may not remove or update mirror pod annotation");
  if (nv && !ov)
    api_v_forbidden(v, field, "may not add mirror pod annotation");
}

void api_validate_pod(verrs_t *v, json_object *obj, json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  api_validate_pod_spec(v, spec, "spec", false);
  /* ValidatePodCreate: they come through pods/ephemeralcontainers */
  if (!old && jarr_len(jget_arr(spec, "ephemeralContainers")) > 0)
    api_v_forbidden(v, "spec.ephemeralContainers", "cannot be set on create");
  if (old)
    validate_mirror_annotation(v, obj, old);
  if (old && spec) {
    json_object *ospec = jget_obj(old, "spec");
    if (ospec)
      validate_pod_spec_update(v, spec, ospec);
  }
}

void api_validate_pod_template(verrs_t *v, json_object *tmpl, const char *field,
                               const char *const *restart_policies_allowed,
                               const char *owner_kind) {
  char f[FP_MAX];
  if (!tmpl) {
    api_v_required(v, field, NULL);
    return;
  }
  json_object *md = jget_obj(tmpl, "metadata");
  api_validate_labels(v, jget(md, "labels"),
                      api_fp(f, "%s.metadata.labels", field));
  json_object *spec = jget_obj(tmpl, "spec");
  api_validate_pod_spec(v, spec, api_fp(f, "%s.spec", field), true);
  if (!spec)
    return;
  if (jarr_len(jget_arr(spec, "ephemeralContainers")) > 0)
    api_v_forbidden(v, api_fp(f, "%s.spec.ephemeralContainers", field),
                    "ephemeral containers not allowed in pod template");
  const char *rp = jget_str0(spec, "restartPolicy");
  if (*rp && restart_policies_allowed &&
      !api_in_set(rp, restart_policies_allowed))
    api_v_unsupported(v, api_fp(f, "%s.spec.restartPolicy", field), rp,
                      restart_policies_allowed);
  if (owner_kind && jget(spec, "activeDeadlineSeconds")) {
    char msg[128];
    snprintf(msg, sizeof(msg), "activeDeadlineSeconds in %s is not Supported",
             owner_kind);
    api_v_forbidden(v, api_fp(f, "%s.spec.activeDeadlineSeconds", field), msg);
  }
}

/* The keys of two ephemeral containers that differ, as "- key: old" and
 * "+ key: new" lines (the place of Go's cmp.Diff in the message). */
static void ephemeral_diff(kube_strbuf_t *sb, json_object *a, json_object *b) {
  json_object_object_foreach(a, k, av) {
    json_object *bv = NULL;
    bool in_b = json_object_object_get_ex(b, k, &bv);
    if (in_b && json_object_equal(av, bv))
      continue;
    kube_strbuf_printf(sb, "\n- %s: %s", k,
                       json_object_to_json_string_ext(av,
                                                      JSON_C_TO_STRING_PLAIN));
    if (in_b)
      kube_strbuf_printf(sb, "\n+ %s: %s", k,
                         json_object_to_json_string_ext(
                             bv, JSON_C_TO_STRING_PLAIN));
  }
  json_object_object_foreach(b, k2, bv2) {
    if (!json_object_object_get_ex(a, k2, NULL))
      kube_strbuf_printf(sb, "\n+ %s: %s", k2,
                         json_object_to_json_string_ext(
                             bv2, JSON_C_TO_STRING_PLAIN));
  }
}

/* ValidatePodEphemeralContainersUpdate: the pod as a whole is valid, and
 * the ephemeral containers the pod had are all there, unchanged (a patch
 * may reorder them: matched by name).  A static pod takes none. */
void api_validate_pod_ephemeral(verrs_t *v, json_object *obj,
                                json_object *old) {
  json_object *oa = jget_obj(jget_obj(old, "metadata"), "annotations");
  if (oa && jget(oa, MIRROR_ANNOTATION)) {
    api_v_forbidden(v, "", "static pods do not support ephemeral containers");
    return;
  }
  api_validate_pod_spec(v, jget_obj(obj, "spec"), "spec", false);
  validate_mirror_annotation(v, obj, old);
  json_object *now = jget_arr(jget_obj(obj, "spec"), "ephemeralContainers");
  json_object *was = jget_arr(jget_obj(old, "spec"), "ephemeralContainers");
  for (size_t i = 0; i < jarr_len(was); i++) {
    json_object *o = jarr_at(was, i);
    const char *name = jget_str0(o, "name");
    json_object *n = NULL;
    for (size_t k = 0; !n && k < jarr_len(now); k++)
      if (streq(jget_str0(jarr_at(now, k), "name"), name))
        n = jarr_at(now, k);
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    if (!n) {
      kube_strbuf_printf(&sb,
                         "existing ephemeral containers \"%s\" may not be "
                         "removed\n",
                         name);
    } else if (!json_object_equal(o, n)) {
      kube_strbuf_printf(&sb,
                         "existing ephemeral containers \"%s\" may not be "
                         "changed",
                         name);
      ephemeral_diff(&sb, o, n);
      kube_strbuf_append_char(&sb, '\n');
    }
    if (sb.data)
      api_v_forbidden(v, "spec.ephemeralContainers", sb.data);
    kube_strbuf_clear(&sb);
  }
}
