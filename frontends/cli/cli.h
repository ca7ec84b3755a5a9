/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kube CLI: one small file per verb (cmd-<verb>.c) that parses its
 * arguments, calls the library and prints.  Each verb is
 *   int cmd_<verb>(int argc, char **argv);
 * where argv[0] is the verb; it returns the process exit code.
 */
#ifndef KUBE_CLI_H
#define KUBE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkube/api.h>
#include <libkube/client.h>
#include <libkube/kubectl.h>

/* ---- Small helpers (the CLI sees only public headers) ------------------- */

static inline void cli_freep(void *p) {
  free(*(void **)p);
}
static inline void cli_closep(int *fd) {
  if (*fd >= 0)
    close(*fd);
}
static inline void cli_error_clearp(kube_error_t *e) {
  kube_error_clear(e);
}
#define cleanup_free __attribute__((cleanup(cli_freep)))
#define cleanup_close __attribute__((cleanup(cli_closep)))
#define cleanup_error __attribute__((cleanup(cli_error_clearp)))
#define streq(a, b) (strcmp((a), (b)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
static inline bool str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

typedef int (*cli_command_fn)(int argc, char **argv);

struct cli_command {
  const char *name;
  cli_command_fn fn;
  const char *help; /* one line for `kube help` */
};

/* Every verb, in `kube help` order (main.c). */
extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;

/* Print "error: <msg>" to stderr; returns 1 (the exit code). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* OCI runtime CLI (cmd-runtime.c); also run when the binary is invoked as
 * `kube-runtime` (runc/crun-compatible command line). */
int cmd_runtime(int argc, char **argv);

/* ---- Cluster verbs (kubectl's command line) ---------------------------- */

