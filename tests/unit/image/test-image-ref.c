/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image reference parsing and normalization against the cases of
 * docker/distribution's reference package (reference_test.go,
 * normalize_test.go): valid names and what they normalize to, and the
 * names the grammar rejects with the reason it gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "image/internal.h"

#define F64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

struct norm_case {
  const char *in;
  const char *domain, *path, *tag, *digest;
  const char *familiar;
};

/* ParseNormalizedNamed + TagNameOnly results. */
static const struct norm_case norm_cases[] = {
    {"kubia", "docker.io", "library/kubia", "latest", NULL, "kubia:latest"},
    {"fooo/bar", "docker.io", "fooo/bar", "latest", NULL, "fooo/bar:latest"},
    {"library/ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
     "ubuntu:latest"},
    {"nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "latest", NULL,
     NULL},
    {"ubuntu", "docker.io", "library/ubuntu", "latest", NULL, NULL},
    {"other/library", "docker.io", "other/library", "latest", NULL, NULL},
    {"127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase",
     "latest", NULL, "127.0.0.1:8000/private/moonbase:latest"},
    {"127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", "latest",
     NULL, NULL},
    {"localhost:8000/private/moonbase", "localhost:8000", "private/moonbase",
     "latest", NULL, NULL},
    {"localhost:8000/privatebase", "localhost:8000", "privatebase", "latest",
     NULL, NULL},
    {"example.com/private/moonbase", "example.com", "private/moonbase",
     "latest", NULL, NULL},
    {"example.com/privatebase", "example.com", "privatebase", "latest", NULL,
     NULL},
    {"example.com:8000/private/moonbase", "example.com:8000",
     "private/moonbase", "latest", NULL, NULL},
    {"example.com:8000/privatebase", "example.com:8000", "privatebase",
     "latest", NULL, NULL},
    {"localhost/private/moonbase", "localhost", "private/moonbase", "latest",
     NULL, NULL},
    {"localhost/privatebase", "localhost", "privatebase", "latest", NULL,
     "localhost/privatebase:latest"},
    {"index.docker.io/fooo/bar", "docker.io", "fooo/bar", "latest", NULL, NULL},
    {"docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL, NULL},
    {"docker.io/library/ubuntu:22.04", "docker.io", "library/ubuntu", "22.04",
     NULL, "ubuntu:22.04"},
    {"ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest",
     NULL, NULL},
    {"localhost:5000/x", "localhost:5000", "x", "latest", NULL,
     "localhost:5000/x:latest"},
    {"localhost:5000/luksa/kubia", "localhost:5000", "luksa/kubia", "latest",
     NULL, NULL},
    {"host:5000/a/b:tag", "host:5000", "a/b", "tag", NULL, NULL},
    {"x@sha256:" F64, "docker.io", "library/x", NULL, "sha256:" F64,
     "x@sha256:" F64},
    {"test:5000/repo:tag@sha256:" F64, "test:5000", "repo", "tag",
     "sha256:" F64, NULL},
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL,
     "localhost:5000"},
    {"test.com:tag", "docker.io", "library/test.com", "tag", NULL, NULL},
    {"lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", NULL,
     NULL},
    {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux",
     "latest", NULL, NULL},
    {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com",
     "bar/baz/quux", "some-long-tag", NULL, NULL},
    {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io",
     "test.example.com/my-app", "test.example.com", NULL, NULL},
    {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com",
     NULL, NULL},
    {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", NULL,
     NULL},
    {"foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", NULL,
     NULL},
    {"192.168.1.1", "docker.io", "library/192.168.1.1", "latest", NULL, NULL},
    {"192.168.1.1:5/foo", "192.168.1.1:5", "foo", "latest", NULL, NULL},
    {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", NULL, NULL},
    {"[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", NULL,
     NULL},
    {"a__b/c--d/e.f_g", "docker.io", "a__b/c--d/e.f_g", "latest", NULL, NULL},
    /* found by the fuzzer: the short form must not read as another
     * registry */
    {"docker.io/ocker.io/oaoa", "docker.io", "ocker.io/oaoa", "latest", NULL,
     "docker.io/ocker.io/oaoa:latest"},
    {"docker.io/"
     "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
     "docker.io",
     "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
     "latest", NULL, NULL},
};

static void test_normalize(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(norm_cases); i++) {
    const struct norm_case *c = &norm_cases[i];
    kube_image_ref_t r;
    kube_error_t err = KUBE_ERROR_INIT;
    int rc = kube_image_ref_parse(c->in, &r, &err);
    if (rc < 0)
      fail_msg("%s: %s", c->in, err.message);
    assert_string_equal(r.domain, c->domain);
    assert_string_equal(r.path, c->path);
    if (c->tag)
      assert_string_equal(r.tag, c->tag);
    else
      assert_null(r.tag);
    if (c->digest)
      assert_string_equal(r.digest, c->digest);
    else
      assert_null(r.digest);
    if (c->familiar) {
      char *f = kube_image_ref_familiar(&r);
      assert_string_equal(f, c->familiar);
      free(f);
    }
    kube_image_ref_clear(&r);
  }
}

