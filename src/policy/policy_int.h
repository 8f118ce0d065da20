/*
 * policy_int.h - internals shared by the policy*.c files (not part of the
 * API): the helpers that keep error messages one readable line.
 *
 * Text that came from the user (names, values) reaches a message only
 * through sr_policy_shown() or sr_policy_show_value(): control bytes and
 * NULs become '?', long text is cut.  None of these allocate, so an error
 * path can never fail for want of memory.
 */
#ifndef SR_POLICY_INT_H
#define SR_POLICY_INT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/limits.h"
#include "policy/policy.h"

/* Bytes of user text quoted in one message, and the buffers for it. */
#define SR_POLICY_SHOWN_MAX 48
#define SR_POLICY_SHOWN_SIZE (SR_POLICY_SHOWN_MAX + 4)
/* A JSON value in a message: a quoted shown string or a number. */
#define SR_POLICY_VALUE_SIZE (SR_POLICY_SHOWN_SIZE + 8)
/* The shortest round-trip text of a double. */
#define SR_POLICY_NUM_SIZE 32
/* Bytes of a list of column names in one message (sr_err holds 256). */
#define SR_POLICY_LIST_TEXT_MAX 110

#define SR_POLICY_CLASS_LIST "id, qi, sa or public"

/* "WHAT: out of memory" with SR_ENOMEM. */
int sr_policy_nomem(struct sr_err *err, const char *what);

/*
 * [s, s + len) made safe for a message in out (SR_POLICY_SHOWN_SIZE
 * bytes): control bytes and NULs become '?', and text longer than
 * SR_POLICY_SHOWN_MAX is cut at a UTF-8 character boundary and ends in
 * "...".  Returns out.
 */
/* name[0..len) (len <= SR_COLUMN_NAME_MAX) lowercased into buf with a
 * space at every word boundary ('_', '-', ' ', '.', camelCase, letters
 * against digits): the words --classify-by-name and policy init match. */
void sr_policy_name_words(const char *name, size_t len,
			  char buf[2 * SR_COLUMN_NAME_MAX + 2]);

const char *sr_policy_shown(const char *s, size_t len, char *out);

/* What a JSON value is, for "expected X, got Y": "an array", "null", ... */
const char *sr_policy_json_kind(const json_t *v);

/* The shortest text that reads back as v, in out (SR_POLICY_NUM_SIZE). */
const char *sr_policy_num(double v, char *out);

/* A scalar as the user wrote it ("x", 12, 0.5), else its kind, in out
 * (SR_POLICY_VALUE_SIZE bytes). */
const char *sr_policy_show_value(const json_t *v, char *out);

/*
 * Column names collected for one message without allocating: as many as
 * fit in SR_POLICY_LIST_TEXT_MAX, then ", ...", and the total count.
 */
struct sr_policy_names {
	char text[SR_POLICY_LIST_TEXT_MAX];
	size_t len;
	size_t count;    /* names added */
	size_t listed;   /* names in text */
	int ellipsis;    /* ", ..." appended */
};

void sr_policy_names_init(struct sr_policy_names *l);
/* Add a name, in single quotes if quote is set. */
void sr_policy_names_add(struct sr_policy_names *l, const char *name,
			 int quote);
/* The text: "a, b" or "a, b, ..." when names were left out. */
const char *sr_policy_names_text(struct sr_policy_names *l);

/* A finite number as a JSON integer when it is whole, else as its
 * shortest decimal string (the canonical form); NULL without memory. */
json_t *sr_policy_number_json(double v);

/* generalize.c: the "generalize" key at parse (shape, qi only), at bind
 * (form against the type, levels nest) and in the normalized form. */
int sr_policy_parse_generalize(const json_t *v, const char *what,
			       const char *col, struct sr_policy_column *c,
			       struct sr_err *err) SR_WUR;
int sr_policy_check_generalize(const struct sr_policy_column *c,
			       enum sr_type type, struct sr_err *err) SR_WUR;
json_t *sr_policy_generalize_json(const struct sr_policy_column *c);
/* "hash_scope": receiver, dataset or owner, with a hash mask only. */
int sr_policy_parse_hash_scope(const json_t *v, const char *what,
			       const char *col, struct sr_policy_column *c,
			       struct sr_err *err) SR_WUR;
const char *sr_policy_hash_scope_name(enum sr_hash_scope scope);

/* policy_tee.c: the "tee" section. */
int sr_policy_parse_tee(const json_t *v, const char *what,
			struct sr_policy_tee *out, struct sr_err *err);
json_t *sr_policy_tee_json(const struct sr_policy_tee *tee);
void sr_policy_tee_release(struct sr_policy_tee *tee);

#endif
