#include "store/value.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/banned.h"

static const char *const type_names[] = {
	[SR_TYPE_INT64] = "int64",
	[SR_TYPE_FLOAT64] = "float64",
	[SR_TYPE_STRING] = "string",
	[SR_TYPE_BOOL] = "bool",
	[SR_TYPE_DATE] = "date",
};

const char *sr_type_name(enum sr_type type)
{
	if (type >= SR_TYPE_INT64 && type <= SR_TYPE_DATE)
		return type_names[type];
	return "unknown";
}

int sr_type_parse(const char *name, enum sr_type *out)
{
	for (int t = SR_TYPE_INT64; t <= SR_TYPE_DATE; t++) {
		if (strcmp(name, type_names[t]) == 0) {
			*out = (enum sr_type)t;
			return SR_OK;
		}
	}
	return SR_EINVAL;
}

int sr_value_parse_int64(const char *s, size_t len, int64_t *out)
{
	uint64_t acc = 0, limit;
	size_t i = 0;
	int neg = 0;

	if (len == 0)
		return SR_EINVAL;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i = 1;
		if (len == 1)
			return SR_EINVAL;
	}
	if (len - i > 19)
		return SR_EINVAL;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return SR_EINVAL;
		acc = acc * 10 + d;   /* 19 digits cannot overflow uint64 */
	}
	if (acc > limit)
		return SR_EINVAL;
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return SR_OK;
}

/*
 * Fast path for plain decimals ("-123.45"): with at most 15 significant
 * digits the digits form an integer m < 2^53 and 10^k (k <= 22) is exact,
 * so m / 10^k is one correctly rounded IEEE division, the same double
 * strtod returns (Clinger's fast path).  Returns 0 when it does not apply.
 */
static int parse_plain_decimal(const char *s, size_t len, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	uint64_t m = 0;
	size_t i = 0, digits = 0, frac = 0;
	int neg = 0, dot = 0;

	if (len && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d <= 9) {
			if (m == 0 && d == 0 && !dot) {
				digits++;   /* leading zeros are not significant */
				continue;
			}
			m = m * 10 + d;
			digits++;
			if (dot)
				frac++;
			if (m > (1ull << 53) || frac > 22)
				return 0;
		} else if (s[i] == '.' && !dot) {
			dot = 1;
		} else {
			return 0;   /* exponent or anything unusual: strtod */
		}
	}
	if (digits == 0)
		return 0;
	*out = (double)m / pow10[frac];
	if (neg)
		*out = -*out;
	return 1;
}

int sr_value_parse_float64(const char *s, size_t len, double *out)
{
	char tmp[64];
	char *end;
	double v;
	int digits = 0;

	if (len == 0 || len >= sizeof(tmp))
		return SR_EINVAL;
	if (parse_plain_decimal(s, len, out))
		return SR_OK;
	/* Only plain decimal/exponent syntax: strtod alone would accept
	 * "inf", "nan", hex floats and leading white space. */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits = 1;
		else if (c != '+' && c != '-' && c != '.' && c != 'e' &&
			 c != 'E')
			return SR_EINVAL;
	}
	if (!digits)
		return SR_EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtod(tmp, &end);
	/* Overflow gives inf and is refused; underflow to a subnormal or to
	 * zero (ERANGE too) is a finite value and accepted. */
	if (end != tmp + len || !isfinite(v))
		return SR_EINVAL;
	*out = v;
	return SR_OK;
}

int sr_value_parse_bool(const char *s, size_t len, int *out)
{
	if (len == 4 && strncasecmp(s, "true", 4) == 0) {
		*out = 1;
		return SR_OK;
	}
	if (len == 5 && strncasecmp(s, "false", 5) == 0) {
		*out = 0;
		return SR_OK;
	}
	return SR_EINVAL;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int sr_value_parse_date(const char *s, size_t len, int32_t *out)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
					  31, 30, 31 };
	unsigned v[8];
	int64_t y;
	unsigned m, d, dim;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return SR_EINVAL;
	for (int i = 0, j = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		v[j] = (unsigned char)s[i] - '0';
		if (v[j] > 9)
			return SR_EINVAL;
		j++;
	}
	y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
	m = v[4] * 10 + v[5];
	d = v[6] * 10 + v[7];
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return SR_EINVAL;
	dim = mdays[m - 1] + (m == 2 && is_leap(y));
	if (d > dim)
		return SR_EINVAL;
	*out = (int32_t)days_from_civil(y, m, d);
	return SR_OK;
}

