/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl describe of Pods and of pod templates (Deployments, ReplicaSets,
 * Jobs ...): containers with their state, resources, probes, environment
 * and mounts; volumes by source type; QoS, node selectors, tolerations,
 * topology spread constraints.
 */
#include <ctype.h>

#include "client/describe.h"
#include "core/util.h"

static size_t arr_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

#define AT(a, i) json_object_array_get_idx((a), (i))

/* "80/TCP, 443/TCP" (hostPort for the host ports). */
static void ports_text(kube_strbuf_t *sb, json_object *ports, bool host) {
  for (size_t i = 0; i < arr_len(ports); i++) {
    json_object *p = AT(ports, i);
    kube_strbuf_printf(
        sb, "%s%lld/%s", i ? ", " : "",
        (long long)client_dint(p, host ? "hostPort" : "containerPort", 0),
        client_dstr(p, "protocol"));
  }
}

static void container_ports(struct describe *d, json_object *c) {
  for (int host = 0; host < 2; host++) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append(&sb, "");
    ports_text(&sb, kube_json_get(c, "ports"), host);
    bool many = sb.data && strchr(sb.data, ',');
    client_dw(d, 2, "%s%s:\t%s\n", host ? "Host " : "", many ? "Ports" : "Port",
              sb.len ? sb.data : "<none>");
    kube_strbuf_clear(&sb);
  }
}

