/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl describe of the workload controllers: Deployments (with their
 * ReplicaSets), ReplicaSets, ReplicationControllers, DaemonSets,
 * StatefulSets, Jobs and CronJobs; and of the PodDisruptionBudgets that
 * guard their pods.
 */
#include "client/describe.h"
#include "core/util.h"

static size_t arr_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

/* LabelSelectorAsSelector(...).String(): "" for an empty selector. */
static void selector_text(kube_strbuf_t *sb, json_object *sel) {
  kube_strbuf_append(sb, "");
  kube_json_format_label_selector(sb, sel);
}

static void conditions_with_reason(struct describe *d, json_object *o) {
  json_object *conds = kube_json_get(o, "status.conditions");
  if (arr_len(conds) == 0)
    return;
  client_dw(d, 0, "Conditions:\n  Type\tStatus\tReason\n");
  client_dw(d, 1, "----\t------\t------\n");
  for (size_t i = 0; i < arr_len(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    client_dw(d, 1, "%s \t%s\t%s\n", client_dstr(c, "type"),
              client_dstr(c, "status"), client_dstr(c, "reason"));
  }
}

struct pod_counts {
  int running, waiting, succeeded, failed;
  bool failed_to_list;
};

static int count_pod(const kube_object_t *pod, void *ud) {
  struct {
    struct pod_counts *pc;
    const char *uid;
  } *a = ud;
  json_object *p = kube_object_json(pod);
  /* Only the pods this controller owns. */
  json_object *refs = kube_json_get(p, "metadata.ownerReferences");
  bool mine = false;
  for (size_t i = 0; i < arr_len(refs); i++) {
    json_object *r = json_object_array_get_idx(refs, i);
    if (client_dbool(r, "controller"))
      mine = streq(client_dstr(r, "uid"), a->uid);
  }
  if (!mine)
    return 0;
  const char *phase = client_dstr(p, "status.phase");
  if (streq(phase, "Running"))
    a->pc->running++;
  else if (streq(phase, "Pending"))
    a->pc->waiting++;
  else if (streq(phase, "Succeeded"))
    a->pc->succeeded++;
  else if (streq(phase, "Failed"))
    a->pc->failed++;
  return 0;
}

/* getPodStatusForController. */
static struct pod_counts pod_counts(struct describe *d, json_object *o,
                                    const char *selector) {
  struct pod_counts pc = {0};
  kube_object_t *pods = client_describe_list(
      d, "v1", "Pod", DS(o, "metadata.namespace"), selector, NULL);
  struct {
    struct pod_counts *pc;
    const char *uid;
  } a = {&pc, client_dstr(o, "metadata.uid")};
  if (pods)
    kube_list_foreach(pods, count_pod, &a);
  else
    pc.failed_to_list = true;
  kube_object_free(pods);
  return pc;
}

static void pods_status(struct describe *d, const struct pod_counts *pc) {
  client_dw(d, 0,
            "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d "
            "Failed\n",
            pc->running, pc->waiting, pc->succeeded, pc->failed);
}

/* ---- Deployment ---------------------------------------------------------- */

struct rs_set {
  json_object **v;
  size_t n;
};

/* The pod template without its pod-template-hash label, to compare a
 * ReplicaSet's template with the Deployment's (EqualIgnoreHash). */
static json_object *template_without_hash(json_object *tmpl) {
  json_object *copy = NULL;
  if (!tmpl || json_object_deep_copy(tmpl, &copy, NULL) != 0)
    return NULL;
  json_object *labels = kube_json_get(copy, "metadata.labels");
  if (json_object_is_type(labels, json_type_object)) {
    json_object_object_del(labels, "pod-template-hash");
    if (json_object_object_length(labels) == 0)
      json_object_object_del(kube_json_get(copy, "metadata"), "labels");
  }
  return copy;
}

static void replica_sets_line(struct describe *d, const char *title,
                              const struct rs_set *s) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < s->n; i++)
    kube_strbuf_printf(&sb, "%s%s (%lld/%lld replicas created)", i ? ", " : "",
                       client_dstr(s->v[i], "metadata.name"),
                       (long long)client_dint(s->v[i], "status.replicas", 0),
                       (long long)client_dint(s->v[i], "spec.replicas", 1));
  client_dw(d, 0, "%s:\t%s\n", title, sb.len ? sb.data : "<none>");
  kube_strbuf_clear(&sb);
}

