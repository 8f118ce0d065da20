/*
 * keyprov.c - the tpm2 master-key provider's part of master.json (the
 * hook called by crypto/masterkey.c; see tee/keyprov.h).
 */
#include "tee/keyprov.h"

#include <string.h>

#include "base/json.h"
#include "crypto/crypto.h"
#include "base/banned.h"

const char *const sr_tee_key_fields[] = { "pcrs", "primary_name",
	"sealed_public", "sealed_private", NULL };

static int add_hex(json_t *doc, const char *key, const uint8_t *data,
		   size_t len)
{
	char hex[2 * SR_TPM_PRIVATE_MAX + 1];

	_Static_assert(SR_TPM_PRIVATE_MAX >= SR_TPM_PUBLIC_MAX &&
		       SR_TPM_PRIVATE_MAX >= SR_TPM_NAME_MAX, "hex buffer");
	sr_hex(hex, data, len);
	return json_object_set_new(doc, key, json_string(hex)) ? SR_ENOMEM
							       : SR_OK;
}

int sr_tee_key_seal(const char *tcti, const char *pcrs, const uint8_t *key,
		    size_t len, json_t *doc, struct sr_err *err)
{
	struct sr_tpm_sealed sealed;
	struct sr_tpm *tpm = NULL;
	char pcr_text[SR_TPM_PCRS_TEXT_MAX];
	uint32_t mask = 0;
	int rc;

	rc = sr_tpm_pcrs_parse(pcrs ? pcrs : SR_TPM_PCRS_DEFAULT, &mask, err);
	if (rc == SR_OK)
		rc = sr_tpm_open(tcti, &tpm, err);
	if (rc == SR_OK)
		rc = sr_tpm_seal(tpm, mask, key, len, &sealed, err);
	sr_tpm_free(tpm);
	if (rc)
		return rc;
	sr_tpm_pcrs_format(mask, pcr_text);
	if (json_object_set_new(doc, "pcrs", json_string(pcr_text)) ||
	    add_hex(doc, "primary_name", sealed.primary_name,
		    sealed.primary_name_len) ||
	    add_hex(doc, "sealed_public", sealed.public_area,
		    sealed.public_len) ||
	    add_hex(doc, "sealed_private", sealed.private_area,
		    sealed.private_len))
		return sr_fail(err, SR_ENOMEM, "master.json: out of memory");
	return SR_OK;
}

/* doc.key: an even number of hex digits, at most cap bytes. */
static int get_hex(const json_t *doc, const char *path, const char *key,
		   uint8_t *out, size_t cap, size_t *len, struct sr_err *err)
{
	const char *hex = NULL;
	size_t n;
	int rc = sr_json_get_string(doc, "", key, 1, &hex, err);

	if (rc) {
		sr_err_prefix(err, "%s", path);
		return SR_ECORRUPT;
	}
	n = strlen(hex);
	if (n == 0 || n % 2 || n / 2 > cap || sr_unhex(out, n / 2, hex))
		return sr_fail(err, SR_ECORRUPT,
			       "%s: %s: expected up to %zu bytes in hex", path,
			       key, cap);
	*len = n / 2;
	return SR_OK;
}

int sr_tee_key_unseal(const json_t *doc, const char *path, uint8_t *key,
		      size_t len, struct sr_err *err)
{
	struct sr_tpm_sealed sealed;
	struct sr_tpm *tpm = NULL;
	const char *pcrs = NULL;
	int rc;

	memset(&sealed, 0, sizeof(sealed));
	rc = sr_json_get_string(doc, "", "pcrs", 1, &pcrs, err);
	if (rc) {
		sr_err_prefix(err, "%s", path);
		return SR_ECORRUPT;
	}
	if (sr_tpm_pcrs_parse(pcrs, &sealed.pcr_mask, err)) {
		sr_err_prefix(err, "%s: pcrs", path);
		return SR_ECORRUPT;
	}
	rc = get_hex(doc, path, "primary_name", sealed.primary_name,
		     sizeof(sealed.primary_name), &sealed.primary_name_len, err);
	if (rc == SR_OK)
		rc = get_hex(doc, path, "sealed_public", sealed.public_area,
			     sizeof(sealed.public_area), &sealed.public_len,
			     err);
	if (rc == SR_OK)
		rc = get_hex(doc, path, "sealed_private", sealed.private_area,
			     sizeof(sealed.private_area), &sealed.private_len,
			     err);
	if (rc == SR_OK)
		rc = sr_tpm_open(NULL, &tpm, err);
	if (rc == SR_OK)
		rc = sr_tpm_unseal(tpm, &sealed, key, len, err);
	sr_tpm_free(tpm);
	return rc;
}
