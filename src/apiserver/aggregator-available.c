/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The APIServices' Available condition (kube-aggregator's
 * AvailableConditionController) and the backends' resource lists for the
 * aggregated discovery document.
 *
 * Every APIService is checked at start, when it, its Service or the
 * Service's Endpoints change (store watches), and again every
 * AVAIL_RESYNC_MS (AVAIL_RETRY_MS while it is not available), in
 * kube-aggregator's order:
 *   - no spec.service: True, Local ("Local APIServices are always
 *     available");
 *   - the Service is missing: False, ServiceNotFound;
 *   - a ClusterIP Service without spec.service.port: False,
 *     ServicePortError; without Endpoints: False, EndpointsNotFound; no
 *     address with the port's name: False, MissingEndpoints;
 *   - then GET /apis/<group>/<version> at an address of the Endpoints
 *     over HTTPS (the caBundle checked for <service>.<namespace>.svc
 *     unless insecureSkipTLSVerify), as system:kube-aggregator in
 *     system:masters (X-Remote-User / X-Remote-Group), within
 *     AVAIL_TIMEOUT_MS: a 2xx answer is True, Passed ("all checks
 *     passed") and its APIResourceList is kept for discovery; anything
 *     else is False, FailedDiscoveryCheck ("failing or missing response
 *     from <url>: ...").
 * At start, the built-in group-versions served here get Local APIServices,
 * and at each sync the CustomResourceDefinitions' served versions do
 * (aggregator-register.c), so that `kubectl get apiservices` lists them as
 * against kube-apiserver.
 * The status is written only when the condition changed (its
 * lastTransitionTime moves only with its status), so several servers on
 * one store agree without churn.  The check runs on the loop (the proxy's
 * asynchronous client), never blocking it.
 *
 * Aggregated discovery (apidiscovery.k8s.io/v2) lists each group served
 * by APIServices with the resources of each version's last successful
 * check, converted as kube-aggregator converts legacy discovery
 * ("pods/x" becomes subresource x of pods); a version never checked
 * successfully, or whose last check failed, is listed with
 * freshness Stale, as kube-aggregator does.
 */
#include "apiserver/internal.h"
#include "http/http-private.h"

#define APISERVICES "/registry/apiregistration.k8s.io/apiservices/"
#define SERVICES "/registry/core/services/"
#define ENDPOINTS "/registry/core/endpoints/"
#define CRDS "/registry/apiextensions.k8s.io/customresourcedefinitions/"
#define AVAIL_RESYNC_MS 30000
#define AVAIL_RETRY_MS 5000
#define AVAIL_SOON_MS 20
#define AVAIL_TIMEOUT_MS 5000
#define AVAIL_MAX_BYTES (4u << 20)

/* One APIService known from the last sync (on the loop only). */
struct avail {
  char *name;
  char *svc_key;          /* "ns/name" of its Service, or NULL (Local) */
  json_object *resources; /* APIResourceList.resources of the last pass */
  bool passed;            /* the last discovery check passed */
  bool seen;              /* listed at the last sync */
  struct check *check;    /* in flight, or NULL */
  bool again;             /* changed while in flight: check once more */
  struct avail *next;
};

/* One discovery request in flight. */
struct check {
  struct as_avail *av;
  struct avail *a; /* NULL once the APIService went away */
  kube_http_request_t *req;
  kube_timer_t *timer;
  char *url;
  int status;
  kube_strbuf_t body;
  bool done;
};

struct as_avail;
struct avail_watch {
  struct as_avail *av;
  kube_store_watch_t *w;
};

struct as_avail {
  kube_apiserver_t *srv;
  kube_timer_t *timer;
  bool autoregister; /* the built-in group-versions' Local APIServices */
  struct avail_watch watch[4]; /* APIServices, Services, Endpoints, CRDs */
  struct avail *list;
};

static struct avail *find(struct as_avail *av, const char *name) {
  for (struct avail *a = av->list; a; a = a->next)
    if (streq(a->name, name))
      return a;
  return NULL;
}

static void avail_free(struct avail *a) {
  json_object_put(a->resources);
  free(a->name);
  free(a->svc_key);
  free(a);
}

static json_object *store_tree(kube_apiserver_t *srv, const char *key,
                               int64_t *rev) {
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  if (!rec)
    return NULL;
  json_object *o = as_record_to_tree(rec, NULL);
  if (rev)
    *rev = rec->mod_revision;
  kube_store_record_unref(rec);
  return o;
}

/* ---- the condition --------------------------------------------------- */

/* Write the Available condition of APIService `name` when it differs
 * from the stored one (type, status, reason, message). */
static void set_condition(kube_apiserver_t *srv, const char *name,
                          const char *status, const char *reason,
                          const char *message) {
  char key[600];
  snprintf(key, sizeof key, APISERVICES "%s", name);
  int64_t rev = 0;
  json_object *as = store_tree(srv, key, &rev);
  if (!as)
    return;
  json_object *st = kube_json_get(as, "status");
  json_object *conds = st ? kube_json_get(st, "conditions") : NULL;
  if (conds && !json_object_is_type(conds, json_type_array))
    conds = NULL;
  char ts[40];
  const char *when = as_now_rfc3339(ts, sizeof ts);
  json_object *out = json_object_new_array();
  bool same = false;
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (!streq(kube_json_get_string(c, "type") ?: "", "Available")) {
      json_object_array_add(out, json_object_get(c));
      continue;
    }
    const char *os = kube_json_get_string(c, "status");
    const char *olt = kube_json_get_string(c, "lastTransitionTime");
    if (os && streq(os, status) && olt)
      when = olt; /* moves only with the status */
    same = os && streq(os, status) &&
           streq(kube_json_get_string(c, "reason") ?: "", reason) &&
           streq(kube_json_get_string(c, "message") ?: "", message);
  }
  if (same) {
    json_object_put(out);
    json_object_put(as);
    return;
  }
  json_object *c = json_object_new_object();
  json_object_object_add(c, "type", json_object_new_string("Available"));
  json_object_object_add(c, "status", json_object_new_string(status));
  json_object_object_add(c, "lastTransitionTime", json_object_new_string(when));
  json_object_object_add(c, "reason", json_object_new_string(reason));
  json_object_object_add(c, "message", json_object_new_string(message));
  json_object_array_add(out, c);
  if (!st || !json_object_is_type(st, json_type_object)) {
    st = json_object_new_object();
    json_object_object_add(as, "status", st);
  }
  json_object_object_add(st, "conditions", out);
  json_object_object_del(as_meta_of(as), "resourceVersion");
  if (!streq(status, "True"))
    log_info("apiserver: APIService %s: Available=%s %s: %s", name, status,
             reason, message);
  as_internal_update(srv, key, as, rev);
  json_object_put(as);
}

static void arm(struct as_avail *av, int64_t ms) {
  if (av->timer && !av->srv->shutting_down)
    kube_timer_arm(av->timer, ms);
}

/* ---- the discovery check ---------------------------------------------- */

static void check_free(struct check *c) {
  kube_timer_free(c->timer);
  kube_strbuf_clear(&c->body);
  free(c->url);
  free(c);
}

static void check_again(struct as_avail *av, struct avail *a);

/* The check's outcome, on the loop; `why` NULL when it passed. */
static void check_finish(struct check *c, const char *why) {
  struct as_avail *av = c->av;
  struct avail *a = c->a;
  if (a) {
    a->check = NULL;
    char msg[1200];
    if (why) {
      a->passed = false;
      snprintf(msg, sizeof msg, "failing or missing response from %s: %s",
               c->url, why);
      set_condition(av->srv, a->name, "False", "FailedDiscoveryCheck", msg);
      arm(av, AVAIL_RETRY_MS);
    } else {
      a->passed = true;
      set_condition(av->srv, a->name, "True", "Passed", "all checks passed");
    }
    if (a->again) {
      a->again = false;
      check_again(av, a);
    }
  }
  check_free(c);
}

/* The sink runs inside the proxy: the verdict is given from the timer,
 * armed at 0 by the sink's last call. */
static void check_reply(void *arg, int status, const char *ctype,
                        const void *body, size_t len) {
  struct check *c = arg;
  c->status = status;
  if (len <= AVAIL_MAX_BYTES)
    kube_strbuf_append_len(&c->body, body, len);
  c->done = true;
  kube_timer_arm(c->timer, 0);
}

static void check_begin(void *arg, int status, const char *ctype) {
  ((struct check *)arg)->status = status;
}

static void check_data(void *arg, const void *data, size_t len) {
  struct check *c = arg;
  if (c->body.len + len <= AVAIL_MAX_BYTES)
    kube_strbuf_append_len(&c->body, data, len);
}

static void check_end(void *arg) {
  struct check *c = arg;
  c->done = true;
  kube_timer_arm(c->timer, 0);
}

static const struct http_local_sink check_sink = {
    .reply = check_reply,
    .stream_begin = check_begin,
    .stream_data = check_data,
    .stream_end = check_end,
};

/* The reply is in (c->done): judge it. */
static void check_judge(struct check *c) {
  char why[900];
  if (c->status < 200 || c->status > 299) {
    /* The proxy's own failures (no connection, TLS) come as a Status. */
    json_object *st = c->status >= 500 && c->body.data
                          ? kube_json_parse(c->body.data, c->body.len, NULL)
                          : NULL;
    const char *m = st && streq(kube_json_get_string(st, "kind") ?: "",
                                "Status")
                        ? kube_json_get_string(st, "message")
                        : NULL;
    if (m)
      snprintf(why, sizeof why, "%s", m);
    else
      snprintf(why, sizeof why, "bad status from %s: %d", c->url, c->status);
    json_object_put(st);
    check_finish(c, why);
    return;
  }
  json_object *doc =
      c->body.data ? kube_json_parse(c->body.data, c->body.len, NULL) : NULL;
  json_object *res = doc ? kube_json_get(doc, "resources") : NULL;
  if (c->a) {
    json_object_put(c->a->resources);
    c->a->resources = res && json_object_is_type(res, json_type_array)
                          ? json_object_get(res)
                          : json_object_new_array();
  }
  json_object_put(doc);
  check_finish(c, NULL);
}

static void check_timer(void *arg) {
  struct check *c = arg;
  if (c->done) {
    check_judge(c);
    return;
  }
  /* No answer in time: the request is dropped (its replies go nowhere). */
  http_request_local_disconnect(c->req);
  char why[700];
  snprintf(why, sizeof why, "timed out waiting for %s", c->url);
  check_finish(c, why);
}

/* Start the discovery GET of APIService `as` (tree) at host:port. */
static void check_start(struct as_avail *av, struct avail *a, json_object *as,
                        const char *host, int port) {
  kube_apiserver_t *srv = av->srv;
  const char *group = kube_json_get_string(as, "spec.group") ?: "";
  const char *version = kube_json_get_string(as, "spec.version") ?: "";
  struct as_agg_tls tls;
  as_aggregator_tls(as, &tls);
  cleanup_free unsigned char *ca = tls.ca;
  struct check *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->av = av;
  c->a = a;
  char path[600];
  snprintf(path, sizeof path, "/apis/%s/%s", group, version);
  bool v6 = strchr(host, ':') != NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  if (asprintf(&c->url, "https://%s%s%s:%d%s", v6 ? "[" : "", host,
               v6 ? "]" : "", port, path) < 0) {
    c->url = NULL;
    free(c);
    return;
  }
  if (!tls.insecure && !ca) {
    /* Nothing to verify the backend with: no request is sent. */
    a->check = c;
    check_finish(c, "the APIService has neither caBundle nor "
                    "insecureSkipTLSVerify: nothing to verify the service's "
                    "certificate with");
    return;
  }
  c->timer = kube_timer_new(srv->loop, check_timer, c, &err);
  static const char *const headers[] = {"Accept", "application/json", NULL};
  c->req = c->timer ? http_request_new_local("GET", path, headers, NULL, 0,
                                             &err)
                    : NULL;
  if (!c->req) {
    log_warn("apiserver: APIService %s: discovery check: %s", a->name,
             err.message ? err.message : "out of memory");
    kube_error_clear(&err);
    check_free(c);
    return;
  }
  static const char *const ident[] = {"X-Remote-User",
                                      "system:kube-aggregator",
                                      "X-Remote-Group", "system:masters", NULL};
  kube_http_proxy_options_t o = {
      .struct_size = sizeof o,
      .tls_insecure_skip_verify = tls.insecure,
      .headers = ident,
      .loop = srv->loop,
      .tls_ca_pem = (const char *)ca,
      .tls_ca_pem_len = tls.ca_len,
      .tls_server_name = tls.server_name,
      .connect_timeout_ms = AVAIL_TIMEOUT_MS,
  };
  a->check = c;
  http_request_set_local_sink(c->req, &check_sink, c);
  /* The timer bounds the whole request (kube-aggregator: 5 s, then 6 s
   * at most); the sink's answer re-arms it at 0. */
  kube_timer_arm(c->timer, AVAIL_TIMEOUT_MS + 1000);
  kube_http_proxy(c->req, c->url, &o, NULL);
}

/* ---- one APIService ------------------------------------------------------ */

static bool has_address_with_port(json_object *ep, const char *port_name) {
  json_object *subsets = kube_json_get(ep, "subsets");
  size_t n = json_object_is_type(subsets, json_type_array)
                 ? json_object_array_length(subsets)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *ss = json_object_array_get_idx(subsets, i);
    json_object *addrs = kube_json_get(ss, "addresses");
    if (!json_object_is_type(addrs, json_type_array) ||
        !json_object_array_length(addrs))
      continue;
    json_object *ports = kube_json_get(ss, "ports");
    for (size_t k = 0; json_object_is_type(ports, json_type_array) &&
                       k < json_object_array_length(ports);
         k++)
      if (streq(kube_json_get_string(json_object_array_get_idx(ports, k),
                                     "name") ?: "",
                port_name))
        return true;
  }
  return false;
}

/* Check APIService `as` (tree): set its condition now, or start the
 * discovery GET that sets it. */
static void check_one(struct as_avail *av, struct avail *a, json_object *as) {
  kube_apiserver_t *srv = av->srv;
  json_object *svcref = kube_json_get(as, "spec.service");
  if (!svcref) {
    a->passed = true;
    set_condition(srv, a->name, "True", "Local",
                  "Local APIServices are always available");
    return;
  }
  const char *ns = kube_json_get_string(svcref, "namespace") ?: "";
  const char *name = kube_json_get_string(svcref, "name") ?: "";
  json_object *p = kube_json_get(svcref, "port");
  int want = p ? json_object_get_int(p) : 443;
  char key[600], msg[800];
  snprintf(key, sizeof key, SERVICES "%s/%s", ns, name);
  json_object *svc = store_tree(srv, key, NULL);
  a->passed = false;
  if (!svc) {
    snprintf(msg, sizeof msg, "service/%s in \"%s\" is not present", name, ns);
    set_condition(srv, a->name, "False", "ServiceNotFound", msg);
    arm(av, AVAIL_RETRY_MS);
    return;
  }
  const char *type = kube_json_get_string(svc, "spec.type");
  if (!type || streq(type, "ClusterIP")) {
    json_object *ports = kube_json_get(svc, "spec.ports");
    bool found = false;
    char port_name[128] = "";
    for (size_t i = 0; json_object_is_type(ports, json_type_array) &&
                       i < json_object_array_length(ports) && !found;
         i++) {
      json_object *sp = json_object_array_get_idx(ports, i);
      json_object *pp = kube_json_get(sp, "port");
      if (pp && json_object_get_int(pp) == want) {
        found = true;
        snprintf(port_name, sizeof port_name, "%s",
                 kube_json_get_string(sp, "name") ?: "");
      }
    }
    if (!found) {
      json_object_put(svc);
      snprintf(msg, sizeof msg,
               "service/%s in \"%s\" is not listening on port %d", name, ns,
               want);
      set_condition(srv, a->name, "False", "ServicePortError", msg);
      arm(av, AVAIL_RETRY_MS);
      return;
    }
    snprintf(key, sizeof key, ENDPOINTS "%s/%s", ns, name);
    json_object *ep = store_tree(srv, key, NULL);
    if (!ep) {
      json_object_put(svc);
      snprintf(msg, sizeof msg, "cannot find endpoints for service/%s in \"%s\"",
               name, ns);
      set_condition(srv, a->name, "False", "EndpointsNotFound", msg);
      arm(av, AVAIL_RETRY_MS);
      return;
    }
    bool ok = has_address_with_port(ep, port_name);
    json_object_put(ep);
    if (!ok) {
      json_object_put(svc);
      snprintf(msg, sizeof msg,
               "endpoints for service/%s in \"%s\" have no addresses with "
               "port name \"%s\"",
               name, ns, port_name);
      set_condition(srv, a->name, "False", "MissingEndpoints", msg);
      arm(av, AVAIL_RETRY_MS);
      return;
    }
  }
  json_object_put(svc);
  char host[128] = "";
  int port = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  if (as_aggregator_backend(srv, svcref, host, sizeof host, &port, &err) < 0) {
    snprintf(msg, sizeof msg, "%s", err.message);
    kube_error_clear(&err);
    set_condition(srv, a->name, "False", "FailedDiscoveryCheck", msg);
    arm(av, AVAIL_RETRY_MS);
    return;
  }
  check_start(av, a, as, host, port);
}

static void check_again(struct as_avail *av, struct avail *a) {
  if (a->check) {
    a->again = true;
    return;
  }
  char key[600];
  snprintf(key, sizeof key, APISERVICES "%s", a->name);
  json_object *as = store_tree(av->srv, key, NULL);
  if (as)
    check_one(av, a, as);
  json_object_put(as);
}

static void watch_cb(const kube_store_event_t *ev, const kube_error_t *err,
                     void *arg);

/* (Again) the watches that are not running. */
static void start_watches(struct as_avail *av) {
  static const char *const prefixes[4] = {APISERVICES, SERVICES, ENDPOINTS,
                                          CRDS};
  for (int i = 0; i < 4; i++) {
    if (av->watch[i].w)
      continue;
    kube_error_t err = KUBE_ERROR_INIT;
    av->watch[i].av = av;
    av->watch[i].w = kube_store_watch(av->srv->store, prefixes[i], 0,
                                      watch_cb, &av->watch[i], &err);
    kube_error_clear(&err);
  }
}

/* ---- the sync ------------------------------------------------------------ */

/* Every APIService: check those not in flight, forget those gone. */
static void sync_all(void *arg) {
  struct as_avail *av = arg;
  kube_apiserver_t *srv = av->srv;
  if (srv->shutting_down)
    return;
  start_watches(av);
  if (!srv->read_only) {
    as_apiservices_register(srv, av->autoregister);
    av->autoregister = false;
  }
  kube_timer_arm(av->timer, AVAIL_RESYNC_MS);
  for (struct avail *a = av->list; a; a = a->next)
    a->seen = false;
  kube_store_list_t l = {0};
  if (kube_store_list(srv->store, APISERVICES, NULL, 0, &l, NULL) < 0)
    return;
  for (size_t i = 0; i < l.n; i++) {
    json_object *as = as_record_to_tree(l.items[i], NULL);
    const char *name = kube_json_get_string(as, "metadata.name");
    struct avail *a = name ? find(av, name) : NULL;
    if (name && !a) {
      a = calloc(1, sizeof *a);
      if (a && !(a->name = strdup(name))) {
        free(a);
        a = NULL;
      }
      if (a) {
        a->next = av->list;
        av->list = a;
      }
    }
    if (a) {
      a->seen = true;
      free(a->svc_key);
      a->svc_key = NULL;
      json_object *svc = kube_json_get(as, "spec.service");
      if (svc &&
          asprintf(&a->svc_key, "%s/%s",
                   kube_json_get_string(svc, "namespace") ?: "",
                   kube_json_get_string(svc, "name") ?: "") < 0)
        a->svc_key = NULL;
      if (a->check)
        a->again = true;
      else
        check_one(av, a, as);
    }
    json_object_put(as);
  }
  kube_store_list_clear(&l);
  for (struct avail **pp = &av->list; *pp;) {
    struct avail *a = *pp;
    if (a->seen) {
      pp = &a->next;
      continue;
    }
    *pp = a->next;
    if (a->check)
      a->check->a = NULL; /* its verdict goes nowhere */
    avail_free(a);
  }
}

/* A change that may matter: APIServices (not their status alone), or a
 * Service or Endpoints an APIService uses. */
static void watch_cb(const kube_store_event_t *ev, const kube_error_t *err,
                     void *arg) {
  struct avail_watch *w = arg;
  struct as_avail *av = w->av;
  if (!ev) {
    /* The watch is dead: the next sync starts it again. */
    kube_store_watch_cancel(w->w);
    w->w = NULL;
    return;
  }
  const char *key = ev->rec->key;
  if (str_has_prefix(key, CRDS)) {
    arm(av, AVAIL_SOON_MS); /* their group-versions' APIServices */
    return;
  }
  if (str_has_prefix(key, APISERVICES)) {
    if (ev->prev) {
      json_object *n = as_record_parse(ev->rec, NULL);
      json_object *o = as_record_parse(ev->prev, NULL);
      bool same = n && o &&
                  json_object_equal(kube_json_get(n, "spec"),
                                    kube_json_get(o, "spec")) &&
                  ev->type != KUBE_STORE_EVENT_DELETE;
      json_object_put(n);
      json_object_put(o);
      if (same)
        return; /* a status write (ours, or another server's) */
    }
    arm(av, AVAIL_SOON_MS);
    return;
  }
  const char *rest = str_has_prefix(key, SERVICES) ? key + strlen(SERVICES)
                     : str_has_prefix(key, ENDPOINTS)
                         ? key + strlen(ENDPOINTS)
                         : NULL;
  for (struct avail *a = av->list; rest && a; a = a->next)
    if (a->svc_key && streq(a->svc_key, rest)) {
      arm(av, AVAIL_SOON_MS);
      return;
    }
}

/* ---- discovery ----------------------------------------------------------- */

static json_object *gvk(const char *g, const char *v, const char *k) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "group", json_object_new_string(g));
  json_object_object_add(o, "version", json_object_new_string(v));
  json_object_object_add(o, "kind", json_object_new_string(k ? k : ""));
  return o;
}

