/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The httpGet handler of probes and hooks, as the kubelet's HTTP prober:
 * GET with User-Agent kube-probe/1.32, Accept (any type), the spec's headers
 * (Host among them), HTTPS without verifying the certificate; redirects
 * to the same host are followed (at most 10), one to another host ends
 * the probe with the redirect as a warning; 200-299 succeed, the body (up
 * to 10 KiB) is the output; other codes fail with "HTTP probe failed with
 * statuscode: N"; transport errors in Go's words.  Worker threads only.
 */
#include <strings.h>

#include "node/agent.h"
#include "node/probe-net.h"

#define MAX_BODY (10 * 1024)
#define MAX_REDIRECTS 10

struct target {
  bool tls;
  char host[256];
  int port;
  char *path;
};

struct reply {
  int code;
  char *body, *location;
};

static bool has_header(const struct nd_handler *h, const char *name) {
  for (size_t i = 0; i + 1 < h->n_headers; i += 2)
    if (strcasecmp(h->headers[i], name) == 0)
      return true;
  return false;
}

static char *url_of(const struct target *t) {
  char hp[300], *s = NULL;
  nd_host_port(t->host, t->port, hp, sizeof hp);
  return asprintf(&s, "%s://%s%s", t->tls ? "https" : "http", hp, t->path) < 0
             ? NULL
             : s;
}

static char *request(const struct nd_handler *h, const struct target *t) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char hp[300];
  nd_host_port(t->host, t->port, hp, sizeof hp);
  const char *host_hdr = hp;
  for (size_t i = 0; i + 1 < h->n_headers; i += 2)
    if (strcasecmp(h->headers[i], "Host") == 0)
      host_hdr = h->headers[i + 1];
  kube_strbuf_printf(&sb, "GET %s HTTP/1.1\r\nHost: %s\r\n", t->path, host_hdr);
  if (!has_header(h, "User-Agent"))
    kube_strbuf_printf(&sb, "User-Agent: kube-probe/1.32\r\n");
  if (!has_header(h, "Accept"))
    kube_strbuf_printf(&sb, "Accept: */*\r\n");
  for (size_t i = 0; i + 1 < h->n_headers; i += 2)
    if (strcasecmp(h->headers[i], "Host") != 0 &&
        strcasecmp(h->headers[i], "Connection") != 0)
      kube_strbuf_printf(&sb, "%s: %s\r\n", h->headers[i], h->headers[i + 1]);
  kube_strbuf_printf(&sb, "Connection: close\r\n\r\n");
  return kube_strbuf_steal(&sb);
}

/* The value of header name in head (NUL-terminated), or NULL. */
static const char *head_value(const char *head, const char *name, char *buf,
                              size_t len) {
  size_t nl = strlen(name);
  for (const char *l = strstr(head, "\r\n"); l && l[2];
       l = strstr(l + 2, "\r\n")) {
    const char *s = l + 2;
    if (strncasecmp(s, name, nl) == 0 && s[nl] == ':') {
      s += nl + 1;
      while (*s == ' ' || *s == '\t')
        s++;
      snprintf(buf, len, "%.*s", (int)strcspn(s, "\r\n"), s);
      return buf;
    }
  }
  return NULL;
}

#define TIMEOUT_TEXT                                                           \
  "context deadline exceeded (Client.Timeout exceeded while awaiting "         \
  "headers)"

/* One request.  0 with *r, or -1 with *err (owned). */
static int once(const struct nd_handler *h, const struct target *t,
                int64_t deadline, const volatile int *cancel, struct reply *r,
                char **err) {
  struct nd_conn c = {.fd = -1};
  kube_strbuf_t resp = KUBE_STRBUF_INIT;
  cleanup_free char *req = request(h, t);
  int rc = -1;
  if (nd_conn_dial(&c, t->host, t->port, deadline, cancel, err) < 0 ||
      (t->tls && nd_conn_tls(&c, t->host, deadline, cancel, err) < 0))
    goto out;
  int w = req ? nd_conn_write(&c, req, strlen(req), deadline, cancel) : -1;
  if (w < 0) {
    *err = strdup(w == -2 ? TIMEOUT_TEXT : "write: broken pipe");
    goto out;
  }
  /* the head, then the body up to 10 KiB (best effort once the head is
   * in: the status decides) */
  size_t head_end = 0, want = SIZE_MAX;
  for (;;) {
    char buf[4096];
    ssize_t n = nd_conn_read(&c, buf, sizeof buf, deadline, cancel);
    if (n <= 0) {
      if (head_end)
        break;
      *err = strdup(n == -2  ? TIMEOUT_TEXT
                    : n == 0 ? "EOF"
                             : "read: connection reset by peer");
      goto out;
    }
    kube_strbuf_append_len(&resp, buf, (size_t)n);
    if (resp.oom) {
      *err = strdup("out of memory");
      goto out;
    }
    if (!head_end) {
      char *e = strstr(resp.data, "\r\n\r\n");
      if (!e)
        continue;
      head_end = (size_t)(e - resp.data) + 4;
      char v[2048];
      resp.data[head_end - 2] = '\0';
      if (head_value(resp.data, "Content-Length", v, sizeof v))
        want = (size_t)strtoull(v, NULL, 10);
      if (head_value(resp.data, "Location", v, sizeof v))
        r->location = strdup(v);
      resp.data[head_end - 2] = '\r';
    }
    size_t body = resp.len - head_end;
    if (body >= want || body >= MAX_BODY ||
        (resp.len >= 5 &&
         memcmp(resp.data + resp.len - 5, "0\r\n\r\n", 5) == 0))
      break;
  }
  if (sscanf(resp.data, "HTTP/%*d.%*d %d", &r->code) != 1) {
    *err = strdup("net/http: malformed HTTP response");
    goto out;
  }
  size_t blen = resp.len - head_end;
  r->body = strndup(resp.data + head_end, blen > MAX_BODY ? MAX_BODY : blen);
  rc = 0;
out:
  nd_conn_close(&c);
  kube_strbuf_clear(&resp);
  return rc;
}

