/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_protobuf_decode: real request bodies captured from kubectl 1.32
 * (`kubectl create namespace|deployment|service|configmap|secret|
 * serviceaccount|job|cronjob|quota`, see vectors/README), a hand-encoded
 * Pod covering every field type, and malformed inputs.
 */
#include "test-patch.h"

#ifndef PATCH_VECTORS_DIR
#define PATCH_VECTORS_DIR "tests/unit/patch/vectors"
#endif

/* ---- a tiny protobuf encoder for the hand-made messages ---------------- */

static void pb_varint(kube_strbuf_t *b, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    if (v)
      c |= 0x80;
    kube_strbuf_append_len(b, (const char *)&c, 1);
  } while (v);
}
static void pb_tag(kube_strbuf_t *b, uint32_t num, unsigned wt) {
  pb_varint(b, (uint64_t)num << 3 | wt);
}
static void pb_bytes(kube_strbuf_t *b, uint32_t num, const void *p, size_t n) {
  pb_tag(b, num, 2);
  pb_varint(b, n);
  kube_strbuf_append_len(b, p, n);
}
static void pb_str(kube_strbuf_t *b, uint32_t num, const char *s) {
  pb_bytes(b, num, s, strlen(s));
}
/* Append sub (consumed) as a length-delimited field. */
static void pb_sub(kube_strbuf_t *b, uint32_t num, kube_strbuf_t *sub) {
  pb_bytes(b, num, sub->data ? sub->data : "", sub->len);
  kube_strbuf_clear(sub);
}
static void pb_int(kube_strbuf_t *b, uint32_t num, int64_t v) {
  pb_tag(b, num, 0);
  pb_varint(b, (uint64_t)v);
}
static void pb_map(kube_strbuf_t *b, uint32_t num, const char *k,
                   const char *v) {
  kube_strbuf_t e = KUBE_STRBUF_INIT;
  pb_str(&e, 1, k);
  pb_str(&e, 2, v);
  pb_sub(b, num, &e);
}
static void pb_qty_map(kube_strbuf_t *b, uint32_t num, const char *k,
                       const char *v) {
  kube_strbuf_t e = KUBE_STRBUF_INIT, q = KUBE_STRBUF_INIT;
  pb_str(&e, 1, k);
  pb_str(&q, 1, v);
  pb_sub(&e, 2, &q);
  pb_sub(b, num, &e);
}
/* The k8s\0 envelope around raw. */
static void pb_envelope(kube_strbuf_t *out, const char *api_version,
                        const char *kind, kube_strbuf_t *raw) {
  kube_strbuf_t tm = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(out, "k8s\0", 4);
  pb_str(&tm, 1, api_version);
  pb_str(&tm, 2, kind);
  pb_sub(out, 1, &tm);
  pb_sub(out, 2, raw);
  pb_str(out, 3, "");
  pb_str(out, 4, "");
}

static json_object *decode_ok(const kube_strbuf_t *b) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = kube_protobuf_decode(b->data, b->len, &err);
  if (!o)
    fail_msg("decode failed: %s", err.message);
  return o;
}

static void expect_error(const void *p, size_t n, kube_reason_t reason) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = kube_protobuf_decode(p, n, &err);
  if (o)
    fail_msg("decoded malformed input: %s", json_object_to_json_string(o));
  assert_int_equal(err.reason, reason);
  assert_non_null(err.message);
  kube_error_clear(&err);
}

/* ---- captured vectors --------------------------------------------------- */

