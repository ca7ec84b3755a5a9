/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node IPAM controller (kube-controller-manager's node-ipam-controller
 * with the RangeAllocator): every Node without spec.podCIDR gets the next
 * free block of --node-cidr-mask-size bits from --cluster-cidr, written to
 * spec.podCIDR and spec.podCIDRs; a deleted Node's block is free again.
 * The allocation map lives only in memory: before its first sync the
 * controller marks the blocks the Nodes already hold (the cache is synced
 * by then), so a restarted or newly elected controller never hands a
 * block out twice.  IPv4 single-stack only.
 */
#include <arpa/inet.h>

#include "controller/internal.h"

struct ipam {
  struct ctl_base b;
  const kube_kind_t *nkind;
  kube_informer_t *nodes;
  uint32_t base, n, shift; /* blocks base + i << shift, i < n */
  int mask;
  uint8_t *used;       /* bitmap of n bits */
  struct strmap owner; /* node name -> block index + 1 (uintptr_t) */
  uint32_t next;       /* where the next search starts (round robin) */
  size_t allocated;
  bool rebuilt;
};

static bool bit(const struct ipam *p, uint32_t i) {
  return p->used[i / 8] & (1u << (i % 8));
}
static void set_bit(struct ipam *p, uint32_t i, bool on) {
  if (on)
    p->used[i / 8] |= (uint8_t)(1u << (i % 8));
  else
    p->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static void block_text(const struct ipam *p, uint32_t i, char *buf,
                       size_t len) {
  struct in_addr a = {.s_addr = htonl(p->base + (i << p->shift))};
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, ip, sizeof ip);
  snprintf(buf, len, "%s/%d", ip, p->mask);
}

/* The block index of a CIDR text, or -1 when it is not one of ours. */
static int64_t block_of(const struct ipam *p, const char *cidr) {
  uint32_t base, n;
  if (!cidr || !*cidr)
    return -1;
  const char *slash = strchr(cidr, '/');
  if (!slash || atoi(slash + 1) != p->mask ||
      ctl_cidr_parse(cidr, p->mask, &base, &n, NULL) < 0)
    return -1;
  if (base < p->base || ((base - p->base) >> p->shift) >= p->n ||
      ((base - p->base) & ((1u << p->shift) - 1)))
    return -1;
  return (base - p->base) >> p->shift;
}

static void release(struct ipam *p, const char *name) {
  void *v = strmap_remove(&p->owner, name);
  if (!v)
    return;
  set_bit(p, (uint32_t)((uintptr_t)v - 1), false);
  p->allocated--;
}

/* Mark a block as the node's (false when another node holds it). */
static bool occupy(struct ipam *p, const char *name, uint32_t i) {
  void *v = strmap_get(&p->owner, name);
  if (v && (uintptr_t)v - 1 == i)
    return true;
  if (bit(p, i))
    return false;
  release(p, name);
  if (!strmap_put(&p->owner, name, (void *)(uintptr_t)(i + 1), NULL))
    return false;
  set_bit(p, i, true);
  p->allocated++;
  return true;
}

static void rebuild_one(const char *key, const kube_object_t *obj, void *arg) {
  struct ipam *p = arg;
  json_object *n = kube_object_json(obj);
  int64_t i = block_of(p, cj_str(cj_obj(n, "spec"), "podCIDR"));
  const char *name = cj_str0(cj_obj(n, "metadata"), "name");
  if (i >= 0 && !occupy(p, name, (uint32_t)i))
    log_warn("nodeipam: node %s: podCIDR %s is held by another node", name,
             cj_str0(cj_obj(n, "spec"), "podCIDR"));
}

static void written(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct ipam *p = op->data;
  op->data = NULL;
  if (!err)
    return;
  /* The node changed or went meanwhile: give the block back; the next
   * sync decides again. */
  release(p, op->tag);
  if (op->sync && err->reason != KUBE_REASON_NOT_FOUND)
    op->sync->result = -1;
}