struct bad_case {
  const char *in;
  const char *msg; /* substring of the error */
};

static const struct bad_case bad_cases[] = {
    {"", "at least one component"},
    {":justtag", "invalid reference format"},
    {"@sha256:" F64, "invalid reference format"},
    {"https://github.com/docker/docker", "invalid reference format"},
    {"docker/Docker", "must be lowercase"},
    {"-docker", "invalid reference format"},
    {"-docker/docker", "invalid reference format"},
    {"-docker.io/docker/docker", "invalid reference format"},
    {"docker///docker", "invalid reference format"},
    {"docker.io/docker/Docker", "must be lowercase"},
    {"docker.io/docker///docker", "invalid reference format"},
    {"1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
     "64-byte hexadecimal"},
    {"Uppercase:tag", "must be lowercase"},
    {"test:5000/Uppercase/lowercase:tag", "must be lowercase"},
    {"aa/asdf$$^/aa", "invalid reference format"},
    {"repo@sha256:" F64 "f", "digest length"},
    {"repo@sha256:fffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ffff",
     "digest length"},
    {"validname@invaliddigest:" F64, "unsupported digest algorithm"},
    {"repo@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "fffffg",
     "digest format"},
    {"a:b:c", "invalid reference format"},
    {"a/b:tag with space", "invalid reference format"},
    {"a..b", "invalid reference format"},
    {"a/__b", "invalid reference format"},
    {"a/b_", "invalid reference format"},
    {"a/b:-tag", "invalid reference format"},
    {"[fe80::1%eth0]:5000/repo", "invalid reference format"},
};

static void test_reject(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
    kube_image_ref_t r;
    kube_error_t err = KUBE_ERROR_INIT;
    int rc = kube_image_ref_parse(bad_cases[i].in, &r, &err);
    if (rc == 0)
      fail_msg("%s: accepted as %s/%s", bad_cases[i].in, r.domain, r.path);
    if (!strstr(err.message, bad_cases[i].msg))
      fail_msg("%s: error \"%s\" lacks \"%s\"", bad_cases[i].in, err.message,
               bad_cases[i].msg);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
}

