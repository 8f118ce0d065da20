/*
 * suggest.h - a starter policy from a profile of the data (`sealroom
 * policy init`, docs/policy.md): for every column its type, a suggested
 * class with the reason, bounds rounded outward from the data, and for
 * low-cardinality strings their domain.
 *
 * The draft carries a "_review" key that sr_policy_parse refuses, so it
 * cannot be imported before a person has looked at it and removed the key.
 */
#ifndef SR_SUGGEST_H
#define SR_SUGGEST_H

#include <jansson.h>

#include "base/err.h"
#include "policy/policy.h"
#include "store/profile.h"

/* Unique-per-row evidence needs at least this many values. */
#define SR_SUGGEST_UNIQUE_MIN 10

/*
 * A class for a column name from a broad word list (identifiers,
 * sensitive attributes, quasi-identifiers; the first list with a word of
 * the name wins, in that order).  *word (optional) gets the word that
 * matched, a static string.  SR_CLASS_NONE when no word matches.
 */
enum sr_class sr_suggest_class_by_name(const char *name, const char **word);

/* One column's suggestion and why, in reason (size bytes). */
enum sr_class sr_suggest_class(const struct sr_profile_column *c,
			       char *reason, size_t size);

/* Round v outward to two significant digits (down for the lower bound,
 * up for the upper), so that published bounds do not give away the
 * exact extremes of the data. */
double sr_suggest_round_out(double v, int up);

/*
 * The draft policy: {"_review": [...], "columns": {...in file order...},
 * "min_group_size": 10[, "nulls": [...]]}.  nulls are the --null tokens
 * the profile was made with.  *out is a new reference.
 */
int sr_suggest_policy(const struct sr_profile *p, const char *const *nulls,
		      size_t nnulls, json_t **out, struct sr_err *err) SR_WUR;

#endif
