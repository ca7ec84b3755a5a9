/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's own network: a bridge + host-local + portmap configuration
 * list for its pod CIDR, and the node address the kubelet would pick.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>

#include "net/internal.h"

static bool cidr_ok(const char *s, bool *v6) {
  char addr[64];
  const char *slash = strchr(s, '/');
  if (!slash || (size_t)(slash - s) >= sizeof addr)
    return false;
  memcpy(addr, s, (size_t)(slash - s));
  addr[slash - s] = '\0';
  char *end;
  long bits = strtol(slash + 1, &end, 10);
  unsigned char buf[16];
  *v6 = strchr(addr, ':') != NULL;
  if (*end || end == slash + 1 ||
      inet_pton(*v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
    return false;
  return *v6 ? bits >= 64 && bits <= 126 : bits >= 8 && bits <= 30;
}

static bool ifname_ok(const char *s) {
  if (!s || !*s || strlen(s) >= IFNAMSIZ)
    return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
      return false;
  return true;
}

KUBE_EXPORT char *kube_cni_bridge_conflist(const kube_cni_bridge_options_t *o,
                                           kube_error_t *err) {
  bool v6 = false;
  if (!o || !ifname_ok(o->bridge)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid bridge name \"%s\" (at most 15 of [A-Za-z0-9_.-])",
                   o && o->bridge ? o->bridge : "");
    return NULL;
  }
  if (!o->subnet || !cidr_ok(o->subnet, &v6)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid pod CIDR \"%s\"",
                   o->subnet ? o->subnet : "");
    return NULL;
  }
  json_object *list = json_object_new_object();
  json_object_object_add(list, "cniVersion", json_object_new_string("1.0.0"));
  json_object_object_add(list, "name",
                         json_object_new_string(o->name ? o->name : "libkube"));
  json_object *plugins = json_object_new_array();
  json_object *br = json_object_new_object();
  json_object_object_add(br, "type", json_object_new_string("bridge"));
  json_object_object_add(br, "bridge", json_object_new_string(o->bridge));
  json_object_object_add(br, "isGateway", json_object_new_boolean(true));
  json_object_object_add(br, "ipMasq", json_object_new_boolean(o->ip_masq));
  /* A pod reaches itself through its own hostPort or a Service VIP. */
  json_object_object_add(br, "hairpinMode", json_object_new_boolean(true));
  if (o->mtu > 0)
    json_object_object_add(br, "mtu", json_object_new_int(o->mtu));
  json_object *ipam = json_object_new_object();
  json_object_object_add(ipam, "type", json_object_new_string("host-local"));
  json_object *range = json_object_new_object();
  json_object_object_add(range, "subnet", json_object_new_string(o->subnet));
  json_object *set = json_object_new_array();
  json_object_array_add(set, range);
  json_object *ranges = json_object_new_array();
  json_object_array_add(ranges, set);
  json_object_object_add(ipam, "ranges", ranges);
  json_object *route = json_object_new_object();
  json_object_object_add(route, "dst",
                         json_object_new_string(v6 ? "::/0" : "0.0.0.0/0"));
  json_object *routes = json_object_new_array();
  json_object_array_add(routes, route);
  json_object_object_add(ipam, "routes", routes);
  if (o->ipam_dir)
    json_object_object_add(ipam, "dataDir",
                           json_object_new_string(o->ipam_dir));
  json_object_object_add(br, "ipam", ipam);
  json_object_array_add(plugins, br);
  json_object *pm = json_object_new_object();
  json_object_object_add(pm, "type", json_object_new_string("portmap"));
  json_object *caps = json_object_new_object();
  json_object_object_add(caps, "portMappings", json_object_new_boolean(true));
  json_object_object_add(pm, "capabilities", caps);
  json_object_array_add(plugins, pm);
  json_object_object_add(list, "plugins", plugins);
  char *text = strdup(json_object_to_json_string_ext(
      list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(list);
  if (!text)
    kube_make_oom(err);
  return text;
}

KUBE_EXPORT int kube_cni_write_conf(const char *path, const char *json,
                                    kube_error_t *err) {
  size_t len = strlen(json), old_len = 0;
  cleanup_free char *old = core_read_file(path, &old_len);
  if (old && old_len == len && memcmp(old, json, len) == 0)
    return 0;
  return core_write_file(path, json, len, 0644, err) < 0 ? -1 : 1;
}

/* /proc/net/route: the interface of the IPv4 default route. */
static int default_route_iface(char *ifname, size_t len) {
  FILE *f = fopen("/proc/net/route", "re");
  if (!f)
    return -1;
  char line[512], name[IFNAMSIZ + 1];
  unsigned long dst, gw, mask;
  unsigned flags;
  int found = -1, metric, best = 0;
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return -1;
  }
  while (fgets(line, sizeof line, f)) {
    int refcnt, use;
    if (sscanf(line, "%16s %lx %lx %x %d %d %d %lx", name, &dst, &gw, &flags,
               &refcnt, &use, &metric, &mask) != 8)
      continue;
    if (dst == 0 && mask == 0 && (flags & 1 /* RTF_UP */) &&
        (found < 0 || metric < best)) {
      snprintf(ifname, len, "%s", name);
      best = metric;
      found = 0;
    }
  }
  fclose(f);
  return found;
}

KUBE_EXPORT int kube_net_default_ipv4(char *buf, size_t len,
                                      kube_error_t *err) {
  char ifname[IFNAMSIZ + 1] = "";
  bool have_route = default_route_iface(ifname, sizeof ifname) == 0;
  struct ifaddrs *ifa = NULL;
  if (getifaddrs(&ifa) < 0)
    return kube_make_error(err, errno, "getifaddrs: %s", strerror(errno));
  const struct sockaddr_in *pick = NULL;
  for (int pass = have_route ? 0 : 1; pass < 2 && !pick; pass++) {
    for (struct ifaddrs *i = ifa; i && !pick; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
          !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
        continue;
      if (pass == 0 && !streq(i->ifa_name, ifname))
        continue;
      pick = (const struct sockaddr_in *)i->ifa_addr;
    }
  }
  int rc = 0;
  if (!pick || !inet_ntop(AF_INET, &pick->sin_addr, buf, (socklen_t)len))
    rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                        "no IPv4 address on an interface that is up");
  freeifaddrs(ifa);
  return rc;
}
