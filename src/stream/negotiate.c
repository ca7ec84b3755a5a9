/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which transport and protocol version an exec/attach/port-forward upgrade
 * speaks, for both ends.  The protocol names and their meaning come from
 * the kubelet's streaming server (remotecommand, portforward) and
 * client-go's executors and dialers.
 */
#include "stream/internal.h"

#define SPDY_UPGRADE "SPDY/3.1"
#define TUNNEL_PF "SPDY/3.1+portforward.k8s.io"

static const char *const ws_exec_protocols[] = {"v5.channel.k8s.io",
                                                "v4.channel.k8s.io",
                                                "v4.base64.channel.k8s.io",
                                                "v3.channel.k8s.io",
                                                "v2.channel.k8s.io",
                                                "channel.k8s.io",
                                                "base64.channel.k8s.io",
                                                "",
                                                NULL};
static const char *const ws_pf_protocols[] = {
    TUNNEL_PF, "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "", NULL};
static const char *const spdy_exec_protocols[] = {
    "v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
    "v2.channel.k8s.io", "channel.k8s.io",    NULL};
static const char *const spdy_pf_protocols[] = {"portforward.k8s.io", NULL};

/* What a client offers, in its order of preference (kubectl's). */
static const char ws_exec_offer[] =
    "v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, "
    "v2.channel.k8s.io, channel.k8s.io";
static const char spdy_exec_offer[] =
    "v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, "
    "v2.channel.k8s.io, channel.k8s.io";

static void add_header(kube_stream_upgrade_t *up, const char *name,
                       const char *value) {
  if (up->n_headers >= ARRAY_SIZE(up->headers))
    return;
  kube_stream_header_t *h = &up->headers[up->n_headers++];
  h->name = name;
  snprintf(h->value, sizeof h->value, "%s", value);
}

/* Version and flavour of a negotiated name; -1 for unknown names. */
static int apply_protocol(kube_stream_upgrade_t *up, const char *name) {
  snprintf(up->protocol, sizeof up->protocol, "%s", name);
  up->base64 = strstr(name, "base64.") != NULL;
  if (up->kind == KUBE_STREAM_PORTFORWARD) {
    if (streq(name, TUNNEL_PF)) {
      up->transport = KUBE_STREAM_SPDY_OVER_WEBSOCKET;
      up->version = 1;
    } else if (up->transport == KUBE_STREAM_SPDY) {
      if (!streq(name, "portforward.k8s.io"))
        return -1;
      up->version = 1;
    } else {
      if (*name && !streq(name, "v4.channel.k8s.io") &&
          !streq(name, "v4.base64.channel.k8s.io"))
        return -1;
      up->version = 4;
    }
    return 0;
  }
  if (*name == '\0' || streq(name, "channel.k8s.io") ||
      streq(name, "base64.channel.k8s.io"))
    up->version = 1;
  else if (name[0] == 'v' && name[1] >= '2' && name[1] <= '5' &&
           (streq(name + 2, ".channel.k8s.io") ||
            (name[1] == '4' && streq(name + 2, ".base64.channel.k8s.io"))))
    up->version = name[1] - '0';
  else
    return -1;
  return 0;
}

static void join(kube_strbuf_t *sb, const char *const *list) {
  for (size_t i = 0; list[i]; i++)
    if (*list[i])
      kube_strbuf_printf(sb, "%s%s", sb->len ? " " : "", list[i]);
}

static int negotiate_ws(kube_stream_kind_t kind,
                        const kube_stream_request_t *req,
                        kube_stream_upgrade_t *up, kube_error_t *err) {
  kube_ws_request_t w = {.method = req->method,
                         .upgrade = req->upgrade,
                         .connection = req->connection,
                         .key = req->ws_key,
                         .version = req->ws_version,
                         .protocol = req->ws_protocol};
  char accept[KUBE_WS_ACCEPT_LEN];
  if (kube_ws_check_request(&w, accept, sizeof accept, err) < 0)
    return -1;
  const char *const *server =
      kind == KUBE_STREAM_EXEC ? ws_exec_protocols : ws_pf_protocols;
  const char *p = kube_ws_select_protocol(req->ws_protocol, server);
  if (!p) {
    cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
    join(&sb, server);
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                          "requested protocol(s) are not supported: %s; "
                          "supports [%s]",
                          req->ws_protocol, sb.data ? sb.data : "");
  }
  up->transport = KUBE_STREAM_WEBSOCKET;
  if (apply_protocol(up, p) < 0)
    return kube_make_error(err, 0, "stream: unmapped protocol %s", p);
  add_header(up, "Upgrade", "websocket");
  add_header(up, "Connection", "Upgrade");
  add_header(up, "Sec-WebSocket-Accept", accept);
  if (*p)
    add_header(up, "Sec-WebSocket-Protocol", p);
  return 0;
}

static int negotiate_spdy(kube_stream_kind_t kind,
                          const kube_stream_request_t *req,
                          kube_stream_upgrade_t *up, kube_error_t *err) {
  const char *const *server =
      kind == KUBE_STREAM_EXEC ? spdy_exec_protocols : spdy_pf_protocols;
  const char *offered = req->stream_protocol;
  bool any = false;
  for (const char *c = offered; c && *c; c++)
    if (*c != ' ' && *c != ',')
      any = true;
  if (!any)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unable to upgrade: X-Stream-Protocol-Version is "
                          "required");
  const char *p = NULL;
  for (size_t i = 0; server[i] && !p; i++)
    if (stream_list_contains(offered, server[i]))
      p = server[i];
  if (!p) {
    cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
    join(&sb, server);
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                          "unable to upgrade: unable to negotiate protocol: "
                          "client supports [%s], server accepts [%s]",
                          offered, sb.data ? sb.data : "");
  }
  up->transport = KUBE_STREAM_SPDY;
  if (apply_protocol(up, p) < 0)
    return kube_make_error(err, 0, "stream: unmapped protocol %s", p);
  add_header(up, "Connection", "Upgrade");
  add_header(up, "Upgrade", SPDY_UPGRADE);
  add_header(up, "X-Stream-Protocol-Version", p);
  return 0;
}

