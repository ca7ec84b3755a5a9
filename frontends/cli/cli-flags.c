/* SPDX-License-Identifier: Apache-2.0 */
/* kubectl-style flag parsing: long and short flags anywhere on the line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

struct cli_globals cli_g;
const char *cli_list_flags;

static const struct cli_flag global_flags[] = {
    {"kubeconfig", 0, CLI_STRING, &cli_g.kubeconfig, NULL},
    {"context", 0, CLI_STRING, &cli_g.context, NULL},
    {"server", 's', CLI_STRING, &cli_g.server, NULL},
    {"token", 0, CLI_STRING, &cli_g.token, NULL},
    {"namespace", 'n', CLI_STRING, &cli_g.namespace_, NULL},
    {"certificate-authority", 0, CLI_STRING, &cli_g.certificate_authority,
     NULL},
    {"insecure-skip-tls-verify", 0, CLI_BOOL, &cli_g.insecure_skip_tls_verify,
     NULL},
    {"request-timeout", 0, CLI_STRING, &cli_g.request_timeout, NULL},
    {"v", 'v', CLI_INT, &cli_g.verbosity, NULL},
    {NULL, 0, 0, NULL, NULL},
};

static const struct cli_flag *find_long(const struct cli_flag *flags,
                                        const char *name, size_t len) {
  for (const struct cli_flag *f = flags; f && f->name; f++)
    if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
      return f;
  for (const struct cli_flag *f = global_flags; f->name; f++)
    if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
      return f;
  return NULL;
}

static const struct cli_flag *find_short(const struct cli_flag *flags, char c) {
  for (const struct cli_flag *f = flags; f && f->name; f++)
    if (f->shorthand == c)
      return f;
  for (const struct cli_flag *f = global_flags; f->name; f++)
    if (f->shorthand == c)
      return f;
  return NULL;
}

static int set_value(const struct cli_flag *f, const char *display,
                     const char *v) {
  switch (f->type) {
  case CLI_BOOL:
    if (!v || !strcasecmp(v, "true") || !strcmp(v, "1"))
      *(bool *)f->value = true;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0"))
      *(bool *)f->value = false;
    else {
      fprintf(stderr,
              "error: invalid argument \"%s\" for \"%s\" flag: "
              "strconv.ParseBool: parsing \"%s\": invalid syntax\n",
              v, display, v);
      return -1;
    }
    break;
  case CLI_STRING:
    *(const char **)f->value = v;
    break;
  case CLI_INT: {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno) {
      fprintf(stderr,
              "error: invalid argument \"%s\" for \"%s\" flag: "
              "strconv.ParseInt: parsing \"%s\": invalid syntax\n",
              v, display, v);
      return -1;
    }
    *(int64_t *)f->value = n;
    break;
  }
  case CLI_STRINGS: {
    struct cli_strv *sv = f->value;
    const char **nv = realloc(sv->v, (sv->n + 2) * sizeof *nv);
    if (!nv) {
      fprintf(stderr, "error: out of memory\n");
      return -1;
    }
    nv[sv->n++] = v;
    nv[sv->n] = NULL;
    sv->v = nv;
    break;
  }
  }
  if (f->set)
    *f->set = true;
  return 0;
}

static void print_flags(const struct cli_flag *flags) {
  static const char *const kinds[] = {"", " string", " int", " strings"};
  for (const struct cli_flag *f = flags; f && f->name; f++) {
    char buf[64];
    if (f->shorthand)
      snprintf(buf, sizeof buf, "-%c, --%s%s", f->shorthand, f->name,
               kinds[f->type]);
    else
      snprintf(buf, sizeof buf, "    --%s%s", f->name, kinds[f->type]);
    printf("  %s\n", buf);
  }
}

/* --help / -h: the verb's flags and the global ones; the CLI exits. */
static void usage(const char *verb, const struct cli_flag *flags) {
  printf("Usage:\n  kube %s [flags]\n", verb);
  if (flags && flags->name) {
    printf("\nFlags:\n");
    print_flags(flags);
  }
  printf("\nGlobal flags:\n");
  print_flags(global_flags);
}

/* `kube __complete VERB -...`: the flag names the verb takes that start
 * with `prefix`. */
static void list_flags(const struct cli_flag *flags, const char *prefix) {
  size_t plen = strlen(prefix);
  for (int pass = 0; pass < 2; pass++)
    for (const struct cli_flag *f = pass ? global_flags : flags; f && f->name;
         f++) {
      char name[128];
      snprintf(name, sizeof name, "--%s", f->name);
      if (strncmp(name, prefix, plen) == 0)
        printf("%s\n", name);
      snprintf(name, sizeof name, "-%c", f->shorthand);
      if (f->shorthand && strncmp(name, prefix, plen) == 0)
        printf("%s\n", name);
    }
}

int cli_parse(int argc, char **argv, const struct cli_flag *flags, char ***pos,
              int *npos, int *dashdash) {
  if (cli_list_flags) {
    list_flags(flags, cli_list_flags);
    fflush(stdout);
    exit(0);
  }
  char **p = calloc((size_t)argc + 1, sizeof *p);
  int n = 0;
  if (!p) {
    fprintf(stderr, "error: out of memory\n");
    return -1;
  }
  if (dashdash)
    *dashdash = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      if (dashdash)
        *dashdash = n;
      for (i++; i < argc; i++)
        p[n++] = argv[i];
      break;
    }
    if (a[0] != '-' || a[1] == '\0') {
      p[n++] = argv[i];
      continue;
    }
    if (strcmp(a, "--help") == 0 ||
        (strcmp(a, "-h") == 0 && !find_short(flags, 'h'))) {
      usage(argv[0], flags);
      free(p);
      exit(0);
    }
    char display[128];
    if (a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      const struct cli_flag *f = find_long(flags, name, len);
      snprintf(display, sizeof display, "--%.*s", (int)len, name);
      if (!f) {
        fprintf(stderr, "error: unknown flag: %s\nSee '%s --help' for usage.\n",
                display, argv[0]);
        goto fail;
      }
      const char *v = eq ? eq + 1 : NULL;
      if (!v && f->type != CLI_BOOL) {
        if (i + 1 >= argc) {
          fprintf(stderr, "error: flag needs an argument: %s\n", display);
          goto fail;
        }
        v = argv[++i];
      }
      if (set_value(f, display, v) < 0)
        goto fail;
      continue;
    }
    /* Short flags: "-n ns", "-nns", "-n=ns", and bundles of booleans. */
    for (const char *c = a + 1; *c; c++) {
      const struct cli_flag *f = find_short(flags, *c);
      snprintf(display, sizeof display, "-%c", *c);
      if (!f) {
        fprintf(stderr,
                "error: unknown shorthand flag: '%c' in %s\nSee '%s --help' "
                "for usage.\n",
                *c, a, argv[0]);
        goto fail;
      }
      if (f->type == CLI_BOOL) {
        const char *v = NULL;
        if (c[1] == '=') {
          v = c + 2;
          if (set_value(f, display, v) < 0)
            goto fail;
          break;
        }
        if (set_value(f, display, NULL) < 0)
          goto fail;
        continue;
      }
      const char *v = c[1] ? c + 1 : NULL;
      if (v && *v == '=')
        v++;
      if (!v) {
        if (i + 1 >= argc) {
          fprintf(stderr, "error: flag needs an argument: '%c' in %s\n", *c, a);
          goto fail;
        }
        v = argv[++i];
      }
      if (set_value(f, display, v) < 0)
        goto fail;
      break;
    }
  }
  *pos = p;
  *npos = n;
  return 0;
fail:
  free(p);
  return -1;
}
