/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routes the node keeps in its own network namespace (rtnetlink): the
 * service CIDR is unreachable, so a packet to a Service address the
 * socket load balancer did not translate dies on the machine (ICMP
 * unreachable) instead of leaving by the default route; and each other
 * node's pod CIDR goes via that node's address (the pod network across
 * nodes: routes in the host namespace, as flannel's host-gw backend).
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "net/internal.h"

/* Append a 4-byte attribute to the message (its buffer has room). */
static void rta_put(struct nlmsghdr *nh, unsigned short type,
                    const void *data) {
  struct rtattr *a = (struct rtattr *)((char *)nh + nh->nlmsg_len);
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(4);
  memcpy(RTA_DATA(a), data, 4);
  nh->nlmsg_len += RTA_ALIGN(a->rta_len);
}

/* gw 0 and oif 0: an unreachable route; gw: a unicast route via gw
 * (network order); oif: a unicast route on that interface (link scope)
 * with preferred source src (network order, 0: none). */
static int rtnl_route_dev(int type, uint16_t flags, uint32_t net, int bits,
                          uint32_t gw, int oif, uint32_t src,
                          kube_error_t *err) {
  struct {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[64];
  } req = {0};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.rt);
  req.nh.nlmsg_type = (uint16_t)type;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = AF_INET;
  req.rt.rtm_dst_len = (unsigned char)bits;
  req.rt.rtm_table = RT_TABLE_MAIN;
  req.rt.rtm_protocol = RTPROT_STATIC;
  req.rt.rtm_scope = oif && !gw ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  req.rt.rtm_type = gw || oif ? RTN_UNICAST : RTN_UNREACHABLE;
  uint32_t dst = htonl(net);
  req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len);
  rta_put(&req.nh, RTA_DST, &dst);
  if (gw)
    rta_put(&req.nh, RTA_GATEWAY, &gw);
  if (oif)
    rta_put(&req.nh, RTA_OIF, &oif);
  if (src)
    rta_put(&req.nh, RTA_PREFSRC, &src);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return kube_make_error(err, errno, "netlink: %s", strerror(errno));
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  int rc = -1;
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
             sizeof kernel) < 0) {
    kube_make_error(err, errno, "netlink: %s", strerror(errno));
    goto out;
  }
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
      h->nlmsg_type != NLMSG_ERROR) {
    kube_make_error(err, EIO, "netlink: no answer");
    goto out;
  }
  int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
  if (e) {
    kube_make_error(err, e, "%s", strerror(e));
    goto out;
  }
  rc = 0;
out:
  close(fd);
  return rc;
}

/* Add or delete (dev: oif's name, NULL without oif); 1 done, 0 there
 * already / not there, -1 with err. */
static int route_change_dev(uint32_t net, int bits, uint32_t gw, int oif,
                            uint32_t src, const char *dev, bool add,
                            const char *cidr, kube_error_t *err) {
  kube_error_t e = KUBE_ERROR_INIT;
  int rc = add ? rtnl_route_dev(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, net,
                                bits, gw, oif, src, &e)
               : rtnl_route_dev(RTM_DELROUTE, 0, net, bits, gw, oif, 0, &e);
  if (rc == 0)
    return 1;
  if ((add && e.errnum == EEXIST) || (!add && e.errnum == ESRCH)) {
    kube_error_clear(&e);
    return 0;
  }
  char via[INET_ADDRSTRLEN] = "";
  if (gw)
    inet_ntop(AF_INET, &gw, via, sizeof via);
  rc = kube_error_set(err, e.errnum == EPERM ? KUBE_REASON_FORBIDDEN
                                           : KUBE_REASON_UNKNOWN,
                      e.errnum, "%s the %sroute %s%s%s%s%s: %s",
                      add ? "add" : "delete", gw || dev ? "" : "unreachable ",
                      cidr, gw ? " via " : "", via, dev ? " dev " : "",
                      dev ? dev : "", e.message);
  kube_error_clear(&e);
  return rc;
}

static int route_change(uint32_t net, int bits, uint32_t gw, bool add,
                        const char *cidr, kube_error_t *err) {
  return route_change_dev(net, bits, gw, 0, 0, NULL, add, cidr, err);
}

KUBE_EXPORT int kube_net_unreachable_route(const char *cidr, bool add,
                                           kube_error_t *err) {
  uint32_t net;
  int bits;
  if (core_cidr4_parse(cidr, &net, &bits) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid CIDR \"%s\"", cidr ? cidr : "");
  return route_change(net, bits, 0, add, cidr, err);
}

KUBE_EXPORT int kube_net_gateway_route(const char *cidr, const char *gateway,
                                       bool add, kube_error_t *err) {
  uint32_t net, gw = 0;
  int bits;
  if (core_cidr4_parse(cidr, &net, &bits) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid CIDR \"%s\"", cidr ? cidr : "");
  if (!gateway || inet_pton(AF_INET, gateway, &gw) != 1 || !gw)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid gateway \"%s\"", gateway ? gateway : "");
  return route_change(net, bits, gw, add, cidr, err);
}

/* The interface holding the IPv4 address `a` (network order) into dev;
 * unchanged when none does. */
static void dev_of(uint32_t a, char dev[IF_NAMESIZE]) {
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) < 0)
    return;
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
        ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a) {
      snprintf(dev, IF_NAMESIZE, "%s", i->ifa_name);
      break;
    }
  freeifaddrs(ifs);
}

KUBE_EXPORT int kube_net_service_route(const char *cidr, const char *src,
                                       bool add, kube_error_t *err) {
  uint32_t net, sa = 0;
  int bits;
  if (core_cidr4_parse(cidr, &net, &bits) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid CIDR \"%s\"", cidr ? cidr : "");
  if (src && *src && inet_pton(AF_INET, src, &sa) != 1)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid source address \"%s\"", src);
  char dev[IF_NAMESIZE] = "lo";
  if (sa)
    dev_of(sa, dev);
  int oif = (int)if_nametoindex(dev);
  if (!oif)
    return kube_error_set(err, KUBE_REASON_UNKNOWN, errno,
                          "the service route: no interface %s", dev);
  return route_change_dev(net, bits, 0, oif, sa, dev, add, cidr, err);
}