/* The Deployment's ReplicaSets: the new one has the Deployment's template,
 * the old ones are the others it controls (oldest first). */
static void deployment_replica_sets(struct describe *d, json_object *o,
                                    const char *selector) {
  kube_object_t *list = client_describe_list(
      d, "apps/v1", "ReplicaSet", DS(o, "metadata.namespace"), selector, NULL);
  json_object *items =
      list ? kube_json_get(kube_object_json(list), "items") : NULL;
  size_t n = arr_len(items);
  json_object **owned = calloc(n ? n : 1, sizeof *owned);
  struct rs_set olds = {calloc(n ? n : 1, sizeof(json_object *)), 0};
  struct rs_set news = {NULL, 0};
  json_object *newest = NULL;
  size_t k = 0;
  const char *uid = client_dstr(o, "metadata.uid");
  for (size_t i = 0; owned && i < n; i++) {
    json_object *rs = json_object_array_get_idx(items, i);
    json_object *refs = kube_json_get(rs, "metadata.ownerReferences");
    for (size_t r = 0; r < arr_len(refs); r++) {
      json_object *ref = json_object_array_get_idx(refs, r);
      if (client_dbool(ref, "controller") &&
          streq(client_dstr(ref, "uid"), uid))
        owned[k++] = rs;
    }
  }
  /* Oldest first, as kubectl sorts by creation time. */
  for (size_t i = 1; i < k; i++)
    for (size_t j = i;
         j > 0 &&
         strcmp(client_dstr(owned[j - 1], "metadata.creationTimestamp"),
                client_dstr(owned[j], "metadata.creationTimestamp")) > 0;
         j--) {
      json_object *t = owned[j];
      owned[j] = owned[j - 1];
      owned[j - 1] = t;
    }
  json_object *want = template_without_hash(kube_json_get(o, "spec.template"));
  for (size_t i = 0; i < k; i++) {
    json_object *have =
        template_without_hash(kube_json_get(owned[i], "spec.template"));
    if (!newest && want && have && json_object_equal(want, have))
      newest = owned[i];
    json_object_put(have);
  }
  json_object_put(want);
  for (size_t i = 0; olds.v && i < k; i++)
    if (owned[i] != newest)
      olds.v[olds.n++] = owned[i];
  if (newest) {
    news.v = &newest;
    news.n = 1;
  }
  if (olds.n > 0 || news.n > 0) {
    replica_sets_line(d, "OldReplicaSets", &olds);
    replica_sets_line(d, "NewReplicaSet", &news);
  }
  free(olds.v);
  free(owned);
  kube_object_free(list);
}

static void describe_deployment(struct describe *d, json_object *o) {
  char tb[64], a[32], b[32];
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  selector_text(&sel, kube_json_get(o, "spec.selector"));
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_dw(d, 0, "CreationTimestamp:\t%s\n",
            client_dtime(o, "metadata.creationTimestamp", tb, sizeof tb));
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  client_dw(d, 0, "Selector:\t%s\n", sel.data ? sel.data : "");
  client_dw(d, 0,
            "Replicas:\t%lld desired | %lld updated | %lld total | %lld "
            "available | %lld unavailable\n",
            (long long)client_dint(o, "spec.replicas", 1),
            (long long)client_dint(o, "status.updatedReplicas", 0),
            (long long)client_dint(o, "status.replicas", 0),
            (long long)client_dint(o, "status.availableReplicas", 0),
            (long long)client_dint(o, "status.unavailableReplicas", 0));
  client_dw(d, 0, "StrategyType:\t%s\n", client_dstr(o, "spec.strategy.type"));
  client_dw(d, 0, "MinReadySeconds:\t%lld\n",
            (long long)client_dint(o, "spec.minReadySeconds", 0));
  json_object *ru = kube_json_get(o, "spec.strategy.rollingUpdate");
  if (ru)
    client_dw(d, 0,
              "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n",
              client_dintstr(kube_json_get(ru, "maxUnavailable"), a, sizeof a),
              client_dintstr(kube_json_get(ru, "maxSurge"), b, sizeof b));
  client_describe_pod_template(d, kube_json_get(o, "spec.template"));
  conditions_with_reason(d, o);
  deployment_replica_sets(d, o, sel.data);
  kube_strbuf_clear(&sel);
  client_describe_events(d, o, "Deployment");
}

