/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource quantities, bit for bit as k8s.io/apimachinery's
 * resource.Quantity parses and prints them.
 *
 * The value is an exact count of nano-units in a signed 128-bit integer
 * (about ±1.7e29 whole units).  Parsing follows ParseQuantity: the same
 * scanner, suffixes and rounding (magnitudes finer than 1n round away from
 * zero), and BinarySI values capped at 2^63-1 as Kubernetes caps them.  The
 * one thing Kubernetes accepts that cannot be held here is a decimal value
 * beyond the 128-bit range; that is rejected with BadRequest.
 *
 * Formatting follows Quantity.String() for a value that has no cached text
 * (Kubernetes reuses the input string when it was already canonical, so
 * "+1" or "1E3" round-trip verbatim there; here they print as "1", "1e3").
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "core/util.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define NANO_PER_UNIT 1000000000ll
/* Largest magnitude held: 2^127 - 1 (kept symmetric so negation is safe). */
#define MAG_MAX ((u128)(((u128)1 << 127) - 1))
/* Kubernetes caps BinarySI quantities at 2^63-1 units when parsing. */
#define BINARY_CAP ((u128)INT64_MAX * (u128)NANO_PER_UNIT)

static const char format_wrong_msg[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static bool is_suffix_char(char c) {
  return c != '\0' && strchr("eEinumkKMGTP", c) != NULL;
}

/* The digits of "<num>.<den>" seen as one digit string. */
struct digits {
  const char *num;
  size_t nlen;
  const char *den;
  size_t dlen;
};

static int digit_at(const struct digits *d, size_t i) {
  return i < d->nlen ? d->num[i] - '0' : d->den[i - d->nlen] - '0';
}

/* Accumulate digits [from, to) into *acc; false on overflow of MAG_MAX. */
static bool accumulate(const struct digits *d, size_t from, size_t to,
                       u128 *acc) {
  u128 v = *acc;
  for (size_t i = from; i < to; i++) {
    unsigned dig = (unsigned)digit_at(d, i);
    if (v > (MAG_MAX - dig) / 10)
      return false;
    v = v * 10 + dig;
  }
  *acc = v;
  return true;
}

static bool mul_checked(u128 *v, u128 f) {
  if (f != 0 && *v > MAG_MAX / f)
    return false;
  *v *= f;
  return true;
}

static bool add_checked(u128 *v, u128 a) {
  if (*v > MAG_MAX - a)
    return false;
  *v += a;
  return true;
}

/* Suffix tables of suffix.go. */
static bool interpret_suffix(const char *suf, size_t len, int *base,
                             int64_t *exp, kube_quantity_format_t *fmt) {
  static const struct {
    const char *s;
    int exp;
  } dec[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0},   {"k", 3},
             {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}},
    bin[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
             {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  for (size_t i = 0; i < ARRAY_SIZE(dec); i++)
    if (strlen(dec[i].s) == len && memcmp(dec[i].s, suf, len) == 0) {
      *base = 10, *exp = dec[i].exp, *fmt = KUBE_QUANTITY_DECIMAL_SI;
      return true;
    }
  for (size_t i = 0; i < ARRAY_SIZE(bin); i++)
    if (len == 2 && memcmp(bin[i].s, suf, 2) == 0) {
      *base = 2, *exp = bin[i].exp, *fmt = KUBE_QUANTITY_BINARY_SI;
      return true;
    }
  /* The suffix ends the string: suf[len] is its NUL. */
  if (len > 1 && (suf[0] == 'e' || suf[0] == 'E') &&
      core_parse_int64(suf + 1, exp)) {
    *base = 10;
    *fmt = KUBE_QUANTITY_DECIMAL_EXPONENT;
    return true;
  }
  return false;
}

/*
 * ceil(0.F * factor) where F is the digit string of `k` digits ending at
 * digit index `last` of d (positions before the first digit of d are zeros).
 * Long multiplication from the right: the carry out of the last step is the
 * integer part, any non-zero digit left behind means a fraction remains.
 */
static u128 frac_times_ceil(const struct digits *d, size_t last, size_t k,
                            uint64_t factor) {
  u128 carry = 0;
  bool rest = false;
  for (size_t j = 0; j < k; j++) {
    /* j-th digit from the right of F */
    size_t idx_from_right = j;
    int dig = 0;
    if (idx_from_right <= last)
      dig = digit_at(d, last - idx_from_right);
    u128 t = (u128)dig * factor + carry;
    if (t % 10 != 0)
      rest = true;
    carry = t / 10;
  }
  return carry + (rest ? 1 : 0);
}

KUBE_EXPORT int kube_quantity_parse(const char *s, kube_quantity_t *out,
                                    kube_error_t *err) {
  if (!s || !*s)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "%s",
                          format_wrong_msg);
  /* parseQuantityString */
  size_t pos = 0;
  bool positive = true;
  if (s[0] == '-' || s[0] == '+') {
    positive = s[0] == '+';
    pos++;
  }
  struct digits d = {.num = s + pos};
  while (is_digit(s[pos]))
    pos++;
  d.nlen = (size_t)(s + pos - d.num);
  d.den = s + pos;
  if (s[pos] == '.') {
    pos++;
    d.den = s + pos;
    while (is_digit(s[pos]))
      pos++;
    d.dlen = (size_t)(s + pos - d.den);
  }
  size_t suffix_start = pos;
  while (is_suffix_char(s[pos]))
    pos++;
  if (s[pos] == '-' || s[pos] == '+')
    pos++;
  while (is_digit(s[pos]))
    pos++;
  if (s[pos] != '\0')
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "%s",
                          format_wrong_msg);

  int base;
  int64_t exp;
  kube_quantity_format_t fmt;
  if (!interpret_suffix(s + suffix_start, pos - suffix_start, &base, &exp,
                        &fmt))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "unable to parse quantity's suffix");

  /* Significant digits: [first, last] of the combined digit string. */
  size_t total = d.nlen + d.dlen, first = 0, last;
  while (first < total && digit_at(&d, first) == 0)
    first++;
  if (first == total) {
    if (out)
      *out = (kube_quantity_t){.nano = 0, .format = fmt};
    return 0;
  }
  last = total - 1;
  while (digit_at(&d, last) == 0)
    last--;
  size_t m = last - first + 1;
  /* value = M * 10^e, M the significant digits as an integer */
  i128 e = (i128)(total - 1 - last) - (i128)d.dlen;
  u128 mag = 0;
  bool overflow = false;

  if (base == 10) {
    i128 sh = e + exp + 9; /* nano = ceil(M * 10^sh) */
    if (sh >= 0) {
      if ((i128)m + sh > 39 || !accumulate(&d, first, last + 1, &mag))
        overflow = true;
      for (i128 i = 0; !overflow && i < sh; i++)
        overflow = !mul_checked(&mag, 10);
    } else {
      i128 keep = (i128)m + sh; /* integer digits of M * 10^sh */
      if (keep > 39)
        overflow = true;
      else if (keep > 0 && !accumulate(&d, first, first + (size_t)keep, &mag))
        overflow = true;
      /* M's last digit is non-zero, so a fraction always remains. */
      if (!overflow)
        overflow = !add_checked(&mag, 1);
    }
    if (overflow)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ERANGE,
                            "quantity too large: %s", s);
  } else {
    uint64_t factor = (uint64_t)1 << exp;
    i128 sh = e + 9; /* nano = ceil(M * 10^sh * 2^exp) */
    if (sh >= 0) {
      if ((i128)m + sh > 39 || !accumulate(&d, first, last + 1, &mag))
        overflow = true;
      for (i128 i = 0; !overflow && i < sh; i++)
        overflow = !mul_checked(&mag, 10);
      if (!overflow)
        overflow = !mul_checked(&mag, factor);
    } else {
      size_t k = (size_t)-sh;
      i128 keep = (i128)m - (i128)k;
      if (keep > 39)
        overflow = true;
      else if (keep > 0 && !accumulate(&d, first, first + (size_t)keep, &mag))
        overflow = true;
      if (!overflow)
        overflow = !mul_checked(&mag, factor);
      if (!overflow) {
        /* fraction digits: the k digits of M ending at `last` (with leading
         * zeros when k > m); digit_at must not see indexes before `first`,
         * which are zeros anyway. */
        u128 fr = frac_times_ceil(&d, last, k, factor);
        overflow = !add_checked(&mag, fr);
      }
    }
    /* Anything this large is far beyond the cap. */
    if (overflow || mag > BINARY_CAP)
      mag = BINARY_CAP;
    if (mag < (u128)NANO_PER_UNIT)
      fmt = KUBE_QUANTITY_DECIMAL_SI;
  }
  if (out) {
    out->nano = positive ? (i128)mag : -(i128)mag;
    out->format = fmt;
  }
  return 0;
}

