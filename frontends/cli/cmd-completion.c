/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube completion bash|zsh: a script that asks `kube __complete WORDS...`
 * for the candidates of the word under the cursor: verbs, flags (each
 * verb's own, listed by its flag parser), resource types (the server's
 * discovery, else the built-in kinds), object names from the server,
 * namespaces for -n and formats for -o.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctr.h"

static const char bash_script[] =
    "# bash completion for kube                       -*- shell-script -*-\n"
    "# Load with: source <(kube completion bash)\n"
    "_kube()\n"
    "{\n"
    "    local IFS=$'\\n'\n"
    "    COMPREPLY=($(kube __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" "
    "2>/dev/null))\n"
    "}\n"
    "complete -o default -F _kube kube\n";

static const char zsh_script[] =
    "#compdef kube\n"
    "# Load with: source <(kube completion zsh)\n"
    "_kube() {\n"
    "  local -a candidates\n"
    "  candidates=(\"${(@f)$(kube __complete \"${(@)words[2,CURRENT]}\" "
    "2>/dev/null)}\")\n"
    "  if (( ${#candidates} )) && [[ -n ${candidates[1]} ]]; then\n"
    "    compadd -Q -- \"${candidates[@]}\"\n"
    "  else\n"
    "    _files\n"
    "  fi\n"
    "}\n"
    "if [ \"$funcstack[1]\" = \"_kube\" ]; then\n"
    "  _kube \"$@\"\n"
    "else\n"
    "  compdef _kube kube\n"
    "fi\n";

int cmd_completion(int argc, char **argv) {
  const struct cli_flag flags[] = {{NULL, 0, 0, NULL, NULL}};
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  const char *shell = npos > 0 ? pos[0] : NULL;
  int rc = 0;
  if (!shell)
    rc = cli_fail("Shell not specified.\nSee 'kube completion -h' for help "
                  "and examples");
  else if (npos > 1)
    rc = cli_fail("Too many arguments. Expected only the shell type.\nSee "
                  "'kube completion -h' for help and examples");
  else if (streq(shell, "bash"))
    fputs(bash_script, stdout);
  else if (streq(shell, "zsh"))
    fputs(zsh_script, stdout);
  else
    rc = cli_fail("Unsupported shell type \"%s\".", shell);
  free(pos);
  return rc;
}

/* ---- kube __complete ---------------------------------------------------- */

struct complete {
  const char *cur; /* the word being completed */
  const char *ns;  /* -n, or NULL */
};

static void candidate(const struct complete *cp, const char *s) {
  if (str_has_prefix(s, cp->cur))
    printf("%s\n", s);
}

/* Global flags that take a value in the next word. */
static bool takes_value(const char *flag) {
  static const char *const with_value[] = {"-n",
                                           "--namespace",
                                           "--context",
                                           "-s",
                                           "--server",
                                           "--kubeconfig",
                                           "--token",
                                           "--request-timeout",
                                           "--certificate-authority",
                                           "-o",
                                           "--output",
                                           "-l",
                                           "--selector",
                                           "-f",
                                           "--filename",
                                           "-c",
                                           "--container",
                                           "--field-selector",
                                           "--image",
                                           "-L",
                                           "--label-columns",
                                           "--sort-by",
                                           "--raw",
                                           "--subresource",
                                           "--type",
                                           "-p",
                                           "--patch",
                                           "--dry-run",
                                           "--cascade",
                                           "--port",
                                           "--target-port",
                                           "--replicas",
                                           "--name",
                                           "--field-manager",
                                           "--timeout"};
  if (strchr(flag, '='))
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(with_value); i++)
    if (streq(flag, with_value[i]))
      return true;
  return false;
}

/* A short request timeout: completion must not hang on a dead server. */
static kube_client_t *quiet_client(void) {
  if (!cli_g.request_timeout)
    cli_g.request_timeout = "2s";
  return cli_client();
}

