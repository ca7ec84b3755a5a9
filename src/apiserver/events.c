/* SPDX-License-Identifier: Apache-2.0 */
/* core/v1 Event objects for the transitions the apiserver itself makes
 * (binding a pod, ...), queryable with involvedObject.* field selectors. */
#include <time.h>

#include "apiserver/internal.h"

void as_event_record(kube_apiserver_t *srv, json_object *involved,
                     const kube_kind_t *k, const char *type, const char *reason,
                     const char *message) {
  const kube_kind_t *evk = kube_kind_by_resource("", "v1", "events");
  if (!evk || srv->shutting_down)
    return;
  const char *name = kube_json_get_string(involved, "metadata.name");
  const char *ns = kube_json_get_string(involved, "metadata.namespace");
  const char *uid = kube_json_get_string(involved, "metadata.uid");
  const char *rv = kube_json_get_string(involved, "metadata.resourceVersion");
  if (!name)
    return;
  if (!ns || !*ns)
    ns = "default";
  char evname[320], ts[40], micro[40], apiv[128];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(evname, sizeof evname, "%.250s.%016llx", name,
           (unsigned long long)now.tv_sec * 1000000000ull +
               (unsigned long long)now.tv_nsec);
  kube_time_format(now.tv_sec, ts, sizeof ts);
  kube_time_format_micro(&now, micro, sizeof micro);
  kube_kind_api_version(k, apiv, sizeof apiv);
  json_object *ev = json_object_new_object();
  json_object *m = json_object_new_object();
  json_object_object_add(m, "name", json_object_new_string(evname));
  json_object_object_add(m, "namespace", json_object_new_string(ns));
  json_object_object_add(ev, "metadata", m);
  json_object *io = json_object_new_object();
  json_object_object_add(io, "kind", json_object_new_string(k->kind));
  json_object_object_add(io, "namespace", json_object_new_string(ns));
  json_object_object_add(io, "name", json_object_new_string(name));
  if (uid)
    json_object_object_add(io, "uid", json_object_new_string(uid));
  json_object_object_add(io, "apiVersion", json_object_new_string(apiv));
  if (rv)
    json_object_object_add(io, "resourceVersion", json_object_new_string(rv));
  json_object_object_add(ev, "involvedObject", io);
  json_object_object_add(ev, "reason", json_object_new_string(reason));
  json_object_object_add(ev, "message", json_object_new_string(message));
  json_object *src = json_object_new_object();
  json_object_object_add(src, "component",
                         json_object_new_string(streq(reason, "Scheduled")
                                                    ? "default-scheduler"
                                                    : "kube-apiserver"));
  json_object_object_add(ev, "source", src);
  json_object_object_add(ev, "firstTimestamp", json_object_new_string(ts));
  json_object_object_add(ev, "lastTimestamp", json_object_new_string(ts));
  json_object_object_add(ev, "eventTime", json_object_new_string(micro));
  json_object_object_add(ev, "count", json_object_new_int(1));
  json_object_object_add(ev, "type", json_object_new_string(type));
  json_object_object_add(ev, "reportingComponent",
                         json_object_new_string(streq(reason, "Scheduled")
                                                    ? "default-scheduler"
                                                    : "kube-apiserver"));
  json_object_object_add(ev, "reportingInstance",
                         json_object_new_string("kubed"));
  json_object_object_add(ev, "action", json_object_new_string(reason));
  as_apiserver_internal_create(srv, evk, ev);
}