/* A v1 APIResourceList's resources -> v2 APIResourceDiscovery entries,
 * "parent/sub" entries as subresources of their parent (a parent is made
 * when the list has none, as kube-aggregator does). */
static json_object *v2_resources(json_object *list, const char *group,
                                 const char *version) {
  json_object *out = json_object_new_array();
  size_t n = json_object_is_type(list, json_type_array)
                 ? json_object_array_length(list)
                 : 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++) {
      json_object *r = json_object_array_get_idx(list, i);
      const char *name = kube_json_get_string(r, "name");
      if (!name || (strchr(name, '/') != NULL) != (pass == 1))
        continue;
      json_object *verbs = kube_json_get(r, "verbs");
      json_object *ns = kube_json_get(r, "namespaced");
      const char *scope =
          ns && json_object_get_boolean(ns) ? "Namespaced" : "Cluster";
      const char *g = kube_json_get_string(r, "group") ?: group;
      const char *v = kube_json_get_string(r, "version") ?: version;
      if (pass == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "resource", json_object_new_string(name));
        json_object_object_add(
            o, "responseKind", gvk(g, v, kube_json_get_string(r, "kind")));
        json_object_object_add(o, "scope", json_object_new_string(scope));
        const char *sing = kube_json_get_string(r, "singularName");
        json_object_object_add(o, "singularResource",
                               json_object_new_string(sing ? sing : ""));
        json_object_object_add(o, "verbs",
                               verbs ? json_object_get(verbs)
                                     : json_object_new_array());
        json_object *sn = kube_json_get(r, "shortNames");
        if (sn)
          json_object_object_add(o, "shortNames", json_object_get(sn));
        json_object *cat = kube_json_get(r, "categories");
        if (cat)
          json_object_object_add(o, "categories", json_object_get(cat));
        json_object_array_add(out, o);
        continue;
      }
      const char *slash = strchr(name, '/');
      char parent[256];
      snprintf(parent, sizeof parent, "%.*s", (int)(slash - name), name);
      json_object *po = NULL;
      for (size_t k = 0; k < json_object_array_length(out) && !po; k++) {
        json_object *e = json_object_array_get_idx(out, k);
        if (streq(kube_json_get_string(e, "resource") ?: "", parent))
          po = e;
      }
      if (!po) {
        po = json_object_new_object();
        json_object_object_add(po, "resource", json_object_new_string(parent));
        json_object_object_add(po, "responseKind", json_object_new_object());
        json_object_object_add(po, "scope", json_object_new_string(scope));
        json_object_array_add(out, po);
      }
      json_object *subs = kube_json_get(po, "subresources");
      if (!subs) {
        subs = json_object_new_array();
        json_object_object_add(po, "subresources", subs);
      }
      json_object *s = json_object_new_object();
      json_object_object_add(s, "subresource",
                             json_object_new_string(slash + 1));
      json_object_object_add(s, "responseKind",
                             gvk(g, v, kube_json_get_string(r, "kind")));
      json_object_object_add(s, "verbs",
                             verbs ? json_object_get(verbs)
                                   : json_object_new_array());
      json_object_array_add(subs, s);
    }
  return out;
}