/* Command and Args, one element per line (embedded newlines split). */
static void string_lines(struct describe *d, const char *title,
                         json_object *arr) {
  if (arr_len(arr) == 0)
    return;
  client_dw(d, 2, "%s:\n", title);
  for (size_t i = 0; i < arr_len(arr); i++) {
    const char *s = json_object_get_string(AT(arr, i));
    for (const char *p = s ? s : "";;) {
      const char *nl = strchr(p, '\n');
      client_dw(d, 3, "%.*s\n", (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
      if (!nl)
        break;
      p = nl + 1;
    }
  }
}

static void state_lines(struct describe *d, const char *title,
                        json_object *st) {
  char tb[64];
  json_object *s;
  if ((s = kube_json_get(st, "running"))) {
    client_dw(d, 2, "%s:\tRunning\n", title);
    client_dw(d, 3, "Started:\t%s\n",
              client_dtime(s, "startedAt", tb, sizeof tb));
  } else if ((s = kube_json_get(st, "waiting"))) {
    client_dw(d, 2, "%s:\tWaiting\n", title);
    if (*client_dstr(s, "reason"))
      client_dw(d, 3, "Reason:\t%s\n", client_dstr(s, "reason"));
  } else if ((s = kube_json_get(st, "terminated"))) {
    client_dw(d, 2, "%s:\tTerminated\n", title);
    if (*client_dstr(s, "reason"))
      client_dw(d, 3, "Reason:\t%s\n", client_dstr(s, "reason"));
    if (*client_dstr(s, "message"))
      client_dw(d, 3, "Message:\t%s\n", client_dstr(s, "message"));
    client_dw(d, 3, "Exit Code:\t%lld\n",
              (long long)client_dint(s, "exitCode", 0));
    if (client_dint(s, "signal", 0) > 0)
      client_dw(d, 3, "Signal:\t%lld\n",
                (long long)client_dint(s, "signal", 0));
    client_dw(d, 3, "Started:\t%s\n",
              client_dtime(s, "startedAt", tb, sizeof tb));
    client_dw(d, 3, "Finished:\t%s\n",
              client_dtime(s, "finishedAt", tb, sizeof tb));
  } else {
    client_dw(d, 2, "%s:\tWaiting\n", title);
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Limits then Requests, resource names sorted, canonical quantities. */
static void resource_lists(struct describe *d, json_object *res, int level) {
  static const char *const which[] = {"limits", "requests"};
  static const char *const titles[] = {"Limits", "Requests"};
  for (int w = 0; w < 2; w++) {
    json_object *m = kube_json_get(res, which[w]);
    size_t n = json_object_is_type(m, json_type_object)
                   ? (size_t)json_object_object_length(m)
                   : 0,
           i = 0;
    if (n == 0)
      continue;
    const char **keys = calloc(n, sizeof *keys);
    if (!keys)
      return;
    json_object_object_foreach(m, k, v) {
      (void)v;
      keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    client_dw(d, level, "%s:\n", titles[w]);
    for (i = 0; i < n; i++) {
      char q[64];
      client_dw(
          d, level + 1, "%s:\t%s\n", keys[i],
          client_dquantity(json_object_object_get(m, keys[i]), q, sizeof q));
    }
    free(keys);
  }
}

/* DescribeProbe. */
static void probe_line(struct describe *d, const char *title, json_object *p) {
  if (!p)
    return;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  json_object *h;
  char port[64];
  if ((h = kube_json_get(p, "exec"))) {
    json_object *cmd = kube_json_get(h, "command");
    kube_strbuf_append(&sb, "exec [");
    for (size_t i = 0; i < arr_len(cmd); i++)
      kube_strbuf_printf(&sb, "%s%s", i ? " " : "",
                         json_object_get_string(AT(cmd, i)));
    kube_strbuf_append(&sb, "] ");
  } else if ((h = kube_json_get(p, "httpGet"))) {
    /* url.URL{Scheme, Host: JoinHostPort(host, port), Path}.String() */
    const char *scheme = client_dstr(h, "scheme"),
               *host = client_dstr(h, "host");
    client_dintstr(kube_json_get(h, "port"), port, sizeof port);
    kube_strbuf_append(&sb, "http-get ");
    for (const char *c = scheme; *c; c++)
      kube_strbuf_append_char(&sb, (char)tolower((unsigned char)*c));
    kube_strbuf_append(&sb, "://");
    if (*port)
      kube_strbuf_printf(&sb, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
                         port);
    else
      kube_strbuf_append(&sb, host);
    const char *path = client_dstr(h, "path");
    kube_strbuf_printf(&sb, "%s%s ", *path && *path != '/' ? "/" : "", path);
  } else if ((h = kube_json_get(p, "tcpSocket"))) {
    kube_strbuf_printf(
        &sb, "tcp-socket %s:%s ", client_dstr(h, "host"),
        client_dintstr(kube_json_get(h, "port"), port, sizeof port));
  } else if ((h = kube_json_get(p, "grpc"))) {
    kube_strbuf_printf(&sb, "grpc <pod>:%lld %s ",
                       (long long)client_dint(h, "port", 0),
                       client_dstr(h, "service"));
  } else {
    kube_strbuf_append(&sb, "unknown ");
  }
  kube_strbuf_printf(
      &sb, "delay=%llds timeout=%llds period=%llds #success=%lld #failure=%lld",
      (long long)client_dint(p, "initialDelaySeconds", 0),
      (long long)client_dint(p, "timeoutSeconds", 0),
      (long long)client_dint(p, "periodSeconds", 0),
      (long long)client_dint(p, "successThreshold", 0),
      (long long)client_dint(p, "failureThreshold", 0));
  client_dw(d, 2, "%s:\t%s\n", title, sb.data ? sb.data : "");
  kube_strbuf_clear(&sb);
}

/* The value a fieldRef of the pod resolves to (kubectl's
 * EnvValueRetriever); "" when unknown. */
static const char *field_value(json_object *pod, const char *path, char *buf,
                               size_t len) {
  static const struct {
    const char *field, *path;
  } simple[] = {{"metadata.name", "metadata.name"},
                {"metadata.namespace", "metadata.namespace"},
                {"metadata.uid", "metadata.uid"},
                {"spec.nodeName", "spec.nodeName"},
                {"spec.serviceAccountName", "spec.serviceAccountName"},
                {"status.hostIP", "status.hostIP"},
                {"status.podIP", "status.podIP"}};
  buf[0] = '\0';
  if (!pod)
    return buf;
  for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
    if (streq(path, simple[i].field)) {
      snprintf(buf, len, "%s", client_dstr(pod, simple[i].path));
      return buf;
    }
  /* metadata.labels['key'] / metadata.annotations['key'] */
  const char *maps[] = {"metadata.labels", "metadata.annotations"};
  for (size_t i = 0; i < 2; i++) {
    size_t ml = strlen(maps[i]);
    if (strncmp(path, maps[i], ml) == 0 && path[ml] == '[') {
      const char *k = path + ml + 1;
      size_t kl = strlen(k);
      if (kl >= 3 && (k[0] == '\'' || k[0] == '"') && k[kl - 1] == ']') {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(kl - 3), k + 1);
        json_object *m = kube_json_get(pod, maps[i]), *v = NULL;
        if (json_object_is_type(m, json_type_object) &&
            json_object_object_get_ex(m, key, &v))
          snprintf(buf, len, "%s", json_object_get_string(v));
      }
      return buf;
    }
  }
  /* status.podIPs / status.hostIPs: the addresses joined with ",". */
  const char *lists[] = {"status.podIPs", "status.hostIPs"};
  for (size_t i = 0; i < 2; i++)
    if (streq(path, lists[i])) {
      json_object *a = kube_json_get(pod, lists[i]);
      size_t off = 0;
      for (size_t j = 0; j < arr_len(a) && off < len; j++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", j ? "," : "",
                                client_dstr(AT(a, j), "ip"));
      return buf;
    }
  return buf;
}

/* ExtractContainerResourceValue: the container's limit or request divided
 * by the divisor, rounded up. */
static void resource_value(json_object *c, json_object *ref, char *buf,
                           size_t len) {
  const char *res = client_dstr(ref, "resource");
  const char *dot = strchr(res, '.');
  buf[0] = '\0';
  if (!dot)
    return;
  char which[16], path[96];
  snprintf(which, sizeof which, "%.*s", (int)(dot - res), res);
  snprintf(path, sizeof path, "resources.%s", which);
  json_object *m = kube_json_get(c, path), *v = NULL;
  if (json_object_is_type(m, json_type_object))
    json_object_object_get_ex(m, dot + 1, &v);
  kube_quantity_t q = {0}, div;
  if (v && kube_quantity_parse(json_object_get_string(v), &q, NULL) < 0)
    return;
  const char *ds = client_dstr(ref, "divisor");
  if (kube_quantity_parse(*ds ? ds : "1", &div, NULL) < 0)
    return;
  bool cpu = streq(dot + 1, "cpu");
  int64_t num = cpu ? kube_quantity_milli(&q) : kube_quantity_value(&q);
  int64_t den = cpu ? kube_quantity_milli(&div) : kube_quantity_value(&div);
  if (den <= 0)
    return;
  snprintf(buf, len, "%lld", (long long)((num + den - 1) / den));
}

static void env_lines(struct describe *d, json_object *c, json_object *pod) {
  json_object *env = kube_json_get(c, "env");
  client_dw(d, 2, "Environment:%s\n", arr_len(env) ? "" : "\t<none>");
  for (size_t i = 0; i < arr_len(env); i++) {
    json_object *e = AT(env, i), *vf = kube_json_get(e, "valueFrom"), *r;
    const char *name = client_dstr(e, "name");
    if (!vf) {
      const char *v = client_dstr(e, "value");
      for (bool first = true;; first = false) {
        const char *nl = strchr(v, '\n');
        int l = (int)(nl ? (size_t)(nl - v) : strlen(v));
        if (first)
          client_dw(d, 3, "%s:\t%.*s\n", name, l, v);
        else
          client_dw(d, 3, "\t%.*s\n", l, v);
        if (!nl)
          break;
        v = nl + 1;
      }
      continue;
    }
    char buf[256];
    if ((r = kube_json_get(vf, "fieldRef"))) {
      client_dw(d, 3, "%s:\t%s (%s:%s)\n", name,
                field_value(pod, client_dstr(r, "fieldPath"), buf, sizeof buf),
                client_dstr(r, "apiVersion"), client_dstr(r, "fieldPath"));
    } else if ((r = kube_json_get(vf, "resourceFieldRef"))) {
      const char *res = client_dstr(r, "resource");
      resource_value(c, r, buf, sizeof buf);
      if (streq(buf, "0") &&
          (streq(res, "limits.cpu") || streq(res, "limits.memory")))
        snprintf(buf, sizeof buf, "node allocatable");
      client_dw(d, 3, "%s:\t%s (%s)\n", name, buf, res);
    } else if ((r = kube_json_get(vf, "secretKeyRef"))) {
      client_dw(d, 3,
                "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %s\n",
                name, client_dstr(r, "key"), client_dstr(r, "name"),
                client_dbool(r, "optional") ? "true" : "false");
    } else if ((r = kube_json_get(vf, "configMapKeyRef"))) {
      client_dw(d, 3,
                "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %s\n",
                name, client_dstr(r, "key"), client_dstr(r, "name"),
                client_dbool(r, "optional") ? "true" : "false");
    }
  }
}

static void env_from_lines(struct describe *d, json_object *c) {
  json_object *ef = kube_json_get(c, "envFrom");
  if (arr_len(ef) == 0)
    return;
  client_dw(d, 2, "Environment Variables from:\n");
  for (size_t i = 0; i < arr_len(ef); i++) {
    json_object *e = AT(ef, i), *r;
    const char *from = "", *name = "";
    bool optional = false;
    if ((r = kube_json_get(e, "configMapRef")))
      from = "ConfigMap";
    else if ((r = kube_json_get(e, "secretRef")))
      from = "Secret";
    if (r) {
      name = client_dstr(r, "name");
      optional = client_dbool(r, "optional");
    }
    const char *prefix = client_dstr(e, "prefix");
    if (*prefix)
      client_dw(d, 3, "%s\t%s with prefix '%s'\tOptional: %s\n", name, from,
                prefix, optional ? "true" : "false");
    else
      client_dw(d, 3, "%s\t%s\tOptional: %s\n", name, from,
                optional ? "true" : "false");
  }
}

static const char *mount_key(json_object *m) {
  return client_dstr(m, "mountPath");
}

static int cmp_mounts(const void *a, const void *b) {
  json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
  return strcmp(mount_key(x), mount_key(y));
}

static void mount_lines(struct describe *d, json_object *c) {
  json_object *m = kube_json_get(c, "volumeMounts");
  size_t n = arr_len(m);
  client_dw(d, 2, "Mounts:%s\n", n ? "" : "\t<none>");
  json_object **v = calloc(n ? n : 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++)
    v[i] = AT(m, i);
  if (v && n > 1)
    qsort(v, n, sizeof *v, cmp_mounts);
  for (size_t i = 0; v && i < n; i++) {
    const char *sub = client_dstr(v[i], "subPath");
    kube_strbuf_t flags = KUBE_STRBUF_INIT;
    kube_strbuf_append(&flags, client_dbool(v[i], "readOnly") ? "ro" : "rw");
    if (*sub) {
      kube_strbuf_append(&flags, ",path=");
      kube_strbuf_append_json_string(&flags, sub);
    }
    client_dw(d, 3, "%s from %s (%s)\n", client_dstr(v[i], "mountPath"),
              client_dstr(v[i], "name"), flags.data ? flags.data : "");
    kube_strbuf_clear(&flags);
  }
  free(v);
  json_object *devs = kube_json_get(c, "volumeDevices");
  if (arr_len(devs)) {
    client_dw(d, 2, "Devices:\n");
    for (size_t i = 0; i < arr_len(devs); i++)
      client_dw(d, 3, "%s from %s\n", client_dstr(AT(devs, i), "devicePath"),
                client_dstr(AT(devs, i), "name"));
  }
}

static json_object *status_of(json_object *statuses, const char *name) {
  for (size_t i = 0; i < arr_len(statuses); i++)
    if (streq(client_dstr(AT(statuses, i), "name"), name))
      return AT(statuses, i);
  return NULL;
}

/* describeContainers: `pod` resolves fieldRefs and gives the statuses
 * (NULL for templates); `space` indents the title in templates. */
static void containers(struct describe *d, const char *label, json_object *list,
                       json_object *statuses, json_object *pod,
                       const char *space) {
  client_dw(d, 0, "%s%s:%s\n", space, label, arr_len(list) ? "" : " <none>");
  for (size_t i = 0; i < arr_len(list); i++) {
    json_object *c = AT(list, i);
    const char *name = client_dstr(c, "name");
    json_object *st = status_of(statuses, name);
    client_dw(d, 1, "%s%s:\n", *space ? " " : "", name);
    if (st)
      client_dw(d, 2, "Container ID:\t%s\n", client_dstr(st, "containerID"));
    client_dw(d, 2, "Image:\t%s\n", client_dstr(c, "image"));
    if (st)
      client_dw(d, 2, "Image ID:\t%s\n", client_dstr(st, "imageID"));
    container_ports(d, c);
    const char *sp = client_dstr(c, "securityContext.seccompProfile.type");
    if (*sp) {
      client_dw(d, 2, "SeccompProfile:\t%s\n", sp);
      if (streq(sp, "Localhost"))
        client_dw(
            d, 3, "LocalhostProfile:\t%s\n",
            client_dstr(c, "securityContext.seccompProfile.localhostProfile"));
    }
    string_lines(d, "Command", kube_json_get(c, "command"));
    string_lines(d, "Args", kube_json_get(c, "args"));
    if (st) {
      state_lines(d, "State", kube_json_get(st, "state"));
      if (kube_json_get(st, "lastState.terminated"))
        state_lines(d, "Last State", kube_json_get(st, "lastState"));
      client_dw(d, 2, "Ready:\t%s\n",
                client_dbool(st, "ready") ? "True" : "False");
      client_dw(d, 2, "Restart Count:\t%lld\n",
                (long long)client_dint(st, "restartCount", 0));
    }
    resource_lists(d, kube_json_get(c, "resources"), 2);
    probe_line(d, "Liveness", kube_json_get(c, "livenessProbe"));
    probe_line(d, "Readiness", kube_json_get(c, "readinessProbe"));
    probe_line(d, "Startup", kube_json_get(c, "startupProbe"));
    env_from_lines(d, c);
    env_lines(d, c, pod);
    mount_lines(d, c);
  }
}

/* ---- volumes ------------------------------------------------------------ */

static const char *optional_ptr(json_object *src) {
  json_object *o = kube_json_get(src, "optional");
  return !o ? "<nil>" : json_object_get_boolean(o) ? "true" : "false";
}

/* A map printed through kubectl's nested prefix writer (4 spaces), whose
 * WriteLine indents the text after the tab as well. */
static void nested_map(struct describe *d, const char *title, json_object *m,
                       const char *eq, const char *skip) {
  size_t n = json_object_is_type(m, json_type_object)
                 ? (size_t)json_object_object_length(m)
                 : 0,
         k = 0;
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  if (keys && n) {
    json_object_object_foreach(m, key, v) {
      (void)v;
      if (!skip || !streq(key, skip))
        keys[k++] = key;
    }
    qsort(keys, k, sizeof *keys, cmp_str);
  }
  client_dw(d, 2, "%s:\t", title);
  if (k == 0)
    client_dw(d, 2, "<none>\n");
  for (size_t i = 0; i < k; i++) {
    if (i)
      client_dw(d, 2, "\t");
    client_dw(d, 2, "%s%s%s\n", keys[i], eq,
              json_object_get_string(json_object_object_get(m, keys[i])));
  }
  free(keys);
}

/* printPersistentVolumeClaim of an ephemeral volume's claim template, as
 * kubectl 1.32 prints it (no Type line). */
static void ephemeral_claim(struct describe *d, json_object *t) {
  json_object *spec = kube_json_get(t, "spec");
  client_dw(d, 2, "StorageClass:\t%s\n", client_dstr(spec, "storageClassName"));
  client_dw(d, 2, "Volume:\t%s\n", client_dstr(spec, "volumeName"));
  nested_map(d, "Labels", kube_json_get(t, "metadata.labels"), "=", NULL);
  nested_map(d, "Annotations", kube_json_get(t, "metadata.annotations"), ": ",
             KUBE_LAST_APPLIED_ANNOTATION);
  client_dw(d, 2, "Capacity:\t\n");
  client_dw(d, 2, "Access Modes:\t\n");
  if (kube_json_get(spec, "volumeMode"))
    client_dw(d, 2, "VolumeMode:\t%s\n", client_dstr(spec, "volumeMode"));
}

static void volume_source(struct describe *d, json_object *v) {
  json_object *s;
  char q[64];
  if ((s = kube_json_get(v, "hostPath"))) {
    const char *t = client_dstr(s, "type");
    client_dw(d, 2,
              "Type:\tHostPath (bare host directory volume)\n"
              "    Path:\t%s\n    HostPathType:\t%s\n",
              client_dstr(s, "path"), kube_json_get(s, "type") ? t : "<none>");
  } else if ((s = kube_json_get(v, "emptyDir"))) {
    json_object *sl = kube_json_get(s, "sizeLimit");
    kube_quantity_t lim;
    bool has =
        sl &&
        kube_quantity_parse(json_object_get_string(sl), &lim, NULL) == 0 &&
        lim.nano > 0;
    client_dw(d, 2,
              "Type:\tEmptyDir (a temporary directory that shares a pod's "
              "lifetime)\n    Medium:\t%s\n    SizeLimit:\t%s\n",
              client_dstr(s, "medium"),
              has ? kube_quantity_format(&lim, q, sizeof q) : "<unset>");
  } else if ((s = kube_json_get(v, "secret"))) {
    client_dw(d, 2,
              "Type:\tSecret (a volume populated by a Secret)\n"
              "    SecretName:\t%s\n    Optional:\t%s\n",
              client_dstr(s, "secretName"),
              client_dbool(s, "optional") ? "true" : "false");
  } else if ((s = kube_json_get(v, "configMap"))) {
    client_dw(d, 2,
              "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
              "    Name:\t%s\n    Optional:\t%s\n",
              client_dstr(s, "name"),
              client_dbool(s, "optional") ? "true" : "false");
  } else if ((s = kube_json_get(v, "persistentVolumeClaim"))) {
    client_dw(d, 2,
              "Type:\tPersistentVolumeClaim (a reference to a "
              "PersistentVolumeClaim in the same namespace)\n"
              "    ClaimName:\t%s\n    ReadOnly:\t%s\n",
              client_dstr(s, "claimName"),
              client_dbool(s, "readOnly") ? "true" : "false");
  } else if ((s = kube_json_get(v, "nfs"))) {
    client_dw(d, 2,
              "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n"
              "    Server:\t%s\n    Path:\t%s\n    ReadOnly:\t%s\n",
              client_dstr(s, "server"), client_dstr(s, "path"),
              client_dbool(s, "readOnly") ? "true" : "false");
  } else if ((s = kube_json_get(v, "downwardAPI"))) {
    json_object *items = kube_json_get(s, "items");
    client_dw(d, 2,
              "Type:\tDownwardAPI (a volume populated by information "
              "about the pod)\n    Items:\n");
    for (size_t i = 0; i < arr_len(items); i++) {
      json_object *it = AT(items, i);
      if (kube_json_get(it, "fieldRef"))
        client_dw(d, 3, "%s -> %s\n", client_dstr(it, "fieldRef.fieldPath"),
                  client_dstr(it, "path"));
      if (kube_json_get(it, "resourceFieldRef"))
        client_dw(d, 3, "%s -> %s\n",
                  client_dstr(it, "resourceFieldRef.resource"),
                  client_dstr(it, "path"));
    }
  } else if ((s = kube_json_get(v, "projected"))) {
    json_object *srcs = kube_json_get(s, "sources");
    client_dw(d, 2,
              "Type:\tProjected (a volume that contains injected data "
              "from multiple sources)\n");
    /* kubectl 1.32 prints the Optional pointers with %v: <nil> when
     * unset (an address otherwise, shown here as the value). */
    for (size_t i = 0; i < arr_len(srcs); i++) {
      json_object *x = AT(srcs, i), *y;
      if ((y = kube_json_get(x, "secret")))
        client_dw(d, 2, "SecretName:\t%s\n    SecretOptionalName:\t%s\n",
                  client_dstr(y, "name"), optional_ptr(y));
      else if (kube_json_get(x, "downwardAPI"))
        client_dw(d, 2, "DownwardAPI:\ttrue\n");
      else if ((y = kube_json_get(x, "configMap")))
        client_dw(d, 2, "ConfigMapName:\t%s\n    ConfigMapOptional:\t%s\n",
                  client_dstr(y, "name"), optional_ptr(y));
      else if ((y = kube_json_get(x, "serviceAccountToken")))
        client_dw(d, 2, "TokenExpirationSeconds:\t%lld\n",
                  (long long)client_dint(y, "expirationSeconds", 0));
    }
  } else if ((s = kube_json_get(v, "ephemeral"))) {
    json_object *t = kube_json_get(s, "volumeClaimTemplate");
    if (t)
      ephemeral_claim(d, t);
  } else if ((s = kube_json_get(v, "gitRepo"))) {
    client_dw(d, 2,
              "Type:\tGitRepo (a volume that is pulled from git when the pod "
              "is created)\n    Repository:\t%s\n    Revision:\t%s\n",
              client_dstr(s, "repository"), client_dstr(s, "revision"));
  } else {
    client_dw(d, 1, "<unknown>\n");
  }
}

static void volumes(struct describe *d, json_object *spec, const char *space) {
  json_object *vols = kube_json_get(spec, "volumes");
  if (arr_len(vols) == 0) {
    client_dw(d, 0, "%sVolumes:\t<none>\n", space);
    return;
  }
  client_dw(d, 0, "%sVolumes:\n", space);
  for (size_t i = 0; i < arr_len(vols); i++) {
    client_dw(d, 1, "%s%s:\n", *space ? " " : "",
              client_dstr(AT(vols, i), "name"));
    volume_source(d, AT(vols, i));
  }
}

static const char *tsc_key(json_object *t) {
  return client_dstr(t, "topologyKey");
}

static int cmp_tsc(const void *a, const void *b) {
  return strcmp(tsc_key(*(json_object *const *)a),
                tsc_key(*(json_object *const *)b));
}

static void spread_constraints(struct describe *d, json_object *spec,
                               const char *space) {
  json_object *a = kube_json_get(spec, "topologySpreadConstraints");
  size_t n = arr_len(a);
  if (n == 0)
    return;
  json_object **v = calloc(n, sizeof *v);
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    v[i] = AT(a, i);
  qsort(v, n, sizeof *v, cmp_tsc);
  client_dw(d, 0, "%sTopology Spread Constraints:\t", space);
  for (size_t i = 0; i < n; i++) {
    if (i)
      client_dw(d, 0, "%s\t", space);
    client_dw(d, 0, "%s:%s when max skew %lld is exceeded",
              client_dstr(v[i], "topologyKey"),
              client_dstr(v[i], "whenUnsatisfiable"),
              (long long)client_dint(v[i], "maxSkew", 0));
    json_object *sel = kube_json_get(v[i], "labelSelector");
    if (sel) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_json_format_label_selector(&sb, sel);
      client_dw(d, 0, " for selector %s", sb.len ? sb.data : "<none>");
      kube_strbuf_clear(&sb);
    }
    client_dw(d, 0, "\n");
  }
  free(v);
}

void client_describe_pod_template(struct describe *d, json_object *tmpl) {
  client_dw(d, 0, "Pod Template:\n");
  if (!tmpl) {
    client_dw(d, 1, "<unset>");
    return;
  }
  json_object *spec = kube_json_get(tmpl, "spec");
  client_describe_labels(d, "", "  Labels",
                         kube_json_get(tmpl, "metadata.labels"));
  json_object *ann = kube_json_get(tmpl, "metadata.annotations");
  if (json_object_is_type(ann, json_type_object) &&
      json_object_object_length(ann) > 0)
    client_describe_annotations(d, "  Annotations", ann);
  if (*client_dstr(spec, "serviceAccountName"))
    client_dw(d, 1, "Service Account:\t%s\n",
              client_dstr(spec, "serviceAccountName"));
  if (arr_len(kube_json_get(spec, "initContainers")))
    containers(d, "Init Containers", kube_json_get(spec, "initContainers"),
               NULL, NULL, "  ");
  containers(d, "Containers", kube_json_get(spec, "containers"), NULL, NULL,
             "  ");
  volumes(d, spec, "  ");
  spread_constraints(d, spec, "  ");
  if (*client_dstr(spec, "priorityClassName"))
    client_dw(d, 1, "Priority Class Name:\t%s\n",
              client_dstr(spec, "priorityClassName"));
  client_describe_labels(d, "", "  Node-Selectors",
                         kube_json_get(spec, "nodeSelector"));
  client_describe_tolerations(d, "", "  Tolerations",
                              kube_json_get(spec, "tolerations"));
}

void client_describe_pod(struct describe *d, json_object *o) {
  char tb[64], cb[256];
  json_object *spec = kube_json_get(o, "spec"),
              *status = kube_json_get(o, "status");
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  if (kube_json_get(spec, "priority"))
    client_dw(d, 0, "Priority:\t%lld\n",
              (long long)client_dint(spec, "priority", 0));
  if (*client_dstr(spec, "priorityClassName"))
    client_dw(d, 0, "Priority Class Name:\t%s\n",
              client_dstr(spec, "priorityClassName"));
  if (*client_dstr(spec, "runtimeClassName"))
    client_dw(d, 0, "Runtime Class Name:\t%s\n",
              client_dstr(spec, "runtimeClassName"));
  if (*client_dstr(spec, "serviceAccountName"))
    client_dw(d, 0, "Service Account:\t%s\n",
              client_dstr(spec, "serviceAccountName"));
  if (*client_dstr(spec, "nodeName"))
    client_dw(d, 0, "Node:\t%s/%s\n", client_dstr(spec, "nodeName"),
              client_dstr(status, "hostIP"));
  else
    client_dw(d, 0, "Node:\t<none>\n");
  if (kube_json_get(status, "startTime"))
    client_dw(d, 0, "Start Time:\t%s\n",
              client_dtime(status, "startTime", tb, sizeof tb));
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  const char *phase = client_dstr(status, "phase");
  if (kube_json_get(o, "metadata.deletionTimestamp") &&
      !streq(phase, "Failed") && !streq(phase, "Succeeded")) {
    client_dw(d, 0, "Status:\tTerminating (lasts %s)\n",
              client_dage(d, o, "metadata.deletionTimestamp", tb, sizeof tb));
    client_dw(
        d, 0, "Termination Grace Period:\t%llds\n",
        (long long)client_dint(o, "metadata.deletionGracePeriodSeconds", 0));
  } else {
    client_dw(d, 0, "Status:\t%s\n", phase);
  }
  if (*client_dstr(status, "reason"))
    client_dw(d, 0, "Reason:\t%s\n", client_dstr(status, "reason"));
  if (*client_dstr(status, "message"))
    client_dw(d, 0, "Message:\t%s\n", client_dstr(status, "message"));
  const char *sp = client_dstr(spec, "securityContext.seccompProfile.type");
  if (*sp) {
    client_dw(d, 0, "SeccompProfile:\t%s\n", sp);
    if (streq(sp, "Localhost"))
      client_dw(
          d, 0, "LocalhostProfile:\t%s\n",
          client_dstr(spec, "securityContext.seccompProfile.localhostProfile"));
  }
  client_dw(d, 0, "IP:\t%s\n", client_dstr(status, "podIP"));
  json_object *ips = kube_json_get(status, "podIPs");
  if (arr_len(ips) == 0) {
    client_dw(d, 0, "IPs:\t<none>\n");
  } else {
    client_dw(d, 0, "IPs:\n");
    for (size_t i = 0; i < arr_len(ips); i++)
      client_dw(d, 1, "IP:\t%s\n", client_dstr(AT(ips, i), "ip"));
  }
  if (client_describe_controller(o, cb, sizeof cb))
    client_dw(d, 0, "Controlled By:\t%s\n", cb);
  if (*client_dstr(status, "nominatedNodeName"))
    client_dw(d, 0, "NominatedNodeName:\t%s\n",
              client_dstr(status, "nominatedNodeName"));
  if (kube_json_get(spec, "resources")) {
    client_dw(d, 0, "Resources:\n");
    resource_lists(d, kube_json_get(spec, "resources"), 1);
  }
  if (arr_len(kube_json_get(spec, "initContainers")))
    containers(d, "Init Containers", kube_json_get(spec, "initContainers"),
               kube_json_get(status, "initContainerStatuses"), o, "");
  containers(d, "Containers", kube_json_get(spec, "containers"),
             kube_json_get(status, "containerStatuses"), o, "");
  if (arr_len(kube_json_get(spec, "ephemeralContainers")))
    containers(d, "Ephemeral Containers",
               kube_json_get(spec, "ephemeralContainers"),
               kube_json_get(status, "ephemeralContainerStatuses"), o, "");
  json_object *gates = kube_json_get(spec, "readinessGates");
  json_object *conds = kube_json_get(status, "conditions");
  if (arr_len(gates)) {
    client_dw(d, 0, "Readiness Gates:\n  Type\tStatus\n");
    for (size_t i = 0; i < arr_len(gates); i++) {
      const char *type = client_dstr(AT(gates, i), "conditionType");
      const char *st = "<none>";
      for (size_t j = 0; j < arr_len(conds); j++)
        if (streq(client_dstr(AT(conds, j), "type"), type)) {
          st = client_dstr(AT(conds, j), "status");
          break;
        }
      client_dw(d, 1, "%s \t%s \n", type, st);
    }
  }
  if (arr_len(conds)) {
    client_dw(d, 0, "Conditions:\n  Type\tStatus\n");
    for (size_t i = 0; i < arr_len(conds); i++)
      client_dw(d, 1, "%s \t%s \n", client_dstr(AT(conds, i), "type"),
                client_dstr(AT(conds, i), "status"));
  }
  volumes(d, spec, "");
  /* The kubelet's QoS class when the status lacks it. */
  const char *qos = client_dstr(status, "qosClass");
  client_dw(d, 0, "QoS Class:\t%s\n",
            *qos ? qos : kube_json_pod_qos_class(spec));
  client_describe_labels(d, "", "Node-Selectors",
                         kube_json_get(spec, "nodeSelector"));
  client_describe_tolerations(d, "", "Tolerations",
                              kube_json_get(spec, "tolerations"));
  spread_constraints(d, spec, "");
  client_describe_events(d, o, NULL);
}
