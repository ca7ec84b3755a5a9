/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stale UDP flows of the nftables mode (nft-proxy.c): conntrack keeps a
 * UDP flow's DNAT for as long as datagrams keep coming, so a client that
 * keeps sending to a Service would keep reaching an endpoint that is
 * gone.  As kube-proxy does, the flows DNATed to a removed endpoint are
 * deleted (ctnetlink: one dump of the table, a delete per match), and
 * the next datagram picks a live endpoint.
 */
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/internal.h"

/* The attribute `type` of the nested attributes in [a, a + len). */
static const struct nlattr *nla_find(const void *a, size_t len, int type) {
  const char *p = a, *end = p + len;
  while (p + NLA_HDRLEN <= end) {
    const struct nlattr *n = (const struct nlattr *)p;
    if (n->nla_len < NLA_HDRLEN || p + n->nla_len > end)
      return NULL;
    if ((n->nla_type & NLA_TYPE_MASK) == type)
      return n;
    p += NLA_ALIGN(n->nla_len);
  }
  return NULL;
}

#define NLA_DATA(n) ((const char *)(n) + NLA_HDRLEN)
#define NLA_LEN(n) ((size_t)(n)->nla_len - NLA_HDRLEN)

/* A tuple's addresses, protocol and ports (network order); false when
 * the tuple lacks one. */
static bool tuple_of(const struct nlattr *t, uint32_t *src, uint32_t *dst,
                     uint8_t *proto, uint16_t *sport, uint16_t *dport) {
  const struct nlattr *ip = nla_find(NLA_DATA(t), NLA_LEN(t), CTA_TUPLE_IP);
  const struct nlattr *pr =
      nla_find(NLA_DATA(t), NLA_LEN(t), CTA_TUPLE_PROTO);
  if (!ip || !pr)
    return false;
  const struct nlattr *s = nla_find(NLA_DATA(ip), NLA_LEN(ip), CTA_IP_V4_SRC);
  const struct nlattr *d = nla_find(NLA_DATA(ip), NLA_LEN(ip), CTA_IP_V4_DST);
  const struct nlattr *n = nla_find(NLA_DATA(pr), NLA_LEN(pr), CTA_PROTO_NUM);
  const struct nlattr *sp =
      nla_find(NLA_DATA(pr), NLA_LEN(pr), CTA_PROTO_SRC_PORT);
  const struct nlattr *dp =
      nla_find(NLA_DATA(pr), NLA_LEN(pr), CTA_PROTO_DST_PORT);
  if (!s || !d || !n || !sp || !dp || NLA_LEN(s) < 4 || NLA_LEN(d) < 4 ||
      NLA_LEN(sp) < 2 || NLA_LEN(dp) < 2)
    return false;
  memcpy(src, NLA_DATA(s), 4);
  memcpy(dst, NLA_DATA(d), 4);
  *proto = *(const uint8_t *)NLA_DATA(n);
  memcpy(sport, NLA_DATA(sp), 2);
  memcpy(dport, NLA_DATA(dp), 2);
  return true;
}

static bool stale(const net_ct_flow_t *f, size_t n, uint32_t odst,
                  uint16_t odport, uint32_t rsrc, uint16_t rsport) {
  for (size_t i = 0; i < n; i++)
    if ((!f[i].dst || f[i].dst == odst) && f[i].dport == odport &&
        f[i].ep == rsrc && f[i].ep_port == rsport)
      return true;
  return false;
}

static int ct_request(int fd, uint16_t msg, uint16_t flags, const void *attr,
                      size_t attr_len) {
  struct {
    struct nlmsghdr nh;
    struct nfgenmsg nf;
    char attrs[512];
  } req = {0};
  if (attr_len > sizeof req.attrs)
    return -1;
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.nf) + (uint32_t)attr_len;
  req.nh.nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) | msg);
  req.nh.nlmsg_flags = NLM_F_REQUEST | flags;
  req.nf.nfgen_family = AF_INET;
  req.nf.version = NFNETLINK_V0;
  if (attr_len)
    memcpy(req.attrs, attr, attr_len);
  return send(fd, &req, req.nh.nlmsg_len, 0) < 0 ? -1 : 0;
}

int net_conntrack_clear_udp(const net_ct_flow_t *f, size_t n,
                            kube_error_t *err) {
  if (!n)
    return 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0)
    return kube_make_error(err, errno, "conntrack: %s", strerror(errno));
  /* the tuples to delete, collected during the dump (deleting while
   * dumping would disturb it) */
  char *del = NULL;
  size_t del_len = 0, del_cap = 0, deleted = 0;
  int rc = -1;
  if (ct_request(fd, IPCTNL_MSG_CT_GET, NLM_F_DUMP, NULL, 0) < 0) {
    kube_make_error(err, errno, "conntrack: %s", strerror(errno));
    goto out;
  }
  enum { BUF = 65536 };
  char *buf = malloc(BUF);
  if (!buf) {
    kube_make_oom(err);
    goto out;
  }
  for (bool done = false; !done;) {
    ssize_t len = recv(fd, buf, BUF, 0);
    if (len < 0) {
      kube_make_error(err, errno, "conntrack: %s", strerror(errno));
      free(buf);
      goto out;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
        kube_make_error(err, e, "conntrack: %s", strerror(e));
        free(buf);
        goto out;
      }
      const char *a = (const char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
      size_t alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
      const struct nlattr *orig = nla_find(a, alen, CTA_TUPLE_ORIG);
      const struct nlattr *reply = nla_find(a, alen, CTA_TUPLE_REPLY);
      uint32_t os, od, rs, rd;
      uint8_t op, rp;
      uint16_t osp, odp, rsp, rdp;
      if (!orig || !reply || !tuple_of(orig, &os, &od, &op, &osp, &odp) ||
          !tuple_of(reply, &rs, &rd, &rp, &rsp, &rdp) || op != IPPROTO_UDP ||
          !stale(f, n, od, odp, rs, rsp))
        continue;
      size_t need = NLA_ALIGN(orig->nla_len);
      if (del_len + need > del_cap) {
        size_t cap = (del_cap ? del_cap * 2 : 4096) + need;
        char *d = realloc(del, cap);
        if (!d)
          continue;
        del = d;
        del_cap = cap;
      }
      memcpy(del + del_len, orig, orig->nla_len);
      del_len += need;
    }
  }
  free(buf);
  for (size_t off = 0; off < del_len;) {
    const struct nlattr *t = (const struct nlattr *)(del + off);
    if (ct_request(fd, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, t,
                   NLA_ALIGN(t->nla_len)) == 0) {
      char ack[1024];
      if (recv(fd, ack, sizeof ack, 0) > 0)
        deleted++;
    }
    off += NLA_ALIGN(t->nla_len);
  }
  rc = (int)deleted;
out:
  free(del);
  close(fd);
  return rc;
}
