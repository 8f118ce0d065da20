/*
 * csvopts.h - the options that describe a data file, shared by `dataset
 * import` and `policy init`: --null (repeatable), --skip-lines,
 * --header, --delimiter, --quote, --encoding.
 *
 * Use: put SR_CSVOPTS_LONG in the getopt_long table, hand every code it
 * returns from SR_CSVOPT_FIRST on to sr_csvopts_take, then call
 * sr_csvopts_finish once the options are parsed.  Strings point into argv
 * except the split --header names, freed by sr_csvopts_release.
 */
#ifndef SR_CSVOPTS_H
#define SR_CSVOPTS_H

#include <stddef.h>

#include "base/limits.h"
#include "store/csv.h"

enum {
	SR_CSVOPT_FIRST = 0x200,
	SR_CSVOPT_NULL = SR_CSVOPT_FIRST,
	SR_CSVOPT_SKIP,
	SR_CSVOPT_HEADER,
	SR_CSVOPT_DELIMITER,
	SR_CSVOPT_QUOTE,
	SR_CSVOPT_ENCODING,
	SR_CSVOPT_LAST = SR_CSVOPT_ENCODING,
};

#define SR_CSVOPTS_LONG \
	{ "null", required_argument, NULL, SR_CSVOPT_NULL }, \
	{ "skip-lines", required_argument, NULL, SR_CSVOPT_SKIP }, \
	{ "header", required_argument, NULL, SR_CSVOPT_HEADER }, \
	{ "delimiter", required_argument, NULL, SR_CSVOPT_DELIMITER }, \
	{ "quote", required_argument, NULL, SR_CSVOPT_QUOTE }, \
	{ "encoding", required_argument, NULL, SR_CSVOPT_ENCODING }

struct sr_csvopts {
	struct sr_csv_options csv;
	const char *header;                     /* --header a,b,c */
	char **header_names;                    /* split; heap */
	size_t header_count;
	const char *nulls[SR_NULL_TOKENS_MAX];  /* --null */
	size_t nnulls;
	int given;                              /* any shape option */
};

void sr_csvopts_init(struct sr_csvopts *o);
void sr_csvopts_release(struct sr_csvopts *o);

/* Take option code with its argument.  Returns 0, or 1 with *exit_code
 * set after a usage error reported for cmd. */
int sr_csvopts_take(struct sr_csvopts *o, int code, const char *arg,
		    const char *cmd, int *exit_code);

/* Check the whole and split --header.  Returns 0 or 1 as above. */
int sr_csvopts_finish(struct sr_csvopts *o, const char *cmd, int *exit_code);

/* Split "a,b,c" into heap strings (free with sr_csvopts_free_names);
 * SR_EUSAGE for an empty name, SR_ENOMEM. */
int sr_csvopts_split(const char *list, char ***out, size_t *count,
		     struct sr_err *err);
void sr_csvopts_free_names(char **names, size_t count);

#endif
