/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-scale: issue #12's scale run, 5,000 hollow nodes and 150,000 pods
 * on one `kubed server` (sqlite store, --no-node, scheduler and all
 * controllers, `--hollow-nodes N` inside the same process).
 *
 *  1. kubed starts; the bench waits until every hollow node is Ready.
 *  2. D Deployments of P/D replicas each, K of them rolling out at once
 *     (the next created as one completes: ClusterLoader2 paces its
 *     creates too; all 30 at once only measure how a 2-core kubed
 *     drowns); the bench reads the Deployments' status every second until
 *     all P replicas are available (Running and Ready: minReadySeconds 0).
 *       scale_5000_nodes_150000_pods_s = create -> all available
 *       scale_pods_per_s = P / that
 *  3. Then, on the quiet cluster:
 *       scale_list_all_pods_ms    one unpaginated GET /api/v1/pods
 *       scale_kubectl_chunked_ms  kubectl get pods -A --chunk-size=500
 *       scale_watch_rss_kb_per_watch  kubed's RSS growth per idle watch of
 *                                 all pods (W watches opened, then a
 *                                 pod write each of them receives)
 *       scale_store_mb            size of the data dir (sqlite + WAL)
 *       scale_kubed_rss_mb        kubed's peak RSS (VmHWM) over the run
 *
 * A bench, not a test: bounded (--timeout for step 2, default 1,500 s).
 * Prints a table; with --json one JSON object on its last line.  --size
 * tiny is a smoke run (50 nodes, 500 pods) of the same code.
 *
 * usage: bench-scale [--kubed PATH] [--store sqlite|memory]
 *                    [--size tiny|full] [--nodes N] [--pods P]
 *                    [--deployments D] [--parallel K] [--watches W]
 *                    [--timeout S]
 *                    [--keep] [--json]
 */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <libkube/kit.h>

#include "../bench-util.h"
#include "api/api-private.h"

#define TOKEN "bench-token"
#define NS "bench"

static const char *KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";

struct kubed {
  pid_t pid, drain;
  int port;
  char dir[256];
  char url[64];  /* https: kubectl's, through data/kubeconfig.yaml */
  char sock[300]; /* unix:PATH, the bench's own client and watches */
};

/* ---- kubed ---- */

/* The CIDR that holds `nodes` /24 pod CIDRs. */
static const char *cluster_cidr(int nodes) {
  return nodes <= 256 ? "10.42.0.0/16" : "10.0.0.0/8";
}

static int kubed_start(struct kubed *k, const char *bin, const char *store,
                       int nodes) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(k->dir, sizeof k->dir, "%s/bench-scale-XXXXXX", tmp);
  if (!mkdtemp(k->dir))
    return -1;
  char data[300], log[300], hollow[16];
  snprintf(data, sizeof data, "%s/data", k->dir);
  snprintf(k->sock, sizeof k->sock, "unix:%s/kubed.sock", k->dir);
  snprintf(log, sizeof log, "%s/kubed.log", k->dir);
  snprintf(hollow, sizeof hollow, "%d", nodes);
  int out[2];
  if (pipe(out) < 0)
    return -1;
  k->pid = fork();
  if (k->pid < 0)
    return -1;
  if (k->pid == 0) {
    /* kubed goes when the bench does, however it ends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], 1);
    close(out[0]);
    int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lfd >= 0)
      dup2(lfd, 2);
    const char *level = getenv("BENCH_KUBED_LOG_LEVEL");
    const char *argv[] = {bin, "server", "--data-dir", data, "--listen",
                          "tcp:127.0.0.1:0", "--listen", k->sock,
                          "--store", store, "--token", TOKEN, "--no-registry",
                          "--log-level", level ? level : "warning",
                          "--no-node", "--hollow-nodes", hollow,
                          "--cluster-cidr", cluster_cidr(nodes), NULL};
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(out[1]);
  k->port = bench_read_port(out[0], now() + 60, "listening on https://127.0.0.1:");
  /* kubed keeps writing to stdout: drained by a child of ours. */
  if ((k->drain = fork()) == 0) {
    char sink[4096];
    while (read(out[0], sink, sizeof sink) > 0)
      ;
    _exit(0);
  }
  close(out[0]);
  if (k->port <= 0)
    return -1;
  snprintf(k->url, sizeof k->url, "https://127.0.0.1:%d", k->port);
  return 0;
}

