/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gRPC probe: one grpc.health.v1.Health/Check call over cleartext
 * HTTP/2 (h2c with prior knowledge, as grpc-go's insecure dial), framed by
 * libnghttp2 and driven on a worker over the probe's connection with its
 * deadline.  Results and words are the kubelet's (pkg/probe/grpc):
 * SERVING is a success; another status "service unhealthy (responded with
 * \"NOT_SERVING\")"; an RPC error "error: health rpc probe failed: rpc
 * error: code = NotFound desc = ...", Unimplemented and the deadline
 * worded apart.
 */
#include <nghttp2/nghttp2.h>

#include "node/agent.h"
#include "node/probe-net.h"

struct call {
  struct nd_conn *c;
  uint8_t req[5 + 2 + 10 + 1024]; /* the gRPC frame of the request */
  size_t req_len, req_off;
  int32_t stream;
  int http_status;
  int grpc_status; /* -1: none seen */
  char *grpc_message;
  kube_strbuf_t data;
  bool closed;
  uint32_t close_error;
};

static const char *const codes[] = {"OK",
                                    "Canceled",
                                    "Unknown",
                                    "InvalidArgument",
                                    "DeadlineExceeded",
                                    "NotFound",
                                    "AlreadyExists",
                                    "PermissionDenied",
                                    "ResourceExhausted",
                                    "FailedPrecondition",
                                    "Aborted",
                                    "OutOfRange",
                                    "Unimplemented",
                                    "Internal",
                                    "Unavailable",
                                    "DataLoss",
                                    "Unauthenticated"};

static const char *const statuses[] = {"UNKNOWN", "SERVING", "NOT_SERVING",
                                       "SERVICE_UNKNOWN"};

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf,
                         size_t len, uint32_t *flags, nghttp2_data_source *src,
                         void *arg) {
  struct call *k = arg;
  size_t n = k->req_len - k->req_off;
  if (n > len)
    n = len;
  memcpy(buf, k->req + k->req_off, n);
  k->req_off += n;
  if (k->req_off == k->req_len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f,
                     const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, uint8_t flags, void *arg) {
  struct call *k = arg;
  if (f->hd.stream_id != k->stream)
    return 0;
  if (nlen == 7 && memcmp(name, ":status", 7) == 0)
    k->http_status = atoi((const char *)value);
  else if (nlen == 11 && memcmp(name, "grpc-status", 11) == 0)
    k->grpc_status = atoi((const char *)value);
  else if (nlen == 12 && memcmp(name, "grpc-message", 12) == 0) {
    free(k->grpc_message);
    k->grpc_message = strndup((const char *)value, vlen);
  }
  return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id,
                   const uint8_t *data, size_t len, void *arg) {
  struct call *k = arg;
  if (id == k->stream && k->data.len < 65536)
    kube_strbuf_append_len(&k->data, (const char *)data, len);
  return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t error, void *arg) {
  struct call *k = arg;
  if (id == k->stream) {
    k->closed = true;
    k->close_error = error;
  }
  return 0;
}

/* The request message: HealthCheckRequest{service = 1}. */
static void build_request(struct call *k, const char *service) {
  size_t sl = strlen(service);
  if (sl > 1000)
    sl = 1000;
  uint8_t msg[1024];
  size_t n = 0;
  if (sl) {
    msg[n++] = 0x0a; /* field 1, length-delimited */
    size_t v = sl;
    while (v >= 0x80) {
      msg[n++] = (uint8_t)(v | 0x80);
      v >>= 7;
    }
    msg[n++] = (uint8_t)v;
    memcpy(msg + n, service, sl);
    n += sl;
  }
  k->req[0] = 0; /* not compressed */
  k->req[1] = (uint8_t)(n >> 24);
  k->req[2] = (uint8_t)(n >> 16);
  k->req[3] = (uint8_t)(n >> 8);
  k->req[4] = (uint8_t)n;
  memcpy(k->req + 5, msg, n);
  k->req_len = 5 + n;
}

/* HealthCheckResponse.status (field 1, varint) of the first message;
 * -1 when the data is not a message. */
static int response_status(const kube_strbuf_t *d) {
  if (d->len < 5)
    return -1;
  const uint8_t *p = (const uint8_t *)d->data;
  size_t len =
      (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
  if (p[0] != 0 || len > d->len - 5)
    return -1;
  int status = 0; /* absent: UNKNOWN */
  for (size_t i = 5; i < 5 + len;) {
    uint8_t tag = p[i++];
    uint64_t v = 0;
    int shift = 0;
    if ((tag & 7) == 0) {
      while (i < 5 + len && shift < 64) {
        v |= (uint64_t)(p[i] & 0x7f) << shift;
        shift += 7;
        if (!(p[i++] & 0x80))
          break;
      }
      if (tag >> 3 == 1)
        status = (int)v;
    } else if ((tag & 7) == 2) {
      while (i < 5 + len && shift < 64) {
        v |= (uint64_t)(p[i] & 0x7f) << shift;
        shift += 7;
        if (!(p[i++] & 0x80))
          break;
      }
      i += (size_t)v;
    } else {
      return -1; /* not what a HealthCheckResponse holds */
    }
  }
  return status;
}

/* "1s", "1.5s" as Go prints a time.Duration of whole milliseconds. */
static void go_seconds(int64_t ms, char *buf, size_t len) {
  if (ms % 1000 == 0)
    snprintf(buf, len, "%llds", (long long)(ms / 1000));
  else
    snprintf(buf, len, "%lldms", (long long)ms);
}

/* Drive the session until the stream closed.  0, -1 (I/O error), -2
 * (deadline). */
static int run_session(nghttp2_session *s, struct call *k, int64_t deadline,
                       const volatile int *cancel) {
  while (!k->closed) {
    const uint8_t *out;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(s, &out)) > 0) {
      int w = nd_conn_write(k->c, out, (size_t)n, deadline, cancel);
      if (w < 0)
        return w;
    }
    if (n < 0)
      return -1;
    if (k->closed)
      break;
    if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s))
      return -1;
    uint8_t buf[16384];
    ssize_t r = nd_conn_read(k->c, buf, sizeof buf, deadline, cancel);
    if (r <= 0)
      return r == -2 ? -2 : -1;
    if (nghttp2_session_mem_recv(s, buf, (size_t)r) < 0)
      return -1;
  }
  return 0;
}