/* ---- ReplicaSet, ReplicationController ----------------------------------- */

static void describe_replica_set(struct describe *d, json_object *o, bool rc) {
  char cb[256];
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  if (rc)
    kube_json_format_labels(&sel, kube_json_get(o, "spec.selector"), "=", ",");
  else
    selector_text(&sel, kube_json_get(o, "spec.selector"));
  struct pod_counts pc = pod_counts(d, o, sel.data);
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  /* metav1.FormatLabelSelector / labels.FormatLabels: "<none>" when
   * empty. */
  client_dw(d, 0, "Selector:\t%s\n", sel.len ? sel.data : "<none>");
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  if (!rc && client_describe_controller(o, cb, sizeof cb))
    client_dw(d, 0, "Controlled By:\t%s\n", cb);
  client_dw(d, 0, "Replicas:\t%lld current / %lld desired\n",
            (long long)client_dint(o, "status.replicas", 0),
            (long long)client_dint(o, "spec.replicas", 1));
  if (!rc && pc.failed_to_list && d->c)
    client_dw(d, 0, "Pods Status:\terror in fetching pods\n");
  else
    pods_status(d, &pc);
  client_describe_pod_template(d, kube_json_get(o, "spec.template"));
  conditions_with_reason(d, o);
  kube_strbuf_clear(&sel);
  client_describe_events(d, o, rc ? "ReplicationController" : "ReplicaSet");
}

/* ---- DaemonSet, StatefulSet ---------------------------------------------- */

static void describe_daemon_set(struct describe *d, json_object *o) {
  kube_strbuf_t sel = KUBE_STRBUF_INIT, ns = KUBE_STRBUF_INIT;
  selector_text(&sel, kube_json_get(o, "spec.selector"));
  kube_strbuf_append(&ns, "");
  kube_json_format_labels(
      &ns, kube_json_get(o, "spec.template.spec.nodeSelector"), "=", ",");
  struct pod_counts pc = pod_counts(d, o, sel.data);
  /* kubectl 1.32 prints no Namespace line for DaemonSets. */
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Selector:\t%s\n", sel.data ? sel.data : "");
  client_dw(d, 0, "Node-Selector:\t%s\n", ns.len ? ns.data : "<none>");
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  static const char *const lines[][2] = {
      {"Desired Number of Nodes Scheduled", "desiredNumberScheduled"},
      {"Current Number of Nodes Scheduled", "currentNumberScheduled"},
      {"Number of Nodes Scheduled with Up-to-date Pods",
       "updatedNumberScheduled"},
      {"Number of Nodes Scheduled with Available Pods", "numberAvailable"},
      {"Number of Nodes Misscheduled", "numberMisscheduled"}};
  json_object *st = kube_json_get(o, "status");
  for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
    client_dw(d, 0, "%s: %lld\n", lines[i][0],
              (long long)client_dint(st, lines[i][1], 0));
  pods_status(d, &pc);
  client_describe_pod_template(d, kube_json_get(o, "spec.template"));
  kube_strbuf_clear(&sel);
  kube_strbuf_clear(&ns);
  client_describe_events(d, o, "DaemonSet");
}

