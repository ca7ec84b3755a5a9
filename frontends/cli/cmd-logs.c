/* SPDX-License-Identifier: Apache-2.0 */
/* kube logs [-f] [-p] [-c C | --all-containers] (POD [C] | -l SELECTOR):
 * kubectl logs over kube_client_logs.  One source after the other, or all
 * at once when following several (a thread and a client each). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

struct source {
  const char *pod;
  const char *container;
  char prefix[512]; /* "[pod/P/C] " with --prefix, else "" */
  bool at_line_start;
};

struct logs_run {
  kube_client_logs_options_t o; /* shared options; pod/container per source */
  bool ignore_errors;
  pthread_mutex_t lock;
  int rc;
};

/* Write one source's bytes, with its prefix at every line start.  Holding
 * the lock per call keeps the lines of followed sources whole. */
static int out_write(struct logs_run *run, struct source *s, const char *buf,
                     size_t len) {
  pthread_mutex_lock(&run->lock);
  if (!s->prefix[0]) {
    fwrite(buf, 1, len, stdout);
  } else {
    while (len) {
      if (s->at_line_start)
        fputs(s->prefix, stdout);
      const char *nl = memchr(buf, '\n', len);
      size_t n = nl ? (size_t)(nl - buf) + 1 : len;
      fwrite(buf, 1, n, stdout);
      s->at_line_start = nl != NULL;
      buf += n;
      len -= n;
    }
  }
  fflush(stdout);
  pthread_mutex_unlock(&run->lock);
  return ferror(stdout) ? 1 : 0;
}

struct sink {
  struct logs_run *run;
  struct source *src;
};

static int on_output(void *arg, int stream, const void *buf, size_t len) {
  struct sink *k = arg;
  return out_write(k->run, k->src, buf, len);
}

/* "Error from server (Reason): msg" when the server said so. */
static void report(kube_client_t *c, kube_error_t *err) {
  int status = kube_client_last_status(c);
  const char *reason = kube_reason_string(err->reason);
  if (status >= 400 && *reason)
    fprintf(stderr, "Error from server (%s): %s\n", reason,
            err->message ? err->message : "");
  else
    fprintf(stderr, "error: %s\n", err->message ? err->message : "");
}

static int consume(struct logs_run *run, kube_client_t *c, struct source *s) {
  kube_client_logs_options_t o = run->o;
  struct sink k = {run, s};
  o.pod = s->pod;
  o.container = s->container;
  o.output = on_output;
  o.arg = &k;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_client_logs(c, &o, &err) == 0)
    return 0;
  if (run->ignore_errors) {
    pthread_mutex_lock(&run->lock);
    printf("error: %s\n", err.message ? err.message : "");
    pthread_mutex_unlock(&run->lock);
    return 0;
  }
  pthread_mutex_lock(&run->lock);
  report(c, &err);
  pthread_mutex_unlock(&run->lock);
  return 1;
}

struct worker {
  struct logs_run *run;
  struct source *src;
  pthread_t th;
};

static void *follow_one(void *arg) {
  struct worker *w = arg;
  kube_client_t *c = cli_client_new();
  if (!c || consume(w->run, c, w->src)) {
    /* As kubectl: the first stream that fails ends the command. */
    fflush(stdout);
    exit(1);
  }
  kube_client_free(c);
  return NULL;
}