/* Unsigned 128-bit to decimal; returns the length written (buf >= 40). */
static size_t u128_to_str(u128 v, char *buf) {
  char tmp[40];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

KUBE_EXPORT char *kube_quantity_format(const kube_quantity_t *q, char *buf,
                                       size_t len) {
  if (!buf || len == 0)
    return buf;
  if (!q || q->nano == 0) {
    snprintf(buf, len, "0");
    return buf;
  }
  bool neg = q->nano < 0;
  u128 mag = neg ? (u128)(-(q->nano + 1)) + 1 : (u128)q->nano;
  kube_quantity_format_t fmt = q->format;
  if (fmt == KUBE_QUANTITY_BINARY_SI) {
    /* |q| < 1024 or not a whole number: show as DecimalSI, never round. */
    if (mag < (u128)1024 * NANO_PER_UNIT || mag % NANO_PER_UNIT != 0)
      fmt = KUBE_QUANTITY_DECIMAL_SI;
  } else if (fmt != KUBE_QUANTITY_DECIMAL_SI) {
    fmt = KUBE_QUANTITY_DECIMAL_EXPONENT;
  }

  char num[48];
  char suffix[24] = "";
  if (fmt == KUBE_QUANTITY_BINARY_SI) {
    static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    u128 units = mag / NANO_PER_UNIT;
    int p = 0;
    while (p < 6 && units % 1024 == 0) {
      units /= 1024;
      p++;
    }
    u128_to_str(units, num);
    snprintf(suffix, sizeof suffix, "%s", bin[p]);
  } else {
    /* AsCanonicalBytes: move factors of ten into the exponent, then lower
     * the exponent to a multiple of three. */
    u128 mant = mag;
    int e = -9;
    while (mant % 10 == 0) {
      mant /= 10;
      e++;
    }
    int r = ((e % 3) + 3) % 3;
    for (int i = 0; i < r; i++)
      mant *= 10;
    e -= r;
    u128_to_str(mant, num);
    static const char *const dec[] = {"n", "u", "m", "",  "k",
                                      "M", "G", "T", "P", "E"};
    if (fmt == KUBE_QUANTITY_DECIMAL_SI && e <= 18)
      snprintf(suffix, sizeof suffix, "%s", dec[(e + 9) / 3]);
    else if (e != 0)
      snprintf(suffix, sizeof suffix, "e%d", e);
  }
  snprintf(buf, len, "%s%s%s", neg ? "-" : "", num, suffix);
  return buf;
}

KUBE_EXPORT int kube_quantity_cmp(const kube_quantity_t *a,
                                  const kube_quantity_t *b) {
  i128 x = a ? a->nano : 0, y = b ? b->nano : 0;
  return x < y ? -1 : x > y ? 1 : 0;
}

KUBE_EXPORT int kube_quantity_add(const kube_quantity_t *a,
                                  const kube_quantity_t *b,
                                  kube_quantity_t *out, kube_error_t *err) {
  kube_quantity_t zero = {0};
  if (!a)
    a = &zero;
  if (!b)
    b = &zero;
  i128 r;
  if (__builtin_add_overflow(a->nano, b->nano, &r) || r < -(i128)MAG_MAX)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ERANGE,
                          "quantity overflow in addition");
  /* Quantity.Add: a zero left operand takes the format of the right one. */
  kube_quantity_format_t fmt = a->nano == 0 ? b->format : a->format;
  if (out) {
    out->nano = r;
    out->format = fmt;
  }
  return 0;
}