static void describe_stateful_set(struct describe *d, json_object *o) {
  char tb[64], mu[32];
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  selector_text(&sel, kube_json_get(o, "spec.selector"));
  struct pod_counts pc = pod_counts(d, o, sel.data);
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_dw(d, 0, "CreationTimestamp:\t%s\n",
            client_dtime(o, "metadata.creationTimestamp", tb, sizeof tb));
  client_dw(d, 0, "Selector:\t%s\n", sel.data ? sel.data : "");
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  client_dw(d, 0, "Replicas:\t%lld desired | %lld total\n",
            (long long)client_dint(o, "spec.replicas", 1),
            (long long)client_dint(o, "status.replicas", 0));
  client_dw(d, 0, "Update Strategy:\t%s\n",
            client_dstr(o, "spec.updateStrategy.type"));
  json_object *ru = kube_json_get(o, "spec.updateStrategy.rollingUpdate");
  if (ru && kube_json_get(ru, "partition")) {
    client_dw(d, 1, "Partition:\t%lld\n",
              (long long)client_dint(ru, "partition", 0));
    if (kube_json_get(ru, "maxUnavailable"))
      client_dw(
          d, 1, "MaxUnavailable:\t%s\n",
          client_dintstr(kube_json_get(ru, "maxUnavailable"), mu, sizeof mu));
  }
  pods_status(d, &pc);
  client_describe_pod_template(d, kube_json_get(o, "spec.template"));
  json_object *vct = kube_json_get(o, "spec.volumeClaimTemplates");
  if (arr_len(vct) == 0) {
    client_dw(d, 0, "Volume Claims:\t<none>\n");
  } else {
    client_dw(d, 0, "Volume Claims:\n");
    for (size_t i = 0; i < arr_len(vct); i++) {
      json_object *p = json_object_array_get_idx(vct, i);
      json_object *modes = kube_json_get(p, "spec.accessModes");
      kube_strbuf_t am = KUBE_STRBUF_INIT;
      kube_strbuf_append(&am, "[");
      for (size_t m = 0; m < arr_len(modes); m++)
        kube_strbuf_printf(
            &am, "%s%s", m ? " " : "",
            json_object_get_string(json_object_array_get_idx(modes, m)));
      kube_strbuf_append(&am, "]");
      char q[64];
      json_object *cap = kube_json_get(p, "spec.resources.requests.storage");
      client_dw(d, 1, "Name:\t%s\n", client_dstr(p, "metadata.name"));
      client_dw(d, 1, "StorageClass:\t%s\n",
                client_dstr(p, "spec.storageClassName"));
      client_describe_labels(d, "  ", "Labels",
                             kube_json_get(p, "metadata.labels"));
      client_describe_labels(d, "  ", "Annotations",
                             kube_json_get(p, "metadata.annotations"));
      client_dw(d, 1, "Capacity:\t%s\n",
                cap ? client_dquantity(cap, q, sizeof q) : "<default>");
      client_dw(d, 1, "Access Modes:\t%s\n", am.data ? am.data : "[]");
      kube_strbuf_clear(&am);
    }
  }
  kube_strbuf_clear(&sel);
  client_describe_events(d, o, "StatefulSet");
}

/* ---- Job, CronJob ------------------------------------------------------- */