/* Resource types: the server's, else the kinds this library serves. */
static void complete_types(const struct complete *cp) {
  const char *slash = strchr(cp->cur, '/');
  if (slash)
    return;
  kube_client_t *c = quiet_client();
  kube_api_resource_list_t l = {0};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (c && kube_client_api_resources(c, NULL, &l, &err) == 0) {
    for (size_t i = 0; i < l.n; i++) {
      char buf[256];
      if (*l.items[i].group)
        snprintf(buf, sizeof buf, "%s.%s", l.items[i].name, l.items[i].group);
      else
        snprintf(buf, sizeof buf, "%s", l.items[i].name);
      candidate(cp, buf);
    }
    kube_api_resource_list_clear(&l);
    return;
  }
  for (size_t i = 0; i < kube_kinds_count(); i++) {
    const kube_kind_t *k = kube_kinds_at(i);
    char buf[256];
    if (*k->group)
      snprintf(buf, sizeof buf, "%s.%s", k->resource, k->group);
    else
      snprintf(buf, sizeof buf, "%s", k->resource);
    candidate(cp, buf);
  }
}

struct names {
  const struct complete *cp;
  const char *prefix; /* "pod/" when completing TYPE/NAME, else "" */
};

static int name_candidate(const kube_object_t *item, void *ud) {
  const struct names *n = ud;
  const char *name = kube_object_name(item);
  char buf[512];
  snprintf(buf, sizeof buf, "%s%s", n->prefix, name ? name : "");
  candidate(n->cp, buf);
  return 0;
}

/* Names of the objects of `type` in the namespace of the command line. */
static void complete_names(const struct complete *cp, const char *type,
                           const char *prefix) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = quiet_client();
  /* Custom resources too: the client learns them from the server. */
  const kube_kind_t *k = c ? kube_client_resolve_kind(c, type, &err) : NULL;
  if (!k)
    return;
  kube_object_t *list =
      kube_client_list(c, k, cp->ns ? cp->ns : cli_namespace(), NULL, &err);
  struct names n = {cp, prefix};
  if (list)
    kube_list_foreach(list, name_candidate, &n);
  kube_object_free(list);
}

static void complete_value(const struct complete *cp, const char *flag) {
  if (streq(flag, "-n") || streq(flag, "--namespace")) {
    struct complete all = *cp;
    all.ns = NULL;
    complete_names(&all, "namespaces", "");
  } else if (streq(flag, "-o") || streq(flag, "--output")) {
    static const char *const formats[] = {
        "json", "yaml", "name", "wide", "jsonpath=", "custom-columns="};
    for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
      candidate(cp, formats[i]);
  }
}

/* Verbs whose arguments are TYPE [NAME...] or TYPE/NAME. */
static bool takes_resources(const char *verb) {
  static const char *const verbs[] = {"get",    "describe", "delete", "edit",
                                      "label",  "annotate", "patch",  "scale",
                                      "expose", "autoscale"};
  for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
    if (streq(verb, verbs[i]))
      return true;
  return false;
}

