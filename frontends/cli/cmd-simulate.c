/* SPDX-License-Identifier: Apache-2.0 */
/* kube simulate --nodes N --node-size cpu=8,memory=32Gi -f manifests/:
 * capacity planning with the real scheduler and controllers.  A
 * throw-away cluster runs in this process (kube_server_t on a memory
 * store, in a temporary directory, with N hollow nodes and no listener
 * but a unix socket there); the manifests are created in it through the
 * in-process client, and once every pod is Running or found unschedulable
 * the command prints where each pod landed, each node's requests against
 * its allocatable, and how many nodes the workload needed. */
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include <libkube/kit.h>
#include <libkube/server.h>

#include "cli.h"

#define POLL_MS 100

/* How often the pods are looked at: a LIST of every pod runs on the
 * cluster's loop, so it takes longer between looks at large workloads
 * (100 ms + 0.2 ms per pod). */
static int poll_ms(size_t pods) {
  return POLL_MS + (int)(pods / 5);
}

struct sim_pod {
  char *ns, *name, *node, *phase, *why;
  int64_t cpu_milli, memory;
  bool ready;
  double bound_s, ready_s; /* first seen, seconds after the apply; -1 */
};

struct sim {
  struct sim_pod *pods;
  size_t n;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run_server(void *arg) {
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_server_run(arg, &err) < 0)
    fprintf(stderr, "error: simulated cluster: %s\n", err.message);
  kube_error_clear(&err);
  return NULL;
}

static int rm_entry(const char *p, const struct stat *st, int flag,
                    struct FTW *f) {
  (void)st, (void)flag, (void)f;
  remove(p);
  return 0;
}

static json_object *list_json(kube_client_t *c, const char *path) {
  kube_client_request_t req = {
      .struct_size = sizeof req, .method = "GET", .path = path};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  json_object *o = NULL;
  if (kube_client_request(c, &req, &resp, NULL) == 0 && resp.status == 200)
    o = json_tokener_parse(resp.body);
  kube_client_response_clear(&resp);
  return o;
}

static const char *jstr(json_object *o, const char *k) {
  json_object *v;
  return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
                                                  : NULL;
}

static json_object *jget(json_object *o, const char *k) {
  json_object *v;
  return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* Ready nodes (the simulated cluster is usable once all N are). */
static size_t ready_nodes(kube_client_t *c) {
  json_object *l = list_json(c, "/api/v1/nodes");
  json_object *items = jget(l, "items");
  size_t n = 0;
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *conds =
        jget(jget(json_object_array_get_idx(items, i), "status"), "conditions");
    for (size_t k = 0; conds && k < json_object_array_length(conds); k++) {
      json_object *cd = json_object_array_get_idx(conds, k);
      const char *t = jstr(cd, "type"), *s = jstr(cd, "status");
      if (t && s && streq(t, "Ready") && streq(s, "True"))
        n++;
    }
  }
  json_object_put(l);
  return n;
}

/* Create every object, Namespaces first; a namespace the manifests use
 * without defining it is created too.  Returns the number of failures. */
static int create_all(kube_client_t *c, kube_manifest_t *m) {
  int failed = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < m->n; i++) {
      const kube_object_t *o = m->objects[i];
      bool ns_kind = kube_object_kind(o) && streq(kube_object_kind(o),
                                                  "Namespace");
      if (ns_kind != (pass == 0))
        continue;
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      const kube_kind_t *k = kube_client_kind_of_object(c, o, &err);
      const char *ns = kube_object_namespace(o);
      if (k && k->namespaced && ns && !streq(ns, "default")) {
        char body[400];
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                 "\"metadata\":{\"name\":\"%s\"}}",
                 ns);
        kube_object_t *nso = kube_object_from_json(body, strlen(body), NULL);
        kube_object_free(nso ? kube_client_create(c, NULL, NULL, nso, NULL,
                                                  NULL)
                             : NULL);
        kube_object_free(nso);
      }
      kube_object_t *res =
          k ? kube_client_create(c, k, k->namespaced ? (ns ? ns : "default")
                                                     : NULL,
                                 o, NULL, &err)
            : NULL;
      if (!res) {
        char ctx[600];
        snprintf(ctx, sizeof ctx, "error when creating \"%s\": ",
                 m->sources[i]);
        cli_print_error_ctx(&err, ctx);
        failed++;
      }
      kube_object_free(res);
    }
  return failed;
}

