/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny HTTP server that puts the stream sessions on real sockets, so real
 * clients (the Python client's websocket-client, kubectl) can talk to them
 * without the rest of libkube: it answers the few GETs kubectl makes before
 * an exec (discovery, the pod), and upgrades .../exec, .../attach and
 * .../portforward with kube_stream_upgrade_negotiate.
 *
 * The "container" is scripted by the command: `echo-line` echoes the first
 * stdin line upper-cased (and writes to stderr), `cat` copies stdin until
 * EOF, `exit N` exits with N, `fail` reports an internal error, `size`
 * prints the first terminal size.  Port-forward's "pod" answers each chunk
 * upper-cased; port 666 is refused.
 *
 * Prints "PORT <n>" on stdout once listening, and one line per upgrade on
 * stdout: "UPGRADE <exec|portforward> <transport> <version> <protocol>".
 * Runs until killed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libkube/stream.h>

#define MAX_CONNS 64

typedef struct conn {
  int fd;
  char head[16384];
  size_t head_len;
  bool upgraded, closing;
  kube_strbuf_t out;
  kube_exec_server_t *exec;
  kube_portforward_server_t *pf;
  char command[256];
  kube_strbuf_t in; /* stdin collected */
  bool finished;
} conn_t;

static conn_t *conns[MAX_CONNS];

static void conn_write(void *d, const void *buf, size_t len) {
  conn_t *c = d;
  kube_strbuf_append_len(&c->out, buf, len);
}

static void flush_out(conn_t *c) {
  size_t off = 0;
  while (off < c->out.len) {
    ssize_t n = write(c->fd, c->out.data + off, c->out.len - off);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  kube_strbuf_reset(&c->out);
}

static void finish(conn_t *c, int code, const char *msg) {
  if (c->finished)
    return;
  c->finished = true;
  kube_exec_server_finish(c->exec, code, msg, NULL);
}

/* ---- the scripted container ---------------------------------------------- */

static void ex_ready(void *d) {
  conn_t *c = d;
  if (strncmp(c->command, "exit ", 5) == 0) {
    kube_exec_server_write_stdout(c->exec, "bye\n", 4, NULL);
    finish(c, atoi(c->command + 5), NULL);
  } else if (strcmp(c->command, "fail") == 0) {
    finish(c, 0, "container \"c1\" is not running");
  }
}

static void ex_stdin(void *d, const void *buf, size_t len) {
  conn_t *c = d;
  kube_strbuf_append_len(&c->in, buf, len);
  if (strcmp(c->command, "cat") == 0) {
    kube_exec_server_write_stdout(c->exec, buf, len, NULL);
    kube_strbuf_reset(&c->in);
    return;
  }
  char *nl = c->in.data ? memchr(c->in.data, '\n', c->in.len) : NULL;
  if (strcmp(c->command, "echo-line") == 0 && nl) {
    size_t n = (size_t)(nl - c->in.data) + 1;
    for (size_t i = 0; i < n; i++)
      c->in.data[i] = (char)toupper((unsigned char)c->in.data[i]);
    kube_exec_server_write_stdout(c->exec, c->in.data, n, NULL);
    kube_exec_server_write_stderr(c->exec, "to-stderr\n", 10, NULL);
    finish(c, 0, NULL);
  }
}

static void ex_stdin_eof(void *d) {
  conn_t *c = d;
  if (strcmp(c->command, "cat") == 0)
    finish(c, 0, NULL);
}

static void ex_resize(void *d, uint16_t w, uint16_t h) {
  conn_t *c = d;
  if (strcmp(c->command, "size") == 0 && !c->finished) {
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%ux%u\n", w, h);
    kube_exec_server_write_stdout(c->exec, buf, (size_t)n, NULL);
    finish(c, 0, NULL);
  }
}

static void sess_done(void *d, const kube_error_t *err) {
  conn_t *c = d;
  if (err)
    fprintf(stderr, "session ended: %s\n", err->message);
  c->closing = true;
}

static int pf_open(void *d, kube_portforward_stream_t *st, uint16_t port,
                   const char *rid, void **user, kube_error_t *err) {
  if (port == 666)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                          "error forwarding port 666 to pod p: connection "
                          "refused");
  *user = NULL;
  return 0;
}

static void pf_data(void *d, kube_portforward_stream_t *st, void *user,
                    const void *buf, size_t len) {
  char *up = malloc(len);
  for (size_t i = 0; i < len; i++)
    up[i] = (char)toupper(((const unsigned char *)buf)[i]);
  kube_portforward_stream_write(st, up, len, NULL);
  free(up);
}

static void pf_eof(void *d, kube_portforward_stream_t *st, void *user) {
  kube_portforward_stream_close_write(st, NULL);
}

/* ---- HTTP ---------------------------------------------------------------- */

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void url_decode(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
      *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
      s += 2;
    } else {
      *o++ = *s == '+' ? ' ' : *s;
    }
  }
  *o = '\0';
}

