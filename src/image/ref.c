/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed and normalized exactly as docker/distribution's
 * reference package (ParseNormalizedNamed + TagNameOnly): the grammar
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]    host := domain-name | "[" IPv6 "]"
 *   path-component := [a-z0-9]+ (([._]|__|[-]+) [a-z0-9]+)*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex  (sha256: exactly 64 hex digits)
 *
 * is checked by hand (no regex engine: this parser sees every pod's image
 * and must be fast), with the same error texts.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

#define NAME_MAX_TOTAL 255

static bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component over s[0..len) */
static bool path_component_ok(const char *s, size_t len) {
  size_t i = 0;
  if (len == 0 || !is_lower_alnum(s[0]))
    return false;
  while (i < len) {
    while (i < len && is_lower_alnum(s[i]))
      i++;
    if (i == len)
      return true;
    /* separator: "." | "_" | "__" | "-"+ */
    size_t sep = i;
    if (s[i] == '.')
      i++;
    else if (s[i] == '_') {
      i++;
      if (i < len && s[i] == '_')
        i++;
    } else if (s[i] == '-') {
      while (i < len && s[i] == '-')
        i++;
    } else
      return false;
    if (i == sep || i == len || !is_lower_alnum(s[i]))
      return false;
  }
  return true;
}

static bool domain_component_ok(const char *s, size_t len) {
  if (len == 0 || !isalnum((unsigned char)s[0]) ||
      !isalnum((unsigned char)s[len - 1]))
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool domain_ok(const char *s, size_t len) {
  size_t hostlen = len;
  const char *colon = NULL;
  if (len && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    if (!close || close == s + 1)
      return false;
    for (const char *p = s + 1; p < close; p++)
      if (!isxdigit((unsigned char)*p) && *p != ':')
        return false;
    hostlen = (size_t)(close - s) + 1;
    if (hostlen < len) {
      if (s[hostlen] != ':')
        return false;
      colon = s + hostlen;
    }
  } else {
    colon = memchr(s, ':', len);
    if (colon)
      hostlen = (size_t)(colon - s);
    size_t start = 0;
    for (size_t i = 0; i <= hostlen; i++) {
      if (i == hostlen || s[i] == '.') {
        if (!domain_component_ok(s + start, i - start))
          return false;
        start = i + 1;
      }
    }
  }
  if (colon) {
    size_t plen = len - (size_t)(colon - s) - 1;
    if (plen == 0)
      return false;
    for (size_t i = 1; i <= plen; i++)
      if (!isdigit((unsigned char)colon[i]))
        return false;
  }
  return true;
}

static bool tag_ok(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > 128)
    return false;
  if (!isalnum((unsigned char)t[0]) && t[0] != '_')
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' &&
        t[i] != '-')
      return false;
  return true;
}

bool img_digest_syntax_valid(const char *d) {
  /* algorithm := component ([+._-] component)*, component := [a-z0-9]+ */
  const char *colon = strchr(d, ':');
  if (!colon || colon == d)
    return false;
  bool need_alnum = true;
  for (const char *p = d; p < colon; p++) {
    if (is_lower_alnum(*p))
      need_alnum = false;
    else if (!need_alnum && strchr("+._-", *p))
      need_alnum = true;
    else
      return false;
  }
  if (need_alnum)
    return false;
  const char *enc = colon + 1;
  if (!*enc)
    return false;
  for (const char *p = enc; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("=_-", *p))
      return false;
  return true;
}

/* digest.Parse + Validate: ErrDigestInvalidFormat, ErrDigestUnsupported,
 * ErrDigestInvalidLength as distribution words them. */
static int digest_check(const char *d, kube_error_t *err) {
  const char *colon = strchr(d, ':');
  if (!colon || !img_digest_syntax_valid(d))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid checksum digest format");
  size_t alen = (size_t)(colon - d);
  size_t want;
  if (alen == 6 && memcmp(d, "sha256", 6) == 0)
    want = 64;
  else if (alen == 6 && memcmp(d, "sha384", 6) == 0)
    want = 96;
  else if (alen == 6 && memcmp(d, "sha512", 6) == 0)
    want = 128;
  else
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unsupported digest algorithm");
  const char *hex = colon + 1;
  if (strlen(hex) != want)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid checksum digest length");
  for (const char *p = hex; *p; p++)
    if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid checksum digest format");
  return 0;
}

