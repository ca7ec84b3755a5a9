/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API server's /metrics figures, named as kube-apiserver names them:
 * apiserver_request_total{verb,group,resource,subresource,code},
 * apiserver_request_duration_seconds{verb,group,resource,subresource}
 * (time from the request's arrival to its reply; for watches, to the end
 * of the stream, as kube-apiserver's long-running requests are not in
 * that histogram: WATCH is left out of it), apiserver_registered_watchers
 * {group,resource} and apiserver_current_inflight_requests.
 */
#include "apiserver/internal.h"

static const char *verb_of(const struct req *r) {
  switch (r->method) {
  case M_GET:
    if (r->watch || r->rt.legacy_watch)
      return "WATCH";
    return r->rt.is_api && r->rt.resource && !r->rt.name ? "LIST" : "GET";
  case M_POST:
    return "POST";
  case M_PUT:
    return "PUT";
  case M_PATCH:
    return "PATCH";
  case M_DELETE:
    return r->rt.is_api && r->rt.resource && !r->rt.name ? "DELETECOLLECTION"
                                                         : "DELETE";
  case M_HEAD:
    return "HEAD";
  default:
    return "OTHER";
  }
}

/* Label values: the route's parts when they look like names, else "". */
static const char *part(const char *s) {
  if (!s)
    return "";
  for (const char *p = s; *p; p++)
    if (*p == '"' || *p == '\\' || *p == '\n')
      return "";
  return s;
}

void as_metrics_observe(kube_apiserver_t *srv, const struct req *r) {
  const char *verb = verb_of(r);
  bool api = r->rt.is_api && r->rt.resource;
  const char *group = api ? part(r->rt.group) : "";
  const char *res = api ? part(r->rt.resource) : "";
  const char *sub = api ? part(r->rt.sub) : "";
  char labels[512];
  snprintf(labels, sizeof labels,
           "verb=\"%s\",group=\"%s\",resource=\"%s\",subresource=\"%s\","
           "code=\"%d\"",
           verb, group, res, sub, r->code ? r->code : 0);
  core_series_t *s = core_family_get(&srv->m_requests, labels);
  if (s)
    s->count++;
  if (streq(verb, "WATCH"))
    return;
  snprintf(labels, sizeof labels,
           "verb=\"%s\",group=\"%s\",resource=\"%s\",subresource=\"%s\"", verb,
           group, res, sub);
  if ((s = core_family_get(&srv->m_latency, labels)))
    core_hist_observe(&s->hist,
                      (double)(kube_time_mono_ns() - r->start_ns) / 1e9);
}

void as_metrics_free(kube_apiserver_t *srv) {
  core_family_clear(&srv->m_requests);
  core_family_clear(&srv->m_latency);
}

static void write_count(const core_series_t *s, void *arg) {
  kube_strbuf_printf(arg, "apiserver_request_total{%s} %llu\n", s->labels,
                     (unsigned long long)s->count);
}

static void write_hist(const core_series_t *s, void *arg) {
  core_hist_write(arg, "apiserver_request_duration_seconds", s->labels,
                  &s->hist);
}

static void write_watchers(const core_series_t *s, void *arg) {
  kube_strbuf_printf(arg, "apiserver_registered_watchers{%s} %llu\n", s->labels,
                     (unsigned long long)s->count);
}

KUBE_EXPORT int kube_apiserver_metrics_write(kube_apiserver_t *srv,
                                             kube_strbuf_t *out) {
  kube_strbuf_append(out, "# HELP apiserver_request_total Requests by verb, "
                          "group, resource, subresource and response code.\n"
                          "# TYPE apiserver_request_total counter\n");
  core_family_foreach(&srv->m_requests, write_count, out);
  kube_strbuf_append(out, "# HELP apiserver_request_duration_seconds "
                          "Response latency by verb, group, resource and "
                          "subresource (watches not included).\n"
                          "# TYPE apiserver_request_duration_seconds "
                          "histogram\n");
  core_family_foreach(&srv->m_latency, write_hist, out);
  /* Watches and requests in flight, counted now. */
  core_family_t watchers = {0};
  size_t inflight = 0;
  struct req *r;
  TAILQ_FOREACH(r, &srv->inflight, link) {
    inflight++;
    if (!r->watch)
      continue;
    char labels[256];
    snprintf(labels, sizeof labels, "group=\"%s\",resource=\"%s\"",
             part(r->rt.group), part(r->rt.resource));
    core_series_t *s = core_family_get(&watchers, labels);
    if (s)
      s->count++;
  }
  kube_strbuf_append(out, "# HELP apiserver_registered_watchers Watches "
                          "being served, by group and resource.\n"
                          "# TYPE apiserver_registered_watchers gauge\n");
  core_family_foreach(&watchers, write_watchers, out);
  core_family_clear(&watchers);
  kube_strbuf_printf(out,
                     "# HELP apiserver_current_inflight_requests Requests "
                     "being served (watches included).\n"
                     "# TYPE apiserver_current_inflight_requests gauge\n"
                     "apiserver_current_inflight_requests %zu\n",
                     inflight);
  return out->oom ? -1 : 0;
}