static void kubed_stop(struct kubed *k, bool keep) {
  if (k->pid > 0) {
    kill(k->pid, SIGTERM);
    /* A kubed holding 150,000 pods may take a while to drain; not
     * forever. */
    int i = 0;
    while (waitpid(k->pid, NULL, WNOHANG) == 0 && i++ < 300)
      usleep(100000);
    if (i > 300) {
      fprintf(stderr, "bench-scale: kubed did not stop in 30 s: killed\n");
      kill(k->pid, SIGKILL);
      waitpid(k->pid, NULL, 0);
    }
  }
  if (k->drain > 0)
    waitpid(k->drain, NULL, 0);
  k->pid = k->drain = -1;
  if (keep) {
    fprintf(stderr, "bench-scale: kept %s\n", k->dir);
    return;
  }
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/rm", "rm", "-rf", k->dir, (char *)NULL);
    _exit(127);
  }
  if (p > 0)
    waitpid(p, NULL, 0);
}

/* A field of /proc/PID/status in kB (-1: unknown). */
static long status_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  long kb = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, n) && line[n] == ':')
      kb = strtol(line + n + 1, NULL, 10);
  if (f)
    fclose(f);
  return kb;
}

static double load1(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "re");
  if (f && fscanf(f, "%lf", &l) != 1)
    l = -1;
  if (f)
    fclose(f);
  return l;
}

static long long du_bytes;
static int du_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  if (flag == FTW_F)
    du_bytes += st->st_size;
  return 0;
}

/* ---- API ---- */

/* A request; the response's status (-1: none), the body in *resp. */
static int req(kube_client_t *c, const char *method, const char *path,
               const char *query, const char *body,
               kube_client_response_t *resp) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_request_t r = {.struct_size = sizeof r,
                             .method = method,
                             .path = path,
                             .query = query,
                             .content_type = body ? "application/json" : NULL,
                             .body = body,
                             .body_len = body ? strlen(body) : 0};
  int rc = kube_client_request(c, &r, resp, &err);
  if (rc < 0)
    fprintf(stderr, "bench-scale: %s %s: %s\n", method, path,
            err.message ? err.message : "failed");
  kube_error_clear(&err);
  return rc < 0 ? -1 : resp->status;
}

static int ready_nodes(kube_client_t *c) {
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  int n = 0;
  if (req(c, "GET", "/api/v1/nodes", NULL, NULL, &resp) == 200) {
    json_object *l = json_tokener_parse(resp.body), *items = NULL;
    if (l && json_object_object_get_ex(l, "items", &items))
      for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *conds = kube_json_get(
            json_object_array_get_idx(items, i), "status.conditions");
        for (size_t j = 0; conds && j < json_object_array_length(conds); j++) {
          json_object *cd = json_object_array_get_idx(conds, j), *t, *s;
          if (json_object_object_get_ex(cd, "type", &t) &&
              json_object_object_get_ex(cd, "status", &s) &&
              !strcmp(json_object_get_string(t), "Ready") &&
              !strcmp(json_object_get_string(s), "True"))
            n++;
        }
      }
    json_object_put(l);
  }
  kube_client_response_clear(&resp);
  return n;
}

static const char *DEPLOY_FMT =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
    "\"name\":\"web-%d\",\"namespace\":\"" NS "\"},\"spec\":{\"replicas\":%d,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web-%d\"}},\"template\":{"
    "\"metadata\":{\"labels\":{\"app\":\"web-%d\"}},\"spec\":{\"containers\""
    ":[{\"name\":\"app\",\"image\":\"registry.k8s.io/pause:3.10\","
    "\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"16Mi\"}}}]}}}}";

struct counts {
  long replicas, available;
  int complete; /* Deployments with all their replicas available */
};