int sr_value_format_int64(struct sr_buf *out, int64_t v)
{
	return sr_buf_addf(out, "%" PRId64, v);
}

int sr_value_format_float64(struct sr_buf *out, double v)
{
	char tmp[40];

	/* Whole numbers in plain digits ("100", not "1e+02"); they print
	 * exactly below 1e17. */
	if (v == floor(v) && fabs(v) < 1e17) {
		snprintf(tmp, sizeof(tmp), "%.0f", v);
		return sr_buf_addstr(out, tmp);
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	return sr_buf_addstr(out, tmp);
}

int sr_value_format_bool(struct sr_buf *out, int v)
{
	return sr_buf_addstr(out, v ? "true" : "false");
}

int sr_value_format_date(struct sr_buf *out, int32_t days)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	return sr_buf_addf(out, "%04" PRId64 "-%02u-%02u", y, m, d);
}

const char *sr_value_shown(const char *s, size_t len, char *out)
{
	return sr_text_shown(s, len, SR_VALUE_SHOWN_MAX, out);
}

int sr_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			if (i + 1 >= len || (s[i + 1] & 0xc0) != 0x80)
				return 0;
			i += 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			unsigned lo = c == 0xe0 ? 0xa0 : 0x80;
			unsigned hi = c == 0xed ? 0x9f : 0xbf;   /* surrogates */
			if (i + 2 >= len || s[i + 1] < lo || s[i + 1] > hi ||
			    (s[i + 2] & 0xc0) != 0x80)
				return 0;
			i += 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			unsigned lo = c == 0xf0 ? 0x90 : 0x80;
			unsigned hi = c == 0xf4 ? 0x8f : 0xbf;
			if (i + 3 >= len || s[i + 1] < lo || s[i + 1] > hi ||
			    (s[i + 2] & 0xc0) != 0x80 ||
			    (s[i + 3] & 0xc0) != 0x80)
				return 0;
			i += 4;
		} else {
			return 0;
		}
	}
	return 1;
}

#define BIT(t) (1u << (t))
#define ALL_TYPES (BIT(SR_TYPE_INT64) | BIT(SR_TYPE_FLOAT64) | \
		   BIT(SR_TYPE_BOOL) | BIT(SR_TYPE_DATE))

void sr_infer_init(struct sr_infer *inf)
{
	inf->candidates = ALL_TYPES;
	inf->values = 0;
}

void sr_infer_feed(struct sr_infer *inf, const char *s, size_t len)
{
	unsigned c = inf->candidates;
	int64_t i64;
	double f64;
	int b;
	int32_t d;

	inf->values++;
	if (!c)
		return;
	if ((c & BIT(SR_TYPE_INT64)) && sr_value_parse_int64(s, len, &i64))
		c &= ~BIT(SR_TYPE_INT64);
	/* An int64 always parses as a float64 too: skip the slow strtod. */
	if ((c & BIT(SR_TYPE_FLOAT64)) && !(c & BIT(SR_TYPE_INT64)) &&
	    sr_value_parse_float64(s, len, &f64))
		c &= ~BIT(SR_TYPE_FLOAT64);
	if ((c & BIT(SR_TYPE_BOOL)) && sr_value_parse_bool(s, len, &b))
		c &= ~BIT(SR_TYPE_BOOL);
	if ((c & BIT(SR_TYPE_DATE)) && sr_value_parse_date(s, len, &d))
		c &= ~BIT(SR_TYPE_DATE);
	inf->candidates = c;
}

enum sr_type sr_infer_result(const struct sr_infer *inf)
{
	unsigned c = inf->candidates;

	if (inf->values == 0)
		return SR_TYPE_STRING;
	if (c & BIT(SR_TYPE_BOOL))
		return SR_TYPE_BOOL;
	if (c & BIT(SR_TYPE_INT64))
		return SR_TYPE_INT64;
	if (c & BIT(SR_TYPE_DATE))
		return SR_TYPE_DATE;
	if (c & BIT(SR_TYPE_FLOAT64))
		return SR_TYPE_FLOAT64;
	return SR_TYPE_STRING;
}