static void sim_clear(struct sim *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->pods[i].ns);
    free(s->pods[i].name);
    free(s->pods[i].node);
    free(s->pods[i].phase);
    free(s->pods[i].why);
  }
  free(s->pods);
  s->pods = NULL;
  s->n = 0;
}

static int cmp_pod(const void *a, const void *b) {
  const struct sim_pod *x = a, *y = b;
  int c = strcmp(x->ns, y->ns);
  return c ? c : strcmp(x->name, y->name);
}

/* s->pods is sorted (observe sorts each look). */
static struct sim_pod *find_pod(struct sim *s, const char *ns,
                                const char *name) {
  struct sim_pod key = {.ns = (char *)ns, .name = (char *)name};
  return s->n ? bsearch(&key, s->pods, s->n, sizeof *s->pods, cmp_pod)
              : NULL;
}

/* The pod's requests as the scheduler counts them. */
static void requests(json_object *pod, struct sim_pod *p) {
  char *text = strdup(json_object_to_json_string(pod));
  kube_object_t *o = text ? kube_object_from_json(text, strlen(text), NULL)
                          : NULL;
  kube_pod_spec_t spec;
  if (o && kube_pod_spec_from_object(o, &spec, NULL) == 0) {
    p->cpu_milli = spec.requests.cpu_milli;
    p->memory = spec.requests.memory;
    kube_pod_spec_clear(&spec);
  }
  kube_object_free(o);
  free(text);
}

/* One look at the pods: true when every pod is Running and ready, or
 * found unschedulable (the scheduler's PodScheduled=False Unschedulable),
 * and none is being deleted. */
static bool observe(kube_client_t *c, struct sim *s, double t0) {
  json_object *l = list_json(c, "/api/v1/pods");
  json_object *items = jget(l, "items");
  if (!items) {
    json_object_put(l);
    return false;
  }
  struct sim next = {0};
  size_t n = json_object_array_length(items);
  next.pods = calloc(n ? n : 1, sizeof *next.pods);
  bool settled = next.pods != NULL;
  for (size_t i = 0; next.pods && i < n; i++) {
    json_object *pod = json_object_array_get_idx(items, i);
    json_object *meta = jget(pod, "metadata"), *st = jget(pod, "status");
    struct sim_pod *p = &next.pods[next.n++];
    p->ns = strdup(jstr(meta, "namespace") ? jstr(meta, "namespace") : "");
    p->name = strdup(jstr(meta, "name") ? jstr(meta, "name") : "");
    const char *node = jstr(jget(pod, "spec"), "nodeName");
    p->node = node && *node ? strdup(node) : NULL;
    p->phase = strdup(jstr(st, "phase") ? jstr(st, "phase") : "Pending");
    json_object *conds = jget(st, "conditions");
    bool unsched = false;
    for (size_t k = 0; conds && k < json_object_array_length(conds); k++) {
      json_object *cd = json_object_array_get_idx(conds, k);
      const char *t = jstr(cd, "type"), *v = jstr(cd, "status");
      if (t && v && streq(t, "Ready") && streq(v, "True"))
        p->ready = true;
      if (t && v && streq(t, "PodScheduled") && streq(v, "False")) {
        unsched = true;
        free(p->why);
        p->why = jstr(cd, "message") ? strdup(jstr(cd, "message")) : NULL;
      }
    }
    struct sim_pod *old = find_pod(s, p->ns, p->name);
    if (old) { /* a pod's requests do not change */
      p->cpu_milli = old->cpu_milli;
      p->memory = old->memory;
    } else {
      requests(pod, p);
    }
    p->bound_s = old && old->bound_s >= 0 ? old->bound_s
                 : p->node                ? now_s() - t0
                                          : -1;
    p->ready_s = old && old->ready_s >= 0 ? old->ready_s
                 : p->ready               ? now_s() - t0
                                          : -1;
    if (jget(meta, "deletionTimestamp") ||
        (!(p->node && p->ready) && !(unsched && !p->node)))
      settled = false;
  }
  json_object_put(l);
  if (next.n)
    qsort(next.pods, next.n, sizeof *next.pods, cmp_pod);
  sim_clear(s);
  *s = next;
  return settled;
}