static int deploy_counts(kube_client_t *c, struct counts *out) {
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  int rc = -1;
  memset(out, 0, sizeof *out);
  if (req(c, "GET", "/apis/apps/v1/namespaces/" NS "/deployments", NULL, NULL,
          &resp) == 200) {
    json_object *l = json_tokener_parse(resp.body), *items = NULL;
    if (l && json_object_object_get_ex(l, "items", &items)) {
      rc = 0;
      for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *d = json_object_array_get_idx(items, i);
        json_object *r = kube_json_get(d, "status.replicas");
        json_object *a = kube_json_get(d, "status.availableReplicas");
        json_object *want = kube_json_get(d, "spec.replicas");
        out->replicas += r ? json_object_get_int64(r) : 0;
        out->available += a ? json_object_get_int64(a) : 0;
        out->complete += a && want &&
                         json_object_get_int64(a) == json_object_get_int64(want);
      }
    }
    json_object_put(l);
  }
  kube_client_response_clear(&resp);
  return rc;
}

/* ---- idle watches (raw sockets: the bench reads nothing) ---- */

static int watch_open(const char *sock, const char *rv) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock + strlen("unix:"));
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  char r[512];
  int n = snprintf(r, sizeof r,
                   "GET /api/v1/pods?watch=1&resourceVersion=%s HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\nAuthorization: Bearer " TOKEN "\r\n"
                   "Accept: application/json\r\n\r\n",
                   rv);
  if (write(fd, r, (size_t)n) != n) {
    close(fd);
    return -1;
  }
  return fd;
}

/* ---- main ---- */

static void usage(FILE *f) {
  fprintf(f, "usage: bench-scale [--kubed PATH] [--store sqlite|memory]"
             " [--size tiny|full] [--nodes N] [--pods P] [--deployments D]"
             " [--parallel K] [--watches W] [--timeout S] [--keep] [--json]\n");
}

/* A number in the JSON line with the precision of the table. */
static void jnum(json_object *j, const char *key, const char *fmt, double v) {
  char text[64];
  snprintf(text, sizeof text, fmt, v);
  json_object_object_add(j, key, json_object_new_double_s(v, text));
}

struct result {
  int nodes, pods, deployments, watches, parallel;
  double nodes_ready_s, running_s, rate, list_ms, kubectl_ms;
  long list_bytes, kubectl_lines;
  long rss_peak_kb, rss_running_kb, rss_end_kb;
  double watch_kb_each;
  double store_mb, cpu_s, load_max, load_avg;
  long available;
  bool done;
};

/* Step 2: the Deployments, then their status until all are available. */
static int run_pods(kube_client_t *c, struct kubed *k, struct result *r,
                    int timeout_s) {
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  double cpu0 = proc_cpu_s(k->pid), t0 = now(), next_print = t0 + 10;
  double load_sum = 0;
  int load_n = 0, created = 0;
  struct counts ct = {0};
  while (now() - t0 < timeout_s) {
    /* At most `parallel` Deployments rolling out at once. */
    while (created < r->deployments && created - ct.complete < r->parallel) {
      char body[1024];
      int i = created++;
      int n = r->pods / r->deployments + (i < r->pods % r->deployments);
      snprintf(body, sizeof body, DEPLOY_FMT, i, n, i, i);
      int st = req(c, "POST", "/apis/apps/v1/namespaces/" NS "/deployments",
                   NULL, body, &resp);
      kube_client_response_clear(&resp);
      if (st != 201) {
        fprintf(stderr, "bench-scale: deployment create: %d\n", st);
        return -1;
      }
    }
    double t = now();
    if (deploy_counts(c, &ct) == 0) {
      r->available = ct.available;
      if (ct.available >= r->pods) {
        r->running_s = now() - t0;
        r->done = true;
        break;
      }
    }
    double l = load1();
    load_sum += l;
    load_n++;
    if (l > r->load_max)
      r->load_max = l;
    if (t >= next_print) {
      next_print += 10;
      fprintf(stderr,
              "bench-scale: %5.0f s  %7ld pods created  %7ld available  "
              "%6.0f/s  kubed RSS %5ld MB  load %.2f\n",
              t - t0, ct.replicas, ct.available, ct.available / (t - t0),
              status_kb(k->pid, "VmRSS") / 1024, l);
    }
    double rest = 1.0 - (now() - t);
    if (rest > 0)
      usleep((useconds_t)(rest * 1e6));
  }
  r->cpu_s = proc_cpu_s(k->pid) - cpu0;
  r->load_avg = load_n ? load_sum / load_n : 0;
  r->rss_running_kb = status_kb(k->pid, "VmHWM");
  if (!r->done)
    r->running_s = now() - t0;
  r->rate = r->running_s > 0 ? r->available / r->running_s : 0;
  return r->done ? 0 : -1;
}

