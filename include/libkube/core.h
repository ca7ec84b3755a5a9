/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube core: errors that carry a Kubernetes reason, logging, strings,
 * time, UUIDs, resource quantities and label/field selectors.
 *
 * Conventions for the whole library:
 * - Fallible functions take `kube_error_t *err` last.  They return an int < 0
 *   (or NULL) on failure and fill *err; *err is touched only on failure.
 *   `err` may be NULL when the caller does not want the details.
 * - A kube_error_t is caller-allocated (usually on the stack, zeroed with
 *   KUBE_ERROR_INIT) and released with kube_error_clear().
 * - The library never prints, exits or aborts on a runtime error; log lines
 *   go through the handler set with kube_log_set_handler().
 */
#ifndef LIBKUBE_CORE_H
#define LIBKUBE_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KUBE_EXPORT __attribute__((visibility("default")))
#define KUBE_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* The Kubernetes `Status.reason` an error maps to.  The apiserver turns the
 * reason into the HTTP code and Status object without string matching. */
typedef enum kube_reason {
  KUBE_REASON_UNKNOWN = 0,      /* 500, reason "" (plain internal failure) */
  KUBE_REASON_BAD_REQUEST,      /* 400 BadRequest */
  KUBE_REASON_UNAUTHORIZED,     /* 401 Unauthorized */
  KUBE_REASON_FORBIDDEN,        /* 403 Forbidden */
  KUBE_REASON_NOT_FOUND,        /* 404 NotFound */
  KUBE_REASON_METHOD_NOT_ALLOWED, /* 405 MethodNotAllowed */
  KUBE_REASON_NOT_ACCEPTABLE,   /* 406 NotAcceptable */
  KUBE_REASON_ALREADY_EXISTS,   /* 409 AlreadyExists */
  KUBE_REASON_CONFLICT,         /* 409 Conflict */
  KUBE_REASON_GONE,             /* 410 Gone */
  KUBE_REASON_EXPIRED,          /* 410 Expired (resourceVersion too old) */
  KUBE_REASON_TOO_LARGE,        /* 413 RequestEntityTooLarge */
  KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, /* 415 UnsupportedMediaType */
  KUBE_REASON_INVALID,          /* 422 Invalid, with causes */
  KUBE_REASON_TOO_MANY_REQUESTS, /* 429 TooManyRequests */
  KUBE_REASON_INTERNAL,         /* 500 InternalError */
  KUBE_REASON_SERVICE_UNAVAILABLE, /* 503 ServiceUnavailable */
  KUBE_REASON_TIMEOUT,          /* 504 Timeout */
  KUBE_REASON__COUNT
} kube_reason_t;

/* One field error of an Invalid error, as in `Status.details.causes`. */
typedef struct kube_error_cause {
  char *field;   /* "spec.containers[0].image" (owned) */
  char *type;    /* "FieldValueRequired", "FieldValueInvalid", ... (owned) */
  char *message; /* "Required value" (owned) */
} kube_error_cause_t;

typedef struct kube_error {
  kube_reason_t reason;
  int errnum;          /* errno at the failure, 0 when not a system error */
  char *message;       /* owned; NULL when no error is set */
  /* Optional details for Status.details (owned, may be NULL). */
  char *details_kind;  /* "pods" */
  char *details_name;  /* "x" */
  size_t n_causes;
  kube_error_cause_t *causes; /* owned array */
} kube_error_t;

#define KUBE_ERROR_INIT {0}

/* Fill *err (if err is not NULL) and return -1.  When *err already holds an
 * error, the old one is released first.  Never fails: on out-of-memory the
 * message becomes a static "out of memory" text. */
KUBE_PRINTF(4, 5)
int kube_error_set(kube_error_t *err, kube_reason_t reason, int errnum,
                   const char *fmt, ...);
int kube_error_setv(kube_error_t *err, kube_reason_t reason, int errnum,
                    const char *fmt, va_list ap);
/* Prefix the message with context: "open store: <old message>".  Returns -1. */
KUBE_PRINTF(2, 3)
int kube_error_wrap(kube_error_t *err, const char *fmt, ...);
/* Append a field cause (Invalid errors).  Does not change reason/message. */
void kube_error_add_cause(kube_error_t *err, const char *field,
                          const char *type, const char *message);
/* Set Status.details.kind/name. */
void kube_error_set_details(kube_error_t *err, const char *kind,
                            const char *name);