/* ceil(|nano| / div) with the sign put back (rounding away from zero, as
 * int64Amount.AsScaledInt64 does), saturated to int64. */
static int64_t scaled(const kube_quantity_t *q, int64_t div) {
  if (!q)
    return 0;
  bool neg = q->nano < 0;
  u128 mag = neg ? (u128)(-(q->nano + 1)) + 1 : (u128)q->nano;
  u128 v = mag / (u128)div + (mag % (u128)div ? 1 : 0);
  if (neg)
    return v > (u128)INT64_MAX + 1 ? INT64_MIN : (int64_t)(-(i128)v);
  return v > (u128)INT64_MAX ? INT64_MAX : (int64_t)v;
}

KUBE_EXPORT int64_t kube_quantity_milli(const kube_quantity_t *q) {
  return scaled(q, 1000000);
}

KUBE_EXPORT int64_t kube_quantity_value(const kube_quantity_t *q) {
  return scaled(q, NANO_PER_UNIT);
}

KUBE_EXPORT int64_t kube_quantity_parse_milli(const char *s,
                                              kube_error_t *err) {
  kube_quantity_t q;
  if (kube_quantity_parse(s, &q, err) < 0)
    return -1;
  return kube_quantity_milli(&q);
}

KUBE_EXPORT int64_t kube_quantity_parse_value(const char *s,
                                              kube_error_t *err) {
  kube_quantity_t q;
  if (kube_quantity_parse(s, &q, err) < 0)
    return -1;
  return kube_quantity_value(&q);
}
