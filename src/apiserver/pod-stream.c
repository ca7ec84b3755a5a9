/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod's log, exec, attach and portforward: served by the node the pod is
 * bound to, as kube-apiserver's LogLocation / ExecLocation /
 * AttachLocation / PortForwardLocation do: check the pod, pick or check
 * the container, find the node, then hand the request to the node agent
 * of this process (kube_apiserver_add_node) or proxy it over HTTPS to the
 * node's kubelet port with the API server's kubelet client certificate.
 */
#include <arpa/inet.h>

#include "apiserver/internal.h"

struct as_node {
  char *name;
  kube_apiserver_node_fn fn;
  void *arg;
  struct as_node *next;
};

static struct as_node *find_node(kube_apiserver_t *srv, const char *name) {
  for (struct as_node *n = srv->nodes; n; n = n->next)
    if (streq(n->name, name))
      return n;
  return NULL;
}

KUBE_EXPORT int kube_apiserver_add_node(kube_apiserver_t *srv, const char *node,
                                        kube_apiserver_node_fn fn, void *arg,
                                        kube_error_t *err) {
  if (!srv || !node || !*node || !fn)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a node handler needs a node name and a function");
  struct as_node *n = find_node(srv, node);
  if (n) {
    n->fn = fn;
    n->arg = arg;
    return 0;
  }
  if (!(n = calloc(1, sizeof *n)) || !(n->name = strdup(node))) {
    free(n);
    return kube_make_oom(err);
  }
  n->fn = fn;
  n->arg = arg;
  n->next = srv->nodes;
  srv->nodes = n;
  return 0;
}

KUBE_EXPORT void kube_apiserver_remove_node(kube_apiserver_t *srv,
                                            const char *node) {
  if (!srv || !node)
    return;
  for (struct as_node **pp = &srv->nodes; *pp; pp = &(*pp)->next)
    if (streq((*pp)->name, node)) {
      struct as_node *n = *pp;
      *pp = n->next;
      free(n->name);
      free(n);
      return;
    }
}

void as_nodes_free(kube_apiserver_t *srv) {
  while (srv->nodes) {
    struct as_node *n = srv->nodes;
    srv->nodes = n->next;
    free(n->name);
    free(n);
  }
}

/* ---- the pod and its container ---- */

static json_object *get_object(struct req *r, const kube_kind_t *k,
                               const char *ns, const char *name,
                               kube_error_t *err) {
  cleanup_free char *key = as_store_key(k, ns, name);
  if (!key) {
    kube_make_oom(err);
    return NULL;
  }
  kube_store_record_t *rec = kube_store_get(r->srv->store, key, err);
  if (!rec) {
    if (err && err->reason == KUBE_REASON_NOT_FOUND)
      as_error_not_found(err, k, name);
    return NULL;
  }
  json_object *obj = as_record_to_tree(rec, err);
  kube_store_record_unref(rec);
  return obj;
}

static size_t list_len(json_object *list) {
  return list && json_object_is_type(list, json_type_array)
             ? json_object_array_length(list)
             : 0;
}

/* The name of container i of a containers list ("" when it has none). */
static const char *nth_name(json_object *list, size_t i) {
  const char *c =
      kube_json_get_string(json_object_array_get_idx(list, i), "name");
  return c ? c : "";
}

static bool has_container(json_object *list, const char *name) {
  for (size_t i = 0; i < list_len(list); i++)
    if (streq(nth_name(list, i), name))
      return true;
  return false;
}

/* "a b c", as getContainerNames. */
static void names(json_object *list, kube_strbuf_t *sb) {
  for (size_t i = 0; i < list_len(list); i++) {
    if (i)
      kube_strbuf_append_char(sb, ' ');
    kube_strbuf_append(sb, nth_name(list, i));
  }
}

/* The container the request means (owned), or NULL with err: as
 * kube-apiserver, the only container when none is named. */
static char *pick_container(json_object *pod, const char *name,
                            const char *asked, kube_error_t *err) {
  json_object *cs = kube_json_get(pod, "spec.containers");
  json_object *ics = kube_json_get(pod, "spec.initContainers");
  json_object *ecs = kube_json_get(pod, "spec.ephemeralContainers");
  if (asked && *asked) {
    if (!has_container(cs, asked) && !has_container(ics, asked) &&
        !has_container(ecs, asked)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "container %s is not valid for pod %s", asked, name);
      return NULL;
    }
    return strdup(asked);
  }
  size_t n = list_len(cs);
  if (n == 1)
    return strdup(nth_name(cs, 0));
  if (n == 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "a container name must be specified for pod %s", name);
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "a container name must be specified for pod %s, "
                     "choose one of: [",
                     name);
  names(cs, &sb);
  kube_strbuf_append_char(&sb, ']');
  if (list_len(ics)) {
    kube_strbuf_append(&sb, " or one of the init containers: [");
    names(ics, &sb);
    kube_strbuf_append_char(&sb, ']');
  }
  kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s",
                 sb.data ? sb.data : "a container name must be specified");
  kube_strbuf_clear(&sb);
  return NULL;
}

/* ---- hand-off ---- */

struct local_call {
  struct as_node *node;
  const char *container;
};

static void local_trampoline(const kube_apiserver_handler_ctx_t *ctx,
                             void *arg) {
  struct local_call *lc = arg;
  lc->node->fn(ctx->request, ctx->subresource, ctx->namespace_, ctx->name,
               lc->container, lc->node->arg);
}

