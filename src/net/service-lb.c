/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service load balancing at the socket: loads the cgroup sock_addr
 * programs of bpf/service-lb.bpf.c (built with the library and embedded),
 * attaches them at the cgroup v2 root and keeps their maps.  A Service
 * port's backends are replaced without a window where a connect() sees a
 * half-written set: the new set is written under a fresh id, the Service
 * entry then points at it in one update, and the old set is deleted.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/internal.h"

#ifdef KUBE_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* The compiled programs (generated: service-lb-bpf.c). */
extern const unsigned char net_svclb_bpf_obj[];
extern const size_t net_svclb_bpf_obj_len;

/* Keep in step with bpf/service-lb.bpf.c. */
struct svc_key {
  uint32_t ip;
  uint16_t port;
  uint8_t proto;
  uint8_t pad;
};
struct svc_val {
  uint32_t count;
  uint32_t id;
  uint32_t affinity;
};
struct be_key {
  uint32_t id;
  uint32_t slot;
};
struct be_val {
  uint32_t ip;
  uint16_t port;
  uint16_t pad;
};
struct config {
  uint32_t net, mask;
  uint16_t np_min, np_max;
  uint32_t pad;
  uint64_t netns;
  uint64_t scope_id;
  uint32_t scope_level;
  uint32_t pad2;
};

static const char *const prog_names[4] = {"kube_lb_conn4", "kube_lb_send4",
                                          "kube_lb_recv4", "kube_lb_peer4"};

struct kube_svclb {
  struct bpf_object *obj;
  struct bpf_link *links[4];
  uint32_t prog_ids[4];
  int services_fd, backends_fd;
  uint32_t next_id;
  char *cgroup;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
                      va_list ap) {
  if (level == LIBBPF_DEBUG)
    return 0;
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = strlen(buf);
  if (n && buf[n - 1] == '\n')
    buf[n - 1] = '\0';
  kube_log(level == LIBBPF_WARN ? KUBE_LOG_WARNING : KUBE_LOG_DEBUG,
           "net: libbpf: %s", buf);
  return 0;
}

/* The mount point of the first cgroup2 file system (owned), or NULL. */
static char *cgroup2_root(void) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return NULL;
  char line[4096];
  char *found = NULL;
  while (!found && fgets(line, sizeof line, f)) {
    /* id parent major:minor root mountpoint opts... - fstype source ... */
    char *sep = strstr(line, " - ");
    if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
      continue;
    char *save = NULL, *field = strtok_r(line, " ", &save);
    for (int i = 0; field && i < 4; i++)
      field = strtok_r(NULL, " ", &save);
    if (field)
      found = strdup(field);
  }
  fclose(f);
  return found;
}

static int parse_proto(const char *protocol, uint8_t *out, kube_error_t *err) {
  if (!protocol || !strcasecmp(protocol, "TCP"))
    *out = IPPROTO_TCP;
  else if (!strcasecmp(protocol, "UDP"))
    *out = IPPROTO_UDP;
  else
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unsupported protocol \"%s\" (TCP or UDP)", protocol);
  return 0;
}

static int svc_key_of(const char *ip, int port, const char *protocol,
                      struct svc_key *k, kube_error_t *err) {
  memset(k, 0, sizeof *k);
  if (ip && *ip && inet_pton(AF_INET, ip, &k->ip) != 1)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid IPv4 address \"%s\"", ip);
  if (port < 1 || port > 65535)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid port %d",
                          port);
  k->port = htons((uint16_t)port);
  return parse_proto(protocol, &k->proto, err);
}

static int sys_error(kube_error_t *err, int e, const char *what) {
  kube_reason_t r = e == EPERM || e == EACCES ? KUBE_REASON_FORBIDDEN
                    : e == ENOSYS || e == EINVAL || e == EOPNOTSUPP
                        ? KUBE_REASON_SERVICE_UNAVAILABLE
                        : KUBE_REASON_UNKNOWN;
  return kube_error_set(err, r, e, "service load balancing: %s: %s", what,
                        strerror(e));
}

/* The network namespace this process is in, as the kernel names it to BPF
 * (SO_NETNS_COOKIE, Linux 5.14); 0 when unknown. */
static uint64_t own_netns_cookie(void) {
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
    cookie = 0;
  close(fd);
  return cookie;
}

/* The cgroup id and depth of `scope` below the cgroup2 root (created
 * when missing: the node puts its pods there). */
