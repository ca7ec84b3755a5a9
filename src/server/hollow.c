/* SPDX-License-Identifier: Apache-2.0 */
/* Hollow nodes as a server component ("hollow"): kube_node_hollow over
 * the server's in-process transport and shared informers, so N simulated
 * nodes cost the process one pod cache, the scheduler's and the
 * controllers' (`kubed server --hollow-nodes N`, `kube simulate`). */
#include <libkube/kit.h>
#include <libkube/node.h>

#include "server/internal.h"

struct hollow_component {
  kube_node_hollow_options_t o; /* strings owned */
  char **labels;
  kube_node_hollow_t *set;
};

static void hollow_free(void *impl) {
  struct hollow_component *c = impl;
  if (!c)
    return;
  kube_node_hollow_free(c->set);
  free((char *)c->o.name_prefix);
  free((char *)c->o.cpu);
  free((char *)c->o.memory);
  free((char *)c->o.ephemeral_storage);
  free((char *)c->o.size);
  free((char *)c->o.pod_cidr);
  for (size_t i = 0; c->labels && c->labels[i]; i++)
    free(c->labels[i]);
  free(c->labels);
  free(c);
}

static bool dup_str(const char **s) {
  return !*s || (*s = strdup(*s)) != NULL;
}

void *srv_hollow_new(const kube_node_hollow_options_t *opts,
                     kube_error_t *err) {
  struct hollow_component *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  core_opts_copy(&c->o, opts);
  c->o.struct_size = sizeof c->o;
  const char **s[] = {&c->o.name_prefix, &c->o.cpu,  &c->o.memory,
                      &c->o.ephemeral_storage, &c->o.size, &c->o.pod_cidr};
  bool ok = true;
  for (size_t i = 0; i < ARRAY_SIZE(s); i++)
    if (ok && !dup_str(s[i]))
      ok = false;
    else if (!ok)
      *s[i] = NULL;
  size_t n = 0;
  while (opts->labels && opts->labels[n])
    n++;
  if (ok && (c->labels = calloc(n + 1, sizeof *c->labels)))
    for (size_t i = 0; i < n && ok; i++)
      ok = (c->labels[i] = strdup(opts->labels[i])) != NULL;
  c->o.labels = (const char *const *)c->labels;
  if (!ok || !c->labels) {
    hollow_free(c);
    kube_make_oom(err);
    return NULL;
  }
  return c;
}

static int hollow_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct hollow_component *c = impl;
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  kube_informer_factory_t *inf = kube_server_informers(srv, err);
  if (!inf ||
      !(c->set = kube_node_hollow_new(kube_server_loop(srv), &tp, inf, &c->o,
                                      err)))
    return kube_error_wrap(err, "hollow nodes");
  return 0;
}

static int hollow_start(void *impl, kube_error_t *err) {
  struct hollow_component *c = impl;
  if (kube_node_hollow_start(c->set, err) < 0)
    return kube_error_wrap(err, "hollow nodes");
  return 0;
}

static void hollow_drain(void *impl, kube_component_drained_fn drained,
                         void *token) {
  struct hollow_component *c = impl;
  kube_node_hollow_drain(c->set, drained, token);
}

/* The set's informer registrations must go before the factory. */
static void hollow_stop(void *impl) {
  struct hollow_component *c = impl;
  kube_node_hollow_free(c->set);
  c->set = NULL;
}

const kube_component_ops_t srv_hollow_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "hollow",
    .init = hollow_init,
    .start = hollow_start,
    .drain = hollow_drain,
    .stop = hollow_stop,
    .free = hollow_free,
};