/* ---- the report ---------------------------------------------------------- */

struct table {
  size_t cols, n;
  char **cells;
};

static void cell(struct table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void cell(struct table *t, const char *fmt, ...) {
  char **c = realloc(t->cells, (t->n + 1) * sizeof *c);
  if (!c)
    return;
  t->cells = c;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&t->cells[t->n], fmt, ap) < 0)
    t->cells[t->n] = NULL;
  va_end(ap);
  t->n++;
}

static void table_print(struct table *t) {
  size_t *w = calloc(t->cols, sizeof *w);
  for (size_t i = 0; w && i < t->n; i++) {
    size_t l = (t->cells[i] ? strlen(t->cells[i]) : 0) + 3;
    if (l > w[i % t->cols])
      w[i % t->cols] = l;
  }
  for (size_t i = 0; w && i < t->n; i++) {
    bool last = i % t->cols == t->cols - 1;
    printf("%-*s", last ? 0 : (int)w[i % t->cols],
           t->cells[i] ? t->cells[i] : "");
    if (last)
      putchar('\n');
  }
  for (size_t i = 0; i < t->n; i++)
    free(t->cells[i]);
  free(t->cells);
  free(w);
}

static void fmt_mem(int64_t b, char *out, size_t len) {
  if (b % (1LL << 30) == 0 && b)
    snprintf(out, len, "%lldGi", (long long)(b >> 30));
  else if (b >= 1LL << 20 || b == 0)
    snprintf(out, len, "%lldMi", (long long)(b >> 20));
  else
    snprintf(out, len, "%lld", (long long)b);
}

static int pct(int64_t a, int64_t b) {
  return b > 0 ? (int)(a * 100 / b) : 0;
}

static void fmt_time(double s, char *out, size_t len) {
  if (s < 0)
    snprintf(out, len, "-");
  else
    snprintf(out, len, "%.1fs", s);
}

struct node_row {
  const char *name;
  size_t pods;
  int64_t cpu, mem;
};

struct outcome {
  size_t unschedulable, used; /* pods without a node; nodes with pods */
  long long lower_bound;      /* nodes the requests need at least */
};

