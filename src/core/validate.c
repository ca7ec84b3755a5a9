/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Name validation shared by selectors and the object model, following
 * k8s.io/apimachinery/pkg/util/validation.  Kubernetes returns a list of
 * messages; these helpers return the first one it would list, word for word,
 * so clients that match on the text see what they expect.
 */
#include <stdbool.h>
#include <string.h>

#include "core/util.h"

/* Building blocks of the messages, spelled exactly as validation.go does
 * (RegexError puts "', " after every example, hence the double space before
 * "or" when there are two examples). */
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_LABEL_MSG                                                      \
  "a lowercase RFC 1123 label must consist of lower case alphanumeric "        \
  "characters or '-', and must start and end with an alphanumeric character"
#define DNS1123_LABEL_ERR                                                      \
  DNS1123_LABEL_MSG " (e.g. 'my-name',  or '123-abc', regex used for "         \
                    "validation is '" DNS1123_LABEL_FMT "')"

#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUBDOMAIN_MSG                                                  \
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "    \
  "characters, '-' or '.', and must start and end with an alphanumeric "       \
  "character"
#define DNS1123_SUBDOMAIN_ERR                                                  \
  DNS1123_SUBDOMAIN_MSG " (e.g. 'example.com', regex used for validation "     \
                        "is '" DNS1123_SUBDOMAIN_FMT "')"

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                              \
  "must consist of alphanumeric characters, '-', '_' or '.', and must start "  \
  "and end with an alphanumeric character"
#define QNAME_REGEX_ERR                                                        \
  QNAME_MSG " (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "   \
            "validation is '" QNAME_FMT "')"

#define LABEL_VALUE_FMT "(" QNAME_FMT ")?"
#define LABEL_VALUE_MSG                                                        \
  "a valid label must be an empty string or consist of alphanumeric "          \
  "characters, '-', '_' or '.', and must start and end with an alphanumeric "  \
  "character"
#define LABEL_VALUE_ERR                                                        \
  LABEL_VALUE_MSG " (e.g. 'MyValue',  or 'my_value',  or '12345', regex "      \
                  "used for validation is '" LABEL_VALUE_FMT "')"

#define MAX_LEN_63 "must be no more than 63 characters"
#define MAX_LEN_253 "must be no more than 253 characters"
#define EMPTY_ERR "must be non-empty"

static bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..len) */
static bool match_dns1123_label(const char *s, size_t len) {
  if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
    return false;
  for (size_t i = 1; i + 1 < len; i++)
    if (!is_lower_alnum(s[i]) && s[i] != '-')
      return false;
  return true;
}

/* label(\.label)* over s[0..len) */
static bool match_dns1123_subdomain(const char *s, size_t len) {
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '.') {
      if (!match_dns1123_label(s + start, i - start))
        return false;
      start = i + 1;
    }
  }
  return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..len) */
static bool match_qualified_name(const char *s, size_t len) {
  if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
    return false;
  for (size_t i = 1; i + 1 < len; i++)
    if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return false;
  return true;
}

static const char *subdomain_error(const char *s, size_t len) {
  if (len > 253)
    return MAX_LEN_253;
  if (!match_dns1123_subdomain(s, len))
    return DNS1123_SUBDOMAIN_ERR;
  return NULL;
}

KUBE_EXPORT const char *kube_validate_dns1123_label(const char *s) {
  if (!s)
    return DNS1123_LABEL_ERR;
  size_t len = strlen(s);
  if (len > 63)
    return MAX_LEN_63;
  if (match_dns1123_label(s, len))
    return NULL;
  /* A valid subdomain that is not a valid label can only contain dots. */
  if (match_dns1123_subdomain(s, len))
    return "must not contain dots";
  return DNS1123_LABEL_ERR;
}

KUBE_EXPORT const char *kube_validate_dns1123_subdomain(const char *s) {
  if (!s)
    return DNS1123_SUBDOMAIN_ERR;
  return subdomain_error(s, strlen(s));
}

KUBE_EXPORT const char *kube_validate_label_key(const char *s) {
  if (!s)
    return "name part " EMPTY_ERR;
  const char *slash = strchr(s, '/');
  const char *name = s;
  if (slash) {
    if (strchr(slash + 1, '/'))
      return "a qualified name " QNAME_REGEX_ERR
             " with an optional DNS subdomain prefix and '/' (e.g. "
             "'example.com/MyName')";
    size_t plen = (size_t)(slash - s);
    if (plen == 0)
      return "prefix part " EMPTY_ERR;
    if (plen > 253)
      return "prefix part " MAX_LEN_253;
    if (!match_dns1123_subdomain(s, plen))
      return "prefix part " DNS1123_SUBDOMAIN_ERR;
    name = slash + 1;
  }
  size_t nlen = strlen(name);
  if (nlen == 0)
    return "name part " EMPTY_ERR;
  if (nlen > 63)
    return "name part " MAX_LEN_63;
  if (!match_qualified_name(name, nlen))
    return "name part " QNAME_REGEX_ERR;
  return NULL;
}

KUBE_EXPORT const char *kube_validate_label_value(const char *s) {
  if (!s)
    return NULL; /* treated as the empty value */
  size_t len = strlen(s);
  if (len > 63)
    return MAX_LEN_63;
  if (len > 0 && !match_qualified_name(s, len))
    return LABEL_VALUE_ERR;
  return NULL;
}