/* Step 3: LISTs, watches, store size. */
static void measure_quiet(kube_client_t *c, struct kubed *k,
                          struct result *r) {
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  double t = now();
  char rv[64] = "0";
  if (req(c, "GET", "/api/v1/pods", NULL, NULL, &resp) == 200) {
    r->list_ms = (now() - t) * 1e3;
    r->list_bytes = (long)resp.body_len;
    /* The list's resourceVersion, the watches' start: its metadata
     * follows the items, so the last one in the text. */
    const char *p = NULL, *q = resp.body;
    while ((q = strstr(q, "\"resourceVersion\":\"")))
      p = q++;
    if (p)
      sscanf(p + strlen("\"resourceVersion\":\""), "%63[0-9]", rv);
  }
  kube_client_response_clear(&resp);
  fprintf(stderr, "bench-scale: after the LIST: kubed RSS %ld MB\n",
          status_kb(k->pid, "VmRSS") / 1024);

  if (access(KUBECTL, X_OK) == 0) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "timeout 600 '%s' --kubeconfig '%s/data/kubeconfig.yaml' get pods -A "
             "--chunk-size=500 --no-headers | wc -l",
             KUBECTL, k->dir);
    t = now();
    FILE *f = popen(cmd, "r");
    if (f && fscanf(f, "%ld", &r->kubectl_lines) == 1)
      r->kubectl_ms = (now() - t) * 1e3;
    if (f)
      pclose(f);
  }

  /* W idle watches of all pods, then one pod write each receives. */
  int *fds = calloc((size_t)r->watches, sizeof *fds);
  sleep(1); /* kubed trims its heap after a big reply: settle first */
  long before = status_kb(k->pid, "VmRSS");
  fprintf(stderr, "bench-scale: after kubectl: kubed RSS %ld MB\n",
          before / 1024);
  int open = 0;
  for (int i = 0; fds && i < r->watches; i++)
    if ((fds[i] = watch_open(k->sock, rv)) >= 0)
      open++;
  sleep(2);
  const char *lbl = "{\"metadata\":{\"labels\":{\"bench-scale\":\"watched\"}}}";
  kube_client_request_t pr = {.struct_size = sizeof pr,
                              .method = "GET",
                              .path = "/api/v1/namespaces/" NS "/pods",
                              .query = "limit=1"};
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_client_request(c, &pr, &resp, &err) == 0 && resp.status == 200) {
    json_object *l = json_tokener_parse(resp.body);
    json_object *name =
        l ? kube_json_get(l, "items.0.metadata.name") : NULL;
    if (name) {
      char path[300];
      snprintf(path, sizeof path, "/api/v1/namespaces/" NS "/pods/%s",
               json_object_get_string(name));
      kube_client_response_t pr2 = KUBE_CLIENT_RESPONSE_INIT;
      kube_client_request_t p = {.struct_size = sizeof p,
                                 .method = "PATCH",
                                 .path = path,
                                 .content_type = "application/merge-patch+json",
                                 .body = lbl,
                                 .body_len = strlen(lbl)};
      kube_client_request(c, &p, &pr2, &err);
      kube_client_response_clear(&pr2);
    }
    json_object_put(l);
  }
  kube_error_clear(&err);
  kube_client_response_clear(&resp);
  sleep(2);
  long after = status_kb(k->pid, "VmRSS");
  r->watch_kb_each = open ? (double)(after - before) / open : 0;
  for (int i = 0; fds && i < r->watches; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(fds);
  r->watches = open;

  char data[300];
  snprintf(data, sizeof data, "%s/data", k->dir);
  du_bytes = 0;
  nftw(data, du_one, 16, FTW_PHYS);
  r->store_mb = du_bytes / 1048576.0;
  r->rss_end_kb = status_kb(k->pid, "VmRSS");
  r->rss_peak_kb = status_kb(k->pid, "VmHWM");
}

