/* SPDX-License-Identifier: Apache-2.0 */
/* The in-process kube_transport_t of an API server: informers, the
 * scheduler loop and controllers in the same process talk to the server
 * through kube_apiserver_request() without sockets or HTTP framing. */
#include <stddef.h>

#include <libkube/apiserver.h>
#include <libkube/kit.h>

#include "core/util.h"

static kube_transport_call_t *tp_request(void *impl,
                                         const kube_transport_request_t *req,
                                         kube_transport_reply_cb cb, void *arg,
                                         kube_error_t *err) {
  kube_apiserver_request_t r = {
      .struct_size = sizeof r,
      .method = req->method,
      .path = req->path,
      .content_type = req->content_type,
      .accept = req->accept,
      .body = req->body,
      .body_len = req->body_len,
      .event_cb = req->struct_size >= offsetof(kube_transport_request_t,
                                               event_cb) +
                                          sizeof req->event_cb
                      ? req->event_cb
                      : NULL,
      .user_agent = req->struct_size >= offsetof(kube_transport_request_t,
                                                 user_agent) +
                                            sizeof req->user_agent
                        ? req->user_agent
                        : NULL,
  };
  /* Same callback signature: the reply goes straight to the caller. */
  return (kube_transport_call_t *)kube_apiserver_request(impl, &r, cb, arg,
                                                         err);
}

static void tp_cancel(void *impl, kube_transport_call_t *call) {
  kube_apiserver_call_cancel((kube_apiserver_call_t *)call);
}

static const kube_transport_ops_t apiserver_transport_ops = {
    .version = KUBE_TRANSPORT_OPS_VERSION,
    .request = tp_request,
    .cancel = tp_cancel,
};

KUBE_EXPORT void kube_apiserver_transport(kube_apiserver_t *srv,
                                          kube_transport_t *out) {
  out->ops = &apiserver_transport_ops;
  out->impl = srv;
  out->user_agent = NULL;
}
