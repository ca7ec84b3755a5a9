/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Summary API of the nodes this process does not run, scraped as
 * metrics-server does: every AS_SCRAPE_PERIOD_MS (metrics-server's
 * default --metric-resolution, 15 s) each Ready Node that is not a
 * metrics source of this process (kube_apiserver_add_metrics_source) is
 * asked GET /stats/summary over HTTPS at its InternalIP (else its
 * ExternalIP) and status.daemonEndpoints.kubeletEndpoint.Port, with the
 * API server's kubelet client certificate, the kubelet's serving
 * certificate verified against the kubelet CA (else the cluster CA).
 * The requests run on a small worker pool, never on the loop, each
 * bounded by AS_SCRAPE_TIMEOUT_MS (connect and each read or write), so a
 * kubelet that does not answer holds one worker, not the API: a request
 * for metrics reads the last document kept per node.  A failed scrape
 * drops the node's document (metrics-server serves only what its last
 * scrape got); a node that is gone, not Ready or without an address is
 * dropped at the next tick.  Nothing runs when the server has no kubelet
 * client certificate or no CA to verify kubelets with.
 */
#include <libkube/client.h>
#include <libkube/core.h>

#include "apiserver/internal.h"

#define AS_SCRAPE_PERIOD_MS 15000
#define AS_SCRAPE_FIRST_MS 1000
#define AS_SCRAPE_TIMEOUT_MS 5000
#define AS_SCRAPE_WORKERS 4
#define AS_SCRAPE_MAX_BYTES (16u << 20)

/* One scraped node; on the loop only, except the job's own fields. */
struct scraped {
  char *name;
  json_object *doc; /* the last summary, or NULL */
  bool inflight;    /* a job for it is queued or running */
  bool seen;        /* a target at the last tick */
  bool failing;     /* the last scrape failed (logged once) */
  struct scraped *next;
};

struct as_scrape {
  kube_apiserver_t *srv;
  kube_loop_t *loop;
  kube_timer_t *timer;
  kube_workers_t *workers; /* started with the first job */
  struct scraped *nodes;
  bool freeing; /* read by the workers too (atomic) */
};

/* A job: everything the worker reads is its own copy. */
struct job {
  struct as_scrape *sc;
  char *node, *url, *ca, *cert, *key;
  json_object *doc; /* the worker's result */
  char *why;        /* why not, for the log */
};

static struct scraped *find(struct as_scrape *sc, const char *name) {
  for (struct scraped *s = sc->nodes; s; s = s->next)
    if (streq(s->name, name))
      return s;
  return NULL;
}

static void scraped_free(struct scraped *s) {
  json_object_put(s->doc);
  free(s->name);
  free(s);
}

static void unlink_scraped(struct as_scrape *sc, struct scraped *gone) {
  for (struct scraped **pp = &sc->nodes; *pp; pp = &(*pp)->next)
    if (*pp == gone) {
      *pp = gone->next;
      scraped_free(gone);
      return;
    }
}

static void job_free(struct job *j) {
  json_object_put(j->doc);
  free(j->node);
  free(j->url);
  free(j->ca);
  free(j->cert);
  free(j->key);
  free(j->why);
  free(j);
}

/* ---- the worker ---------------------------------------------------------- */

static void job_fail(struct job *j, const char *fmt, const char *detail) {
  if (asprintf(&j->why, fmt, detail ? detail : "") < 0)
    j->why = NULL;
}