int cmd_version(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_cluster_info(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_api_resources(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_patch(int argc, char **argv);
int cmd_label(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_scale(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_autoscale(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_cordon(int argc, char **argv);
int cmd_uncordon(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_expose(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_debug(int argc, char **argv);
int cmd_port_forward(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_dashboard(int argc, char **argv);
/* Hidden: `kube __complete WORD...` prints the candidates for the last
 * word, one per line (the completion scripts call it). */
int cmd_complete(int argc, char **argv);

/* ---- Flags (cli-flags.c) ----------------------------------------------- */

enum cli_flag_type {
  CLI_BOOL,    /* bool *: --x, --x=true|false */
  CLI_STRING,  /* const char **: --x v, --x=v, -x v, -xv */
  CLI_INT,     /* int64_t * */
  CLI_STRINGS, /* struct cli_strv *: repeatable, also comma-free */
};

struct cli_strv {
  size_t n;
  const char **v; /* NULL-terminated (owned array, borrowed strings) */
};

struct cli_flag {
  const char *name; /* long name without "--" */
  char shorthand;   /* 0 = none */
  enum cli_flag_type type;
  void *value;
  bool *set; /* optional: set to true when the flag appears */
};

/* The flags every verb accepts (kubectl's global flags). */
struct cli_globals {
  const char *kubeconfig;
  const char *context;
  const char *server;
  const char *token;
  const char *namespace_;
  const char *certificate_authority;
  bool insecure_skip_tls_verify;
  const char *request_timeout;
  int64_t verbosity;
};
extern struct cli_globals cli_g;

/* Set by `kube __complete`: cli_parse then prints the names of the flags
 * a verb accepts ("--output", "-o", ...) that start with this prefix and
 * exits instead of parsing. */
extern const char *cli_list_flags;

/* Parse argv[1..argc) against `flags` (terminated by an entry with name
 * NULL) plus the global flags.  Positional arguments go to *pos (owned
 * array of borrowed strings, free()), count in *npos; arguments after
 * "--" are positional too and *dashdash (if not NULL) receives the index
 * of the first of them in *pos (or -1).  On error prints it and returns
 * -1. */
int cli_parse(int argc, char **argv, const struct cli_flag *flags, char ***pos,
              int *npos, int *dashdash);

/* ---- Shared helpers (cli-common.c) ------------------------------------- */

/* The client for the global flags (created once).  Prints the error and
 * returns NULL on failure. */
kube_client_t *cli_client(void);
/* --validate as kubectl maps it to the fieldValidation query parameter:
 * "strict" / "true" / NULL (kubectl's default) → "Strict", "warn" →
 * "Warn", "ignore" / "false" → "Ignore"; anything else: kubectl's error
 * printed, NULL. */
const char *cli_field_validation(const char *validate);
/* Another client with the same settings (owned: kube_client_free), for a
 * second thread.  Prints the error and returns NULL on failure. */
kube_client_t *cli_client_new(void);
/* -n or the context's namespace. */
const char *cli_namespace(void);
/* Print err as kubectl does ("Error from server (NotFound): ..." when the
 * server said so, else "error: ...").  Returns 1. */
int cli_report(kube_error_t *err);
/* Print err without deciding the exit code (for loops over objects). */
void cli_print_error(kube_error_t *err);
/* Same, with a context inserted before a server error's message
 * ("error when creating \"x.yaml\": "). */
void cli_print_error_ctx(kube_error_t *err, const char *context);

/* A resource reference from the command line. */
struct cli_ref {
  const kube_kind_t *kind;
  const char *name; /* borrowed, NULL = all of the kind */
};
/* Parse "TYPE[,TYPE] [NAME...]" or "TYPE/NAME ..." into refs (owned array,
 * free()).  "all" expands to the kinds in category "all".  Returns -1 and
 * prints the error when malformed. */
int cli_parse_refs(char **args, int n, struct cli_ref **out, size_t *n_out);

/* An object named on the command line or found by a selector. */
struct cli_named {
  const kube_kind_t *kind;
  char *name; /* owned */
};
/* The objects refs name: the named ones, and for a bare TYPE every object
 * of the kind (in -n's namespace) that `selector` matches when `all` or a
 * selector is given (else "resource(s) were provided, but no name was
 * specified").  *out: owned, free with cli_named_free.  Prints the error
 * and returns -1. */
int cli_expand_refs(kube_client_t *c, const struct cli_ref *refs, size_t n,
                    const char *selector, bool all, struct cli_named **out,
                    size_t *n_out);
void cli_named_free(struct cli_named *v, size_t n);
/* Read objects from -f arguments (files, directories of .yaml/.yml/.json
 * files, "-" for stdin, multi-document YAML) into m.  Returns -1 and
 * prints the error on failure (m cleared). */
int cli_read_files(const struct cli_strv *files, bool recursive,
                   kube_manifest_t *m);

/* The namespace an object from a file goes to: NULL for cluster-scoped
 * kinds, its own or -n / the context's, "" (after printing the error) when
 * it conflicts with an explicit -n. */
const char *cli_object_namespace(const kube_object_t *obj,
                                 const kube_kind_t *k);

/* Parse an -o value.  Returns -1 and prints the error for an unknown
 * format. */
int cli_output_parse(const char *o, kube_output_t *out);
/* Print one object in a non-table format (json/yaml/name/jsonpath). */
int cli_print_object(const kube_object_t *obj, const kube_output_t *out);
/* Print "<kind>/<name> <verb>[ (dry run)]" or the -o form of obj. */
int cli_print_result(const kube_object_t *obj, const kube_kind_t *kind,
                     const char *verb, const kube_output_t *out,
                     const char *dry_run);
/* Parse --dry-run (none|client|server, or bare = client).  NULL on error. */
const char *cli_dry_run(const char *v, bool set);

/* ---- Pods (cli-pod.c) ---------------------------------------------------- */

/* exec (command) or attach (NULL) with the terminal's stdio (cmd-exec.c):
 * a raw local terminal and its size on SIGWINCH for tty; prints what
 * kubectl prints; returns the exit code. */
int cli_pod_session(kube_client_t *c, const char *pod, const char *container,
                    const char *const *command, bool in, bool tty);
/* -t needs -i and a terminal on stdin, as kubectl's setupTTY. */
void cli_check_tty(bool *tty, bool in);

/* "POD", "pod/POD", "pods/POD", "po/POD" -> POD (borrowed); NULL for
 * another type. */
const char *cli_pod_arg(const char *arg);
/* GET the pod; prints the error and returns NULL when it fails. */
kube_object_t *cli_get_pod(kube_client_t *c, const char *name);
bool cli_pod_has_container(const kube_object_t *pod, const char *name);
/* "a, b, e (ephem), i (init)" (owned). */
char *cli_pod_container_names(const kube_object_t *pod);
/* kubectl's podcmd.FindOrDefaultContainerByName: `name` when the pod has
 * it, else the default-container annotation's, else the first one
 * ("Defaulted container ..." on stderr unless quiet).  Borrowed; NULL
 * after printing the error. */
const char *cli_pod_container(const kube_object_t *pod, const char *name,
                              bool quiet);
/* Go's time.ParseDuration ("1h30m", "90s", "1.5h") in seconds, rounded as
 * kubectl rounds --since; -1 when malformed. */
int64_t cli_parse_duration_s(const char *s);

/* Read a whole stream / file; owned NUL-terminated buffer, NULL with errno
 * set on a read error. */
char *cli_slurp_fd(int fd, size_t *len);

#endif /* KUBE_CLI_H */
