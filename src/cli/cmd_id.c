/*
 * cmd_id.c - `sealroom id`: this node's public identity, read from
 * HOME/identity.pub.  Public keys only, so no passphrase: the org id is
 * recomputed from the signing key, and a file where they disagree is
 * refused rather than shown.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "base/banned.h"

/* The three public values of identity.pub, checked. */
static int read_pub(const char *home, char org_id[SR_ORG_ID_LEN + 1],
		    char sign_hex[2 * SR_SIGN_PUBLICKEYBYTES + 1],
		    char kx_hex[2 * SR_BOX_PUBLICKEYBYTES + 1], struct sr_err *err)
{
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES], kx_pk[SR_BOX_PUBLICKEYBYTES];
	const char *id = NULL, *sign = NULL, *kx = NULL;
	struct sr_buf path, text;
	json_t *doc = NULL;
	int rc;

	sr_buf_init(&path, 0);
	sr_buf_init(&text, SR_SMALL_FILE_MAX);
	rc = sr_path_join(&path, home, "identity.pub");
	if (rc) {
		rc = sr_fail(err, rc, "%s: out of memory", home);
		goto out;
	}
	rc = sr_file_read_all(path.data, SR_SMALL_FILE_MAX, &text, err);
	if (rc == SR_ENOTFOUND)
		rc = sr_failx(err, SR_ENOTFOUND,
			      "%s is not a node home: run 'sealroom init --home %s' first",
			      home, home);
	if (rc == SR_OK)
		rc = sr_json_parse(text.data, text.len, path.data, &doc, err);
	if (rc)
		goto out;
	rc = sr_json_get_string(doc, "", "org_id", 1, &id, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(doc, "", "sign_pk", 1, &sign, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(doc, "", "kx_pk", 1, &kx, err);
	if (rc) {
		sr_err_prefix(err, "%s", path.data);
		goto out;
	}
	if (sr_unhex(sign_pk, sizeof(sign_pk), sign) != SR_OK ||
	    sr_unhex(kx_pk, sizeof(kx_pk), kx) != SR_OK) {
		rc = sr_fail(err, SR_ECORRUPT, "%s: sign_pk and kx_pk must be %d hex digits",
			     path.data, 2 * SR_SIGN_PUBLICKEYBYTES);
		goto out;
	}
	sr_identity_org_id(org_id, sign_pk);
	if (strcmp(org_id, id) != 0) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: org_id does not match sign_pk (expected %s)",
			     path.data, org_id);
		goto out;
	}
	sr_hex(sign_hex, sign_pk, sizeof(sign_pk));
	sr_hex(kx_hex, kx_pk, sizeof(kx_pk));
out:
	json_decref(doc);
	sr_buf_release(&path);
	sr_buf_release(&text);
	return rc;
}

int sr_cmd_id(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char org_id[SR_ORG_ID_LEN + 1];
	char sign_hex[2 * SR_SIGN_PUBLICKEYBYTES + 1];
	char kx_hex[2 * SR_BOX_PUBLICKEYBYTES + 1];
	struct sr_cli cli = { 0 };
	struct sr_err err;
	int c, rc;

	sr_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': cli.home = optarg; break;
		case 'j': cli.json = 1; break;
		case 'h':
			printf("usage: sealroom id [--home DIR] [--json]\n");
			return SR_EXIT_OK;
		default: return sr_cli_usage_error("id", "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error("id", "unexpected argument '%s'", argv[optind]);
	rc = sr_cli_resolve_home(&cli, &err);
	if (rc == SR_OK)
		rc = read_pub(cli.home, org_id, sign_hex, kx_hex, &err);
	if (rc)
		return sr_cli_report(&err);
	if (cli.json) {
		rc = sr_cli_print_json(json_pack("{s:s,s:s,s:s,s:s}", "org_id", org_id,
						 "sign_pk", sign_hex, "kx_pk", kx_hex,
						 "home", cli.home), &err);
		return rc ? sr_cli_report(&err) : SR_EXIT_OK;
	}
	printf("organization id:          %s\n", org_id);
	printf("signing key (Ed25519):    %s\n", sign_hex);
	printf("key agreement (X25519):   %s\n", kx_hex);
	return SR_EXIT_OK;
}
