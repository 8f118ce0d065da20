/*
 * policy_msg.c - the helpers that keep policy error messages one readable
 * line (see policy_int.h): quoting user text safely, naming JSON kinds,
 * printing numbers exactly, and listing column names within the size of
 * an error buffer.  Nothing here allocates.
 */
#include "policy/policy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/banned.h"

int sr_policy_nomem(struct sr_err *err, const char *what)
{
	return sr_fail(err, SR_ENOMEM, "%s: out of memory", what);
}

/* Control bytes and NULs never reach a message: a policy file is
 * untrusted, and a message may end up in a terminal or a log. */
const char *sr_policy_shown(const char *s, size_t len, char *out)
{
	return sr_text_shown(s, len, SR_POLICY_SHOWN_MAX, out);
}

const char *sr_policy_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "a value";
}

/* %.17g always reads back; the first shorter one that does is the
 * spelling a person wrote ("0.1", not "0.10000000000000001"). */
const char *sr_policy_num(double v, char *out)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, SR_POLICY_NUM_SIZE, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return out;
}

const char *sr_policy_show_value(const json_t *v, char *out)
{
	char s[SR_POLICY_SHOWN_SIZE];

	if (json_is_string(v))
		snprintf(out, SR_POLICY_VALUE_SIZE, "\"%s\"",
			 sr_policy_shown(json_string_value(v),
					 json_string_length(v), s));
	else if (json_is_integer(v))
		snprintf(out, SR_POLICY_VALUE_SIZE, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_real(v))
		sr_policy_num(json_real_value(v), out);
	else
		snprintf(out, SR_POLICY_VALUE_SIZE, "%s", sr_policy_json_kind(v));
	return out;
}

void sr_policy_names_init(struct sr_policy_names *l)
{
	l->text[0] = '\0';
	l->len = l->count = l->listed = 0;
	l->ellipsis = 0;
}

void sr_policy_names_add(struct sr_policy_names *l, const char *name,
			 int quote)
{
	const char *q = quote ? "'" : "";
	char s[SR_POLICY_SHOWN_SIZE];
	size_t room = sizeof(l->text) - l->len;
	int w;

	l->count++;
	if (l->listed + 1 < l->count || l->ellipsis)
		return;   /* already cut */
	w = snprintf(l->text + l->len, room, "%s%s%s%s", l->len ? ", " : "",
		     q, sr_policy_shown(name, strlen(name), s), q);
	/* Keep room for ", ..." and the NUL. */
	if (w < 0 || (size_t)w + 6 > room) {
		l->text[l->len] = '\0';
		return;
	}
	l->len += (size_t)w;
	l->listed++;
}

const char *sr_policy_names_text(struct sr_policy_names *l)
{
	/* Room for ", ..." was kept by every add. */
	if (l->listed < l->count && !l->ellipsis) {
		memcpy(l->text + l->len, ", ...", 6);
		l->len += 5;
		l->ellipsis = 1;
	}
	return l->text;
}