/* Move src into dst (dst is cleared first; src becomes empty). */
void kube_error_move(kube_error_t *dst, kube_error_t *src);
/* Release everything err owns and zero it.  Accepts NULL. */
void kube_error_clear(kube_error_t *err);
/* True when an error is set. */
bool kube_error_is_set(const kube_error_t *err);

/* "NotFound", "AlreadyExists", ...; "" for KUBE_REASON_UNKNOWN. Static. */
const char *kube_reason_string(kube_reason_t reason);
/* HTTP status code for a reason (404, 409, ...). */
int kube_reason_http_code(kube_reason_t reason);
/* Reverse of kube_reason_string; KUBE_REASON_UNKNOWN when unrecognised. */
kube_reason_t kube_reason_from_string(const char *s);
/* Best reason for an HTTP status code (used by clients). */
kube_reason_t kube_reason_from_http_code(int code);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum kube_log_level {
  KUBE_LOG_ERROR = 0,
  KUBE_LOG_WARNING = 1,
  KUBE_LOG_INFO = 2,
  KUBE_LOG_DEBUG = 3,
} kube_log_level_t;

/* Receives one complete line (no trailing newline).  Called from whichever
 * thread logged; the default handler writes "<RFC3339> <LEVEL> <msg>\n" to
 * stderr with one write(2). */
typedef void (*kube_log_handler_t)(kube_log_level_t level, const char *msg,
                                   void *userdata);

/* Install a handler (NULL restores the default).  Not thread-safe against
 * concurrent logging: call it at start-up. */
void kube_log_set_handler(kube_log_handler_t handler, void *userdata);
/* Messages above `level` are dropped.  Default: KUBE_LOG_INFO, or the value
 * of KUBE_LOG_LEVEL (error|warning|info|debug) in the environment. */
void kube_log_set_level(kube_log_level_t level);
kube_log_level_t kube_log_get_level(void);
/* Parse "error", "warning", "info", "debug" (or 0..3); -1 if unknown. */
int kube_log_level_parse(const char *s);
KUBE_PRINTF(2, 3) void kube_log(kube_log_level_t level, const char *fmt, ...);
void kube_logv(kube_log_level_t level, const char *fmt, va_list ap);

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */
/* ------------------------------------------------------------------------ */

/* A growable byte buffer, always NUL-terminated when data != NULL.  On
 * allocation failure the buffer remembers it (oom = true), further appends
 * are no-ops, and kube_strbuf_steal() returns NULL. */
typedef struct kube_strbuf {
  char *data;
  size_t len;
  size_t cap;
  bool oom;
} kube_strbuf_t;

#define KUBE_STRBUF_INIT {0}

