/*
 * profile.h - what a CSV file's columns hold, for `sealroom policy init`:
 * the type each would be imported as (with the same null tokens), counts,
 * distinct values, the range of numbers, and whether the values look like
 * email addresses or phone numbers.  One streaming pass; memory is
 * bounded by SR_PROFILE_DISTINCT_MAX tracked values whatever the file.
 *
 * A profile is local advice for the steward: it holds values of the file
 * (ranges, the values of small domains) and is never stored or published.
 */
#ifndef SR_PROFILE_H
#define SR_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/csv.h"
#include "store/value.h"

/* Distinct values of a column kept as its suggested domain, and the
 * longest value kept (so a domain costs at most 2 KiB per column). */
#define SR_PROFILE_DOMAIN_MAX 32
#define SR_PROFILE_DOMAIN_VALUE_MAX 64

struct sr_profile_column {
	char *name;
	enum sr_type type;        /* as import would infer it */
	uint64_t values;          /* non-NULL values */
	uint64_t nulls;
	uint64_t distinct;        /* exact unless distinct_capped */
	int distinct_capped;      /* stopped counting at the column's cap */
	int duplicates;           /* some value was seen twice */
	int has_range;            /* numeric: min and max */
	double min, max;
	uint64_t emails, phones;  /* string values that look like them */
	uint64_t usual_tokens;    /* undeclared NA, NULL, -, ? ... */
	char **domain;            /* up to SR_PROFILE_DOMAIN_MAX distinct
				   * values, sorted; NULL once there are more */
	size_t ndomain;
	int domain_dropped;       /* too many or too long values for one */
};

struct sr_profile {
	char *source;             /* file name as given */
	uint64_t rows;
	size_t ncolumns;
	struct sr_profile_column *columns;
};

void sr_profile_init(struct sr_profile *p);
void sr_profile_release(struct sr_profile *p);

/*
 * Read path (shape from csv, which may be NULL) and profile every column.
 * nulls are tokens read as NULL (as --null), borrowed.  Errors are those
 * of the CSV reader, SR_ELIMIT past SR_DATASET_ROWS_MAX rows, SR_ENOMEM.
 */
int sr_profile_csv(const char *path, const struct sr_csv_options *csv,
		   const char *const *nulls, size_t nnulls,
		   struct sr_profile *p, struct sr_err *err) SR_WUR;

/* Whether [s, s+len) looks like an email address (local@domain.tld) or a
 * phone number (7 to 15 digits with + - ( ) . and spaces). */
int sr_profile_is_email(const char *s, size_t len);
int sr_profile_is_phone(const char *s, size_t len);

#endif