static void describe_job(struct describe *d, json_object *o) {
  char tb[64], cb[256];
  json_object *spec = kube_json_get(o, "spec"),
              *st = kube_json_get(o, "status");
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  selector_text(&sel, kube_json_get(spec, "selector"));
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_dw(d, 0, "Selector:\t%s\n", sel.data ? sel.data : "");
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  if (client_describe_controller(o, cb, sizeof cb))
    client_dw(d, 0, "Controlled By:\t%s\n", cb);
  if (kube_json_get(spec, "parallelism"))
    client_dw(d, 0, "Parallelism:\t%lld\n",
              (long long)client_dint(spec, "parallelism", 0));
  if (kube_json_get(spec, "completions"))
    client_dw(d, 0, "Completions:\t%lld\n",
              (long long)client_dint(spec, "completions", 0));
  else
    client_dw(d, 0, "Completions:\t<unset>\n");
  if (kube_json_get(spec, "completionMode"))
    client_dw(d, 0, "Completion Mode:\t%s\n",
              client_dstr(spec, "completionMode"));
  if (kube_json_get(spec, "suspend"))
    client_dw(d, 0, "Suspend:\t%s\n",
              client_dbool(spec, "suspend") ? "true" : "false");
  if (kube_json_get(spec, "backoffLimit"))
    client_dw(d, 0, "Backoff Limit:\t%lld\n",
              (long long)client_dint(spec, "backoffLimit", 0));
  if (kube_json_get(spec, "ttlSecondsAfterFinished"))
    client_dw(d, 0, "TTL Seconds After Finished:\t%lld\n",
              (long long)client_dint(spec, "ttlSecondsAfterFinished", 0));
  if (kube_json_get(st, "startTime"))
    client_dw(d, 0, "Start Time:\t%s\n",
              client_dtime(st, "startTime", tb, sizeof tb));
  if (kube_json_get(st, "completionTime"))
    client_dw(d, 0, "Completed At:\t%s\n",
              client_dtime(st, "completionTime", tb, sizeof tb));
  if (kube_json_get(st, "startTime") && kube_json_get(st, "completionTime")) {
    struct timespec a = {0}, b = {0};
    kube_time_parse(client_dstr(st, "startTime"), &a, NULL);
    kube_time_parse(client_dstr(st, "completionTime"), &b, NULL);
    client_dw(d, 0, "Duration:\t%s\n",
              kube_time_age(a.tv_sec, b.tv_sec, tb, sizeof tb));
  }
  if (kube_json_get(spec, "activeDeadlineSeconds"))
    client_dw(d, 0, "Active Deadline Seconds:\t%llds\n",
              (long long)client_dint(spec, "activeDeadlineSeconds", 0));
  if (kube_json_get(st, "ready"))
    client_dw(d, 0,
              "Pods Statuses:\t%lld Active (%lld Ready) / %lld Succeeded / "
              "%lld Failed\n",
              (long long)client_dint(st, "active", 0),
              (long long)client_dint(st, "ready", 0),
              (long long)client_dint(st, "succeeded", 0),
              (long long)client_dint(st, "failed", 0));
  else
    client_dw(d, 0,
              "Pods Statuses:\t%lld Active / %lld Succeeded / %lld Failed\n",
              (long long)client_dint(st, "active", 0),
              (long long)client_dint(st, "succeeded", 0),
              (long long)client_dint(st, "failed", 0));
  if (streq(client_dstr(spec, "completionMode"), "Indexed")) {
    /* capIndexesListOrNone(indexes, 50) */
    const char *ix = client_dstr(st, "completedIndexes");
    size_t len = strlen(ix), cut = 50;
    while (cut < len && ix[cut] != ',')
      cut++;
    if (!len)
      client_dw(d, 0, "Completed Indexes:\t<none>\n");
    else if (cut >= len)
      client_dw(d, 0, "Completed Indexes:\t%s\n", ix);
    else
      client_dw(d, 0, "Completed Indexes:\t%.*s...\n", (int)cut + 1, ix);
  }
  client_describe_pod_template(d, kube_json_get(spec, "template"));
  kube_strbuf_clear(&sel);
  client_describe_events(d, o, "Job");
}

static void describe_cron_job(struct describe *d, json_object *o) {
  char tb[64];
  json_object *spec = kube_json_get(o, "spec");
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  client_dw(d, 0, "Schedule:\t%s\n", client_dstr(spec, "schedule"));
  client_dw(d, 0, "Concurrency Policy:\t%s\n",
            client_dstr(spec, "concurrencyPolicy"));
  client_dw(d, 0, "Suspend:\t%s\n",
            !kube_json_get(spec, "suspend") ? "<unset>"
            : client_dbool(spec, "suspend") ? "True"
                                            : "False");
  static const char *const limits[][2] = {
      {"Successful Job History Limit", "successfulJobsHistoryLimit"},
      {"Failed Job History Limit", "failedJobsHistoryLimit"}};
  for (size_t i = 0; i < 2; i++) {
    if (kube_json_get(spec, limits[i][1]))
      client_dw(d, 0, "%s:\t%lld\n", limits[i][0],
                (long long)client_dint(spec, limits[i][1], 0));
    else
      client_dw(d, 0, "%s:\t<unset>\n", limits[i][0]);
  }
  if (kube_json_get(spec, "startingDeadlineSeconds"))
    client_dw(d, 0, "Starting Deadline Seconds:\t%llds\n",
              (long long)client_dint(spec, "startingDeadlineSeconds", 0));
  else
    client_dw(d, 0, "Starting Deadline Seconds:\t<unset>\n");
  /* describeJobTemplate */
  json_object *js = kube_json_get(spec, "jobTemplate.spec");
  if (kube_json_get(js, "selector")) {
    kube_strbuf_t sel = KUBE_STRBUF_INIT;
    selector_text(&sel, kube_json_get(js, "selector"));
    client_dw(d, 0, "Selector:\t%s\n", sel.data ? sel.data : "");
    kube_strbuf_clear(&sel);
  } else {
    client_dw(d, 0, "Selector:\t<unset>\n");
  }
  static const char *const counts[][2] = {{"Parallelism", "parallelism"},
                                          {"Completions", "completions"}};
  for (size_t i = 0; i < 2; i++) {
    if (kube_json_get(js, counts[i][1]))
      client_dw(d, 0, "%s:\t%lld\n", counts[i][0],
                (long long)client_dint(js, counts[i][1], 0));
    else
      client_dw(d, 0, "%s:\t<unset>\n", counts[i][0]);
  }
  if (kube_json_get(js, "activeDeadlineSeconds"))
    client_dw(d, 0, "Active Deadline Seconds:\t%llds\n",
              (long long)client_dint(js, "activeDeadlineSeconds", 0));
  client_describe_pod_template(d, kube_json_get(js, "template"));
  if (kube_json_get(o, "status.lastScheduleTime"))
    client_dw(d, 0, "Last Schedule Time:\t%s\n",
              client_dtime(o, "status.lastScheduleTime", tb, sizeof tb));
  else
    client_dw(d, 0, "Last Schedule Time:\t<unset>\n");
  json_object *active = kube_json_get(o, "status.active");
  client_dw(d, 0, "Active Jobs:\t");
  if (arr_len(active) == 0)
    client_dw(d, 0, "<none>");
  for (size_t i = 0; i < arr_len(active); i++)
    client_dw(d, 0, "%s%s", i ? ", " : "",
              client_dstr(json_object_array_get_idx(active, i), "name"));
  client_dw(d, 0, "\n");
  client_describe_events(d, o, "CronJob");
}