static bool is_64hex(const char *s) {
  if (strlen(s) != 64)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

/* Validate name (no tag/digest): [domain "/"] path ("/" path)*.  The
 * domain is the first component when there is more than one and it
 * parses as a domain while the rest parse as paths (distribution's regex
 * tries the domain first). */
static bool name_ok(const char *name) {
  const char *slash = strchr(name, '/');
  const char *paths = name;
  if (slash && domain_ok(name, (size_t)(slash - name)))
    paths = slash + 1;
  const char *p = paths;
  for (;;) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (!path_component_ok(p, len))
      break;
    if (!e)
      return true;
    p = e + 1;
  }
  if (paths != name)
    return false;
  return false;
}

static int invalid(kube_error_t *err, const char *s) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "invalid reference format: \"%s\"", s);
}

/* reference.Parse: s is "domain/path[:tag][@digest]" after normalization. */
static int parse_full(const char *orig, const char *s, kube_image_ref_t *out,
                      kube_error_t *err) {
  cleanup_free char *buf = strdup(s);
  if (!buf)
    return kube_make_oom(err);
  char *at = strchr(buf, '@');
  if (at) {
    *at = '\0';
    if (digest_check(at + 1, err) < 0)
      return -1;
  }
  char *tag = NULL;
  char *lastslash = strrchr(buf, '/');
  char *colon = strrchr(buf, ':');
  if (colon && (!lastslash || colon > lastslash)) {
    *colon = '\0';
    tag = colon + 1;
    if (!tag_ok(tag))
      return invalid(err, orig);
  }
  if (!*buf)
    return invalid(err, orig);
  if (!name_ok(buf)) {
    /* ErrNameContainsUppercase when only the case is wrong. */
    cleanup_free char *low = strdup(buf);
    if (!low)
      return kube_make_oom(err);
    for (char *p = low; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    if (name_ok(low))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid reference format: repository name (%s) "
                            "must be lowercase",
                            buf);
    return invalid(err, orig);
  }
  if (strlen(buf) > NAME_MAX_TOTAL)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "repository name must not be more than %d "
                          "characters",
                          NAME_MAX_TOTAL);
  char *slash = strchr(buf, '/');
  /* Normalized input always has a domain first. */
  if (!slash)
    return invalid(err, orig);
  *slash = '\0';
  out->domain = strdup(buf);
  out->path = strdup(slash + 1);
  out->tag = tag ? strdup(tag) : NULL;
  out->digest = at ? strdup(at + 1) : NULL;
  if (!out->domain || !out->path || (tag && !out->tag) ||
      (at && !out->digest)) {
    kube_image_ref_clear(out);
    return kube_make_oom(err);
  }
  return 0;
}

KUBE_EXPORT int kube_image_ref_parse(const char *s, kube_image_ref_t *out,
                                     kube_error_t *err) {
  memset(out, 0, sizeof *out);
  if (!s || !*s)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "repository name must have at least one component");
  if (is_64hex(s))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid repository name (%s), cannot specify "
                          "64-byte hexadecimal strings",
                          s);
  /* splitDockerDomain */
  const char *slash = strchr(s, '/');
  const char *domain = "docker.io";
  size_t dlen = strlen(domain);
  const char *rest = s;
  if (slash) {
    size_t n = (size_t)(slash - s);
    bool has_dot_colon = memchr(s, '.', n) || memchr(s, ':', n);
    bool is_localhost = n == 9 && memcmp(s, "localhost", 9) == 0;
    bool has_upper = false;
    for (size_t i = 0; i < n; i++)
      if (isupper((unsigned char)s[i]))
        has_upper = true;
    if (has_dot_colon || is_localhost || has_upper) {
      domain = s;
      dlen = n;
      rest = slash + 1;
    }
  }
  if (dlen == 15 && memcmp(domain, "index.docker.io", 15) == 0) {
    domain = "docker.io";
    dlen = 9;
  }
  bool official =
      dlen == 9 && memcmp(domain, "docker.io", 9) == 0 && !strchr(rest, '/');
  /* The repository part (before the first ':') must be lowercase. */
  size_t rlen = strcspn(rest, ":");
  for (size_t i = 0; i < rlen; i++)
    if (isupper((unsigned char)rest[i]))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid reference format: repository name (%.*s) "
                            "must be lowercase",
                            (int)rlen, rest);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&sb, domain, dlen);
  kube_strbuf_append(&sb, official ? "/library/" : "/");
  kube_strbuf_append(&sb, rest);
  cleanup_free char *full = kube_strbuf_steal(&sb);
  if (!full)
    return kube_make_oom(err);
  if (parse_full(s, full, out, err) < 0)
    return -1;
  /* TagNameOnly */
  if (!out->tag && !out->digest) {
    out->tag = strdup("latest");
    if (!out->tag) {
      kube_image_ref_clear(out);
      return kube_make_oom(err);
    }
  }
  return 0;
}