static int scope_of(const char *root, const char *scope, uint64_t *id,
                    uint32_t *level, kube_error_t *err) {
  char path[4096];
  while (*scope == '/')
    scope++;
  if (!*scope || strstr(scope, ".."))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid cgroup scope \"%s\"", scope);
  if (snprintf(path, sizeof path, "%s/%s", root, scope) >= (int)sizeof path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "cgroup scope too long");
  *level = 0;
  for (char *s = path + strlen(root) + 1; *s; s++) {
    if (*s != '/' || s[1] == '/' || !s[1])
      continue;
    *s = '\0';
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
      return sys_error(err, errno, path);
    *s = '/';
  }
  if (mkdir(path, 0755) < 0 && errno != EEXIST)
    return sys_error(err, errno, path);
  for (const char *s = scope; *s; s++)
    if (*s != '/' && (s == scope || s[-1] == '/'))
      (*level)++;
  struct stat st;
  if (stat(path, &st) < 0)
    return sys_error(err, errno, path);
  *id = (uint64_t)st.st_ino; /* a cgroup2 directory's inode is its id */
  return 0;
}

static int configure(kube_svclb_t *lb, const kube_svclb_options_t *o,
                     kube_error_t *err) {
  uint32_t net;
  int bits;
  if (core_cidr4_parse(o->service_cidr, &net, &bits) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid service CIDR \"%s\"",
                          o->service_cidr ? o->service_cidr : "");
  if (o->node_port_min < 0 || o->node_port_max > 65535 ||
      o->node_port_min > o->node_port_max)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid node port range %d-%d", o->node_port_min,
                          o->node_port_max);
  struct config c = {.net = htonl(net),
                     .mask = htonl(~0u << (32 - bits)),
                     .np_min = (uint16_t)o->node_port_min,
                     .np_max = (uint16_t)o->node_port_max,
                     .netns = own_netns_cookie()};
  if (o->cgroup_scope && *o->cgroup_scope &&
      scope_of(lb->cgroup, o->cgroup_scope, &c.scope_id, &c.scope_level,
               err) < 0)
    return -1;
  uint32_t zero = 0;
  struct bpf_map *m = bpf_object__find_map_by_name(lb->obj, "cfg");
  if (!m || bpf_map_update_elem(bpf_map__fd(m), &zero, &c, BPF_ANY) < 0)
    return sys_error(err, m ? errno : ENOENT, "configure");
  m = bpf_object__find_map_by_name(lb->obj, "node_ips");
  for (size_t i = 0; m && o->node_ips && o->node_ips[i]; i++) {
    uint32_t ip;
    uint8_t one = 1;
    if (inet_pton(AF_INET, o->node_ips[i], &ip) != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid node IP \"%s\"", o->node_ips[i]);
    if (bpf_map_update_elem(bpf_map__fd(m), &ip, &one, BPF_ANY) < 0)
      return sys_error(err, errno, "node addresses");
  }
  return 0;
}

KUBE_EXPORT kube_svclb_t *kube_svclb_new(const kube_svclb_options_t *opts,
                                         kube_error_t *err) {
  kube_svclb_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!o.service_cidr) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "service load balancing needs the service CIDR");
    return NULL;
  }
  libbpf_set_print(libbpf_log);
  kube_svclb_t *lb = calloc(1, sizeof *lb);
  if (!lb) {
    kube_make_oom(err);
    return NULL;
  }
  lb->next_id = 1;
  lb->cgroup = o.cgroup_path ? strdup(o.cgroup_path) : cgroup2_root();
  if (!lb->cgroup) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "service load balancing: no cgroup v2 file system is "
                   "mounted");
    goto fail;
  }
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "kube_svclb");
  lb->obj = bpf_object__open_mem(net_svclb_bpf_obj, net_svclb_bpf_obj_len, &oo);
  if (!lb->obj) {
    sys_error(err, errno, "open the BPF object");
    goto fail;
  }
  if (bpf_object__load(lb->obj) < 0) {
    sys_error(err, errno, "load the BPF programs");
    goto fail;
  }
  if (configure(lb, &o, err) < 0)
    goto fail;
  lb->services_fd =
      bpf_map__fd(bpf_object__find_map_by_name(lb->obj, "services"));
  lb->backends_fd =
      bpf_map__fd(bpf_object__find_map_by_name(lb->obj, "backends"));
  int cg = open(lb->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    sys_error(err, errno, lb->cgroup);
    goto fail;
  }
  for (size_t i = 0; i < 4; i++) {
    struct bpf_program *p =
        bpf_object__find_program_by_name(lb->obj, prog_names[i]);
    if (!p || !(lb->links[i] = bpf_program__attach_cgroup(p, cg))) {
      int e = p ? errno : ENOENT;
      close(cg);
      char what[300];
      snprintf(what, sizeof what, "attach %s to %s", prog_names[i], lb->cgroup);
      sys_error(err, e, what);
      goto fail;
    }
    struct bpf_prog_info info = {0};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0)
      lb->prog_ids[i] = info.id;
  }
  close(cg);
  kube_log(KUBE_LOG_INFO,
           "net: service load balancing for %s attached at %s (programs %u "
           "%u %u %u)%s%s%s",
           o.service_cidr, lb->cgroup, lb->prog_ids[0], lb->prog_ids[1],
           lb->prog_ids[2], lb->prog_ids[3],
           o.cgroup_scope ? " for this network namespace and cgroup " : "",
           o.cgroup_scope ? o.cgroup_scope : "",
           o.cgroup_scope ? "" : " for every socket");
  return lb;
