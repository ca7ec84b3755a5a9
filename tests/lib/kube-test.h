/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helpers shared by every unit test of the kit and of the components
 * built on it (scheduler, controllers, node agent): loop drivers and a fake
 * kube_transport_t, in the style of client-go's fake clientset.
 *
 * The fake is a small in-memory API server plus a recorder:
 * - every request is recorded as an action (method, path, query, content
 *   type, body);
 * - objects (kt_fake_add, or written through the transport) are served:
 *   LIST with label and field selectors, GET, WATCH (history replayed from
 *   the requested resourceVersion, 410 after kt_fake_compact), POST, PUT
 *   (resourceVersion checked), PATCH (merge and strategic merge, both as
 *   RFC 7386 merges), DELETE (preconditions checked), pods/binding,
 *   pods/eviction; each change bumps a resourceVersion and goes to the
 *   open watches;
 * - canned replies (kt_fake_reply) override the store for matching
 *   requests; hold mode keeps plain replies until kt_fake_release.
 * Replies always arrive from the loop, never inside the request, as the
 * transport contract says.
 *
 * Write a controller test the sample-controller way: kt_fake_add the
 * objects, start the informers and wait for them to sync, clear the
 * actions, run one sync, compare kt_fake_actions_string(f, KT_WRITES).
 *
 * Prefix kt_ (HACKING.md).  Test code: aborts on out-of-memory.
 */
#ifndef KUBE_TEST_H
#define KUBE_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <libkube/kit.h>

/* Run the loop for ms milliseconds. */
void kt_run_for(kube_loop_t *loop, int ms);
/* Run the loop until cond(arg) holds; false after timeout_ms. */
bool kt_run_until(kube_loop_t *loop, bool (*cond)(void *), void *arg,
                  int timeout_ms);

typedef struct kt_fake kt_fake_t;

typedef struct kt_action {
  char *method;
  char *path;  /* without the query */
  char *query; /* "" when none */
  char *content_type;
  char *body; /* NUL-terminated; "" when none */
  size_t body_len;
} kt_action_t;

kt_fake_t *kt_fake_new(kube_loop_t *loop);
/* Cancels nothing: free the users of the transport first. */
void kt_fake_free(kt_fake_t *f);
void kt_fake_transport(kt_fake_t *f, kube_transport_t *out);

/* ---- the objects ---- */

/* Store an object (JSON text with apiVersion, kind, metadata.name): create
 * or replace, as a server-side change (ADDED/MODIFIED to watches).  Fills
 * uid and resourceVersion.  Returns its new resourceVersion, or -1 on bad
 * input (the test fails). */
long kt_fake_add(kt_fake_t *f, const char *json);
/* Remove an object (DELETED to watches).  -1 when it does not exist. */
int kt_fake_delete(kt_fake_t *f, const char *api_version, const char *kind,
                   const char *ns, const char *name);
/* The stored object as JSON (owned, free()), NULL when absent. */
char *kt_fake_get(kt_fake_t *f, const char *api_version, const char *kind,
                  const char *ns, const char *name);
/* Objects stored of a kind (ns NULL: every namespace). */
size_t kt_fake_count(kt_fake_t *f, const char *api_version, const char *kind,
                     const char *ns);
/* The current resourceVersion. */
long kt_fake_resource_version(const kt_fake_t *f);
/* Forget the event history: watches from an older resourceVersion get a
 * 410 Expired ERROR event. */
void kt_fake_compact(kt_fake_t *f);

/* ---- canned replies and delivery control ---- */

/* The next `times` requests (0: all from now on) with `method` whose path
 * (without query) starts with `path_prefix` get `status` and `body` (NULL:
 * a Status with the reason the status code implies), not the store. */
void kt_fake_reply(kt_fake_t *f, const char *method, const char *path_prefix,
                   int status, const char *body, unsigned times);
/* Fail the next `times` matching requests with no reply (status 0, as a
 * broken connection). */
void kt_fake_fail(kt_fake_t *f, const char *method, const char *path_prefix,
                  unsigned times);
/* Hold plain replies (watches still stream) / deliver the held ones. */
void kt_fake_hold(kt_fake_t *f, bool hold);
size_t kt_fake_release(kt_fake_t *f);
size_t kt_fake_held(const kt_fake_t *f);

/* ---- watches ---- */

/* Open watches whose path starts with path_prefix. */
size_t kt_fake_watches(const kt_fake_t *f, const char *path_prefix);
/* Send raw bytes (a line, half a line, an ERROR event) to those watches. */
void kt_fake_push_raw(kt_fake_t *f, const char *path_prefix, const char *data);
/* End those watches as a server does at timeoutSeconds. */
void kt_fake_end_watches(kt_fake_t *f, const char *path_prefix);
/* Calls cancelled by the client so far. */
size_t kt_fake_cancelled(const kt_fake_t *f);

/* ---- recorded actions ---- */

size_t kt_fake_n_actions(const kt_fake_t *f);
const kt_action_t *kt_fake_action(const kt_fake_t *f, size_t i);
void kt_fake_clear_actions(kt_fake_t *f);
enum {
  KT_WRITES = 1 << 0, /* leave GETs out */
  KT_QUERY = 1 << 1,  /* show "?query" */
};
/* "METHOD path\n" per action (owned, free()). */
char *kt_fake_actions_string(const kt_fake_t *f, unsigned flags);
/* The last action with method and path prefix, or NULL. */
const kt_action_t *kt_fake_find(const kt_fake_t *f, const char *method,
                                const char *path_prefix);
/* Actions with method and path prefix. */
size_t kt_fake_count_actions(const kt_fake_t *f, const char *method,
                             const char *path_prefix);

#endif /* KUBE_TEST_H */