static void job_run(void *arg) {
  struct job *j = arg;
  /* The server is going: what is still queued returns at once. */
  if (__atomic_load_n(&j->sc->freeing, __ATOMIC_ACQUIRE)) {
    job_fail(j, "%sthe API server is stopping", NULL);
    return;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_options_t o = {
      .struct_size = sizeof o,
      .server = j->url,
      .certificate_authority = j->ca,
      .client_certificate = j->cert,
      .client_key = j->key,
      .timeout_ms = AS_SCRAPE_TIMEOUT_MS,
      .user_agent = "kube-apiserver/metrics libkube",
  };
  kube_client_t *c = kube_client_new(&o, &err);
  kube_client_request_t rq = {.struct_size = sizeof rq,
                              .method = "GET",
                              .path = "/stats/summary"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (!c || kube_client_request(c, &rq, &resp, &err) < 0) {
    job_fail(j, "%s", err.message);
  } else if (resp.status != 200) {
    char code[16];
    snprintf(code, sizeof code, "%d", resp.status);
    job_fail(j, "the kubelet answered %s", code);
  } else if (resp.body_len > AS_SCRAPE_MAX_BYTES) {
    job_fail(j, "%ssummary too large", NULL);
  } else {
    json_object *doc = kube_json_parse(resp.body, resp.body_len, &err);
    const char *nn = doc ? kube_json_get_string(doc, "node.nodeName") : NULL;
    if (doc && json_object_is_type(doc, json_type_object) && nn &&
        streq(nn, j->node)) {
      j->doc = doc;
    } else if (nn) {
      /* A kubelet speaks for its own node only. */
      json_object_put(doc);
      job_fail(j, "the summary is node %s's", nn);
    } else {
      json_object_put(doc);
      job_fail(j, "bad summary: %s", err.message ? err.message : "not JSON");
    }
  }
  kube_client_response_clear(&resp);
  kube_client_free(c);
  kube_error_clear(&err);
}

/* On the loop: keep the result (or drop the node's document). */
static void job_done(void *arg) {
  struct job *j = arg;
  struct as_scrape *sc = j->sc;
  struct scraped *s =
      __atomic_load_n(&sc->freeing, __ATOMIC_ACQUIRE) ? NULL : find(sc, j->node);
  if (s) {
    s->inflight = false;
    json_object_put(s->doc);
    s->doc = j->doc;
    j->doc = NULL;
    /* As metrics-server's "Failed to scrape node", once per failure. */
    if (!s->doc && !s->failing)
      log_info("apiserver: metrics of node %s: failed to scrape %s: %s",
               j->node, j->url, j->why ? j->why : "no summary");
    else if (s->doc && s->failing)
      log_info("apiserver: metrics of node %s: scraped again", j->node);
    s->failing = !s->doc;
    if (!s->seen)
      unlink_scraped(sc, s);
    else if (s->doc && !sc->srv->metrics_served) {
      kube_error_t err = KUBE_ERROR_INIT;
      if (as_metrics_serve(sc->srv, &err) < 0)
        log_warn("apiserver: metrics.k8s.io: %s", err.message);
      kube_error_clear(&err);
    }
  }
  job_free(j);
}

/* ---- the tick ------------------------------------------------------------ */

static bool node_ready(json_object *node) {
  json_object *cs = kube_json_get(node, "status.conditions");
  size_t n = cs && json_object_is_type(cs, json_type_array)
                 ? json_object_array_length(cs)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(cs, i);
    const char *t = kube_json_get_string(c, "type");
    const char *st = kube_json_get_string(c, "status");
    if (t && st && streq(t, "Ready"))
      return streq(st, "True");
  }
  return false;
}

/* https://ADDR:PORT of a Node's kubelet (owned), or NULL. */
static char *node_url(json_object *node) {
  const char *addr = as_node_address(node);
  int p = as_node_kubelet_port(node);
  if (!addr || !p)
    return NULL;
  bool v6 = strchr(addr, ':') != NULL;
  char *url = NULL;
  if (asprintf(&url, "https://%s%s%s:%d", v6 ? "[" : "", addr, v6 ? "]" : "",
               p) < 0)
    return NULL;
  return url;
}

static struct scraped *add(struct as_scrape *sc, const char *name) {
  struct scraped *s = calloc(1, sizeof *s);
  if (!s || !(s->name = strdup(name))) {
    free(s);
    return NULL;
  }
  s->next = sc->nodes;
  sc->nodes = s;
  return s;
}

static void submit(struct as_scrape *sc, struct scraped *s, char *url) {
  kube_apiserver_t *srv = sc->srv;
  struct job *j = calloc(1, sizeof *j);
  if (!j) {
    free(url);
    return;
  }
  j->sc = sc;
  j->url = url;
  j->node = strdup(s->name);
  j->ca = strdup(as_kubelet_ca(srv));
  j->cert = strdup(srv->kubelet_cert);
  j->key = strdup(srv->kubelet_key);
  kube_error_t err = KUBE_ERROR_INIT;
  /* The pool starts with the first node to scrape. */
  if (!sc->workers &&
      !(sc->workers = kube_workers_new(sc->loop, AS_SCRAPE_WORKERS, &err)))
    log_warn("apiserver: no metrics of other nodes: %s", err.message);
  if (!sc->workers || !j->node || !j->ca || !j->cert || !j->key ||
      kube_workers_submit(sc->workers, job_run, job_done, j, &err) < 0) {
    job_free(j);
    kube_error_clear(&err);
    return;
  }
  s->inflight = true;
}

static void tick(void *arg) {
  struct as_scrape *sc = arg;
  kube_apiserver_t *srv = sc->srv;
  if (srv->shutting_down)
    return;
  for (struct scraped *s = sc->nodes; s; s = s->next)
    s->seen = false;
  const kube_kind_t *k = kube_kind_by_kind("v1", "Node");
  cleanup_free char *prefix = k ? as_store_prefix(k, NULL) : NULL;
  kube_store_list_t l = {0};
  if (prefix && kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) == 0) {
    for (size_t i = 0; i < l.n; i++) {
      json_object *node = as_record_to_tree(l.items[i], NULL);
      const char *name = kube_json_get_string(node, "metadata.name");
      char *url = name && !as_metrics_source_exists(srv, name) && node_ready(node)
                      ? node_url(node)
                      : NULL;
      struct scraped *s = url ? find(sc, name) : NULL;
      if (url && !s)
        s = add(sc, name);
      if (s) {
        s->seen = true;
        if (!s->inflight) {
          submit(sc, s, url); /* takes url */
          url = NULL;
        }
      }
      free(url);
      json_object_put(node);
    }
    kube_store_list_clear(&l);
  }
  /* Gone, not Ready, served in process, no address: dropped (a node
   * whose job is still running goes when the job is done). */
  for (struct scraped **pp = &sc->nodes; *pp;) {
    struct scraped *s = *pp;
    if (!s->seen && !s->inflight) {
      *pp = s->next;
      scraped_free(s);
    } else {
      pp = &s->next;
    }
  }
  kube_timer_arm(sc->timer, AS_SCRAPE_PERIOD_MS);
}