static const struct {
  const char *file;
  const char *json;
} vectors[] = {
    {"namespace.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
     "\"foo\",\"creationTimestamp\":null},\"spec\":{},\"status\":{}}"},
    {"deployment.pb",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
     "\"name\":\"web\",\"creationTimestamp\":null,\"labels\":{\"app\":"
     "\"web\"}},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{"
     "\"app\":\"web\"}},\"template\":{\"metadata\":{\"creationTimestamp\":"
     "null,\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
     "\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"ports\":[{"
     "\"containerPort\":80}],\"resources\":{}}]}},\"strategy\":{}},"
     "\"status\":{}}"},
    /* replicas is a pointer: an explicit 0 must survive. */
    {"deployment-zero-replicas.pb",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
     "\"name\":\"zero\",\"creationTimestamp\":null,\"labels\":{\"app\":"
     "\"zero\"}},\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{"
     "\"app\":\"zero\"}},\"template\":{\"metadata\":{\"creationTimestamp\":"
     "null,\"labels\":{\"app\":\"zero\"}},\"spec\":{\"containers\":[{"
     "\"name\":\"busybox\",\"image\":\"busybox\",\"command\":[\"sleep\","
     "\"3600\"],\"resources\":{}}]}},\"strategy\":{}},\"status\":{}}"},
    {"service-clusterip.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
     "\"web\",\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},"
     "\"spec\":{\"ports\":[{\"name\":\"80-8080\",\"protocol\":\"TCP\","
     "\"port\":80,\"targetPort\":8080},{\"name\":\"443-https\",\"protocol\":"
     "\"TCP\",\"port\":443,\"targetPort\":\"https\"}],\"selector\":{\"app\":"
     "\"web\"},\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}"},
    {"service-nodeport.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
     "\"np\",\"creationTimestamp\":null,\"labels\":{\"app\":\"np\"}},"
     "\"spec\":{\"ports\":[{\"name\":\"8080-8080\",\"protocol\":\"TCP\","
     "\"port\":8080,\"targetPort\":8080,\"nodePort\":30080}],\"selector\":{"
     "\"app\":\"np\"},\"type\":\"NodePort\"},\"status\":{\"loadBalancer\":{}"
     "}}"},
    {"configmap.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
     "\"cfg\",\"creationTimestamp\":null},\"data\":{\"a\":\"1\",\"key.txt\":"
     "\"hello\"}}"},
    /* bytes become base64, as in JSON. */
    {"secret.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":"
     "\"sec\",\"creationTimestamp\":null},\"data\":{\"pass\":"
     "\"czNjcjN0IQ==\",\"user\":\"YWRtaW4=\"}}"},
    {"serviceaccount.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{"
     "\"name\":\"robot\",\"creationTimestamp\":null}}"},
    {"job.pb",
     "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":"
     "\"j1\",\"creationTimestamp\":null},\"spec\":{\"template\":{"
     "\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":[{"
     "\"name\":\"j1\",\"image\":\"busybox\",\"command\":[\"echo\",\"hi\"],"
     "\"resources\":{}}],\"restartPolicy\":\"Never\"}}},\"status\":{}}"},
    {"cronjob.pb",
     "{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{"
     "\"name\":\"cj\",\"creationTimestamp\":null},\"spec\":{\"schedule\":"
     "\"*/5 * * * *\",\"jobTemplate\":{\"metadata\":{\"name\":\"cj\","
     "\"creationTimestamp\":null},\"spec\":{\"template\":{\"metadata\":{"
     "\"creationTimestamp\":null},\"spec\":{\"containers\":[{\"name\":\"cj\","
     "\"image\":\"busybox\",\"command\":[\"date\"],\"resources\":{}}],"
     "\"restartPolicy\":\"OnFailure\"}}}}},\"status\":{}}"},
    /* kubectl autoscale deploy kubia --min=1 --max=3 --cpu-percent=50 */
    {"hpa-autoscaling-v1.pb",
     "{\"apiVersion\":\"autoscaling/v1\",\"kind\":"
     "\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"kubia\","
     "\"creationTimestamp\":null},\"spec\":{\"scaleTargetRef\":{\"kind\":"
     "\"Deployment\",\"name\":\"kubia\",\"apiVersion\":\"apps/v1\"},"
     "\"minReplicas\":1,\"maxReplicas\":3,"
     "\"targetCPUUtilizationPercentage\":50},\"status\":{"
     "\"currentReplicas\":0,\"desiredReplicas\":0}}"},
    {"resourcequota.pb",
     "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{"
     "\"name\":\"q\",\"creationTimestamp\":null},\"spec\":{\"hard\":{\"cpu\":"
     "\"2\",\"pods\":\"10\"}},\"status\":{}}"},
};

static char *read_vector(const char *name, size_t *len) {
  char path[512];
  const char *dir = getenv("PATCH_VECTORS");
  snprintf(path, sizeof(path), "%s/%s", dir ? dir : PATCH_VECTORS_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot open %s", path);
  char *buf = malloc(1 << 16);
  assert_non_null(buf);
  *len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

static void test_protobuf_vectors(void **state) {
  for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
    size_t len;
    char *buf = read_vector(vectors[i].file, &len);
    kube_error_t err = KUBE_ERROR_INIT;
    json_object *o = kube_protobuf_decode(buf, len, &err);
    if (!o)
      fail_msg("%s: %s", vectors[i].file, err.message);
    print_message("  %s\n", vectors[i].file);
    tp_assert_json(o, vectors[i].json);
    json_object_put(o);
    free(buf);
  }
}

/* Every prefix of a real body either decodes (the cut falls between two
 * top-level fields after raw) or fails with BadRequest; cuts inside raw
 * always fail. */
static void test_protobuf_truncated(void **state) {
  for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
    size_t len;
    char *buf = read_vector(vectors[i].file, &len);
    size_t fails = 0;
    for (size_t cut = 0; cut < len; cut++) {
      kube_error_t err = KUBE_ERROR_INIT;
      /* A fresh allocation of exactly `cut` bytes, so a read past the end
       * is caught by valgrind/ASan. */
      char *p = malloc(cut ? cut : 1);
      assert_non_null(p);
      memcpy(p, buf, cut);
      json_object *o = kube_protobuf_decode(p, cut, &err);
      if (!o) {
        assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
        fails++;
      }
      json_object_put(o);
      kube_error_clear(&err);
      free(p);
    }
    /* The trailer after raw is 4 bytes (two empty strings). */
    assert_true(fails >= len - 4);
    free(buf);
  }
}

/* Flip every bit of a real body: never a crash, always an object or an
 * error with a reason. */
static void test_protobuf_bitflips(void **state) {
  size_t len;
  char *buf = read_vector("deployment.pb", &len);
  for (size_t i = 4; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      kube_error_t err = KUBE_ERROR_INIT;
      buf[i] ^= (char)(1 << bit);
      json_object *o = kube_protobuf_decode(buf, len, &err);
      buf[i] ^= (char)(1 << bit);
      if (!o)
        assert_true(err.reason == KUBE_REASON_BAD_REQUEST ||
                    err.reason == KUBE_REASON_UNSUPPORTED_MEDIA_TYPE);
      json_object_put(o);
      kube_error_clear(&err);
    }
  }
  free(buf);
}

/* A Pod exercising the field types kubectl's create commands do not. */
static void test_protobuf_pod(void **state) {
  kube_strbuf_t meta = KUBE_STRBUF_INIT, spec = KUBE_STRBUF_INIT,
                status = KUBE_STRBUF_INIT, pod = KUBE_STRBUF_INIT,
                body = KUBE_STRBUF_INIT, t = KUBE_STRBUF_INIT;

  pb_str(&meta, 1, "kubia");
  pb_str(&meta, 2, ""); /* empty strings are omitted */
  pb_str(&meta, 3, "default");
  pb_int(&meta, 7, 0);
  pb_int(&t, 1, 1764222376); /* 2025-11-27T05:46:16Z */
  pb_sub(&meta, 8, &t);
  pb_map(&meta, 11, "app", "kubia");
  pb_map(&meta, 11, "tier", "");
  pb_str(&meta, 14, "example.com/f");
  {
    kube_strbuf_t mf = KUBE_STRBUF_INIT, raw = KUBE_STRBUF_INIT;
    pb_str(&mf, 1, "kubectl");
    pb_str(&mf, 2, "Apply");
    pb_str(&raw, 1, "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}}}");
    pb_sub(&mf, 7, &raw);
    pb_sub(&meta, 17, &mf);
  }
  /* Unknown fields of every wire type are skipped. */
  pb_int(&meta, 99, 5);
  pb_tag(&meta, 98, 1);
  kube_strbuf_append_len(&meta, "12345678", 8);
  pb_tag(&meta, 97, 5);
  kube_strbuf_append_len(&meta, "1234", 4);
  pb_str(&meta, 96, "ignored");

  {
    kube_strbuf_t c = KUBE_STRBUF_INIT, port = KUBE_STRBUF_INIT,
                  env = KUBE_STRBUF_INIT, res = KUBE_STRBUF_INIT,
                  probe = KUBE_STRBUF_INIT, http = KUBE_STRBUF_INIT,
                  is = KUBE_STRBUF_INIT, sc = KUBE_STRBUF_INIT,
                  vm = KUBE_STRBUF_INIT, vf = KUBE_STRBUF_INIT,
                  ks = KUBE_STRBUF_INIT;
    pb_str(&c, 1, "kubia");
    pb_str(&c, 2, "kubia:v1");
    pb_str(&c, 4, "--port");
    pb_str(&c, 4, "");
    pb_int(&port, 3, 8080);
    pb_str(&port, 4, "TCP");
    pb_sub(&c, 6, &port);
    pb_str(&env, 1, "PASSWORD");
    pb_str(&ks, 1, "sec"); /* LocalObjectReference, inlined */
    pb_sub(&res, 1, &ks);
    pb_str(&res, 2, "pass");
    pb_int(&res, 3, 0); /* optional=false: a pointer, kept */
    pb_sub(&vf, 4, &res);
    pb_sub(&env, 3, &vf);
    pb_sub(&c, 7, &env);
    pb_qty_map(&res, 1, "memory", "128Mi");
    pb_qty_map(&res, 2, "cpu", "100m");
    pb_sub(&c, 8, &res);
    pb_str(&vm, 1, "data");
    pb_int(&vm, 2, 1);
    pb_str(&vm, 3, "/data");
    pb_sub(&c, 9, &vm);
    pb_str(&http, 1, "/healthz");
    pb_int(&is, 1, 1);
    pb_str(&is, 3, "http");
    pb_sub(&http, 2, &is);
    kube_strbuf_t handler = KUBE_STRBUF_INIT;
    pb_sub(&handler, 2, &http);
    pb_sub(&probe, 1, &handler); /* ProbeHandler, inlined */
    pb_int(&probe, 4, 5);
    pb_sub(&c, 11, &probe);
    pb_int(&sc, 4, 0);  /* runAsUser: 0 (root) is meaningful */
    pb_int(&sc, 2, 0);  /* privileged: false */
    pb_int(&sc, 8, -1); /* negative int64 */
    pb_sub(&c, 15, &sc);
    pb_sub(&spec, 2, &c);
  }
  {
    kube_strbuf_t vol = KUBE_STRBUF_INIT, src = KUBE_STRBUF_INIT,
                  ed = KUBE_STRBUF_INIT;
    pb_str(&vol, 1, "data");
    pb_sub(&src, 2, &ed); /* emptyDir: {} */
    pb_sub(&vol, 2, &src);
    pb_sub(&spec, 1, &vol);
  }
  pb_int(&spec, 4, 0);   /* terminationGracePeriodSeconds: 0 */
  pb_int(&spec, 25, -5); /* priority: int32 sign-extended on the wire */
  /* supplementalGroups, packed */
  {
    kube_strbuf_t psc = KUBE_STRBUF_INIT, packed = KUBE_STRBUF_INIT;
    pb_varint(&packed, 1000);
    pb_varint(&packed, 2000);
    pb_sub(&psc, 4, &packed);
    pb_int(&psc, 4, 3000); /* and one unpacked */
    pb_sub(&spec, 14, &psc);
  }
  {
    kube_strbuf_t cond = KUBE_STRBUF_INIT, ts = KUBE_STRBUF_INIT;
    pb_str(&status, 1, "Running");
    pb_str(&cond, 1, "Ready");
    pb_str(&cond, 2, "True");
    pb_int(&ts, 1, 0);
    pb_sub(&cond, 4, &ts); /* zero time: null */
    pb_sub(&status, 2, &cond);
    kube_strbuf_t cs = KUBE_STRBUF_INIT;
    pb_str(&cs, 1, "kubia");
    pb_int(&cs, 4, 0);
    pb_int(&cs, 5, 0);
    pb_sub(&status, 8, &cs);
  }
  pb_sub(&pod, 1, &meta);
  pb_sub(&pod, 2, &spec);
  pb_sub(&pod, 3, &status);
  pb_envelope(&body, "v1", "Pod", &pod);

  json_object *o = decode_ok(&body);
  tp_assert_json(
      o,
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
      "\"kubia\",\"namespace\":\"default\",\"creationTimestamp\":"
      "\"2025-11-27T05:46:16Z\",\"labels\":{\"app\":\"kubia\",\"tier\":\"\"},"
      "\"finalizers\":[\"example.com/f\"],\"managedFields\":[{\"manager\":"
      "\"kubectl\",\"operation\":\"Apply\",\"fieldsV1\":{\"f:metadata\":{"
      "\"f:labels\":{\"f:app\":{}}}}}]},\"spec\":{\"containers\":[{\"name\":"
      "\"kubia\",\"image\":\"kubia:v1\",\"args\":[\"--port\",\"\"],"
      "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],\"env\":[{"
      "\"name\":\"PASSWORD\",\"valueFrom\":{\"secretKeyRef\":{\"name\":"
      "\"sec\",\"key\":\"pass\",\"optional\":false}}}],\"resources\":{"
      "\"limits\":{\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"100m\"}},"
      "\"volumeMounts\":[{\"name\":\"data\",\"readOnly\":true,\"mountPath\":"
      "\"/data\"}],\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\","
      "\"port\":\"http\"},\"periodSeconds\":5},\"securityContext\":{"
      "\"runAsUser\":0,\"privileged\":false,\"runAsGroup\":-1}}],"
      "\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}}],"
      "\"terminationGracePeriodSeconds\":0,\"priority\":-5,"
      "\"securityContext\":{\"supplementalGroups\":[1000,2000,3000]}},"
      "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
      "\"status\":\"True\",\"lastTransitionTime\":null}],"
      "\"containerStatuses\":[{\"name\":\"kubia\",\"ready\":false,"
      "\"restartCount\":0}]}}");
  json_object_put(o);
  kube_strbuf_clear(&body);
}

static void test_protobuf_event_microtime(void **state) {
  kube_strbuf_t ev = KUBE_STRBUF_INIT, meta = KUBE_STRBUF_INIT,
                mt = KUBE_STRBUF_INIT, ref = KUBE_STRBUF_INIT,
                body = KUBE_STRBUF_INIT;
  pb_str(&meta, 1, "e1");
  pb_sub(&ev, 1, &meta);
  pb_str(&ref, 1, "Pod");
  pb_str(&ref, 3, "kubia");
  pb_sub(&ev, 2, &ref);
  pb_str(&ev, 3, "Started");
  pb_int(&ev, 8, 2);
  pb_int(&mt, 1, 1764222376);
  pb_int(&mt, 2, 123456789);
  pb_sub(&ev, 10, &mt);
  pb_envelope(&body, "v1", "Event", &ev);
  json_object *o = decode_ok(&body);
  tp_assert_json(o, "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{"
                    "\"name\":\"e1\"},\"involvedObject\":{\"kind\":\"Pod\","
                    "\"name\":\"kubia\"},\"reason\":\"Started\",\"count\":2,"
                    "\"eventTime\":\"2025-11-27T05:46:16.123456Z\"}");
  json_object_put(o);
  kube_strbuf_clear(&body);
}

static void test_protobuf_malformed(void **state) {
  kube_strbuf_t b = KUBE_STRBUF_INIT, raw = KUBE_STRBUF_INIT;

  expect_error(NULL, 0, KUBE_REASON_BAD_REQUEST);
  expect_error("k8s", 3, KUBE_REASON_BAD_REQUEST);
  expect_error("{\"kind\":\"Pod\"}", 14, KUBE_REASON_BAD_REQUEST);
  /* Envelope without typeMeta. */
  expect_error("k8s\0\x12\x00", 6, KUBE_REASON_BAD_REQUEST);
  /* Overlong varint. */
  expect_error("k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16,
               KUBE_REASON_BAD_REQUEST);
  /* Group wire types are not supported. */
  expect_error("k8s\0\x0b", 5, KUBE_REASON_BAD_REQUEST);
  /* Field number 0. */
  expect_error("k8s\0\x02\x00", 6, KUBE_REASON_BAD_REQUEST);

  /* A kind without a schema: UnsupportedMediaType. */
  pb_str(&raw, 1, "x");
  pb_envelope(&b, "example.com/v1", "Widget", &raw);
  expect_error(b.data, b.len, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE);
  kube_strbuf_reset(&b);

  /* Compressed content. */
  {
    kube_strbuf_t tm = KUBE_STRBUF_INIT;
    kube_strbuf_append_len(&b, "k8s\0", 4);
    pb_str(&tm, 1, "v1");
    pb_str(&tm, 2, "Pod");
    pb_sub(&b, 1, &tm);
    pb_str(&b, 2, "");
    pb_str(&b, 3, "gzip");
    expect_error(b.data, b.len, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE);
    kube_strbuf_reset(&b);
  }

  /* A string field sent as a varint: wrong wire type. */
  {
    kube_strbuf_t ns = KUBE_STRBUF_INIT, meta = KUBE_STRBUF_INIT;
    pb_int(&meta, 1, 7);
    pb_sub(&ns, 1, &meta);
    pb_envelope(&b, "v1", "Namespace", &ns);
    expect_error(b.data, b.len, KUBE_REASON_BAD_REQUEST);
    kube_strbuf_reset(&b);
  }
  /* A nested length running past its parent. */
  {
    kube_strbuf_t ns = KUBE_STRBUF_INIT;
    pb_tag(&ns, 1, 2);
    pb_varint(&ns, 50);
    pb_str(&ns, 1, "short");
    pb_envelope(&b, "v1", "Namespace", &ns);
    expect_error(b.data, b.len, KUBE_REASON_BAD_REQUEST);
    kube_strbuf_reset(&b);
  }
  /* managedFields with a fieldsV1 that is not JSON. */
  {
    kube_strbuf_t cm = KUBE_STRBUF_INIT, meta = KUBE_STRBUF_INIT,
                  mf = KUBE_STRBUF_INIT, rj = KUBE_STRBUF_INIT;
    pb_str(&rj, 1, "{not json");
    pb_sub(&mf, 7, &rj);
    pb_sub(&meta, 17, &mf);
    pb_sub(&cm, 1, &meta);
    pb_envelope(&b, "v1", "ConfigMap", &cm);
    expect_error(b.data, b.len, KUBE_REASON_BAD_REQUEST);
    kube_strbuf_reset(&b);
  }
  /* A time past year 9999. */
  {
    kube_strbuf_t ns = KUBE_STRBUF_INIT, meta = KUBE_STRBUF_INIT,
                  ts = KUBE_STRBUF_INIT;
    pb_int(&ts, 1, 300000000000LL);
    pb_sub(&meta, 8, &ts);
    pb_sub(&ns, 1, &meta);
    pb_envelope(&b, "v1", "Namespace", &ns);
    expect_error(b.data, b.len, KUBE_REASON_BAD_REQUEST);
    kube_strbuf_reset(&b);
  }
  /* A map key with a NUL byte. */
  {
    kube_strbuf_t cm = KUBE_STRBUF_INIT, e = KUBE_STRBUF_INIT;
    pb_bytes(&e, 1, "a\0b", 3);
    pb_str(&e, 2, "v");
    pb_sub(&cm, 2, &e);
    pb_envelope(&b, "v1", "ConfigMap", &cm);
    expect_error(b.data, b.len, KUBE_REASON_BAD_REQUEST);
    kube_strbuf_reset(&b);
  }
  kube_strbuf_clear(&b);
}

static const struct CMUnitTest protobuf_tests[] = {
    cmocka_unit_test(test_protobuf_vectors),
    cmocka_unit_test(test_protobuf_truncated),
    cmocka_unit_test(test_protobuf_bitflips),
    cmocka_unit_test(test_protobuf_pod),
    cmocka_unit_test(test_protobuf_event_microtime),
    cmocka_unit_test(test_protobuf_malformed),
};

const struct CMUnitTest *test_protobuf_tests(size_t *n) {
  *n = ARRAY_SIZE(protobuf_tests);
  return protobuf_tests;
}