/* Where a Location points from t (absolute or a path); false when it is
 * not something to follow. */
static bool resolve(const struct target *t, const char *loc,
                    struct target *next) {
  memset(next, 0, sizeof *next);
  const char *rest = NULL;
  if (strncasecmp(loc, "http://", 7) == 0) {
    next->tls = false;
    rest = loc + 7;
  } else if (strncasecmp(loc, "https://", 8) == 0) {
    next->tls = true;
    rest = loc + 8;
  }
  if (rest) {
    size_t hl = strcspn(rest, "/?#");
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%.*s", (int)hl, rest);
    next->port = next->tls ? 443 : 80;
    char *colon = strrchr(hostport, ':');
    char *bracket = strchr(hostport, ']');
    if (colon && (!bracket || colon > bracket)) {
      next->port = atoi(colon + 1);
      *colon = '\0';
    }
    const char *hs = hostport;
    size_t n = strlen(hs);
    if (hs[0] == '[' && n >= 2 && hs[n - 1] == ']') {
      hs++;
      n -= 2;
    }
    snprintf(next->host, sizeof next->host, "%.*s", (int)n, hs);
    const char *path = rest + hl;
    if (asprintf(&next->path, "%s%s", *path == '/' ? "" : "/", path) < 0)
      next->path = NULL;
  } else {
    next->tls = t->tls;
    next->port = t->port;
    snprintf(next->host, sizeof next->host, "%s", t->host);
    if (loc[0] == '/') {
      next->path = strdup(loc);
    } else {
      /* relative to the current path's directory */
      const char *slash = strrchr(t->path, '/');
      int dl = slash ? (int)(slash - t->path) + 1 : 1;
      if (asprintf(&next->path, "%.*s%s", dl, slash ? t->path : "/", loc) < 0)
        next->path = NULL;
    }
  }
  return next->path && next->host[0] && next->port > 0 && next->port < 65536;
}

void nd_http_get(const struct nd_handler *h, const char *host, int64_t deadline,
                 const volatile int *cancel, struct nd_outcome *out) {
  struct target t = {.tls = strcasecmp(h->scheme, "HTTPS") == 0,
                     .port = h->port,
                     .path = strdup(h->path ? h->path : "/")};
  snprintf(t.host, sizeof t.host, "%s", host);
  char first_host[256];
  snprintf(first_host, sizeof first_host, "%s", host);
  out->result = ND_PR_FAILURE;
  char *err = NULL;
  struct reply r = {0};
  for (int redirects = 0; t.path; redirects++) {
    memset(&r, 0, sizeof r);
    if (once(h, &t, deadline, cancel, &r, &err) < 0)
      break;
    struct target next;
    if (r.code >= 300 && r.code < 400 && r.location &&
        resolve(&t, r.location, &next) &&
        strcasecmp(next.host, first_host) == 0) {
      /* the same host: followed, as the kubelet's redirect checker */
      free(t.path);
      t = next;
      free(r.body);
      free(r.location);
      memset(&r, 0, sizeof r);
      if (redirects + 1 >= MAX_REDIRECTS) {
        err = strdup("stopped after 10 redirects");
        break;
      }
      continue;
    }
    if (r.code >= 300 && r.code < 400 && r.location)
      free(next.path);
    break;
  }
  if (err || !t.path) {
    cleanup_free char *url = t.path ? url_of(&t) : NULL;
    if (asprintf(&out->output, "Get \"%s\": %s", url ? url : "",
                 err ? err : "out of memory") < 0)
      out->output = NULL;
  } else if (r.code >= 200 && r.code < 300) {
    out->result = ND_PR_SUCCESS;
    out->output = steal_pointer(&r.body);
  } else if (r.code >= 300 && r.code < 400) {
    out->result = ND_PR_WARNING;
    if (asprintf(&out->output, "Probe terminated redirects, Response body: %s",
                 r.body ? r.body : "") < 0)
      out->output = NULL;
  } else if (asprintf(&out->output, "HTTP probe failed with statuscode: %d",
                      r.code) < 0) {
    out->output = NULL;
  }
  if (out->result == ND_PR_FAILURE && out->output)
    out->error = strdup(out->output);
  free(r.body);
  free(r.location);
  free(t.path);
  free(err);
}
