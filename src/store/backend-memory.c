/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory backend: nothing to make durable, so a write is acknowledged
 * on the next loop iteration (never inside the call that queued it, the
 * same as the durable backends).  For tests and throwaway clusters.
 */
#include <stdlib.h>

#include "store/internal.h"

struct mem {
  struct store_op *head, **tail;
  struct event *ev;
};

static void mem_flush(kube_store_t *s) {
  struct mem *m = s->be_data;
  /* Take the whole queue first: callbacks may queue more writes, which
   * then go to the next run. */
  struct store_op *op = m->head;
  m->head = NULL;
  m->tail = &m->head;
  while (op) {
    struct store_op *next = op->next;
    store_op_done(s, op);
    op = next;
  }
}

static void mem_ev_cb(evutil_socket_t fd, short what, void *arg) {
  mem_flush(arg);
}

static int mem_open(kube_store_t *s, const kube_store_options_t *opts,
                    kube_error_t *err) {
  struct mem *m = calloc(1, sizeof(*m));
  if (!m)
    return kube_make_oom(err);
  m->tail = &m->head;
  m->ev = event_new(s->base, -1, 0, mem_ev_cb, s);
  if (!m->ev) {
    free(m);
    return kube_make_oom(err);
  }
  s->be_data = m;
  s->revision = 0;
  return 0;
}

static void mem_submit(kube_store_t *s, struct store_op *op) {
  struct mem *m = s->be_data;
  op->next = NULL;
  *m->tail = op;
  m->tail = &op->next;
  event_active(m->ev, EV_TIMEOUT, 0);
}

static void mem_close(kube_store_t *s) {
  struct mem *m = s->be_data;
  while (m->head)
    mem_flush(s);
  event_free(m->ev);
  free(m);
  s->be_data = NULL;
}

const struct store_backend store_backend_memory = {
    .name = "memory",
    .authoritative = true,
    .open = mem_open,
    .submit = mem_submit,
    .close = mem_close,
};
