/* SPDX-License-Identifier: Apache-2.0 */
/* What the Endpoints and EndpointSlice controllers share
 * (endpoints-util.c). */
#ifndef KUBE_CONTROLLER_ENDPOINTS_H
#define KUBE_CONTROLLER_ENDPOINTS_H

#include "controller/internal.h"

/* Services of the namespaces and their compiled selectors, and the pods
 * they select, kept for one controller. */
struct ep_services {
  kube_informer_t *inf;
  struct strmap sel; /* service key -> struct ep_sel */
};

int ctl_ep_services_init(struct ep_services *es, kube_controller_manager_t *m,
                         kube_error_t *err);
void ctl_ep_services_clear(struct ep_services *es);
/* Drop the cached selector of a Service that went away. */
void ctl_ep_services_forget(struct ep_services *es, const char *key);
/* The selector of a Service (NULL: no selector, or not ours to manage:
 * ExternalName).  Borrowed, valid until the Service changes. */
const kube_selector_t *ctl_ep_service_selector(struct ep_services *es,
                                               const char *key,
                                               json_object *svc);
/* Call fn for every Service of ns whose selector matches the labels. */
void ctl_ep_services_matching(struct ep_services *es, const char *ns,
                              char *const *labels,
                              void (*fn)(const char *key, void *arg),
                              void *arg);
/* podEndpointsChanged: whether a pod change can change endpoints. */
bool ctl_ep_pod_changed(const struct ctl_pod *a, const struct ctl_pod *b);
/* A pod listener's work: when pod old -> cur (either NULL) can change
 * endpoints, the Services matching either go into c's queue.  A change of
 * a pod that stays (readiness, addresses) among ns_pods others is folded
 * with the others of its burst: a sync reads every pod of the namespace,
 * so with 1,000 pods and more the Service waits 10 ms per 1,000 pods (at
 * most EP_COALESCE_MAX_MS) and a rollout of N pods costs N/100 syncs of N, not
 * N.  Pods coming and going queue it at once. */
#define EP_COALESCE_MAX_MS 200
void ctl_ep_pod_enqueue(struct ep_services *es, kube_controller_t *c,
                        const struct ctl_pod *old, const struct ctl_pod *cur,
                        size_t ns_pods);

/* ShouldPodBeInEndpoints */
bool ctl_ep_pod_included(const struct ctl_pod *p, bool include_terminating);
/* ShouldSetHostname */
bool ctl_ep_set_hostname(const struct ctl_pod *p, json_object *svc);
/* The pod IP of the Service's family (IPv4 unless the Service says IPv6),
 * or NULL. */
const char *ctl_ep_pod_ip(const struct ctl_pod *p, json_object *svc);
/* FindPort: the container port a service port targets on the pod; -1 when
 * a named port is not found. */
int32_t ctl_ep_find_port(const struct ctl_pod *p, json_object *svc_port);
/* Whether the Service has a ClusterIP (not headless). */
bool ctl_ep_service_ip_set(json_object *svc);

#endif /* KUBE_CONTROLLER_ENDPOINTS_H */