static int ipam_sync(kube_controller_t *c, const char *key, void *arg) {
  struct ipam *p = arg;
  if (!p->rebuilt) {
    kube_informer_foreach(p->nodes, rebuild_one, p);
    p->rebuilt = true;
  }
  const kube_object_t *obj = kube_informer_get(p->nodes, key);
  if (!obj) {
    release(p, key);
    return 0;
  }
  json_object *node = kube_object_json(obj);
  const char *cur = cj_str(cj_obj(node, "spec"), "podCIDR");
  if (cur && *cur) {
    int64_t i = block_of(p, cur);
    if (i >= 0)
      occupy(p, key, (uint32_t)i);
    return 0;
  }
  /* No CIDR yet (a node re-created under the same name gives its old
   * block back first). */
  release(p, key);
  if (p->allocated >= p->n) {
    ctl_eventf(&p->b, node, "Node", "v1", "Normal", "CIDRNotAvailable",
               "Node %s status is now: CIDRNotAvailable", key);
    return -1;
  }
  uint32_t i = p->next;
  while (bit(p, i))
    i = (i + 1) % p->n;
  p->next = (i + 1) % p->n;
  if (!occupy(p, key, i))
    return -1;
  char cidr[64];
  block_text(p, i, cidr, sizeof cidr);
  json_object *patch = json_object_new_object();
  cj_set(ctl_json_ensure(patch, "metadata"), "resourceVersion",
         json_object_new_string(
             cj_str0(cj_obj(node, "metadata"), "resourceVersion")));
  json_object *spec = ctl_json_ensure(patch, "spec");
  cj_set(spec, "podCIDR", json_object_new_string(cidr));
  json_object *list = json_object_new_array();
  json_object_array_add(list, json_object_new_string(cidr));
  cj_set(spec, "podCIDRs", list);
  struct ctl_sync *s = ctl_sync_new(&p->b, key);
  struct ctl_op *op = s ? ctl_op_new(&p->b, s, written, key) : NULL;
  if (op)
    op->data = p;
  if (!op ||
      ctl_op_started(
          op, kube_writer_patch(
                  p->b.w, p->nkind, NULL, key, NULL, KUBE_PATCH_MERGE,
                  json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
                  NULL, ctl_op_cb, op, NULL)) < 0) {
    release(p, key);
    if (s)
      s->result = -1;
  } else {
    log_info("nodeipam: node %s: podCIDR %s", key, cidr);
  }
  json_object_put(patch);
  return s ? ctl_sync_finish(s) : -1;
}

static void ipam_free(void *impl) {
  struct ipam *p = impl;
  if (!p)
    return;
  ctl_base_clear(&p->b);
  strmap_clear(&p->owner, NULL);
  free(p->used);
  free(p);
}

static void *ipam_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct ipam *p = calloc(1, sizeof *p);
  if (!p) {
    kube_make_oom(err);
    return NULL;
  }
  const kube_controller_manager_options_t *o = ctl_manager_options(m);
  p->mask = o->node_cidr_mask_size;
  p->shift = (uint32_t)(32 - p->mask);
  p->nkind = kube_kind_by_resource("", "v1", "nodes");
  if (ctl_cidr_parse(o->cluster_cidr, p->mask, &p->base, &p->n, err) < 0 ||
      !p->nkind || !(p->used = calloc((p->n + 7) / 8, 1))) {
    if (!p->used)
      kube_make_oom(err);
    free(p->used);
    free(p);
    return NULL;
  }
  if (ctl_base_init(&p->b, m, "nodeipam", "cidrAllocator", ipam_sync, p, err) <
      0) {
    free(p->used);
    free(p);
    return NULL;
  }
  if (!(p->nodes = ctl_manager_informer(m, "/api/v1/nodes", err)) ||
      kube_controller_watch(p->b.c, p->nodes, NULL, NULL, err) < 0) {
    ipam_free(p);
    return NULL;
  }
  return p;
}

static int ipam_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct ipam *)impl)->b.c, err);
}

static kube_controller_t *ipam_controller(void *impl) {
  return ((struct ipam *)impl)->b.c;
}

const struct ctl_impl_ops ctl_nodeipam_ops = {
    .create = ipam_create,
    .start = ipam_start,
    .free = ipam_free,
    .controller = ipam_controller,
};