/* Add the sources of one pod. */
static int add_pod(const kube_object_t *pod, const char *container, bool all,
                   bool prefix, struct source **v, size_t *n) {
  static const char *const lists[] = {"initContainers", "containers",
                                      "ephemeralContainers"};
  const char *name = kube_object_get_string(pod, "metadata.name");
  const char *names[256];
  size_t nn = 0;
  if (all) {
    for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
      for (size_t i = 0; nn < ARRAY_SIZE(names); i++) {
        char path[96];
        snprintf(path, sizeof path, "spec.%s.%zu.name", lists[l], i);
        const char *c = kube_object_get_string(pod, path);
        if (!c)
          break;
        names[nn++] = c;
      }
  } else if (container) {
    if (!cli_pod_has_container(pod, container))
      return cli_fail("container %s is not valid for pod %s", container, name);
    names[nn++] = container;
  } else {
    const char *c = cli_pod_container(pod, NULL, false);
    if (!c)
      return 1;
    names[nn++] = c;
  }
  struct source *nv = realloc(*v, (*n + nn) * sizeof *nv);
  if (!nv)
    return cli_fail("out of memory");
  *v = nv;
  for (size_t i = 0; i < nn; i++) {
    struct source *s = &nv[(*n)++];
    memset(s, 0, sizeof *s);
    s->pod = name;
    s->container = names[i];
    s->at_line_start = true;
    if (prefix)
      snprintf(s->prefix, sizeof s->prefix, "[pod/%s/%s] ", name, names[i]);
  }
  return 0;
}

struct logs_flags {
  const char *container, *since, *since_time, *selector;
  bool follow, previous, timestamps, all, prefix, ignore_errors;
  bool tail_set, container_set;
  int64_t tail, limit_bytes, max_requests;
};

static int validate(struct logs_flags *f, int npos, int64_t *since_s) {
  *since_s = 0;
  if (f->since) {
    *since_s = cli_parse_duration_s(f->since);
    if (*since_s < 0 && f->since[0] != '-')
      return cli_fail("invalid argument \"%s\" for \"--since\" flag: time: "
                      "invalid duration \"%s\"",
                      f->since, f->since);
  }
  if (f->since_time && *f->since_time && *since_s != 0)
    return cli_fail("at most one of `sinceTime` or `sinceSeconds` may be "
                    "specified");
  if (f->limit_bytes < 0)
    return cli_fail("--limit-bytes must be greater than 0");
  if (f->all && f->container && *f->container)
    return cli_fail("--all-containers=true should not be specified with "
                    "container name %s",
                    f->container);
  if (f->container_set && npos == 2)
    return cli_fail("only one of -c or an inline [CONTAINER] arg is allowed");
  if (*since_s < 0)
    return cli_fail("--since must be greater than 0");
  if (f->tail < -1)
    return cli_fail("--tail must be greater than or equal to -1");
  return 0;
}

struct add_ctx {
  struct logs_flags *f;
  struct source **src;
  size_t *nsrc;
};

/* The names live in the list's tree, which outlives the sources. */
static int add_item(const kube_object_t *pod, void *arg) {
  struct add_ctx *a = arg;
  return add_pod(pod, NULL, a->f->all, a->f->prefix, a->src, a->nsrc);
}

static int collect(kube_client_t *c, struct logs_flags *f, const char *pod_arg,
                   kube_object_t **list, kube_object_t **single,
                   struct source **src, size_t *nsrc) {
  if (f->selector) {
    kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                     .label_selector = f->selector};
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    *list = kube_client_list(c, kube_kind_by_kind("v1", "Pod"), cli_namespace(),
                             &lo, &err);
    if (!*list)
      return cli_report(&err);
    if (kube_list_length(*list) == 0)
      fprintf(stderr, "No resources found in %s namespace.\n", cli_namespace());
    struct add_ctx a = {f, src, nsrc};
    return kube_list_foreach(*list, add_item, &a);
  }
  const char *name = cli_pod_arg(pod_arg);
  if (!name)
    return cli_fail("logs: only pods are supported (got \"%s\")", pod_arg);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  *single = kube_client_get(c, kube_kind_by_kind("v1", "Pod"), cli_namespace(),
                            name, &err);
  if (!*single) {
    if (err.reason == KUBE_REASON_NOT_FOUND)
      return cli_fail("error from server (NotFound): pods \"%s\" not found in "
                      "namespace \"%s\"",
                      name, cli_namespace());
    return cli_report(&err);
  }
  return add_pod(*single, f->container && *f->container ? f->container : NULL,
                 f->all, f->prefix, src, nsrc);
}