struct proxy_call {
  kube_apiserver_t *srv;
  const char *url;
};

const char *as_kubelet_ca(const kube_apiserver_t *srv) {
  return srv->kubelet_ca ? srv->kubelet_ca : srv->tls_client_ca;
}

/* The kubelet's serving certificate is verified against as_kubelet_ca()
 * (its IP SAN against the Node's address); only a server with no CA at
 * all reaches kubelets unverified, as before, and says so once. */
static void proxy_trampoline(const kube_apiserver_handler_ctx_t *ctx,
                             void *arg) {
  struct proxy_call *pc = arg;
  const char *ca = as_kubelet_ca(pc->srv);
  if (!ca && !pc->srv->kubelet_unverified_warned) {
    pc->srv->kubelet_unverified_warned = true;
    log_warn("apiserver: no kubelet CA and no cluster CA: the serving "
             "certificates of kubelets are not verified (set --kubelet-certificate-authority)");
  }
  kube_http_proxy_options_t o = {
      .struct_size = sizeof o,
      .tls_ca_file = ca,
      .tls_insecure_skip_verify = !ca,
      .tls_cert_file = pc->srv->kubelet_cert,
      .tls_key_file = pc->srv->kubelet_key,
  };
  kube_http_proxy(ctx->request, pc->url, &o, NULL);
}

const char *as_node_address(json_object *node) {
  static const char *const types[] = {"InternalIP", "ExternalIP", NULL};
  json_object *as = kube_json_get(node, "status.addresses");
  size_t n = list_len(as);
  for (size_t t = 0; types[t]; t++)
    for (size_t i = 0; i < n; i++) {
      json_object *a = json_object_array_get_idx(as, i);
      const char *type = kube_json_get_string(a, "type");
      const char *v = kube_json_get_string(a, "address");
      unsigned char buf[16];
      if (type && v && streq(type, types[t]) &&
          (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1))
        return v;
    }
  return NULL;
}

int as_node_kubelet_port(json_object *node) {
  json_object *port =
      kube_json_get(node, "status.daemonEndpoints.kubeletEndpoint.Port");
  int p = port ? json_object_get_int(port) : 0;
  return p > 0 && p <= 65535 ? p : 0;
}

/* The kubelet URL of node `node` for `path` (owned), or NULL with err. */
static char *kubelet_url(struct req *r, const char *node, const char *path,
                         kube_error_t *err) {
  json_object *obj =
      get_object(r, kube_kind_by_kind("v1", "Node"), NULL, node, err);
  if (!obj)
    return NULL;
  const char *addr = as_node_address(obj);
  int p = as_node_kubelet_port(obj);
  char *url = NULL;
  if (!addr) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "no preferred addresses found; known addresses: []");
  } else {
    const char *q = kube_http_request_query(r->hreq);
    bool v6 = strchr(addr, ':') != NULL;
    if (asprintf(&url, "https://%s%s%s:%d%s%s%s", v6 ? "[" : "", addr,
                 v6 ? "]" : "", p > 0 ? p : 10250, path, q && *q ? "?" : "",
                 q ? q : "") < 0) {
      url = NULL;
      kube_make_oom(err);
    }
  }
  json_object_put(obj);
  return url;
}

void as_handle_pod_stream(struct req *r) {
  const char *sub = r->rt.sub;
  bool log = streq(sub, "log"), pf = streq(sub, "portforward");
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *container = NULL, *path = NULL, *url = NULL;
  json_object *pod = get_object(r, r->rt.kind, r->rt.ns, r->rt.name, &err);
  if (!pod) {
    as_reply_error(r, &err);
    return;
  }
  if (!pf && !(container = pick_container(pod, r->rt.name,
                                          as_req_query(r, "container"), &err)))
    goto fail;
  const char *node = kube_json_get_string(pod, "spec.nodeName");
  if (!node || !*node) {
    if (log) {
      /* As kube-apiserver: no host, no location, an empty log. */
      r->done = true;
      r->tp->reply(r, 200, "text/plain", "", 0);
      json_object_put(pod);
      return;
    }
    kube_error_set(&err, KUBE_REASON_BAD_REQUEST, 0,
                   "pod %s does not have a host assigned", r->rt.name);
    goto fail;
  }
  struct as_node *local = find_node(r->srv, node);
  if (local) {
    struct local_call lc = {local, container};
    json_object_put(pod);
    as_ext_hand_off(r, local_trampoline, &lc, true);
    return;
  }
  int rc;
  if (log)
    rc = asprintf(&path, "/containerLogs/%s/%s/%s", r->rt.ns, r->rt.name,
                  container);
  else if (pf)
    rc = asprintf(&path, "/portForward/%s/%s", r->rt.ns, r->rt.name);
  else
    rc = asprintf(&path, "/%s/%s/%s/%s", sub, r->rt.ns, r->rt.name, container);
  if (rc < 0) {
    path = NULL;
    kube_make_oom(&err);
    goto fail;
  }
  if (!(url = kubelet_url(r, node, path, &err)))
    goto fail;
  json_object_put(pod);
  struct proxy_call pc = {r->srv, url};
  as_ext_hand_off(r, proxy_trampoline, &pc, true);
  return;
fail:
  json_object_put(pod);
  as_reply_error(r, &err);
}