/* All values of query parameter name, decoded, joined with sep. */
static void query_get(const char *query, const char *name, const char *sep,
                      char *out, size_t len) {
  out[0] = '\0';
  if (!query)
    return;
  char *q = strdup(query), *save = NULL;
  for (char *kv = strtok_r(q, "&", &save); kv;
       kv = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq)
      continue;
    *eq = '\0';
    if (strcmp(kv, name) != 0)
      continue;
    url_decode(eq + 1);
    if (out[0])
      strncat(out, sep, len - strlen(out) - 1);
    strncat(out, eq + 1, len - strlen(out) - 1);
  }
  free(q);
}

/* Header value (several lines joined with ", "), case-insensitive. */
static char *header(char *head, const char *name, char *buf, size_t len) {
  buf[0] = '\0';
  size_t nl = strlen(name);
  for (char *line = strstr(head, "\r\n"); line && line[2];
       line = strstr(line + 2, "\r\n")) {
    char *l = line + 2;
    if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      char *v = l + nl + 1;
      while (*v == ' ')
        v++;
      char *e = strstr(v, "\r\n");
      size_t vl = e ? (size_t)(e - v) : strlen(v);
      if (buf[0])
        strncat(buf, ", ", len - strlen(buf) - 1);
      strncat(buf, v, vl < len - strlen(buf) - 1 ? vl : len - strlen(buf) - 1);
    }
  }
  return buf[0] ? buf : NULL;
}

static void reply(conn_t *c, int code, const char *type, const char *body) {
  kube_strbuf_printf(&c->out,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     code, code == 200 ? "OK" : "Error", type, strlen(body),
                     body);
  c->closing = true;
}