static void report(struct sim *s, unsigned nodes, const char *prefix,
                   const kube_resource_list_t *size, int every_ms,
                   struct outcome *out) {
  qsort(s->pods, s->n, sizeof *s->pods, cmp_pod);
  struct table t = {.cols = 7};
  cell(&t, "NAMESPACE");
  cell(&t, "POD");
  cell(&t, "NODE");
  cell(&t, "CPU");
  cell(&t, "MEMORY");
  cell(&t, "SCHEDULED");
  cell(&t, "RUNNING");
  struct node_row *rows = calloc(nodes, sizeof *rows);
  size_t unsched = 0;
  const char *why = NULL;
  int64_t cpu_sum = 0, mem_sum = 0;
  double last_bound = -1, last_ready = -1;
  for (size_t i = 0; i < s->n; i++) {
    struct sim_pod *p = &s->pods[i];
    last_bound = fmax(last_bound, p->bound_s);
    last_ready = fmax(last_ready, p->ready_s);
    char mem[32], b[32], r[32];
    fmt_mem(p->memory, mem, sizeof mem);
    fmt_time(p->bound_s, b, sizeof b);
    fmt_time(p->ready_s, r, sizeof r);
    cell(&t, "%s", p->ns);
    cell(&t, "%s", p->name);
    cell(&t, "%s", p->node ? p->node : "<unschedulable>");
    cell(&t, "%lldm", (long long)p->cpu_milli);
    cell(&t, "%s", mem);
    cell(&t, "%s", b);
    cell(&t, "%s", r);
    cpu_sum += p->cpu_milli;
    mem_sum += p->memory;
    if (!p->node) {
      unsched++;
      why = why ? why : p->why;
      continue;
    }
    size_t plen = strlen(prefix);
    char *end;
    unsigned long idx = strtoul(p->node + plen, &end, 10);
    if (rows && str_has_prefix(p->node, prefix) && !*end && idx < nodes) {
      rows[idx].pods++;
      rows[idx].cpu += p->cpu_milli;
      rows[idx].mem += p->memory;
    }
  }
  table_print(&t);
  putchar('\n');
  struct table nt = {.cols = 4};
  cell(&nt, "NODE");
  cell(&nt, "PODS");
  cell(&nt, "CPU REQUESTS");
  cell(&nt, "MEMORY REQUESTS");
  size_t used = 0;
  for (unsigned i = 0; rows && i < nodes; i++) {
    if (!rows[i].pods)
      continue;
    used++;
    char mem[32], alloc[32];
    fmt_mem(rows[i].mem, mem, sizeof mem);
    fmt_mem(size->memory, alloc, sizeof alloc);
    cell(&nt, "%s%u", prefix, i);
    cell(&nt, "%zu/%lld", rows[i].pods, (long long)size->pods);
    cell(&nt, "%lldm/%lldm (%d%%)", (long long)rows[i].cpu,
         (long long)size->cpu_milli, pct(rows[i].cpu, size->cpu_milli));
    cell(&nt, "%s/%s (%d%%)", mem, alloc, pct(rows[i].mem, size->memory));
  }
  table_print(&nt);
  free(rows);
  /* What no placement can beat: the requests over one node's capacity. */
  double lb = 0;
  if (size->cpu_milli > 0)
    lb = fmax(lb, ceil((double)cpu_sum / (double)size->cpu_milli));
  if (size->memory > 0)
    lb = fmax(lb, ceil((double)mem_sum / (double)size->memory));
  if (size->pods > 0)
    lb = fmax(lb, ceil((double)s->n / (double)size->pods));
  char tb[32], tr[32];
  fmt_time(last_bound, tb, sizeof tb);
  fmt_time(last_ready, tr, sizeof tr);
  printf("\n%zu pods: %zu placed on %zu of %u nodes, %zu unschedulable\n",
         s->n, s->n - unsched, used, nodes, unsched);
  if (unsched)
    printf("unschedulable: %s\n", why ? why : "(no reason given)");
  printf("placed pods: the last scheduled %s and Running %s after the "
         "manifests were\ncreated (observed every %d ms)\n",
         tb, tr, every_ms);
  out->unschedulable = unsched;
  out->used = used;
  out->lower_bound = (long long)lb;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Pods without a node and nodes with pods (quiet runs). */
static void tally(const struct sim *s, struct outcome *out) {
  out->unschedulable = out->used = 0;
  for (size_t i = 0; i < s->n; i++) {
    const struct sim_pod *p = &s->pods[i];
    if (!p->node) {
      out->unschedulable++;
      continue;
    }
  }
  const char **v = calloc(s->n ? s->n : 1, sizeof *v);
  size_t n = 0;
  for (size_t i = 0; v && i < s->n; i++)
    if (s->pods[i].node)
      v[n++] = s->pods[i].node;
  if (v && n)
    qsort(v, n, sizeof *v, cmp_str);
  for (size_t i = 0; v && i < n; i++)
    out->used += i == 0 || !streq(v[i], v[i - 1]);
  free(v);
}

/* ---- the command --------------------------------------------------------- */

static void usage(void) {
  printf("Run manifests in a throw-away in-process cluster of hollow "
         "nodes and report\n"
         "where every pod lands and how many nodes the workload needs "
         "(the real\n"
         "scheduler and controllers; no container runs).\n\n"
         "Usage:\n"
         "  kube simulate --nodes N [--node-size cpu=8,memory=32Gi,pods=110] "
         "-f FILE|DIR...\n\n"
         "Options:\n"
         "  --nodes N                  hollow nodes (default 3)\n"
         "  --node-size SPEC           each node's capacity (default\n"
         "                             cpu=4,memory=16Gi,pods=110)\n"
         "  -f, --filename FILE        manifests (files, directories, -); "
         "repeatable\n"
         "  -R, --recursive            directories recursively\n"
         "  --scheduler-config FILE    scheduler settings (kubed server's)\n"
         "  --timeout SECONDS          how long to wait for the pods to "
         "settle (default 120)\n"
         "  --search=false             when pods do not fit, do not run "
         "again on more\n"
         "                             nodes to find how many the workload "
         "needs\n\n"
         "Exit status: 0 when every pod was placed, 3 when some did not "
         "fit.\n");
}

struct sim_flags {
  int64_t nodes, timeout;
  const char *size, *sched_config;
  struct cli_strv files;
  bool recursive, help, search;
};

/* The node size as the scheduler sees it (for the report). */
static int parse_size(const char *spec, kube_resource_list_t *out) {
  char json[600] = "{";
  cleanup_free char *copy = strdup(spec ? spec : "");
  char *save = NULL;
  bool pods = false;
  for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
       t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq) {
      kube_resource_list_clear(out);
      return -1;
    }
    *eq = '\0';
    pods |= streq(t, "pods");
    size_t l = strlen(json);
    snprintf(json + l, sizeof json - l, "%s\"%s\":\"%s\"", l > 1 ? "," : "", t,
             eq + 1);
  }
  strncat(json, "}", sizeof json - strlen(json) - 1);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (strlen(json) >= sizeof json - 1 ||
      kube_resource_list_parse(json, out, &err) < 0)
    return -1;
  if (!(out->present & KUBE_RESOURCE_CPU))
    out->cpu_milli = 4000;
  if (!(out->present & KUBE_RESOURCE_MEMORY))
    out->memory = 16LL << 30;
  if (!pods)
    out->pods = 110;
  return 0;
}