KUBE_EXPORT int kube_stream_upgrade_negotiate(kube_stream_kind_t kind,
                                              const kube_stream_request_t *req,
                                              kube_stream_upgrade_t *up,
                                              kube_error_t *err) {
  memset(up, 0, sizeof *up);
  if (kind != KUBE_STREAM_EXEC && kind != KUBE_STREAM_PORTFORWARD)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "stream: unknown kind %d", (int)kind);
  up->kind = kind;
  if (!req || !stream_has_token(req->connection, "upgrade"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unable to upgrade: missing upgrade headers in "
                          "request");
  if (stream_has_token(req->upgrade, "websocket"))
    return negotiate_ws(kind, req, up, err);
  if (req->upgrade && strcasestr(req->upgrade, SPDY_UPGRADE))
    return negotiate_spdy(kind, req, up, err);
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "unable to upgrade: unsupported Upgrade: %s "
                        "(want websocket or SPDY/3.1)",
                        req->upgrade ? req->upgrade : "(none)");
}

KUBE_EXPORT void kube_stream_upgrade_response(const kube_stream_upgrade_t *up,
                                              kube_strbuf_t *out) {
  kube_strbuf_append(out, "HTTP/1.1 101 Switching Protocols\r\n");
  for (size_t i = 0; i < up->n_headers; i++)
    kube_strbuf_printf(out, "%s: %s\r\n", up->headers[i].name,
                       up->headers[i].value);
  kube_strbuf_append(out, "\r\n");
}

static const char *client_offer(const kube_stream_upgrade_t *up) {
  if (up->kind == KUBE_STREAM_EXEC)
    return up->transport == KUBE_STREAM_SPDY ? spdy_exec_offer : ws_exec_offer;
  switch (up->transport) {
  case KUBE_STREAM_SPDY:
    return "portforward.k8s.io";
  case KUBE_STREAM_SPDY_OVER_WEBSOCKET:
    return TUNNEL_PF;
  default:
    return "v4.channel.k8s.io";
  }
}

KUBE_EXPORT int kube_stream_client_prepare(kube_stream_kind_t kind,
                                           kube_stream_transport_t transport,
                                           kube_stream_upgrade_t *up,
                                           kube_error_t *err) {
  memset(up, 0, sizeof *up);
  if ((kind != KUBE_STREAM_EXEC && kind != KUBE_STREAM_PORTFORWARD) ||
      transport < KUBE_STREAM_WEBSOCKET ||
      transport > KUBE_STREAM_SPDY_OVER_WEBSOCKET ||
      (kind == KUBE_STREAM_EXEC &&
       transport == KUBE_STREAM_SPDY_OVER_WEBSOCKET))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "stream: unsupported kind/transport %d/%d", (int)kind,
                          (int)transport);
  up->kind = kind;
  up->transport = transport;
  if (transport == KUBE_STREAM_SPDY) {
    add_header(up, "Connection", "Upgrade");
    add_header(up, "Upgrade", SPDY_UPGRADE);
    add_header(up, "X-Stream-Protocol-Version", client_offer(up));
    return 0;
  }
  if (kube_ws_client_key(up->ws_key, sizeof up->ws_key, err) < 0)
    return -1;
  add_header(up, "Connection", "Upgrade");
  add_header(up, "Upgrade", "websocket");
  add_header(up, "Sec-WebSocket-Version", "13");
  add_header(up, "Sec-WebSocket-Key", up->ws_key);
  add_header(up, "Sec-WebSocket-Protocol", client_offer(up));
  return 0;
}

KUBE_EXPORT int kube_stream_client_check(kube_stream_upgrade_t *up,
                                         const kube_stream_response_t *resp,
                                         kube_error_t *err) {
  const char *offer = client_offer(up);
  if (up->transport == KUBE_STREAM_SPDY) {
    if (resp->status != 101 || !resp->upgrade ||
        !strcasestr(resp->upgrade, SPDY_UPGRADE) ||
        !stream_has_token(resp->connection, "upgrade"))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "unable to upgrade connection (HTTP status %d)",
                            resp->status);
    const char *p = resp->stream_protocol ? resp->stream_protocol : "";
    if (*p && !stream_list_contains(offer, p))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "server chose protocol %s, which was not "
                            "offered",
                            p);
    /* No X-Stream-Protocol-Version: client-go falls back to v1. */
    if (!*p && up->kind == KUBE_STREAM_EXEC)
      p = "channel.k8s.io";
    if (!*p)
      p = "portforward.k8s.io";
    return apply_protocol(up, p) < 0
               ? kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                                "unknown protocol %s", p)
               : 0;
  }
  if (kube_ws_check_response(resp->status, resp->upgrade, resp->connection,
                             resp->ws_accept, up->ws_key, resp->ws_protocol,
                             offer, err) < 0)
    return -1;
  const char *p = resp->ws_protocol ? resp->ws_protocol : "";
  kube_stream_transport_t asked = up->transport;
  up->transport = KUBE_STREAM_WEBSOCKET;
  if (apply_protocol(up, p) < 0 ||
      (asked == KUBE_STREAM_SPDY_OVER_WEBSOCKET &&
       up->transport != KUBE_STREAM_SPDY_OVER_WEBSOCKET))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unusable subprotocol \"%s\"", p);
  return 0;
}