int cmd_logs(int argc, char **argv) {
  struct logs_flags f = {.tail = -1, .max_requests = 5};
  const struct cli_flag flags[] = {
      {"container", 'c', CLI_STRING, &f.container, &f.container_set},
      {"follow", 'f', CLI_BOOL, &f.follow, NULL},
      {"timestamps", 0, CLI_BOOL, &f.timestamps, NULL},
      {"previous", 'p', CLI_BOOL, &f.previous, NULL},
      {"tail", 0, CLI_INT, &f.tail, &f.tail_set},
      {"since", 0, CLI_STRING, &f.since, NULL},
      {"since-time", 0, CLI_STRING, &f.since_time, NULL},
      {"limit-bytes", 0, CLI_INT, &f.limit_bytes, NULL},
      {"all-containers", 0, CLI_BOOL, &f.all, NULL},
      {"selector", 'l', CLI_STRING, &f.selector, NULL},
      {"prefix", 0, CLI_BOOL, &f.prefix, NULL},
      {"max-log-requests", 0, CLI_INT, &f.max_requests, NULL},
      {"ignore-errors", 0, CLI_BOOL, &f.ignore_errors, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  kube_object_t *list = NULL, *single = NULL;
  struct source *src = NULL;
  size_t nsrc = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (f.selector && !*f.selector)
    f.selector = NULL;
  if ((npos == 0 && !f.selector) || npos > 2) {
    rc = cli_fail("expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c "
                  "CONTAINER]'.\nPOD or TYPE/NAME is a required argument for "
                  "the logs command\nSee 'kube logs -h' for help and "
                  "examples");
    goto out;
  }
  if (npos == 1 && f.selector) {
    rc = cli_fail("only a selector (-l) or a POD name is allowed\nSee 'kube "
                  "logs -h' for help and examples");
    goto out;
  }
  if (npos == 2 && !f.container_set)
    f.container = pos[1];
  int64_t since_s;
  if ((rc = validate(&f, npos, &since_s)))
    goto out;
  rc = 1;
  kube_client_t *c = cli_client();
  if (!c || collect(c, &f, npos ? pos[0] : NULL, &list, &single, &src, &nsrc))
    goto out;
  struct logs_run run = {.o = {.struct_size = sizeof run.o,
                               .namespace_ = cli_namespace(),
                               .follow = f.follow,
                               .previous = f.previous,
                               .timestamps = f.timestamps,
                               .limit_bytes = f.limit_bytes,
                               .since_seconds = since_s,
                               .since_time = f.since_time},
                         .ignore_errors = f.ignore_errors};
  /* A selector shows the last 10 lines unless --tail says otherwise. */
  if (f.tail != -1 || (f.selector && !f.tail_set)) {
    run.o.tail = true;
    run.o.tail_lines = f.tail != -1 ? f.tail : 10;
  }
  pthread_mutex_init(&run.lock, NULL);
  rc = 0;
  if (f.follow && nsrc > 1) {
    if ((int64_t)nsrc > f.max_requests) {
      rc = cli_fail("you are attempting to follow %zu log streams, but "
                    "maximum allowed concurrency is %lld, use "
                    "--max-log-requests to increase the limit",
                    nsrc, (long long)f.max_requests);
      goto out;
    }
    struct worker *w = calloc(nsrc, sizeof *w);
    for (size_t i = 0; w && i < nsrc; i++) {
      w[i] = (struct worker){.run = &run, .src = &src[i]};
      pthread_create(&w[i].th, NULL, follow_one, &w[i]);
    }
    for (size_t i = 0; w && i < nsrc; i++)
      pthread_join(w[i].th, NULL);
    free(w);
  } else {
    for (size_t i = 0; i < nsrc && rc == 0; i++)
      rc = consume(&run, c, &src[i]);
  }
out:
  free(src);
  kube_object_free(list);
  kube_object_free(single);
  free(pos);
  return rc;
}