fail:
  kube_svclb_free(lb);
  return NULL;
}

KUBE_EXPORT void kube_svclb_free(kube_svclb_t *lb) {
  if (!lb)
    return;
  for (size_t i = 0; i < 4; i++)
    bpf_link__destroy(lb->links[i]);
  bpf_object__close(lb->obj);
  free(lb->cgroup);
  free(lb);
}

static void delete_backends(kube_svclb_t *lb, const struct svc_val *v) {
  for (uint32_t i = 0; i < v->count; i++) {
    struct be_key bk = {.id = v->id, .slot = i};
    bpf_map_delete_elem(lb->backends_fd, &bk);
  }
}

KUBE_EXPORT int kube_svclb_set(kube_svclb_t *lb, const char *ip, int port,
                               const char *protocol,
                               const kube_svclb_backend_t *b, size_t n,
                               int affinity_s, kube_error_t *err) {
  struct svc_key k;
  if (svc_key_of(ip, port, protocol, &k, err) < 0)
    return -1;
  if (affinity_s < 0 || affinity_s > 86400)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid session affinity timeout %d s (0-86400)",
                          affinity_s);
  struct be_val *vals = calloc(n ? n : 1, sizeof *vals);
  if (!vals)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    if (!b[i].ip || inet_pton(AF_INET, b[i].ip, &vals[i].ip) != 1 ||
        b[i].port < 1 || b[i].port > 65535) {
      free(vals);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid backend %s:%d", b[i].ip ? b[i].ip : "",
                            b[i].port);
    }
    vals[i].port = htons((uint16_t)b[i].port);
  }
  struct svc_val old = {0}, now = {.count = (uint32_t)n,
                                   .id = lb->next_id++,
                                   .affinity = (uint32_t)affinity_s};
  if (!lb->next_id)
    lb->next_id = 1;
  bool had = bpf_map_lookup_elem(lb->services_fd, &k, &old) == 0;
  for (uint32_t i = 0; i < now.count; i++) {
    struct be_key bk = {.id = now.id, .slot = i};
    if (bpf_map_update_elem(lb->backends_fd, &bk, &vals[i], BPF_ANY) < 0) {
      int e = errno;
      now.count = i;
      delete_backends(lb, &now);
      free(vals);
      return sys_error(err, e, "write backends");
    }
  }
  free(vals);
  if (bpf_map_update_elem(lb->services_fd, &k, &now, BPF_ANY) < 0) {
    int e = errno;
    delete_backends(lb, &now);
    return sys_error(err, e, "write service");
  }
  if (had)
    delete_backends(lb, &old);
  return 0;
}

KUBE_EXPORT int kube_svclb_delete(kube_svclb_t *lb, const char *ip, int port,
                                  const char *protocol, kube_error_t *err) {
  struct svc_key k;
  if (svc_key_of(ip, port, protocol, &k, err) < 0)
    return -1;
  struct svc_val old;
  if (bpf_map_lookup_elem(lb->services_fd, &k, &old) < 0)
    return 0;
  bpf_map_delete_elem(lb->services_fd, &k);
  delete_backends(lb, &old);
  return 0;
}

KUBE_EXPORT const char *kube_svclb_cgroup(const kube_svclb_t *lb) {
  return lb->cgroup;
}

KUBE_EXPORT void kube_svclb_program_ids(const kube_svclb_t *lb,
                                        uint32_t ids[4]) {
  memcpy(ids, lb->prog_ids, sizeof lb->prog_ids);
}

#else /* !KUBE_HAVE_BPF */

KUBE_EXPORT kube_svclb_t *kube_svclb_new(const kube_svclb_options_t *opts,
                                         kube_error_t *err) {
  kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                 "service load balancing: this build has no libbpf");
  return NULL;
}
KUBE_EXPORT void kube_svclb_free(kube_svclb_t *lb) {}
KUBE_EXPORT int kube_svclb_set(kube_svclb_t *lb, const char *ip, int port,
                               const char *protocol,
                               const kube_svclb_backend_t *b, size_t n,
                               int affinity_s, kube_error_t *err) {
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                        "this build has no libbpf");
}
KUBE_EXPORT int kube_svclb_delete(kube_svclb_t *lb, const char *ip, int port,
                                  const char *protocol, kube_error_t *err) {
  return 0;
}
KUBE_EXPORT const char *kube_svclb_cgroup(const kube_svclb_t *lb) {
  return NULL;
}
KUBE_EXPORT void kube_svclb_program_ids(const kube_svclb_t *lb,
                                        uint32_t ids[4]) {
  memset(ids, 0, 4 * sizeof *ids);
}
#endif
