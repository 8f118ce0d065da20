/*
 * csvopts.c - options that describe a data file (csvopts.h).
 */
#include "cli/csvopts.h"

#include <getopt.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/cli.h"
#include "base/banned.h"

void sr_csvopts_init(struct sr_csvopts *o)
{
	memset(o, 0, sizeof(*o));
	sr_csv_options_init(&o->csv);
}

void sr_csvopts_release(struct sr_csvopts *o)
{
	sr_csvopts_free_names(o->header_names, o->header_count);
	o->header_names = NULL;
	o->header_count = 0;
}

int sr_csvopts_split(const char *list, char ***out, size_t *count,
		     struct sr_err *err)
{
	char **names = NULL, **grown;
	size_t n = 0;
	const char *p = list;

	*out = NULL;
	*count = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0) {
			sr_csvopts_free_names(names, n);
			return sr_fail(err, SR_EUSAGE,
				       "empty column name in '%s'", list);
		}
		grown = sr_realloc(names, (n + 1) * sizeof(*names));
		if (grown)
			names = grown;
		if (!grown || !(names[n] = sr_strndup(p, len))) {
			sr_csvopts_free_names(names, n);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = names;
	*count = n;
	return SR_OK;
}

void sr_csvopts_free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		sr_free(names[i]);
	sr_free(names);
}

int sr_csvopts_take(struct sr_csvopts *o, int code, const char *arg,
		    const char *cmd, int *exit_code)
{
	struct sr_err err;

	sr_err_clear(&err);
	switch (code) {
	case SR_CSVOPT_NULL:
		if (o->nnulls == SR_NULL_TOKENS_MAX) {
			*exit_code = sr_cli_usage_error(cmd,
				"--null: more tokens than the limit of %d",
				SR_NULL_TOKENS_MAX);
			return 1;
		}
		o->nulls[o->nnulls++] = arg;
		return 0;
	case SR_CSVOPT_SKIP:
		if (sr_cli_parse_count(arg, SR_CSV_SKIP_LINES_MAX,
				       &o->csv.skip_lines) != SR_OK) {
			*exit_code = sr_cli_usage_error(cmd,
				"--skip-lines: expected a number of lines from 0 to %llu, got '%s'",
				(unsigned long long)SR_CSV_SKIP_LINES_MAX, arg);
			return 1;
		}
		break;
	case SR_CSVOPT_HEADER:
		o->header = arg;
		break;
	case SR_CSVOPT_DELIMITER:
	case SR_CSVOPT_QUOTE:
		/* One character; "tab" and "\t" for a tab. */
		if (strcmp(arg, "tab") == 0 || strcmp(arg, "\\t") == 0)
			arg = "\t";
		if (strlen(arg) != 1) {
			*exit_code = sr_cli_usage_error(cmd,
				"%s: expected one character (or 'tab'), got '%s'",
				code == SR_CSVOPT_DELIMITER ? "--delimiter" : "--quote",
				arg);
			return 1;
		}
		if (code == SR_CSVOPT_DELIMITER)
			o->csv.delimiter = arg[0];
		else
			o->csv.quote = arg[0];
		break;
	case SR_CSVOPT_ENCODING:
		if (sr_csv_encoding_parse(arg, &o->csv.encoding, &err)) {
			*exit_code = sr_cli_usage_error(cmd, "%s", err.msg);
			return 1;
		}
		break;
	default:
		*exit_code = sr_cli_usage_error(cmd, "bad option");
		return 1;
	}
	o->given = 1;
	return 0;
}

int sr_csvopts_finish(struct sr_csvopts *o, const char *cmd, int *exit_code)
{
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_csv_options_check(&o->csv, &err) != SR_OK) {
		*exit_code = sr_cli_usage_error(cmd, "%s", err.msg);
		return 1;
	}
	if (!o->header)
		return 0;
	if (sr_csvopts_split(o->header, &o->header_names, &o->header_count,
			     &err) != SR_OK) {
		*exit_code = err.code == SR_ENOMEM ? sr_cli_report(&err) :
			     sr_cli_usage_error(cmd, "--header: %s", err.msg);
		return 1;
	}
	o->csv.header = (const char *const *)o->header_names;
	o->csv.header_count = o->header_count;
	return 0;
}