/* One throw-away cluster of `nodes` hollow nodes with the manifests in
 * it, until the pods settled: *s is what was seen last.  0, or 1 after
 * printing what failed. */
static int run_cluster(const struct sim_flags *f, kube_manifest_t *m,
                       long long nodes, struct sim *s, bool quiet) {
  char dir[] = "/tmp/kube-simulate-XXXXXX", sock[600];
  if (!mkdtemp(dir))
    return cli_fail("cannot create a temporary directory: %m");
  snprintf(sock, sizeof sock, "unix:%s/kubed.sock", dir);
  const char *listen[] = {sock, NULL};
  kube_node_hollow_options_t ho = {.struct_size = sizeof ho,
                                   .count = (unsigned)nodes,
                                   .size = f->size};
  kube_server_options_t so = {.struct_size = sizeof so,
                              .data_dir = dir,
                              .listen = listen,
                              .store = "memory",
                              /* a pod CIDR for every node: 65,536 blocks
                               * of /24, 131,072 of /25 (110 pods fit) */
                              .cluster_cidr = "10.0.0.0/8",
                              .node_cidr_mask_size = nodes > 65536 ? 25 : 24,
                              .service_cidr = "172.20.0.0/16",
                              .scheduler_config = f->sched_config,
                              .no_leader_elect = true,
                              .no_registry = true,
                              .no_dashboard = true,
                              .no_dns = true,
                              .hollow = &ho};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_server_t *srv = kube_server_new(&so, &err);
  kube_client_t *c = NULL;
  pthread_t th;
  bool running = false;
  int rc = 1;
  if (!srv) {
    cli_fail("simulated cluster: %s", err.message);
    goto out;
  }
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  kube_client_options_t co = {.struct_size = sizeof co, .timeout_ms = 30000};
  if (!(c = kube_client_new_transport(kube_server_loop(srv), &tp, &co, &err))) {
    cli_report(&err);
    goto out;
  }
  if (pthread_create(&th, NULL, run_server, srv) != 0) {
    cli_fail("cannot start a thread");
    goto out;
  }
  running = true;
  double t0 = now_s();
  while (ready_nodes(c) < (size_t)nodes && now_s() - t0 < f->timeout)
    usleep(POLL_MS * 1000);
  if (ready_nodes(c) < (size_t)nodes) {
    cli_fail("the %lld hollow nodes were not Ready after %llds", nodes,
             (long long)f->timeout);
    goto out;
  }
  fprintf(stderr, "simulating %lld nodes (%s) in %s\n", nodes,
          f->size ? f->size : "cpu=4,memory=16Gi,pods=110", dir);
  t0 = now_s();
  if (create_all(c, m) > 0)
    goto out;
  /* Settled: three looks in a row that agree (controllers create pods
   * in steps: a Deployment, then its ReplicaSet, then the pods). */
  int calm = 0;
  size_t last_n = (size_t)-1;
  while (now_s() - t0 < f->timeout) {
    bool settled = observe(c, s, t0);
    calm = settled && s->n == last_n ? calm + 1 : 0;
    last_n = s->n;
    if (calm >= 3 && now_s() - t0 > 1.0)
      break;
    usleep((useconds_t)poll_ms(s->n) * 1000);
  }
  if (calm < 3 && !quiet)
    fprintf(stderr, "warning: the pods had not settled after %llds; the "
                    "report shows them as they were\n",
            (long long)f->timeout);
  rc = 0;
out:
  kube_client_free(c);
  if (running) {
    kube_server_stop(srv);
    pthread_join(th, NULL);
  }
  kube_server_free(srv);
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}