KUBE_EXPORT void kube_image_ref_clear(kube_image_ref_t *ref) {
  if (!ref)
    return;
  free(ref->domain);
  free(ref->path);
  free(ref->tag);
  free(ref->digest);
  memset(ref, 0, sizeof *ref);
}

KUBE_EXPORT char *kube_image_ref_repository(const kube_image_ref_t *ref) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/%s", ref->domain, ref->path);
  return kube_strbuf_steal(&sb);
}

KUBE_EXPORT char *kube_image_ref_string(const kube_image_ref_t *ref) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/%s", ref->domain, ref->path);
  if (ref->tag)
    kube_strbuf_printf(&sb, ":%s", ref->tag);
  if (ref->digest)
    kube_strbuf_printf(&sb, "@%s", ref->digest);
  return kube_strbuf_steal(&sb);
}

KUBE_EXPORT char *kube_image_ref_normalize(const char *s, kube_error_t *err) {
  kube_image_ref_t r;
  if (kube_image_ref_parse(s, &r, err) < 0)
    return NULL;
  char *out = kube_image_ref_string(&r);
  kube_image_ref_clear(&r);
  if (!out)
    kube_make_oom(err);
  return out;
}

KUBE_EXPORT char *kube_image_ref_familiar(const kube_image_ref_t *ref) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  const char *slash = strchr(ref->path, '/');
  size_t first = slash ? (size_t)(slash - ref->path) : 0;
  /* "docker.io/a.b/c" stays whole: "a.b/c" would read as registry a.b */
  bool looks_like_domain =
      slash &&
      (memchr(ref->path, '.', first) || memchr(ref->path, ':', first) ||
       (first == 9 && !strncmp(ref->path, "localhost", 9)));
  if (streq(ref->domain, "docker.io") && !looks_like_domain) {
    const char *p = ref->path;
    if (str_has_prefix(p, "library/") && !strchr(p + 8, '/'))
      p += 8;
    kube_strbuf_append(&sb, p);
  } else
    kube_strbuf_printf(&sb, "%s/%s", ref->domain, ref->path);
  if (ref->tag)
    kube_strbuf_printf(&sb, ":%s", ref->tag);
  if (ref->digest)
    kube_strbuf_printf(&sb, "@%s", ref->digest);
  return kube_strbuf_steal(&sb);
}

const char *img_registry_host(const char *domain) {
  return streq(domain, "docker.io") ? "registry-1.docker.io" : domain;
}

KUBE_EXPORT int kube_image_pull_policy_parse(const char *s) {
  if (!s)
    return -1;
  if (streq(s, "Always"))
    return KUBE_IMAGE_PULL_ALWAYS;
  if (streq(s, "IfNotPresent"))
    return KUBE_IMAGE_PULL_IF_NOT_PRESENT;
  if (streq(s, "Never"))
    return KUBE_IMAGE_PULL_NEVER;
  return -1;
}

KUBE_EXPORT kube_image_pull_policy_t
kube_image_pull_policy_default(const char *ref) {
  /* As the API server defaults it: Always when the tag is latest or
   * absent (and no digest), IfNotPresent otherwise. */
  kube_image_ref_t r;
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_image_ref_parse(ref, &r, &err) < 0) {
    kube_error_clear(&err);
    return KUBE_IMAGE_PULL_IF_NOT_PRESENT;
  }
  bool always = !r.digest && r.tag && streq(r.tag, "latest");
  kube_image_ref_clear(&r);
  return always ? KUBE_IMAGE_PULL_ALWAYS : KUBE_IMAGE_PULL_IF_NOT_PRESENT;
}