static void complete_args(const struct complete *cp, const char *verb,
                          char **args, int nargs) {
  if (takes_resources(verb)) {
    const char *slash = strchr(cp->cur, '/');
    if (slash) {
      char type[128], prefix[130];
      snprintf(type, sizeof type, "%.*s", (int)(slash - cp->cur), cp->cur);
      snprintf(prefix, sizeof prefix, "%s/", type);
      complete_names(cp, type, prefix);
    } else if (nargs == 0) {
      complete_types(cp);
    } else if (!strchr(args[0], '/')) {
      complete_names(cp, args[0], "");
    }
  } else if (streq(verb, "logs") || streq(verb, "exec")) {
    if (nargs == 0)
      complete_names(cp, "pods", "");
  } else if (streq(verb, "create")) {
    static const char *const subs[] = {"configmap", "deployment", "job",
                                       "namespace", "secret",     "service"};
    static const char *const types[] = {"clusterip", "loadbalancer",
                                        "nodeport"};
    if (nargs == 0)
      for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
        candidate(cp, subs[i]);
    else if (nargs == 1 && (streq(args[0], "service") || streq(args[0], "svc")))
      for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        candidate(cp, types[i]);
    else if (nargs == 1 && streq(args[0], "secret"))
      candidate(cp, "generic");
  } else if (streq(verb, "completion")) {
    if (nargs == 0) {
      candidate(cp, "bash");
      candidate(cp, "zsh");
    }
  } else if (streq(verb, "help")) {
    for (size_t i = 0; nargs == 0 && i < cli_n_commands; i++)
      candidate(cp, cli_commands[i].name);
  } else if (streq(verb, "container")) {
    /* subcommands, then the names of containers ($KUBE_DATA_DIR's) */
    char **names = ctr_complete_words(nargs ? args[0] : NULL, nargs);
    for (size_t i = 0; names && names[i]; i++) {
      candidate(cp, names[i]);
      free(names[i]);
    }
    free(names);
  } else if (streq(verb, "runtime")) {
    static const char *const subs[] = {"create", "start", "run",
                                       "state",  "kill",  "delete",
                                       "list",   "exec",  "spec"};
    for (size_t i = 0; nargs == 0 && i < ARRAY_SIZE(subs); i++)
      candidate(cp, subs[i]);
  }
}

int cmd_complete(int argc, char **argv) {
  /* argv[0] is "__complete"; the last word is the one being completed. */
  struct complete cp = {argc > 1 ? argv[argc - 1] : "", NULL};
  const char *verb = NULL;
  char **args = calloc((size_t)argc + 1, sizeof *args);
  int nargs = 0;
  if (!args)
    return 1;
  for (int i = 1; i < argc - 1; i++) {
    const char *w = argv[i];
    if (w[0] == '-' && w[1]) {
      if ((streq(w, "-n") || streq(w, "--namespace")) && i + 1 < argc - 1)
        cp.ns = argv[i + 1];
      else if (str_has_prefix(w, "--namespace="))
        cp.ns = w + 12;
      /* The global flags the client needs (--server, --kubeconfig ...). */
      if ((streq(w, "-s") || streq(w, "--server")) && i + 1 < argc - 1)
        cli_g.server = argv[i + 1];
      else if ((streq(w, "--kubeconfig")) && i + 1 < argc - 1)
        cli_g.kubeconfig = argv[i + 1];
      else if ((streq(w, "--context")) && i + 1 < argc - 1)
        cli_g.context = argv[i + 1];
      if (takes_value(w))
        i++;
      continue;
    }
    if (!verb)
      verb = w;
    else
      args[nargs++] = argv[i];
  }
  if (cp.ns)
    cli_g.namespace_ = cp.ns;
  const char *prev = argc > 2 ? argv[argc - 2] : "";
  if (prev[0] == '-' && takes_value(prev)) {
    complete_value(&cp, prev);
  } else if (!verb) {
    if (cp.cur[0] == '-') {
      cli_list_flags = cp.cur;
      cli_parse(1, argv, NULL, NULL, NULL, NULL);
    }
    for (size_t i = 0; i < cli_n_commands; i++)
      candidate(&cp, cli_commands[i].name);
  } else if (cp.cur[0] == '-') {
    for (size_t i = 0; i < cli_n_commands; i++)
      if (streq(verb, cli_commands[i].name) && !streq(verb, "runtime") &&
          !streq(verb, "help")) {
        /* The verb's flag parser lists its flags and exits. */
        char *vargv[] = {(char *)verb, NULL};
        cli_list_flags = cp.cur;
        cli_commands[i].fn(1, vargv);
      }
  } else {
    complete_args(&cp, verb, args, nargs);
  }
  free(args);
  return 0;
}