static void test_lengths(void **state) {
  (void)state;
  /* 255 characters of name is the limit */
  char ok[400] = "", bad[400] = "";
  for (int i = 0; i < 127; i++)
    strcat(ok, "a/");
  strcat(ok, "a:tag-puts-this-over-max");
  for (int i = 0; i < 128; i++)
    strcat(bad, "a/");
  strcat(bad, "a:tag");
  kube_image_ref_t r;
  kube_error_t err = KUBE_ERROR_INIT;
  /* the first component "a" is not a domain: docker.io/ is prefixed, which
   * takes the normalized name over 255 */
  assert_int_equal(kube_image_ref_parse(ok, &r, &err), -1);
  assert_non_null(strstr(err.message, "255"));
  kube_error_clear(&err);
  assert_int_equal(kube_image_ref_parse(bad, &r, &err), -1);
  kube_error_clear(&err);
  char host[400] = "h.io/";
  for (int i = 0; i < 123; i++)
    strcat(host, "a/");
  strcat(host, "a:t");
  assert_int_equal(kube_image_ref_parse(host, &r, &err), 0);
  kube_image_ref_clear(&r);
  /* tags: 128 characters at most */
  char tag[200] = "x:";
  for (int i = 0; i < 128; i++)
    strcat(tag, "t");
  assert_int_equal(kube_image_ref_parse(tag, &r, &err), 0);
  kube_image_ref_clear(&r);
  strcat(tag, "t");
  assert_int_equal(kube_image_ref_parse(tag, &r, &err), -1);
  kube_error_clear(&err);
}

static void test_strings(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  char *s = kube_image_ref_normalize("kubia", &err);
  assert_string_equal(s, "docker.io/library/kubia:latest");
  free(s);
  s = kube_image_ref_normalize("localhost:5000/luksa/kubia:v1", &err);
  assert_string_equal(s, "localhost:5000/luksa/kubia:v1");
  free(s);
  s = kube_image_ref_normalize("busybox@sha256:" F64, &err);
  assert_string_equal(s, "docker.io/library/busybox@sha256:" F64);
  free(s);
  kube_image_ref_t r;
  assert_int_equal(kube_image_ref_parse("busybox:1@sha256:" F64, &r, &err), 0);
  s = kube_image_ref_string(&r);
  assert_string_equal(s, "docker.io/library/busybox:1@sha256:" F64);
  free(s);
  s = kube_image_ref_repository(&r);
  assert_string_equal(s, "docker.io/library/busybox");
  free(s);
  kube_image_ref_clear(&r);
  assert_string_equal(img_registry_host("docker.io"), "registry-1.docker.io");
  assert_string_equal(img_registry_host("localhost:5000"), "localhost:5000");
}

static void test_pull_policy(void **state) {
  (void)state;
  assert_int_equal(kube_image_pull_policy_default("kubia"),
                   KUBE_IMAGE_PULL_ALWAYS);
  assert_int_equal(kube_image_pull_policy_default("kubia:latest"),
                   KUBE_IMAGE_PULL_ALWAYS);
  assert_int_equal(kube_image_pull_policy_default("kubia:1"),
                   KUBE_IMAGE_PULL_IF_NOT_PRESENT);
  assert_int_equal(kube_image_pull_policy_default("kubia@sha256:" F64),
                   KUBE_IMAGE_PULL_IF_NOT_PRESENT);
  assert_int_equal(kube_image_pull_policy_parse("Never"),
                   KUBE_IMAGE_PULL_NEVER);
  assert_int_equal(kube_image_pull_policy_parse("never"), -1);
}

static void test_digests(void **state) {
  (void)state;
  char *d = img_digest_of("", 0);
  assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b9"
                         "34ca495991b7852b855");
  assert_true(img_digest_valid(d));
  /* chain IDs: first = diffID, then sha256("parent diffid") */
  char *c1 = img_chain_id(NULL, d);
  assert_string_equal(c1, d);
  char *c2 = img_chain_id(c1, d);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s %s", d, d);
  char *want = img_digest_of(sb.data, sb.len);
  assert_string_equal(c2, want);
  assert_false(img_digest_valid("sha256:ABC"));
  assert_false(img_digest_valid("sha512:" F64));
  free(d);
  free(c1);
  free(c2);
  free(want);
  kube_strbuf_clear(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normalize),   cmocka_unit_test(test_reject),
      cmocka_unit_test(test_lengths),     cmocka_unit_test(test_strings),
      cmocka_unit_test(test_pull_policy), cmocka_unit_test(test_digests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