static int64_t prio(json_object *as, const char *field) {
  json_object *p = kube_json_get(kube_json_get(as, "spec"), field);
  return p ? json_object_get_int64(p) : 0;
}

static bool listed(json_object *items, const char *group) {
  for (size_t k = 0; k < json_object_array_length(items); k++)
    if (streq(kube_json_get_string(json_object_array_get_idx(items, k),
                                   "metadata.name") ?: "",
              group))
      return true;
  return false;
}

void as_aggregator_discovery_aggregated(kube_apiserver_t *srv,
                                        json_object *items) {
  struct as_avail *av = srv->avail;
  kube_store_list_t l = {0};
  if (kube_store_list(srv->store, APISERVICES, NULL, 0, &l, NULL) < 0)
    return;
  size_t n = 0;
  json_object **aps = calloc(l.n + 1, sizeof *aps);
  for (size_t i = 0; aps && i < l.n; i++) {
    json_object *as = as_record_to_tree(l.items[i], NULL);
    /* Local ones are this server's own groups, already listed. */
    if (as && kube_json_get(as, "spec.service") &&
        kube_json_get_string(as, "spec.group"))
      aps[n++] = as;
    else
      json_object_put(as);
  }
  kube_store_list_clear(&l);
  /* Highest versionPriority first (kube-aggregator's order of versions). */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && prio(aps[j], "versionPriority") >
                                    prio(aps[j - 1], "versionPriority");
         j--) {
      json_object *t = aps[j];
      aps[j] = aps[j - 1];
      aps[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++) {
    const char *group = kube_json_get_string(aps[i], "spec.group");
    if (listed(items, group))
      continue;
    json_object *g = json_object_new_object();
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "name", json_object_new_string(group));
    json_object_object_add(g, "metadata", meta);
    json_object *versions = json_object_new_array();
    for (size_t j = i; j < n; j++) {
      if (!streq(kube_json_get_string(aps[j], "spec.group"), group))
        continue;
      const char *version = kube_json_get_string(aps[j], "spec.version") ?: "";
      const char *name = kube_json_get_string(aps[j], "metadata.name") ?: "";
      struct avail *a = av ? find(av, name) : NULL;
      bool fresh = a && a->passed && a->resources;
      json_object *v = json_object_new_object();
      json_object_object_add(v, "version", json_object_new_string(version));
      json_object_object_add(
          v, "resources",
          a && a->resources ? v2_resources(a->resources, group, version)
                            : json_object_new_array());
      json_object_object_add(
          v, "freshness", json_object_new_string(fresh ? "Current" : "Stale"));
      json_object_array_add(versions, v);
    }
    json_object_object_add(g, "versions", versions);
    json_object_array_add(items, g);
  }
  for (size_t i = 0; i < n; i++)
    json_object_put(aps[i]);
  free(aps);
}

