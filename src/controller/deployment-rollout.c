/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Deployment strategies, after kube-controller-manager's rolling.go,
 * recreate.go and sync.go's scale(): RollingUpdate scales the new
 * ReplicaSet up within maxSurge and the old ones down within
 * maxUnavailable (unhealthy replicas first); Recreate scales the old ones
 * to zero, waits for their pods to be gone, then scales the new one up;
 * scaling events and paused Deployments scale every active ReplicaSet in
 * proportion.
 */
#include "controller/deployment.h"

static void finish_rollout(struct dwork *w);

/* ------------------------------------------------------------------------ */
/* RollingUpdate                                                             */
/* ------------------------------------------------------------------------ */

static void rolling_done_scaling(struct dwork *w) {
  ctl_dw_sync_rollout_status(w);
}

/* reconcileOldReplicaSets, part 2: scaleDownOldReplicaSetsForRollingUpdate
 * with the ReplicaSets as the unhealthy cleanup left them. */
static void scale_down_old(struct dwork *w) {
  int32_t min_available = ctl_du_replicas(w->d) - ctl_du_max_unavailable(w->d);
  int32_t available = ctl_du_sum_status(w->rss, w->n_rs, "availableReplicas");
  int32_t scaled = 0;
  if (available > min_available) {
    size_t n;
    json_object **old = ctl_dw_old(w, &n);
    if (!old) {
      w->s->result = -1;
      return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (ctl_du_replicas(old[i]) > 0)
        old[k++] = old[i];
    ctl_du_sort_by_creation(old, k);
    int32_t total = available - min_available;
    for (size_t i = 0; i < k && scaled < total; i++) {
      int32_t r = ctl_du_replicas(old[i]);
      int32_t down = r < total - scaled ? r : total - scaled;
      /* Failures are logged only: the next sync tries again. */
      if (ctl_dw_scale_rs(w, ctl_dw_index(w, old[i]), r - down, false) < 0)
        break;
      scaled += down;
    }
    free(old);
  }
  w->counted += scaled;
  ctl_dw_wait(w, w->counted > 0 ? rolling_done_scaling : finish_rollout);
}

/* reconcileOldReplicaSets */
static void reconcile_old(struct dwork *w) {
  size_t n;
  json_object **old = ctl_dw_old(w, &n);
  if (!old) {
    w->s->result = -1;
    return;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (ctl_du_replicas(old[i]) > 0)
      old[k++] = old[i];
  w->counted = 0;
  if (ctl_du_sum_replicas(old, k) == 0) {
    free(old);
    finish_rollout(w);
    return;
  }
  json_object *nrs = ctl_dw_new(w);
  int32_t all = ctl_du_sum_replicas(w->rss, w->n_rs);
  int32_t min_available = ctl_du_replicas(w->d) - ctl_du_max_unavailable(w->d);
  int32_t new_unavailable =
      ctl_du_replicas(nrs) - ctl_du_status(nrs, "availableReplicas");
  int32_t max_down = all - min_available - new_unavailable;
  if (max_down <= 0) {
    free(old);
    finish_rollout(w);
    return;
  }
  /* cleanupUnhealthyReplicas: scaling down replicas that are not available
   * never lowers availability. */
  ctl_du_sort_by_creation(old, k);
  int32_t cleaned = 0;
  for (size_t i = 0; i < k && cleaned < max_down; i++) {
    int32_t r = ctl_du_replicas(old[i]);
    int32_t avail = ctl_du_status(old[i], "availableReplicas");
    if (r == 0 || r == avail)
      continue;
    int32_t down =
        max_down - cleaned < r - avail ? max_down - cleaned : r - avail;
    if (ctl_dw_scale_rs(w, ctl_dw_index(w, old[i]), r - down, false) < 0)
      break;
    cleaned += down;
  }
  free(old);
  w->counted = cleaned;
  ctl_dw_wait(w, scale_down_old);
}

static void scaled_new(struct dwork *w) {
  ctl_dw_sync_rollout_status(w);
}

/* reconcileNewReplicaSet */
static void rolling_reconcile(struct dwork *w) {
  json_object *nrs = ctl_dw_new(w);
  if (!nrs) {
    w->s->result = -1;
    return;
  }
  int32_t want = ctl_du_replicas(w->d), have = ctl_du_replicas(nrs);
  size_t idx = (size_t)w->new_idx;
  int rc = 0;
  if (have > want) {
    rc = ctl_dw_scale_rs(w, idx, want, true);
  } else if (have < want) {
    int32_t count;
    if (ctl_du_new_rs_new_replicas(w->d, w->rss, w->n_rs, nrs, &count) < 0) {
      w->s->result = -1;
      return;
    }
    rc = ctl_dw_scale_rs(w, idx, count, true);
  }
  if (rc < 0)
    return;
  ctl_dw_wait(w, rc > 0 ? scaled_new : reconcile_old);
}

void ctl_dw_rollout_rolling(struct dwork *w) {
  ctl_dw_get_all(w, true, rolling_reconcile);
}

/* The end of a rollout pass: old ReplicaSets beyond the history limit go
 * once the rollout completed, then the status. */
static void finish_rollout(struct dwork *w) {
  if (ctl_du_complete(w->d, cj_obj(w->d, "status")))
    ctl_dw_cleanup(w, ctl_dw_sync_rollout_status);
  else
    ctl_dw_sync_rollout_status(w);
}

/* ------------------------------------------------------------------------ */
/* Recreate                                                                  */
/* ------------------------------------------------------------------------ */

bool ctl_dw_old_pods_running(struct dwork *w) {
  size_t n;
  json_object **old = ctl_dw_old(w, &n);
  if (!old)
    return true;
  bool running = ctl_du_sum_status(old, n, "replicas") > 0;
  free(old);
  if (running)
    return true;
  /* Pods of any ReplicaSet of the Deployment but the new one that are not
   * in a terminal phase. */
  struct ctl_podstore *ps = w->dc->pods;
  json_object *nrs = ctl_dw_new(w);
  for (size_t i = 0; i < w->n_rs; i++) {
    if (w->rss[i] == nrs)
      continue;
    const struct ctl_podlist *l =
        ctl_podstore_owned(ps, cj_str0(cj_obj(w->rss[i], "metadata"), "uid"));
    for (size_t k = 0; k < l->n; k++)
      if (l->v[k]->phase != CTL_PHASE_SUCCEEDED &&
          l->v[k]->phase != CTL_PHASE_FAILED)
        return true;
  }
  return false;
}

static void recreate_finish(struct dwork *w) {
  finish_rollout(w);
}

static void recreate_scale_up(struct dwork *w) {
  if (!ctl_dw_new(w)) {
    w->s->result = -1;
    return;
  }
  if (ctl_dw_scale_rs(w, (size_t)w->new_idx, ctl_du_replicas(w->d), true) < 0)
    return;
  ctl_dw_wait(w, recreate_finish);
}

static void recreate_after_down(struct dwork *w) {
  if (w->counted > 0) {
    ctl_dw_sync_rollout_status(w);
    return;
  }
  if (ctl_dw_old_pods_running(w)) {
    ctl_dw_sync_rollout_status(w);
    return;
  }
  if (!ctl_dw_new(w)) {
    ctl_dw_get_all(w, true, recreate_scale_up);
    return;
  }
  recreate_scale_up(w);
}

static void recreate_start(struct dwork *w) {
  /* scaleDownOldReplicaSetsForRecreate */
  int32_t scaled = 0;
  size_t n;
  json_object **old = ctl_dw_old(w, &n);
  if (!old) {
    w->s->result = -1;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (ctl_du_replicas(old[i]) == 0)
      continue;
    int rc = ctl_dw_scale_rs(w, ctl_dw_index(w, old[i]), 0, true);
    if (rc < 0)
      break;
    scaled += rc;
  }
  free(old);
  w->counted = scaled;
  ctl_dw_wait(w, recreate_after_down);
}

void ctl_dw_rollout_recreate(struct dwork *w) {
  /* No new ReplicaSet yet: never scale up before the old ones are down. */
  ctl_dw_get_all(w, false, recreate_start);
}

/* ------------------------------------------------------------------------ */
/* scale(): scaling events and paused Deployments                           */
/* ------------------------------------------------------------------------ */

/* FindActiveOrLatest */
static json_object *active_or_latest(struct dwork *w) {
  json_object *nrs = ctl_dw_new(w);
  size_t n;
  json_object **old = ctl_dw_old(w, &n);
  if (!old || (!nrs && n == 0)) {
    free(old);
    return NULL;
  }
  ctl_du_sort_by_creation(old, n); /* reversed below: newest first */
  json_object *active = NULL;
  size_t n_active = 0;
  for (size_t i = n; i-- > 0;)
    if (ctl_du_replicas(old[i]) > 0) {
      active = old[i];
      n_active++;
    }
  if (nrs && ctl_du_replicas(nrs) > 0) {
    active = nrs;
    n_active++;
  }
  json_object *newest_old = n ? old[n - 1] : NULL;
  free(old);
  if (n_active == 0)
    return nrs ? nrs : newest_old;
  return n_active == 1 ? active : NULL;
}

void ctl_dw_scale(struct dwork *w, dstep_fn then) {
  int32_t want = ctl_du_replicas(w->d);
  json_object *one = active_or_latest(w);
  if (one) {
    if (ctl_du_replicas(one) != want &&
        ctl_dw_scale_rs(w, ctl_dw_index(w, one), want, true) < 0)
      return;
    ctl_dw_wait(w, then);
    return;
  }
  json_object *nrs = ctl_dw_new(w);
  if (ctl_du_saturated(w->d, nrs)) {
    /* The new ReplicaSet is saturated: the old ones go to zero. */
    for (size_t i = 0; i < w->n_rs; i++)
      if (w->rss[i] != nrs && ctl_du_replicas(w->rss[i]) > 0 &&
          ctl_dw_scale_rs(w, i, 0, true) < 0)
        return;
    ctl_dw_wait(w, then);
    return;
  }
  if (!ctl_du_rolling(w->d)) {
    then(w);
    return;
  }
  /* Proportional scaling of every active ReplicaSet. */
  json_object **all = calloc(w->n_rs + 1, sizeof *all);
  int32_t *size = calloc(w->n_rs + 1, sizeof *size);
  if (!all || !size) {
    free(all);
    free(size);
    w->s->result = -1;
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < w->n_rs; i++)
    if (ctl_du_replicas(w->rss[i]) > 0)
      all[n++] = w->rss[i];
  int32_t replicas = ctl_du_sum_replicas(all, n);
  int32_t allowed = want > 0 ? want + ctl_du_max_surge(w->d) : 0;
  int32_t to_add = allowed - replicas;
  if (to_add > 0)
    ctl_du_sort_by_size(all, n, true);
  else if (to_add < 0)
    ctl_du_sort_by_size(all, n, false);
  int32_t added = 0;
  for (size_t i = 0; i < n; i++) {
    if (to_add != 0) {
      int32_t p = ctl_du_proportion(all[i], w->d, to_add, added);
      size[i] = ctl_du_replicas(all[i]) + p;
      added += p;
    } else {
      size[i] = ctl_du_replicas(all[i]);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (i == 0 && to_add != 0) {
      /* Leftovers go to the largest ReplicaSet. */
      size[i] += to_add - added;
      if (size[i] < 0)
        size[i] = 0;
    }
    if (ctl_dw_scale_rs(w, ctl_dw_index(w, all[i]), size[i], true) < 0)
      break;
  }
  free(all);
  free(size);
  ctl_dw_wait(w, then);
}
