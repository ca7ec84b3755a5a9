/* SPDX-License-Identifier: Apache-2.0 */
/* kube create -f FILE | deployment | namespace | service. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

struct create_opts {
  const char *output, *dry_run_v, *dry_run, *image, *validate, *cluster_ip;
  const char *field_manager;
  bool dry_run_set, recursive, save_config;
  struct cli_strv files, tcp, from_literal, from_file, from_env_file;
  const char *type;
  const char *selector, *min_available, *max_unavailable; /* pdb */
  int64_t replicas, port;
  kube_output_t out;
};

/* Create one object (client-side dry run prints it only).
 * --save-config records the configuration as `kubectl apply` would, so a
 * later apply computes its patch from it. */
static int create_one(kube_client_t *c, kube_object_t *obj,
                      const kube_kind_t *k, const char *ns,
                      struct create_opts *o, const char *source) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (o->save_config && kube_object_set_last_applied(obj, &err) < 0)
    return cli_report(&err);
  if (streq(o->dry_run, "client"))
    return cli_print_result(obj, k, "created", &o->out, o->dry_run);
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run = streq(o->dry_run, "server"),
                                    .field_manager = o->field_manager,
                                    .grace_period = -1,
                                    .field_validation =
                                        cli_field_validation(o->validate)};
  kube_object_t *res = kube_client_create(c, k, ns, obj, &wo, &err);
  if (!res) {
    cleanup_free char *ctx = NULL;
    if (source && asprintf(&ctx, "error when creating \"%s\": ", source) < 0)
      ctx = NULL;
    cli_print_error_ctx(&err, ctx);
    return 1;
  }
  cli_print_result(res, k, "created", &o->out, o->dry_run);
  kube_object_free(res);
  return 0;
}

static int create_from_files(struct create_opts *o) {
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  if (cli_read_files(&o->files, o->recursive, &m) < 0)
    return 1;
  kube_client_t *c = cli_client();
  int rc = c ? 0 : 1;
  for (size_t i = 0; c && i < m.n; i++) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    const kube_kind_t *k =
        kube_client_kind_of_object(cli_client(), m.objects[i], &err);
    if (!k) {
      rc = cli_report(&err);
      continue;
    }
    const char *ns = cli_object_namespace(m.objects[i], k);
    if (ns && !*ns) {
      rc = 1;
      continue;
    }
    if (create_one(c, m.objects[i], k, ns, o, m.sources[i]))
      rc = 1;
  }
  kube_manifest_clear(&m);
  return rc;
}

static int create_generated(kube_object_t *obj, struct create_opts *o,
                            kube_error_t *err) {
  if (!obj)
    return cli_report(err);
  cleanup_error kube_error_t kerr = KUBE_ERROR_INIT;
  const kube_kind_t *k = kube_client_kind_of_object(cli_client(), obj, &kerr);
  kube_client_t *c = cli_client();
  int rc = 1;
  if (k && c)
    rc = create_one(c, obj, k, k->namespaced ? cli_namespace() : NULL, o, NULL);
  kube_object_free(obj);
  return rc;
}