void kube_strbuf_append(kube_strbuf_t *sb, const char *s);
void kube_strbuf_append_len(kube_strbuf_t *sb, const char *s, size_t len);
void kube_strbuf_append_char(kube_strbuf_t *sb, char c);
KUBE_PRINTF(2, 3) void kube_strbuf_printf(kube_strbuf_t *sb, const char *fmt, ...);
void kube_strbuf_vprintf(kube_strbuf_t *sb, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. */
void kube_strbuf_append_json_string(kube_strbuf_t *sb, const char *s);
void kube_strbuf_reset(kube_strbuf_t *sb); /* len = 0, keeps memory */
/* Take the buffer (owned, free with free()); sb becomes empty.  Returns an
 * empty string for an empty buffer, NULL after an allocation failure. */
char *kube_strbuf_steal(kube_strbuf_t *sb);
void kube_strbuf_clear(kube_strbuf_t *sb); /* releases memory, sb reusable */

/* ------------------------------------------------------------------------ */
/* Time and identifiers                                                      */
/* ------------------------------------------------------------------------ */

/* Format a UTC RFC 3339 time ("2026-11-27T05:26:16Z") into buf (>= 21
 * bytes).  Returns buf. */
char *kube_time_format(time_t t, char *buf, size_t len);
/* Same with microseconds ("...T05:26:16.123456Z", MicroTime), buf >= 28. */
char *kube_time_format_micro(const struct timespec *ts, char *buf, size_t len);
/* Parse RFC 3339 (Z or +hh:mm offsets, optional fraction; digits past
 * nanoseconds are dropped).  BadRequest on malformed or out-of-range
 * input. */
int kube_time_parse(const char *s, struct timespec *out, kube_error_t *err);
/* Human age as kubectl prints it (duration.HumanDuration of now - then):
 * "5s", "119s", "3m20s", "2d4h", "45d", "3y12d"; "0s" one second into the
 * future, "<invalid>" further.  buf >= 16. */
char *kube_time_age(time_t then, time_t now, char *buf, size_t len);
/* Monotonic clock in nanoseconds. */
int64_t kube_time_mono_ns(void);

/* A random (version 4) UUID, 36 characters + NUL, written to buf (>= 37).
 * Returns buf, or NULL when buf is NULL or shorter than 37 bytes. */
char *kube_uuid_generate(char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Base64                                                                    */
/* ------------------------------------------------------------------------ */

/* Standard base64 (RFC 4648, with padding) of len bytes.  Owned string,
 * free(); NULL on out-of-memory. */
char *kube_base64_encode(const void *data, size_t len);
/* Decode standard or URL-safe base64; padding optional, whitespace
 * (\r, \n, space, tab) ignored.  Owned buffer (NUL-terminated for
 * convenience, *out_len excludes the NUL).  NULL with BadRequest on invalid
 * input. */
unsigned char *kube_base64_decode(const char *s, size_t len, size_t *out_len,
                                  kube_error_t *err);
/* Append the standard base64 of len bytes to sb. */
void kube_strbuf_append_base64(kube_strbuf_t *sb, const void *data,
                               size_t len);
/* URL-safe base64 without padding (JWT, RFC 7515).  Owned; NULL on OOM. */
char *kube_base64url_encode(const void *data, size_t len);

/* ------------------------------------------------------------------------ */
/* Event loop and worker pool                                               */
/* ------------------------------------------------------------------------ */

/* Everything in a libkube process runs on one event loop: a kube_loop_t,
 * a thin wrapper over libevent's event_base that an embedder can run on a
 * thread of its own (kube_loop_run), drive from its own loop
 * (kube_loop_iterate), or build around an event_base it already has
 * (kube_loop_new_from_base).  Objects of the library are used only on
 * their loop's thread; kube_loop_invoke() is how other threads reach it.
 *
 * Blocking work (runtime calls, layer unpacking, fsync-heavy writes,
 * probes) runs on a kube_workers_t pool and reports back on the loop. */

typedef struct kube_loop kube_loop_t;
struct event_base;

/* A loop with an event_base of its own.  Owned: free with kube_loop_free.
 * NULL with err on failure. */
kube_loop_t *kube_loop_new(kube_error_t *err);
/* A loop over an embedder's event_base (borrowed: it must outlive the
 * loop, and kube_loop_free does not free it). */
kube_loop_t *kube_loop_new_from_base(struct event_base *base,
                                     kube_error_t *err);
/* Frees the loop (and its event_base when it created it).  Functions
 * invoked and not yet run are dropped.  Every object using the loop must
 * have been freed first.  Accepts NULL. */
void kube_loop_free(kube_loop_t *loop);
/* The libevent base (borrowed), for code that uses libevent directly. */
struct event_base *kube_loop_base(kube_loop_t *loop);
/* Run until kube_loop_quit().  The calling thread becomes the loop's
 * thread.  0 after a quit, -1 with err when the loop failed. */
int kube_loop_run(kube_loop_t *loop, kube_error_t *err);
/* Run one pass: wait up to timeout_ms (0: do not wait; < 0: until
 * something happens) and handle what is ready.  0, or -1 when the loop
 * failed.  For embedders that drive the loop from their own. */
int kube_loop_iterate(kube_loop_t *loop, int timeout_ms);
/* Make kube_loop_run() return after the current callbacks.  Any thread. */
void kube_loop_quit(kube_loop_t *loop);
/* Run fn(arg) on the loop's thread, soon (never inside this call, even on
 * the loop's thread).  Any thread; calls from one thread run in order.
 * -1 with err only on out-of-memory. */
int kube_loop_invoke(kube_loop_t *loop, void (*fn)(void *arg), void *arg,
                     kube_error_t *err);
/* True when called on the thread currently running the loop (or when no
 * thread runs it yet). */
bool kube_loop_in_thread(const kube_loop_t *loop);

/* A timer on a loop: fn(arg) runs on the loop thread when it fires. */
typedef struct kube_timer kube_timer_t;
/* Owned: free with kube_timer_free (which also disarms it). */
kube_timer_t *kube_timer_new(kube_loop_t *loop, void (*fn)(void *arg),
                             void *arg, kube_error_t *err);
/* Fire once after ms milliseconds (re-arming replaces the pending time). */
void kube_timer_arm(kube_timer_t *t, int64_t ms);
/* Fire every ms milliseconds until disarmed. */
void kube_timer_arm_periodic(kube_timer_t *t, int64_t ms);
void kube_timer_disarm(kube_timer_t *t);
bool kube_timer_pending(const kube_timer_t *t);
void kube_timer_free(kube_timer_t *t); /* accepts NULL */

/* A pool of worker threads that run blocking work for a loop. */
typedef struct kube_workers kube_workers_t;
/* Blocking work, run on a worker thread.  It must not touch objects of
 * the loop; it reads and writes only what `arg` gives it. */
typedef void (*kube_work_fn)(void *arg);
/* Completion, run on the loop's thread after the work returned. */
typedef void (*kube_work_done_fn)(void *arg);

/* Start `threads` worker threads (0: the number of CPUs, at least 2) for
 * `loop` (borrowed; must outlive the pool).  Owned: free with
 * kube_workers_free. */
kube_workers_t *kube_workers_new(kube_loop_t *loop, unsigned threads,
                                 kube_error_t *err);
/* Queue work(arg) for a worker; done(arg) (may be NULL) follows on the
 * loop.  Jobs start in submission order.  Any thread.  -1 with err on
 * out-of-memory or after kube_workers_free began. */
int kube_workers_submit(kube_workers_t *w, kube_work_fn work,
                        kube_work_done_fn done, void *arg, kube_error_t *err);
/* Jobs queued or running (not yet completed on the loop). */
size_t kube_workers_pending(const kube_workers_t *w);
/* Wait for every submitted job to finish, run the done callbacks not yet
 * delivered (on the calling thread, which must be the loop's), stop the
 * threads and free the pool.  Accepts NULL. */
void kube_workers_free(kube_workers_t *w);

/* ------------------------------------------------------------------------ */
/* Resource quantities                                                       */
/* ------------------------------------------------------------------------ */

/* Suffix family a quantity was written in; it decides the canonical form. */
typedef enum kube_quantity_format {
  KUBE_QUANTITY_DECIMAL_SI = 0, /* m, "", k, M, G, T, P, E */
  KUBE_QUANTITY_BINARY_SI,      /* Ki, Mi, Gi, Ti, Pi, Ei */
  KUBE_QUANTITY_DECIMAL_EXPONENT, /* 1e3, 5E-3 */
} kube_quantity_format_t;

/* An exact quantity: the value is `nano` / 1e9 units, held in a signed
 * 128-bit integer so 7Ei and 1n are both exact (magnitudes up to about
 * 1.7e29 units).  Values that need more precision than 1n are rounded away
 * from zero, as Kubernetes does. */
typedef struct kube_quantity {
  __int128 nano;
  kube_quantity_format_t format;
} kube_quantity_t;

/* Parse "100m", "0.5", "1.5Gi", "128Mi", "1e3", "2k", "-1".  Rejects
 * garbage, empty strings, unknown suffixes, overflow (BadRequest).  Same
 * grammar as resource.ParseQuantity, which also takes "1.", ".5", "." (0);
 * BinarySI values are capped at 2^63-1 ("8Ei" -> 9223372036854775807) as
 * Kubernetes caps them. */
int kube_quantity_parse(const char *s, kube_quantity_t *out, kube_error_t *err);
/* Canonical form, as Kubernetes' Quantity.String() prints it: "0.1" ->
 * "100m", "0.5" -> "500m", "1.5Gi" -> "1536Mi", "1000" -> "1k"; the
 * exponent form stays an exponent ("1e3" -> "1e3", "1.5e3" -> "1500");
 * BinarySI values below 1024 or with a fraction print as DecimalSI
 * ("0.5Ki" -> "512").  buf >= 48 bytes.  Returns buf. */
char *kube_quantity_format(const kube_quantity_t *q, char *buf, size_t len);
int kube_quantity_cmp(const kube_quantity_t *a, const kube_quantity_t *b);
/* a + b into out (format of a; of b when a is zero, as Quantity.Add).
 * Returns -1 with BadRequest on overflow. */
int kube_quantity_add(const kube_quantity_t *a, const kube_quantity_t *b,
                      kube_quantity_t *out, kube_error_t *err);
/* Value in milli-units rounded up (CPU: "100m" -> 100, "1" -> 1000);
 * saturates at INT64_MAX/INT64_MIN. */
int64_t kube_quantity_milli(const kube_quantity_t *q);
/* Value in whole units rounded up (memory: "1Ki" -> 1024, "100m" -> 1). */
int64_t kube_quantity_value(const kube_quantity_t *q);
/* Convenience: parse and return milli / whole units; -1 with err on error. */
int64_t kube_quantity_parse_milli(const char *s, kube_error_t *err);
int64_t kube_quantity_parse_value(const char *s, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Label and field selectors                                                 */
/* ------------------------------------------------------------------------ */

/* Looks a label (or field) up on the object being matched: returns the value
 * (borrowed) or NULL when the object has no such key. */
typedef const char *(*kube_selector_lookup_fn)(void *ctx, const char *key);

typedef enum kube_selector_op {
  KUBE_SELECTOR_EQUALS = 0,  /* a=b, a==b */
  KUBE_SELECTOR_NOT_EQUALS,  /* a!=b */
  KUBE_SELECTOR_IN,          /* a in (x,y) */
  KUBE_SELECTOR_NOT_IN,      /* a notin (x,y) */
  KUBE_SELECTOR_EXISTS,      /* a */
  KUBE_SELECTOR_DOES_NOT_EXIST, /* !a */
  KUBE_SELECTOR_GT,          /* a > 5 (node affinity Gt; not in the string form) */
  KUBE_SELECTOR_LT,          /* a < 5 (node affinity Lt) */
} kube_selector_op_t;

typedef struct kube_selector_requirement {
  char *key;
  kube_selector_op_t op;
  size_t n_values;
  char **values;
} kube_selector_requirement_t;

/* A parsed selector: requirements ANDed together.  An empty selector matches
 * everything.  Label and field selectors share the type; field selectors
 * accept only =, ==, != (as Kubernetes does). */
typedef struct kube_selector {
  size_t n;
  kube_selector_requirement_t *reqs;
  /* Set by kube_field_selector_parse(): a lookup that returns NULL reads as
   * "" (fields.Fields.Get), values print escaped (fields.EscapeValue) and
   * kube_selector_add() accepts only =/!= with one value, unvalidated. */
  bool field_selector;
} kube_selector_t;

/* Parse "a=b,c!=d,e in (x,y),f notin (z),g,!h".  Keys and values are
 * validated as Kubernetes label keys/values.  Returns NULL with BadRequest
 * on a syntax error.  Owned: free with kube_selector_free().
 * As labels.Parse: requirements come back sorted by key (stable), in/notin
 * values sorted and de-duplicated, "a==b" is stored as EQUALS, and "a>5" /
 * "a<5" (integer values) parse to GT / LT.  NULL or "" is the empty
 * selector. */
kube_selector_t *kube_label_selector_parse(const char *s, kube_error_t *err);
/* Parse "metadata.name=x,spec.nodeName!=,status.phase==Running" as
 * fields.ParseSelector does: terms split at unescaped commas and sorted,
 * each split at its first "!=", "==" or "="; the value may escape '\\', ','
 * and '=' with a backslash.  Keys are not validated.  NULL on a syntax
 * error (BadRequest).  Owned: free with kube_selector_free(). */
kube_selector_t *kube_field_selector_parse(const char *s, kube_error_t *err);
kube_selector_t *kube_selector_new(void);
/* Add a requirement (key and values copied), keeping requirements sorted by
 * key as labels.Selector.Add does.  For building a selector from a
 * LabelSelector object (matchLabels + matchExpressions).  Validated as
 * labels.NewRequirement: label key and values; in/notin need >= 1 value,
 * =/!=/gt/lt exactly one (gt/lt an integer), exists/!exists none.
 * BadRequest on violation. */
int kube_selector_add(kube_selector_t *sel, const char *key,
                      kube_selector_op_t op, const char *const *values,
                      size_t n_values, kube_error_t *err);
/* True when every requirement holds (a NULL selector matches everything).
 * A key the lookup does not find fails =, in, exists, gt, lt and satisfies
 * !=, notin and !key, as in Kubernetes. */
bool kube_selector_matches(const kube_selector_t *sel,
                           kube_selector_lookup_fn lookup, void *ctx);
bool kube_selector_empty(const kube_selector_t *sel); /* NULL or no reqs */
/* The canonical string form ("a=b,c in (x,y)", values of in/notin sorted);
 * owned, free().  NULL only on out-of-memory. */
char *kube_selector_to_string(const kube_selector_t *sel);
void kube_selector_free(kube_selector_t *sel);

/* Validation helpers shared by selectors and the object model.  Each returns
 * NULL when s is valid, else a static message as Kubernetes words it. */
const char *kube_validate_dns1123_label(const char *s);     /* max 63 */
const char *kube_validate_dns1123_subdomain(const char *s); /* max 253 */
const char *kube_validate_label_key(const char *s);   /* [prefix/]name */
const char *kube_validate_label_value(const char *s); /* may be empty */

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_CORE_H */