/* ---- life ---------------------------------------------------------------- */

void as_avail_start(kube_apiserver_t *srv, bool autoregister) {
  if (!srv->loop)
    return;
  struct as_avail *av = calloc(1, sizeof *av);
  kube_error_t err = KUBE_ERROR_INIT;
  if (!av || !(av->timer = kube_timer_new(srv->loop, sync_all, av, &err))) {
    log_warn("apiserver: no APIService availability checks: %s",
             err.message ? err.message : "out of memory");
    kube_error_clear(&err);
    free(av);
    return;
  }
  av->srv = srv;
  av->autoregister = autoregister;
  srv->avail = av;
  kube_timer_arm(av->timer, AVAIL_SOON_MS);
}

void as_avail_free(kube_apiserver_t *srv) {
  struct as_avail *av = srv->avail;
  if (!av)
    return;
  srv->avail = NULL;
  for (int i = 0; i < 4; i++)
    kube_store_watch_cancel(av->watch[i].w);
  kube_timer_free(av->timer);
  while (av->list) {
    struct avail *a = av->list;
    av->list = a->next;
    if (a->check) {
      struct check *c = a->check;
      if (!c->done)
        http_request_local_disconnect(c->req);
      check_free(c);
    }
    avail_free(a);
  }
  free(av);
}