static void print(const struct result *r, bool json, const char *store) {
  printf("  %-42s %10.1f s\n", "kubed start -> all nodes Ready",
         r->nodes_ready_s);
  printf("  %-42s %10.1f s  (%ld of %d available%s)\n",
         "Deployments create -> all pods Running", r->running_s,
         r->available, r->pods, r->done ? "" : "; TIMED OUT");
  printf("  %-42s %10.0f pods/s\n", "pods Running per second", r->rate);
  printf("  %-42s %10.3f ms\n", "kubed CPU per pod",
         r->available ? r->cpu_s * 1e3 / r->available : 0);
  printf("  %-42s %10.2f  (max %.2f; 2 cores)\n",
         "load average (1 min) during the run", r->load_avg, r->load_max);
  printf("  %-42s %10ld MB  (%ld MB when all Running, %ld MB at the end)\n",
         "kubed RSS peak", r->rss_peak_kb / 1024, r->rss_running_kb / 1024,
         r->rss_end_kb / 1024);
  printf("  %-42s %10.1f MB\n", "store (data dir: sqlite + WAL)",
         r->store_mb);
  printf("  %-42s %10.0f ms  (%.1f MB)\n", "LIST all pods, unpaginated",
         r->list_ms, r->list_bytes / 1048576.0);
  if (r->kubectl_ms > 0)
    printf("  %-42s %10.0f ms  (%ld rows)\n",
           "kubectl get pods -A --chunk-size=500", r->kubectl_ms,
           r->kubectl_lines);
  else
    printf("  %-42s %10s   (no kubectl at %s)\n",
           "kubectl get pods -A --chunk-size=500", "-", KUBECTL);
  printf("  %-42s %10.1f kB  (%d watches of all pods)\n",
         "kubed RSS per idle watch", r->watch_kb_each, r->watches);
  if (!json)
    return;
  json_object *j = json_object_new_object();
  json_object_object_add(j, "bench", json_object_new_string("scale"));
  json_object_object_add(j, "store", json_object_new_string(store));
  json_object_object_add(j, "scale_nodes", json_object_new_int(r->nodes));
  json_object_object_add(j, "scale_pods", json_object_new_int(r->pods));
  json_object_object_add(j, "scale_pods_running",
                         json_object_new_int64(r->available));
  jnum(j, "scale_nodes_ready_s", "%.1f", r->nodes_ready_s);
  if (r->done) {
    char key[80];
    snprintf(key, sizeof key, "scale_%d_nodes_%d_pods_s", r->nodes, r->pods);
    jnum(j, key, "%.1f", r->running_s);
  }
  jnum(j, "scale_pods_per_s", "%.1f", r->rate);
  if (r->available)
    jnum(j, "scale_kubed_cpu_ms_per_pod", "%.3f",
         r->cpu_s * 1e3 / r->available);
  jnum(j, "scale_load_avg", "%.2f", r->load_avg);
  jnum(j, "scale_kubed_rss_mb", "%.0f", r->rss_peak_kb / 1024.0);
  jnum(j, "scale_kubed_rss_running_mb", "%.0f", r->rss_running_kb / 1024.0);
  jnum(j, "scale_store_mb", "%.1f", r->store_mb);
  jnum(j, "scale_list_all_pods_ms", "%.0f", r->list_ms);
  jnum(j, "scale_list_all_pods_mb", "%.1f", r->list_bytes / 1048576.0);
  if (r->kubectl_ms > 0)
    jnum(j, "scale_kubectl_chunked_ms", "%.0f", r->kubectl_ms);
  jnum(j, "scale_watch_rss_kb_per_watch", "%.1f", r->watch_kb_each);
  printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
  json_object_put(j);
}