void nd_grpc_check(const struct nd_handler *h, const char *host,
                   int64_t timeout_ms, int64_t deadline,
                   const volatile int *cancel, struct nd_outcome *out) {
  char addr[300], dur[32];
  nd_host_port(host, h->port, addr, sizeof addr);
  go_seconds(timeout_ms, dur, sizeof dur);
  struct nd_conn c = {.fd = -1};
  struct call k = {.c = &c, .grpc_status = -1, .stream = -1};
  nghttp2_session_callbacks *cbs = NULL;
  nghttp2_session *s = NULL;
  char *err = NULL;
  out->result = ND_PR_FAILURE;
  if (nd_conn_dial(&c, host, h->port, deadline, cancel, &err) < 0) {
    if (asprintf(&out->output, "error: failed to connect service at \"%s\": %s",
                 addr, err ? err : "error") < 0)
      out->output = NULL;
    goto done;
  }
  build_request(&k, h->service ? h->service : "");
  if (nghttp2_session_callbacks_new(&cbs) != 0)
    goto oom;
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
  if (nghttp2_session_client_new(&s, cbs, &k) != 0)
    goto oom;
  nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
#define NV(n, v)                                                               \
  {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v),                   \
   NGHTTP2_NV_FLAG_NONE}
  nghttp2_nv hdrs[] = {NV(":method", "POST"),
                       NV(":scheme", "http"),
                       NV(":path", "/grpc.health.v1.Health/Check"),
                       NV(":authority", addr),
                       NV("content-type", "application/grpc"),
                       NV("te", "trailers"),
                       NV("user-agent", "kube-probe/1.32")};
#undef NV
  nghttp2_data_provider body = {.read_callback = read_body};
  k.stream = nghttp2_submit_request(s, NULL, hdrs, sizeof hdrs / sizeof *hdrs,
                                    &body, &k);
  if (k.stream < 0)
    goto oom;
  int r = run_session(s, &k, deadline, cancel);
  if (r == -2) {
    if (asprintf(&out->output, "timeout: health rpc did not complete within %s",
                 dur) < 0)
      out->output = NULL;
    goto done;
  }
  int status = response_status(&k.data);
  if (r == 0 && k.grpc_status == 0 && k.http_status == 200 && status >= 0) {
    if (status == 1) {
      out->result = ND_PR_SUCCESS;
      out->output = strdup("service healthy");
    } else if (asprintf(&out->output,
                        "service unhealthy (responded with \"%s\")",
                        status < 4 ? statuses[status] : "UNKNOWN") < 0) {
      out->output = NULL;
    }
    goto done;
  }
  /* an RPC error (grpc-go maps a missing status, a non-200 answer or a
   * reset stream to Unknown, Unavailable or Internal) */
  int code = k.grpc_status;
  const char *desc = k.grpc_message ? k.grpc_message : "";
  char why[128] = "";
  if (r < 0) {
    code = 14; /* Unavailable */
    desc = "connection closed before server preface received";
  } else if (k.http_status != 200) {
    code = k.http_status == 404 || k.http_status == 501   ? 12
           : k.http_status == 503 || k.http_status == 502 ? 14
                                                          : 2;
    snprintf(why, sizeof why,
             "unexpected HTTP status code received from "
             "server: %d",
             k.http_status);
    desc = why;
  } else if (code < 0) {
    code = 13; /* Internal */
    snprintf(why, sizeof why,
             "server closed the stream without sending "
             "trailers");
    desc = why;
  }
  if (code == 12)
    r = asprintf(&out->output,
                 "error: this server does not implement the grpc health "
                 "protocol (grpc.health.v1.Health): %s",
                 desc);
  else if (code == 4)
    r = asprintf(&out->output, "timeout: health rpc did not complete within %s",
                 dur);
  else
    r = asprintf(&out->output,
                 "error: health rpc probe failed: rpc error: code = %s desc "
                 "= %s",
                 code >= 0 && code < 17 ? codes[code] : "Unknown", desc);
  if (r < 0)
    out->output = NULL;
  goto done;
oom:
  out->result = ND_PR_UNKNOWN;
  out->output = strdup("grpc: out of memory");
done:
  if (out->output && out->result != ND_PR_SUCCESS)
    out->error = strdup(out->output);
  if (s)
    nghttp2_session_del(s);
  if (cbs)
    nghttp2_session_callbacks_del(cbs);
  nd_conn_close(&c);
  free(k.grpc_message);
  kube_strbuf_clear(&k.data);
  free(err);
}
