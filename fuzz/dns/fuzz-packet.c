/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the cluster DNS's packet path: every UDP or TCP
 * message a client sends goes through kube_dns_resolve().  The first input
 * byte picks the size limit (UDP from the query, 512, or TCP); the rest is
 * the message.  Records of a ClusterIP, a headless and an ExternalName
 * Service exist, so lookups, SRV additionals and truncation all run.  An
 * answer must parse back as a response with the query's ID, within the
 * limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include <libkube/dns.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

static kube_dns_t *dns;

static const char *const objects[] = {
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
    "\"web\","
    "\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.20\","
    "\"ports\":[{\"name\":\"http\",\"port\":80}]}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"db\","
    "\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"None\"}}",
    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
    "\"metadata\":{\"name\":\"db-1\",\"namespace\":\"default\",\"labels\":{"
    "\"kubernetes.io/service-name\":\"db\"}},\"ports\":[{\"name\":\"pg\","
    "\"port\":5432}],\"endpoints\":[{\"addresses\":[\"10.42.0.5\"],"
    "\"hostname\":\"db-0\"},{\"addresses\":[\"10.42.0.6\"]},{\"addresses\":"
    "[\"10.42.0.7\"]},{\"addresses\":[\"10.42.0.8\"]},{\"addresses\":["
    "\"10.42.0.9\"]},{\"addresses\":[\"10.42.0.10\"]},{\"addresses\":["
    "\"10.42.0.11\"]},{\"addresses\":[\"10.42.0.12\"]},{\"addresses\":["
    "\"10.42.0.13\"]},{\"addresses\":[\"10.42.0.14\"]}]}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
    "\"mail\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ExternalName\","
    "\"externalName\":\"mail.example.org\"}}",
};

static void setup(void) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_loop_t *loop = kube_loop_new(&err);
  kube_dns_options_t o = {
      .struct_size = sizeof o, .upstream = "none", .dns_ip = "10.96.0.10"};
  CHECK(loop && (dns = kube_dns_new(loop, &o, &err)));
  for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
    kube_object_t *obj =
        kube_object_from_json(objects[i], strlen(objects[i]), &err);
    CHECK(obj && kube_dns_update(dns, obj, &err) == 0);
    kube_object_free(obj);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dns)
    setup();
  if (size < 1)
    return 0;
  static const size_t limits[] = {0, 512, 65535};
  size_t max = limits[data[0] % 3];
  uint8_t *reply = NULL;
  size_t len = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_dns_resolve(dns, data + 1, size - 1, max, &reply, &len, &err);
  CHECK(rc == 0 || rc == 1);
  if (rc == 1) {
    CHECK(reply && len >= 12 && len <= (max ? max : 1232));
    CHECK(size - 1 >= 2 && !memcmp(reply, data + 1, 2));
    ldns_pkt *p = NULL;
    CHECK(ldns_wire2pkt(&p, reply, len) == LDNS_STATUS_OK);
    CHECK(ldns_pkt_qr(p));
    ldns_pkt_free(p);
  } else {
    CHECK(!reply);
  }
  free(reply);
  return 0;
}
