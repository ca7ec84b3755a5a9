/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log (kube-apiserver's --audit-log-path with a policy of level
 * Metadata for writes): one JSON line per finished write request in the
 * audit.k8s.io/v1 Event shape (stage ResponseComplete), appended with one
 * write(2) so lines never interleave.  Past its size cap the file is
 * rotated to FILE.1 (the previous FILE.1 goes), so the log takes at most
 * twice the cap.
 */
#include <fcntl.h>
#include <sys/time.h>
#include <time.h>

#include "apiserver/authz.h"

static void micro_ts(char *buf, size_t len, int64_t ns_ago) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  int64_t us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec - ns_ago / 1000;
  time_t s = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%06dZ", base, (int)(us % 1000000));
}

static const char *verb_of(const struct req *r) {
  switch (r->method) {
  case M_POST:
    return "create";
  case M_PUT:
    return "update";
  case M_PATCH:
    return "patch";
  case M_DELETE:
    return r->rt.name ? "delete" : "deletecollection";
  default:
    return NULL;
  }
}

static void rotate(struct as_auth *a) {
  char old[4200];
  snprintf(old, sizeof old, "%s.1", a->audit_path);
  close(a->audit_fd);
  if (rename(a->audit_path, old) < 0)
    log_warn("apiserver: rotate audit log %s: %s", a->audit_path,
             strerror(errno));
  a->audit_fd =
      open(a->audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  a->audit_size = 0;
}

void as_audit_request(struct req *r, int code) {
  struct as_auth *a = r->srv->auth;
  const char *verb = verb_of(r);
  if (!a || a->audit_fd < 0 || !verb || !r->path)
    return;
  json_object *ev = json_object_new_object();
  if (!ev)
    return;
  char id[40], ts[48], ts0[48];
  kube_uuid_generate(id, sizeof id);
  micro_ts(ts, sizeof ts, 0);
  micro_ts(ts0, sizeof ts0, kube_time_mono_ns() - r->start_ns);
  json_object_object_add(ev, "kind", json_object_new_string("Event"));
  json_object_object_add(ev, "apiVersion",
                         json_object_new_string("audit.k8s.io/v1"));
  json_object_object_add(ev, "level", json_object_new_string("Metadata"));
  json_object_object_add(ev, "auditID", json_object_new_string(id));
  json_object_object_add(ev, "stage",
                         json_object_new_string("ResponseComplete"));
  const char *target = r->request_uri ? r->request_uri
                       : r->hreq      ? kube_http_request_target(r->hreq)
                                      : NULL;
  json_object_object_add(ev, "requestURI",
                         json_object_new_string(target ? target : r->path));
  json_object_object_add(ev, "verb", json_object_new_string(verb));
  json_object *user = json_object_new_object();
  json_object_object_add(
      user, "username",
      json_object_new_string(r->user && r->user->name ? r->user->name : ""));
  json_object *groups = json_object_new_array();
  for (size_t i = 0; r->user && r->user->groups && r->user->groups[i]; i++)
    json_object_array_add(groups, json_object_new_string(r->user->groups[i]));
  json_object_object_add(user, "groups", groups);
  json_object_object_add(ev, "user", user);
  const char *peer = r->peer   ? r->peer
                     : r->hreq ? kube_http_request_peer(r->hreq)
                               : NULL;
  json_object *ips = json_object_new_array();
  if (peer && *peer) {
    /* sourceIPs are addresses: "10.0.0.1:5555" and "[::1]:5555" lose
     * their port ("in-process" and unix peers stay as they are). */
    const char *end = NULL, *start = peer;
    if (peer[0] == '[' && (end = strchr(peer, ']')))
      start = peer + 1;
    else if ((end = strchr(peer, ':')) && strchr(end + 1, ':'))
      end = NULL; /* a bare IPv6 address */
    json_object_array_add(
        ips, end ? json_object_new_string_len(start, (int)(end - start))
                 : json_object_new_string(peer));
  }
  json_object_object_add(ev, "sourceIPs", ips);
  if (r->user_agent)
    json_object_object_add(ev, "userAgent",
                           json_object_new_string(r->user_agent));
  if (r->rt.is_api && r->rt.resource) {
    json_object *ref = json_object_new_object();
    json_object_object_add(ref, "resource",
                           json_object_new_string(r->rt.resource));
    if (r->rt.ns)
      json_object_object_add(ref, "namespace",
                             json_object_new_string(r->rt.ns));
    if (r->rt.name)
      json_object_object_add(ref, "name", json_object_new_string(r->rt.name));
    json_object_object_add(
        ref, "apiGroup",
        json_object_new_string(r->rt.group ? r->rt.group : ""));
    if (r->rt.version)
      json_object_object_add(ref, "apiVersion",
                             json_object_new_string(r->rt.version));
    if (r->rt.sub)
      json_object_object_add(ref, "subresource",
                             json_object_new_string(r->rt.sub));
    json_object_object_add(ev, "objectRef", ref);
  }
  json_object *rs = json_object_new_object();
  json_object_object_add(rs, "metadata", json_object_new_object());
  json_object_object_add(rs, "code", json_object_new_int(code));
  json_object_object_add(ev, "responseStatus", rs);
  json_object_object_add(ev, "requestReceivedTimestamp",
                         json_object_new_string(ts0));
  json_object_object_add(ev, "stageTimestamp", json_object_new_string(ts));
  size_t len = 0;
  const char *s = json_object_to_json_string_length(
      ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&sb, s, len);
  kube_strbuf_append_char(&sb, '\n');
  json_object_put(ev);
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    return;
  }
  if (a->audit_size + sb.len > a->audit_max && a->audit_size > 0)
    rotate(a);
  if (a->audit_fd >= 0) {
    ssize_t w = write(a->audit_fd, sb.data, sb.len);
    if (w > 0)
      a->audit_size += (size_t)w;
  }
  kube_strbuf_clear(&sb);
}
