/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 CIDRs and port ranges as flags give them ("10.96.0.0/12",
 * "30000-32767"): shared by the API server's allocators, the server's
 * cluster settings and the service proxy. */
#include <arpa/inet.h>

#include "core/util.h"

int core_cidr4_parse(const char *s, uint32_t *net, int *bits) {
  char buf[INET_ADDRSTRLEN + 4];
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || (size_t)(slash - s) >= INET_ADDRSTRLEN)
    return -1;
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = '\0';
  struct in_addr a;
  char *end;
  long b = strtol(slash + 1, &end, 10);
  if (inet_pton(AF_INET, buf, &a) != 1 || *end || end == slash + 1 || b < 1 ||
      b > 30)
    return -1;
  uint32_t n = ntohl(a.s_addr);
  uint32_t mask = ~0u << (32 - b);
  if (n & ~mask)
    return -1; /* host bits set: as Go's net.ParseCIDR callers refuse */
  *net = n;
  *bits = (int)b;
  return 0;
}

void core_ipv4_format(uint32_t ip, char out[16]) {
  struct in_addr a = {.s_addr = htonl(ip)};
  inet_ntop(AF_INET, &a, out, 16);
}

int core_port_range_parse(const char *s, int *lo, int *hi) {
  char *end;
  long a = s ? strtol(s, &end, 10) : -1;
  if (!s || end == s || (*end != '-' && *end != '\0'))
    return -1;
  long b = a;
  if (*end == '-') {
    const char *p = end + 1;
    b = strtol(p, &end, 10);
    if (end == p || *end)
      return -1;
  }
  if (a < 1 || b > 65535 || a > b)
    return -1;
  *lo = (int)a;
  *hi = (int)b;
  return 0;
}