/* Some pods did not fit on --nodes: run again on more nodes (from the
 * lower bound, doubling, at most 5 runs) and say how many the placement
 * used once everything fitted. */
static void search(const struct sim_flags *f, kube_manifest_t *m,
                   const struct outcome *first) {
  long long t = first->lower_bound + first->lower_bound / 10 + 1;
  if (t <= f->nodes)
    t = f->nodes * 2;
  for (int i = 0; i < 5 && t <= 100000; i++, t *= 2) {
    struct sim s = {0};
    struct outcome o = {0};
    int rc = run_cluster(f, m, t, &s, true);
    tally(&s, &o);
    sim_clear(&s);
    if (rc)
      return;
    if (!o.unschedulable) {
      printf("nodes needed: %zu (another run on %lld nodes placed every "
             "pod on %zu of them); lower bound from requests: %lld\n",
             o.used, t, o.used, first->lower_bound);
      return;
    }
  }
  printf("nodes needed: more than %lld (some pods fit on no node of this "
         "size?); lower bound from requests: %lld\n",
         t / 2, first->lower_bound);
}

int cmd_simulate(int argc, char **argv) {
  struct sim_flags f = {.nodes = 3, .timeout = 120, .search = true};
  const struct cli_flag flags[] = {
      {"nodes", 0, CLI_INT, &f.nodes, NULL},
      {"node-size", 0, CLI_STRING, &f.size, NULL},
      {"filename", 'f', CLI_STRINGS, &f.files, NULL},
      {"recursive", 'R', CLI_BOOL, &f.recursive, NULL},
      {"scheduler-config", 0, CLI_STRING, &f.sched_config, NULL},
      {"timeout", 0, CLI_INT, &f.timeout, NULL},
      {"search", 0, CLI_BOOL, &f.search, NULL},
      {"help", 'h', CLI_BOOL, &f.help, NULL},
      {NULL, 0, 0, NULL, NULL}};
  cleanup_free char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  cleanup_free const char **files_v = f.files.v;
  if (f.help) {
    usage();
    return 0;
  }
  if (npos > 0)
    return cli_fail("unexpected argument %s", pos[0]);
  if (f.nodes < 1 || f.nodes > 100000)
    return cli_fail("--nodes must be between 1 and 100000");
  if (f.timeout < 1)
    return cli_fail("--timeout must be at least 1 second");
  if (!f.files.n)
    return cli_fail("must specify one of -f and -k (the manifests to "
                    "simulate)");
  kube_resource_list_t size = {0};
  if (parse_size(f.size, &size) < 0)
    return cli_fail("bad --node-size %s (want cpu=8,memory=32Gi,pods=110)",
                    f.size);
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  if (cli_read_files(&f.files, f.recursive, &m) < 0) {
    kube_resource_list_clear(&size);
    return 1;
  }
  /* The cluster's own warnings (a node lifecycle controller seeing nodes
   * that just registered not Ready yet) are no news for the user. */
  kube_log_set_level(KUBE_LOG_ERROR);
  struct sim s = {0};
  struct outcome o = {0};
  int rc = run_cluster(&f, &m, f.nodes, &s, false);
  if (!rc) {
    report(&s, (unsigned)f.nodes, "hollow-node-", &size, poll_ms(s.n), &o);
    if (!o.unschedulable)
      printf("nodes needed: %zu (the scheduler's placement); lower bound "
             "from requests: %lld\n",
             o.used, o.lower_bound);
    else if (f.search)
      search(&f, &m, &o);
    else
      printf("nodes needed: more than %lld; lower bound from requests: "
             "%lld\n",
             (long long)f.nodes, o.lower_bound);
    rc = o.unschedulable ? 3 : 0;
  }
  sim_clear(&s);
  kube_manifest_clear(&m);
  kube_resource_list_clear(&size);
  return rc;
}
