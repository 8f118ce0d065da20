/*
 * policy_tee.c - the "tee" section of a dataset policy (docs/tee.md):
 *
 *   "tee": { "allow": true,
 *            "ca": ["-----BEGIN CERTIFICATE-----\n..."],
 *            "measurements": ["sha256:<64 hex>", ...] }
 *
 * allow says the dataset may be sent, sealed, to an attested executor
 * (a job with "mode": "tee"); ca lists the EK certificate CAs the owner
 * trusts (PEM text: public, so it travels with the published policy and
 * every receiver can verify against the same list); measurements lists
 * the executor measurements (SHA-256 of what the executor extends into
 * its PCR) the owner trusts.  With allow true both lists are required and
 * non-empty: a tee section that trusts nothing would refuse every job.
 */
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/text.h"
#include "crypto/crypto.h"
#include "base/banned.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"

static const char *kind_of(const json_t *v)
{
	return v ? sr_policy_json_kind(v) : "nothing (the key is missing)";
}

void sr_policy_tee_release(struct sr_policy_tee *tee)
{
	for (size_t i = 0; i < tee->nca; i++)
		sr_free(tee->ca[i]);
	sr_free(tee->ca);
	sr_free(tee->measurements);
	memset(tee, 0, sizeof(*tee));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sr_policy_measurement_parse(const json_t *v, const char *what,
				const char *path, uint8_t out[32],
				struct sr_err *err)
{
	const char *s = json_string_value(v);
	int ok = s && json_string_length(v) == SR_POLICY_MEASUREMENT_TEXT_MAX &&
		memcmp(s, "sha256:", 7) == 0;

	for (size_t i = 0; ok && i < 32; i++) {
		int hi = hexval(s[7 + 2 * i]), lo = hexval(s[8 + 2 * i]);
		ok = hi >= 0 && lo >= 0;
		if (ok)
			out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!ok)
		return sr_fail(err, SR_EINVAL,
			       "%s: %s: expected \"sha256:\" and 64 lowercase hex digits (a measurement 'sealroom executor --measure' prints)",
			       what, path);
	return SR_OK;
}

void sr_policy_measurement_format(const uint8_t m[32],
				  char out[SR_POLICY_MEASUREMENT_TEXT_MAX + 1])
{
	memcpy(out, "sha256:", 7);
	sr_hex(out + 7, m, 32);
}

int sr_policy_tee_trusts(const struct sr_policy *pol, const uint8_t m[32])
{
	for (size_t i = 0; i < pol->tee.nmeasurements; i++)
		if (memcmp(pol->tee.measurements[i], m, 32) == 0)
			return 1;
	return 0;
}

static int parse_ca(const json_t *arr, const char *what,
		    struct sr_policy_tee *out, struct sr_err *err)
{
	const json_t *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > SR_POLICY_TEE_CA_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: tee.ca: expected an array of 1 to %d PEM certificates (the EK CAs trusted), got %s",
			       what, SR_POLICY_TEE_CA_MAX, kind_of(arr));
	out->ca = sr_calloc(json_array_size(arr), sizeof(*out->ca));
	if (!out->ca)
		return sr_policy_nomem(err, what);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);

		if (!s || json_string_length(v) > SR_POLICY_TEE_CA_BYTES_MAX ||
		    strlen(s) != json_string_length(v) || !strstr(s, PEM_BEGIN))
			return sr_fail(err, SR_EINVAL,
				       "%s: tee.ca[%zu]: expected a PEM certificate (\"" PEM_BEGIN "...\", at most %d bytes)",
				       what, i, SR_POLICY_TEE_CA_BYTES_MAX);
		if (!(out->ca[i] = sr_strdup(s)))
			return sr_policy_nomem(err, what);
		out->nca = i + 1;
	}
	return SR_OK;
}

static int parse_measurements(const json_t *arr, const char *what,
			      struct sr_policy_tee *out, struct sr_err *err)
{
	const json_t *v;
	char path[48];
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > SR_POLICY_TEE_MEASUREMENTS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: tee.measurements: expected an array of 1 to %d measurements (\"sha256:<64 hex>\"), got %s",
			       what, SR_POLICY_TEE_MEASUREMENTS_MAX, kind_of(arr));
	out->measurements = sr_calloc(json_array_size(arr), sizeof(*out->measurements));
	if (!out->measurements)
		return sr_policy_nomem(err, what);
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "tee.measurements[%zu]", i);
		if (sr_policy_measurement_parse(v, what, path, out->measurements[i], err))
			return SR_EINVAL;
		for (size_t k = 0; k < i; k++)
			if (memcmp(out->measurements[k], out->measurements[i], 32) == 0)
				return sr_fail(err, SR_EINVAL, "%s: %s: listed twice", what, path);
		out->nmeasurements = i + 1;
	}
	return SR_OK;
}

int sr_policy_parse_tee(const json_t *v, const char *what,
			struct sr_policy_tee *out, struct sr_err *err)
{
	static const char *const keys[] = { "allow", "ca", "measurements", NULL };
	const json_t *allow = json_object_get(v, "allow");
	const char *key;
	const json_t *x;
	int rc;

	if (!json_is_object(v))
		return sr_fail(err, SR_EINVAL,
			       "%s: tee: expected an object with allow, ca and measurements, got %s",
			       what, kind_of(v));
	json_object_foreach((json_t *)v, key, x) {
		size_t k = 0;
		while (keys[k] && strcmp(keys[k], key) != 0)
			k++;
		if (!keys[k]) {
			char shown[SR_POLICY_SHOWN_SIZE];
			return sr_fail(err, SR_EINVAL,
				       "%s: tee.%s: unknown key (expected allow, ca or measurements)",
				       what, sr_policy_shown(key, strlen(key), shown));
		}
	}
	if (!json_is_boolean(allow))
		return sr_fail(err, SR_EINVAL, "%s: tee.allow: expected true or false", what);
	if (!json_is_true(allow)) {
		if (json_object_get(v, "ca") || json_object_get(v, "measurements"))
			return sr_fail(err, SR_EINVAL,
				       "%s: tee: ca and measurements go with \"allow\": true only", what);
		return SR_OK;
	}
	rc = parse_ca(json_object_get(v, "ca"), what, out, err);
	if (rc == SR_OK)
		rc = parse_measurements(json_object_get(v, "measurements"), what, out, err);
	if (rc) {
		sr_policy_tee_release(out);
		return rc;
	}
	out->allow = 1;
	return SR_OK;
}

json_t *sr_policy_tee_json(const struct sr_policy_tee *tee)
{
	json_t *ca = json_array(), *ms = json_array();
	char text[SR_POLICY_MEASUREMENT_TEXT_MAX + 1];
	int bad = !ca || !ms;

	for (size_t i = 0; !bad && i < tee->nca; i++)
		bad = json_array_append_new(ca, json_string(tee->ca[i])) != 0;
	for (size_t i = 0; !bad && i < tee->nmeasurements; i++) {
		sr_policy_measurement_format(tee->measurements[i], text);
		bad = json_array_append_new(ms, json_string(text)) != 0;
	}
	if (bad) {
		json_decref(ca);
		json_decref(ms);
		return NULL;
	}
	return json_pack("{s:b,s:o,s:o}", "allow", tee->allow, "ca", ca,
			 "measurements", ms);
}
