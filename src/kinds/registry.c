/*
 * registry.c - the list of job kinds (kind.h).  A new kind adds one line
 * to `builtin` below; test kinds register themselves.
 */
#include "kinds/kind.h"

#include <stdio.h>
#include <string.h>

#include "base/banned.h"

extern const struct sr_job_kind sr_kind_psi;
extern const struct sr_job_kind sr_kind_anonymize;
extern const struct sr_job_kind sr_kind_query;
extern const struct sr_job_kind sr_kind_train;
extern const struct sr_job_kind sr_kind_predict;

static const struct sr_job_kind *const builtin[] = {
	&sr_kind_psi,
	&sr_kind_anonymize,
	&sr_kind_query,
	&sr_kind_train,
	&sr_kind_predict,
};
#define NBUILTIN (sizeof(builtin) / sizeof(*builtin))
#define EXTRA_MAX 8

static const struct sr_job_kind *extra[EXTRA_MAX];
static size_t nextra;
static char names[256];

const struct sr_job_kind *sr_kind_at(size_t i)
{
	if (i < NBUILTIN)
		return builtin[i];
	i -= NBUILTIN;
	return i < nextra ? extra[i] : NULL;
}

const struct sr_job_kind *sr_kind_find(const char *name)
{
	const struct sr_job_kind *k;

	for (size_t i = 0; name && (k = sr_kind_at(i)) != NULL; i++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

int sr_kind_register(const struct sr_job_kind *kind)
{
	if (sr_kind_find(kind->name))
		return SR_EEXIST;
	if (nextra == EXTRA_MAX)
		return SR_ELIMIT;
	extra[nextra++] = kind;
	names[0] = '\0';
	return SR_OK;
}

const char *sr_kind_names(void)
{
	const struct sr_job_kind *k;
	size_t len = 0;

	if (names[0])
		return names;
	for (size_t i = 0; (k = sr_kind_at(i)) != NULL; i++) {
		int n = snprintf(names + len, sizeof(names) - len, "%s%s",
				 i ? ", " : "", k->name);
		if (n < 0 || (size_t)n >= sizeof(names) - len)
			break;
		len += (size_t)n;
	}
	return names;
}