static const char api_resources[] =
    "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
    "\"v1\",\"resources\":[{\"name\":\"pods\",\"singularName\":\"pod\","
    "\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":[\"get\",\"list\"],"
    "\"shortNames\":[\"po\"]},{\"name\":\"pods/exec\",\"singularName\":\"\","
    "\"namespaced\":true,\"kind\":\"PodExecOptions\",\"verbs\":[\"create\","
    "\"get\"]},{\"name\":\"pods/attach\",\"singularName\":\"\",\"namespaced\":"
    "true,\"kind\":\"PodAttachOptions\",\"verbs\":[\"create\",\"get\"]},"
    "{\"name\":\"pods/portforward\",\"singularName\":\"\",\"namespaced\":true,"
    "\"kind\":\"PodPortForwardOptions\",\"verbs\":[\"create\",\"get\"]}]}";

static const char pod_json[] =
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
    "\"namespace\":\"default\",\"uid\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\""
    ",\"resourceVersion\":\"1\"},\"spec\":{\"containers\":[{\"name\":\"c1\","
    "\"image\":\"busybox\",\"stdin\":true,\"tty\":true,\"ports\":[{"
    "\"containerPort\":8080}]}]},"
    "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"c1\","
    "\"ready\":true,\"restartCount\":0,\"image\":\"busybox\",\"imageID\":\"\","
    "\"state\":{\"running\":{}}}]}}";

static void handle_get(conn_t *c, const char *path) {
  if (strcmp(path, "/version") == 0)
    return reply(c, 200, "application/json",
                 "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":"
                 "\"v1.32.0\",\"platform\":\"linux/amd64\"}");
  if (strcmp(path, "/api") == 0)
    return reply(c, 200, "application/json",
                 "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                 "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":"
                 "\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1:1\"}]}");
  if (strcmp(path, "/apis") == 0)
    return reply(c, 200, "application/json",
                 "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\","
                 "\"groups\":[]}");
  if (strcmp(path, "/api/v1") == 0)
    return reply(c, 200, "application/json", api_resources);
  const char *pre = "/api/v1/namespaces/default/pods/";
  if (strncmp(path, pre, strlen(pre)) == 0 &&
      !strchr(path + strlen(pre), '/')) {
    char body[8192];
    snprintf(body, sizeof body, pod_json, path + strlen(pre));
    return reply(c, 200, "application/json", body);
  }
  reply(c, 404, "application/json",
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
        "\"reason\":\"NotFound\",\"code\":404}");
}

static const char *transport_name(kube_stream_transport_t t) {
  return t == KUBE_STREAM_WEBSOCKET ? "websocket"
         : t == KUBE_STREAM_SPDY    ? "spdy"
                                    : "spdy-over-websocket";
}

static void handle_upgrade(conn_t *c, const char *method, const char *path,
                           const char *query) {
  bool pf = strstr(path, "/portforward") != NULL;
  char h[7][512];
  kube_stream_request_t req = {
      .method = method,
      .upgrade = header(c->head, "Upgrade", h[0], sizeof h[0]),
      .connection = header(c->head, "Connection", h[1], sizeof h[1]),
      .ws_key = header(c->head, "Sec-WebSocket-Key", h[2], sizeof h[2]),
      .ws_version = header(c->head, "Sec-WebSocket-Version", h[3], sizeof h[3]),
      .ws_protocol =
          header(c->head, "Sec-WebSocket-Protocol", h[4], sizeof h[4]),
      .stream_protocol =
          header(c->head, "X-Stream-Protocol-Version", h[5], sizeof h[5])};
  kube_stream_upgrade_t up;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_stream_kind_t kind = pf ? KUBE_STREAM_PORTFORWARD : KUBE_STREAM_EXEC;
  if (kube_stream_upgrade_negotiate(kind, &req, &up, &err) < 0) {
    fprintf(stderr, "negotiation failed: %s\n", err.message);
    reply(c, kube_reason_http_code(err.reason), "text/plain", err.message);
    kube_error_clear(&err);
    return;
  }
  printf("UPGRADE %s %s %d %s\n", pf ? "portforward" : "exec",
         transport_name(up.transport), up.version,
         up.protocol[0] ? up.protocol : "-");
  fflush(stdout);
  kube_stream_upgrade_response(&up, &c->out);
  c->upgraded = true;
  if (pf) {
    char ports_s[512];
    uint16_t ports[16];
    size_t n = 0;
    query_get(query, "ports", ",", ports_s, sizeof ports_s);
    if (!ports_s[0])
      query_get(query, "port", ",", ports_s, sizeof ports_s);
    if (up.transport == KUBE_STREAM_WEBSOCKET &&
        kube_portforward_parse_ports(ports_s, ports, 16, &n, &err) < 0) {
      fprintf(stderr, "ports: %s\n", err.message);
      kube_error_clear(&err);
    }
    kube_portforward_server_callbacks_t cb = {
        .version = KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION,
        .write = conn_write,
        .stream_open = pf_open,
        .stream_data = pf_data,
        .stream_eof = pf_eof,
        .done = sess_done};
    c->pf = kube_portforward_server_new(&up, ports, n, &cb, c, &err);
    if (!c->pf || kube_portforward_server_start(c->pf, &err) < 0) {
      fprintf(stderr, "portforward: %s\n", err.message);
      c->closing = true;
    }
  } else {
    char v[64];
    kube_exec_streams_t o;
    query_get(query, "stdin", ",", v, sizeof v);
    o.use_stdin = kube_stream_query_bool(v);
    query_get(query, "stdout", ",", v, sizeof v);
    o.use_stdout = kube_stream_query_bool(v);
    query_get(query, "stderr", ",", v, sizeof v);
    o.use_stderr = kube_stream_query_bool(v);
    query_get(query, "tty", ",", v, sizeof v);
    o.tty = kube_stream_query_bool(v);
    query_get(query, "command", " ", c->command, sizeof c->command);
    /* Attach joins the container's main process: a shell that prints
     * the terminal size with a tty and copies stdin without one. */
    if (strstr(path, "/attach") && !c->command[0])
      snprintf(c->command, sizeof c->command, "%s", o.tty ? "size" : "cat");
    kube_exec_server_callbacks_t cb = {.version =
                                           KUBE_EXEC_SERVER_CALLBACKS_VERSION,
                                       .write = conn_write,
                                       .ready = ex_ready,
                                       .stdin_data = ex_stdin,
                                       .stdin_eof = ex_stdin_eof,
                                       .resize = ex_resize,
                                       .done = sess_done};
    c->exec = kube_exec_server_new(&up, &o, &cb, c, &err);
    if (!c->exec || kube_exec_server_start(c->exec, &err) < 0) {
      fprintf(stderr, "exec: %s\n", err.message);
      c->closing = true;
    }
  }
  kube_error_clear(&err);
}

static void handle_head(conn_t *c, size_t head_end) {
  char method[16], target[4096];
  c->head[head_end] = '\0';
  if (sscanf(c->head, "%15s %4095s", method, target) != 2)
    return reply(c, 400, "text/plain", "bad request");
  char *query = strchr(target, '?');
  if (query)
    *query++ = '\0';
  fprintf(stderr, "%s %s%s%s\n", method, target, query ? "?" : "",
          query ? query : "");
  if (strstr(target, "/exec") || strstr(target, "/attach") ||
      strstr(target, "/portforward"))
    handle_upgrade(c, method, target, query);
  else
    handle_get(c, target);
  /* Bytes after the head belong to the upgraded protocol. */
  size_t rest = c->head_len - head_end - 4;
  if (rest && c->upgraded) {
    if (c->exec)
      kube_exec_server_feed(c->exec, c->head + head_end + 4, rest, NULL);
    else if (c->pf)
      kube_portforward_server_feed(c->pf, c->head + head_end + 4, rest, NULL);
  }
}

static void conn_free(conn_t *c) {
  close(c->fd);
  kube_exec_server_free(c->exec);
  kube_portforward_server_free(c->pf);
  kube_strbuf_clear(&c->out);
  kube_strbuf_clear(&c->in);
  free(c);
}

static void conn_read(conn_t *c) {
  char buf[65536];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n <= 0) {
    if (c->exec)
      kube_exec_server_eof(c->exec);
    else if (c->pf)
      kube_portforward_server_eof(c->pf);
    c->closing = true;
    return;
  }
  if (c->upgraded) {
    kube_error_t err = KUBE_ERROR_INIT;
    int r = c->exec ? kube_exec_server_feed(c->exec, buf, (size_t)n, &err)
                    : kube_portforward_server_feed(c->pf, buf, (size_t)n, &err);
    if (r < 0)
      fprintf(stderr, "protocol error: %s\n", err.message);
    kube_error_clear(&err);
    return;
  }
  size_t room = sizeof c->head - 1 - c->head_len;
  size_t k = (size_t)n < room ? (size_t)n : room;
  memcpy(c->head + c->head_len, buf, k);
  c->head_len += k;
  c->head[c->head_len] = '\0';
  char *end = strstr(c->head, "\r\n\r\n");
  if (end)
    handle_head(c, (size_t)(end - c->head));
  else if (c->head_len == sizeof c->head - 1)
    reply(c, 431, "text/plain", "headers too large");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 ||
      listen(ls, 16) < 0 || getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
    perror("listen");
    return 1;
  }
  printf("PORT %u\n", ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {
    struct pollfd pf[MAX_CONNS + 1];
    int idx[MAX_CONNS + 1];
    nfds_t n = 0;
    pf[n++] = (struct pollfd){.fd = ls, .events = POLLIN};
    for (int i = 0; i < MAX_CONNS; i++)
      if (conns[i]) {
        idx[n] = i;
        pf[n++] = (struct pollfd){.fd = conns[i]->fd, .events = POLLIN};
      }
    if (poll(pf, n, -1) < 0)
      continue;
    if (pf[0].revents & POLLIN) {
      int fd = accept(ls, NULL, NULL);
      int slot = -1;
      for (int i = 0; i < MAX_CONNS && slot < 0; i++)
        if (!conns[i])
          slot = i;
      if (fd >= 0 && slot >= 0) {
        conns[slot] = calloc(1, sizeof(conn_t));
        conns[slot]->fd = fd;
      } else if (fd >= 0) {
        close(fd);
      }
    }
    for (nfds_t k = 1; k < n; k++) {
      conn_t *c = conns[idx[k]];
      if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
        conn_read(c);
      flush_out(c);
      if (c->closing) {
        conn_free(c);
        conns[idx[k]] = NULL;
      }
    }
  }
}
