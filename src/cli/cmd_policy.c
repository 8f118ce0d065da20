/*
 * cmd_policy.c - `sealroom policy init FILE.csv`: a starter policy for the
 * steward to review (policy/suggest.h), written to stdout or --output.
 * It reads the file locally and needs no node home.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "cli/cli.h"
#include "cli/csvopts.h"
#include "policy/suggest.h"
#include "store/profile.h"
#include "base/banned.h"

static const char policy_usage[] =
	"usage: sealroom policy init FILE.csv [--null TOKEN]... [--output P.json]\n"
	"                            [--skip-lines N] [--header A,B,...]\n"
	"                            [--delimiter C] [--quote C] [--encoding utf8|latin1]\n"
	"\n"
	"Write a starter policy for FILE.csv: every column with its inferred type,\n"
	"a suggested class and the reason for it, bounds rounded outward from the\n"
	"data and, for strings with few values, their domain.  The draft holds a\n"
	"\"_review\" key that import refuses until a person has checked the classes\n"
	"and removed it.  The file is read here; nothing is imported.\n"
	"\n"
	"  --null TOKEN        a field text that means missing (repeatable: NA, NULL, -)\n"
	"  --output FILE       write the draft to FILE (it must not exist) instead of stdout\n"
	"  --skip-lines N      skip N lines before the header (a metadata line)\n"
	"  --header A,B,...    column names, for a file without a header line\n"
	"  --delimiter C       field separator (default ','; 'tab' for a tab)\n"
	"  --quote C           quote character (default '\"')\n"
	"  --encoding E        utf8 (default) or latin1 (converted to UTF-8)\n"
	"\n"
	"example:\n"
	"  sealroom policy init customers.csv --null NA > customers.policy.json\n"
	"  $EDITOR customers.policy.json       # review, then delete \"_review\"\n"
	"  sealroom dataset import customers customers.csv --policy customers.policy.json --null NA\n";

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "home", required_argument, NULL, 'H' },   /* global, unused */
		{ "json", no_argument, NULL, 'j' },         /* the output is JSON */
		{ "quiet", no_argument, NULL, 'q' },
		SR_CSVOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct sr_csvopts data;
	struct sr_profile profile;
	struct sr_err err;
	const char *output = NULL;
	json_t *doc = NULL;
	FILE *out = stdout;
	int c, code = SR_EXIT_OK, rc;

	sr_err_clear(&err);
	sr_csvopts_init(&data);
	sr_profile_init(&profile);
	optind = 0;
	while ((c = getopt_long(argc, argv, "ho:q", opts, NULL)) != -1) {
		if (c >= SR_CSVOPT_FIRST && c <= SR_CSVOPT_LAST) {
			if (sr_csvopts_take(&data, c, optarg, "policy init", &code))
				goto done;
			continue;
		}
		switch (c) {
		case 'o': output = optarg; break;
		case 'H': case 'j': case 'q': break;
		case 'h':
			fputs(policy_usage, stdout);
			goto done;
		default:
			code = sr_cli_usage_error("policy init", "bad option");
			goto done;
		}
	}
	if (sr_csvopts_finish(&data, "policy init", &code))
		goto done;
	if (argc - optind != 1) {
		code = sr_cli_usage_error("policy init", "expected FILE.csv");
		goto done;
	}
	rc = sr_profile_csv(argv[optind], &data.csv, data.nulls, data.nnulls,
			    &profile, &err);
	if (rc == SR_OK)
		rc = sr_suggest_policy(&profile, data.nulls, data.nnulls, &doc, &err);
	if (rc == SR_OK && output) {
		out = fopen(output, "wx");
		if (!out) {
			out = stdout;
			rc = sr_fail(&err, SR_EIO, "%s: cannot create (it must not exist yet)",
				     output);
		}
	}
	if (rc == SR_OK) {
		for (size_t j = 0; j < profile.ncolumns; j++)
			if (profile.columns[j].usual_tokens)
				fprintf(stderr, "sealroom: warning: %s: column %s holds %llu values such as NA or NULL that are not declared as nulls: if they mean missing, give --null (here and at import)\n",
					argv[optind], profile.columns[j].name,
					(unsigned long long)profile.columns[j].usual_tokens);
		if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       JSON_REAL_PRECISION(12)) != 0 ||
		    fputc('\n', out) == EOF || fflush(out) != 0)
			rc = sr_fail(&err, SR_EIO, "%s: write failed",
				     output ? output : "stdout");
	}
	if (out != stdout && fclose(out) != 0 && rc == SR_OK)
		rc = sr_fail(&err, SR_EIO, "%s: write failed", output);
	if (rc && output && out != stdout)
		remove(output);
	if (rc == SR_OK && output)
		fprintf(stderr, "wrote %s: review every class, then delete its \"_review\" key\n",
			output);
	if (rc)
		code = sr_cli_report(&err);
done:
	json_decref(doc);
	sr_profile_release(&profile);
	sr_csvopts_release(&data);
	return code;
}

int sr_cmd_policy(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(policy_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	return sr_cli_usage_error("policy", "unknown command '%s'", argv[1]);
}
