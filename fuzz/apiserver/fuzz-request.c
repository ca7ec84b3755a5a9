/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the whole request path (routing, query parsing, body decoding,
 * patches, writes, watches) through the in-process entry point over a
 * memory store.  Input: "METHOD PATH\nCONTENT-TYPE\nACCEPT\nBODY". */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <libkube/apiserver.h>
#include <libkube/store.h>

static struct event_base *base;
static kube_loop_t *base_loop;
static kube_store_t *store;
static kube_apiserver_t *srv;

struct state {
  bool done;
};

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg) {
  struct state *s = arg;
  if (done)
    s->done = true;
}

static void init(void) {
  base = event_base_new();
  base_loop = kube_loop_new_from_base(base, NULL);
  kube_store_options_t so = {
      .struct_size = sizeof so, .backend = "memory", .history = 1000};
  store = kube_store_open(base_loop, &so, NULL);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .bootstrap = true};
  srv = kube_apiserver_new(base_loop, store, &ao, NULL);
  if (!srv)
    abort();
  for (int i = 0; i < 100 && !kube_apiserver_ready(srv); i++)
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static char *take_line(const char **p, const char *end) {
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  const char *stop = nl ? nl : end;
  char *s = strndup(*p, (size_t)(stop - *p));
  *p = nl ? nl + 1 : end;
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!srv)
    init();
  const char *p = (const char *)data, *end = p + size;
  char *first = take_line(&p, end);
  char *ctype = take_line(&p, end);
  char *accept = take_line(&p, end);
  char *sp = first ? strchr(first, ' ') : NULL;
  if (!sp || !ctype || !accept) {
    free(first);
    free(ctype);
    free(accept);
    return 0;
  }
  *sp = '\0';
  kube_apiserver_request_t rq = {
      .struct_size = sizeof rq,
      .method = first,
      .path = sp + 1,
      .content_type = *ctype ? ctype : NULL,
      .accept = *accept ? accept : NULL,
      .body = p,
      .body_len = (size_t)(end - p),
  };
  struct state st = {0};
  kube_apiserver_call_t *c =
      kube_apiserver_request(srv, &rq, reply_cb, &st, NULL);
  for (int i = 0; c && i < 50 && !st.done; i++)
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  if (c && !st.done)
    kube_apiserver_call_cancel(c); /* a watch, or a write still pending */
  for (int i = 0; i < 5; i++)
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  free(first);
  free(ctype);
  free(accept);
  return 0;
}