int cmd_create(int argc, char **argv) {
  struct create_opts o = {.replicas = -1};
  const struct cli_flag flags[] = {
      {"filename", 'f', CLI_STRINGS, &o.files, NULL},
      {"recursive", 'R', CLI_BOOL, &o.recursive, NULL},
      {"output", 'o', CLI_STRING, &o.output, NULL},
      {"dry-run", 0, CLI_STRING, &o.dry_run_v, &o.dry_run_set},
      {"save-config", 0, CLI_BOOL, &o.save_config, NULL},
      {"field-manager", 0, CLI_STRING, &o.field_manager, NULL},
      {"image", 0, CLI_STRING, &o.image, NULL},
      {"replicas", 'r', CLI_INT, &o.replicas, NULL},
      {"port", 0, CLI_INT, &o.port, NULL},
      {"tcp", 0, CLI_STRINGS, &o.tcp, NULL},
      {"clusterip", 0, CLI_STRING, &o.cluster_ip, NULL},
      {"from-literal", 0, CLI_STRINGS, &o.from_literal, NULL},
      {"from-file", 0, CLI_STRINGS, &o.from_file, NULL},
      {"from-env-file", 0, CLI_STRINGS, &o.from_env_file, NULL},
      {"type", 0, CLI_STRING, &o.type, NULL},
      {"selector", 0, CLI_STRING, &o.selector, NULL},
      {"min-available", 0, CLI_STRING, &o.min_available, NULL},
      {"max-unavailable", 0, CLI_STRING, &o.max_unavailable, NULL},
      /* strict (default) | warn | ignore | true | false: the server's
       * fieldValidation. */
      {"validate", 0, CLI_STRING, &o.validate, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, dashdash = -1, rc = 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, &dashdash) < 0)
    goto out;
  if (!(o.dry_run = cli_dry_run(o.dry_run_v, o.dry_run_set)) ||
      !cli_field_validation(o.validate) ||
      cli_output_parse(o.output, &o.out) < 0)
    goto out;
  if (o.files.n > 0) {
    if (npos > 0) {
      rc = cli_fail("unexpected args: %s", pos[0]);
      goto out;
    }
    rc = create_from_files(&o);
  } else if (npos == 0) {
    rc = cli_fail("must specify one of -f and -k");
  } else if (streq(pos[0], "deployment") || streq(pos[0], "deploy")) {
    if (npos != 2) {
      rc = cli_fail("exactly one NAME is required, got %d", npos - 1);
      goto out;
    }
    if (!o.image) {
      rc = cli_fail("required flag(s) \"image\" not set");
      goto out;
    }
    kube_generate_options_t g = {.struct_size = sizeof g,
                                 .name = pos[1],
                                 .image = o.image,
                                 .replicas = (int32_t)o.replicas,
                                 .port = (int32_t)(o.port > 0 ? o.port : 0)};
    rc = create_generated(kube_generate_deployment(&g, &err), &o, &err);
  } else if (streq(pos[0], "poddisruptionbudget") || streq(pos[0], "pdb")) {
    if (npos != 2) {
      rc = cli_fail("exactly one NAME is required, got %d", npos - 1);
      goto out;
    }
    rc = create_generated(kube_generate_pdb(pos[1], o.selector, o.min_available,
                                            o.max_unavailable, &err),
                          &o, &err);
  } else if (streq(pos[0], "namespace") || streq(pos[0], "ns")) {
    if (npos != 2) {
      rc = cli_fail("exactly one NAME is required, got %d", npos - 1);
      goto out;
    }
    rc = create_generated(kube_generate_namespace(pos[1], &err), &o, &err);
  } else if (streq(pos[0], "service") || streq(pos[0], "svc")) {
    if (npos != 3) {
      rc =
          cli_fail("usage: kube create service clusterip|nodeport|loadbalancer "
                   "NAME --tcp=port:targetPort");
      goto out;
    }
    if (o.tcp.n == 0 && !(o.cluster_ip && streq(o.cluster_ip, "None"))) {
      rc = cli_fail("at least one tcp port specifier must be provided");
      goto out;
    }
    rc = create_generated(kube_generate_service(pos[2], NULL, pos[1], o.tcp.v,
                                                o.cluster_ip, &err),
                          &o, &err);
  } else if (streq(pos[0], "configmap") || streq(pos[0], "cm") ||
             streq(pos[0], "secret")) {
    bool secret = streq(pos[0], "secret");
    int first = secret ? 2 : 1;
    if (secret && (npos < 2 || !streq(pos[1], "generic"))) {
      rc = cli_fail(npos < 2 ? "usage: kube create secret generic NAME "
                               "[--from-literal=k=v] [--from-file=[k=]path]"
                             : "unknown command \"%s\" for \"kube create "
                               "secret\" (only generic is supported)",
                    npos < 2 ? "" : pos[1]);
      goto out;
    }
    if (npos != first + 1) {
      rc = cli_fail("exactly one NAME is required, got %d", npos - first);
      goto out;
    }
    kube_generate_data_options_t g = {.struct_size = sizeof g,
                                      .name = pos[first],
                                      .files = o.from_file.v,
                                      .literals = o.from_literal.v,
                                      .env_files = o.from_env_file.v,
                                      .type = o.type};
    rc = create_generated(secret ? kube_generate_secret(&g, &err)
                                 : kube_generate_configmap(&g, &err),
                          &o, &err);
  } else if (streq(pos[0], "job")) {
    int names = dashdash >= 0 ? dashdash - 1 : npos - 1;
    if (names != 1) {
      rc = cli_fail("exactly one NAME is required, got %d", names);
      goto out;
    }
    kube_generate_options_t g = {
        .struct_size = sizeof g,
        .name = pos[1],
        .image = o.image,
        .args = dashdash >= 0 ? (const char *const *)pos + dashdash : NULL};
    rc = create_generated(kube_generate_job(&g, &err), &o, &err);
  } else {
    rc = cli_fail("unknown command \"%s\" for \"kube create\"", pos[0]);
  }
out:
  free(o.files.v);
  free(o.tcp.v);
  free(o.from_literal.v);
  free(o.from_file.v);
  free(o.from_env_file.v);
  free(pos);
  return rc;
}