int main(int argc, char **argv) {
  char kubed_path[4200] = "";
  const char *store = "sqlite", *size = "full";
  int nodes = -1, pods = -1, deployments = -1, watches = 100, parallel = 3,
      timeout_s = 1500;
  bool json = false, keep = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) {
      json = true;
    } else if (!strcmp(a, "--keep")) {
      keep = true;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!v) {
      usage(stderr);
      return 2;
    } else if (!strcmp(a, "--kubed")) {
      snprintf(kubed_path, sizeof kubed_path, "%s", v);
      i++;
    } else if (!strcmp(a, "--store")) {
      store = argv[++i];
    } else if (!strcmp(a, "--size")) {
      size = argv[++i];
    } else if (!strcmp(a, "--nodes")) {
      nodes = atoi(argv[++i]);
    } else if (!strcmp(a, "--pods")) {
      pods = atoi(argv[++i]);
    } else if (!strcmp(a, "--deployments")) {
      deployments = atoi(argv[++i]);
    } else if (!strcmp(a, "--parallel")) {
      parallel = atoi(argv[++i]);
    } else if (!strcmp(a, "--watches")) {
      watches = atoi(argv[++i]);
    } else if (!strcmp(a, "--timeout")) {
      timeout_s = atoi(argv[++i]);
    } else {
      usage(stderr);
      return 2;
    }
  }
  bool tiny = !strcmp(size, "tiny");
  if (nodes < 0)
    nodes = tiny ? 50 : 5000;
  if (pods < 0)
    pods = tiny ? 500 : 150000;
  if (deployments < 0)
    deployments = tiny ? 5 : 30;
  if ((!tiny && strcmp(size, "full")) || nodes < 1 || nodes > 60000 ||
      pods < 1 || deployments < 1 || deployments > pods || watches < 0 ||
      parallel < 1 ||
      watches > 10000 || timeout_s < 1 ||
      (strcmp(store, "sqlite") && strcmp(store, "memory")) ||
      pods > nodes * 110) {
    usage(stderr);
    return 2;
  }
  if (!kubed_path[0])
    bench_default_kubed(kubed_path, sizeof kubed_path);
  if (access(kubed_path, X_OK) < 0) {
    fprintf(stderr, "bench-scale: no kubed at %s (use --kubed)\n",
            kubed_path);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("bench-scale: kubed server (%s store, --no-node, scheduler and "
         "controllers), %d hollow nodes, %d pods in %d Deployments (%d "
         "rolling out at once)\n",
         store, nodes, pods, deployments, parallel);
  struct result r = {
      .nodes = nodes, .pods = pods, .deployments = deployments,
      .watches = watches, .parallel = parallel};
  struct kubed k = {0};
  double t0 = now();
  int rc = 1;
  kube_client_t *c = NULL;
  if (kubed_start(&k, kubed_path, store, nodes) < 0) {
    fprintf(stderr, "bench-scale: kubed did not start (%s)\n", k.dir);
    keep = true;
    goto out;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_options_t o = {.struct_size = sizeof o,
                             .server = k.sock,
                             .token = TOKEN,
                             .timeout_ms = 600000};
  if (!(c = kube_client_new(&o, &err))) {
    fprintf(stderr, "bench-scale: %s\n", err.message);
    kube_error_clear(&err);
    goto out;
  }
  int ready = 0;
  while (now() - t0 < 600 && (ready = ready_nodes(c)) < nodes)
    sleep(nodes > 1000 ? 5 : 1); /* a LIST of 5,000 nodes is not free */
  if (ready < nodes) {
    fprintf(stderr, "bench-scale: %d of %d nodes Ready after 600 s\n", ready,
            nodes);
    keep = true;
    goto out;
  }
  r.nodes_ready_s = now() - t0;
  fprintf(stderr, "bench-scale: %d nodes Ready after %.1f s, RSS %ld MB\n",
          nodes, r.nodes_ready_s, status_kb(k.pid, "VmRSS") / 1024);
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  int st = req(c, "POST", "/api/v1/namespaces", NULL,
               "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
               "\"metadata\":{\"name\":\"" NS "\"}}",
               &resp);
  kube_client_response_clear(&resp);
  if (st != 201) {
    fprintf(stderr, "bench-scale: namespace: %d\n", st);
    goto out;
  }
  rc = run_pods(c, &k, &r, timeout_s) < 0 ? 1 : 0;
  if (rc)
    keep = true;
  measure_quiet(c, &k, &r);
  print(&r, json, store);
out:
  kube_client_free(c);
  kubed_stop(&k, keep);
  return rc;
}