/* ---- life ---------------------------------------------------------------- */

void as_scrape_start(kube_apiserver_t *srv, kube_loop_t *loop) {
  if (!srv->kubelet_cert || !srv->kubelet_key ||
      !as_kubelet_ca(srv) || !loop)
    return;
  struct as_scrape *sc = calloc(1, sizeof *sc);
  kube_error_t err = KUBE_ERROR_INIT;
  if (!sc || !(sc->timer = kube_timer_new(loop, tick, sc, &err))) {
    log_warn("apiserver: no metrics of other nodes: %s",
             err.message ? err.message : "out of memory");
    kube_error_clear(&err);
    free(sc);
    return;
  }
  sc->srv = srv;
  sc->loop = loop;
  srv->scrape = sc;
  kube_timer_arm(sc->timer, AS_SCRAPE_FIRST_MS); /* then every period */
}

void as_scrape_free(kube_apiserver_t *srv) {
  struct as_scrape *sc = srv->scrape;
  if (!sc)
    return;
  srv->scrape = NULL;
  __atomic_store_n(&sc->freeing, true, __ATOMIC_RELEASE);
  kube_timer_free(sc->timer);
  /* Waits for the requests in flight (each bounded by the timeout). */
  if (sc->workers)
    kube_workers_free(sc->workers);
  while (sc->nodes) {
    struct scraped *s = sc->nodes;
    sc->nodes = s->next;
    scraped_free(s);
  }
  free(sc);
}

void as_scrape_add_docs(kube_apiserver_t *srv, json_object *all) {
  struct as_scrape *sc = srv->scrape;
  for (struct scraped *s = sc ? sc->nodes : NULL; s; s = s->next)
    if (s->doc && s->seen && !as_metrics_source_exists(srv, s->name))
      json_object_array_add(all, json_object_get(s->doc));
}