static void describe_rs(struct describe *d, json_object *o) {
  describe_replica_set(d, o, false);
}

static void describe_rc(struct describe *d, json_object *o) {
  describe_replica_set(d, o, true);
}

/* ---- PodDisruptionBudget ------------------------------------------------ */

/* IntOrString.String() */
static const char *intstr(json_object *v, char *buf, size_t len) {
  if (json_object_is_type(v, json_type_int)) {
    snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
    return buf;
  }
  return json_object_get_string(v);
}

static void describe_pdb(struct describe *d, json_object *o) {
  char buf[32];
  json_object *min = kube_json_get(o, "spec.minAvailable");
  json_object *max = kube_json_get(o, "spec.maxUnavailable");
  json_object *sel = kube_json_get(o, "spec.selector");
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  if (min)
    client_dw(d, 0, "Min available:\t%s\n", intstr(min, buf, sizeof buf));
  else if (max)
    client_dw(d, 0, "Max unavailable:\t%s\n", intstr(max, buf, sizeof buf));
  if (json_object_is_type(sel, json_type_object)) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    selector_text(&sb, sel);
    client_dw(d, 0, "Selector:\t%s\n", sb.len ? sb.data : "<none>");
    kube_strbuf_clear(&sb);
  } else {
    client_dw(d, 0, "Selector:\t<unset>\n");
  }
  client_dw(d, 0, "Status:\n");
  client_dw(d, 2, "Allowed disruptions:\t%lld\n",
            (long long)client_dint(o, "status.disruptionsAllowed", 0));
  client_dw(d, 2, "Current:\t%lld\n",
            (long long)client_dint(o, "status.currentHealthy", 0));
  client_dw(d, 2, "Desired:\t%lld\n",
            (long long)client_dint(o, "status.desiredHealthy", 0));
  client_dw(d, 2, "Total:\t%lld\n",
            (long long)client_dint(o, "status.expectedPods", 0));
  client_describe_events(d, o, "PodDisruptionBudget");
}

const struct client_describer client_workload_describers[] = {
    {"apps", "Deployment", describe_deployment},
    {"apps", "ReplicaSet", describe_rs},
    {"", "ReplicationController", describe_rc},
    {"apps", "DaemonSet", describe_daemon_set},
    {"apps", "StatefulSet", describe_stateful_set},
    {"batch", "Job", describe_job},
    {"batch", "CronJob", describe_cron_job},
    {"policy", "PodDisruptionBudget", describe_pdb},
    {NULL, NULL, NULL},
};
