/*
 * tpm.c - the ESAPI connection and PCR selections (see tee.h).
 */
#include "tee/tee_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_rc.h>

#include "base/log.h"
#include "base/alloc.h"
#include "base/banned.h"

const TPMT_SYM_DEF sr_tpm_aes128cfb = {
	.algorithm = TPM2_ALG_AES,
	.keyBits = { .aes = 128 },
	.mode = { .aes = TPM2_ALG_CFB },
};

const TPMT_SYM_DEF_OBJECT sr_tpm_aes128cfb_object = {
	.algorithm = TPM2_ALG_AES,
	.keyBits = { .aes = 128 },
	.mode = { .aes = TPM2_ALG_CFB },
};

const char *sr_tpm_tcti(const char *tcti)
{
	const char *env;

	if (tcti && *tcti)
		return tcti;
	env = getenv(SR_TPM_TCTI_ENV);
	if (env && *env)
		return env;
	return SR_TPM_TCTI_DEFAULT;
}

int sr_tpm_fail(struct sr_err *err, int code, const char *what, TSS2_RC rc)
{
	return sr_fail(err, code, "tpm: %s: %s (0x%x)", what, Tss2_RC_Decode(rc),
		       (unsigned)rc);
}

TSS2_RC sr_tpm_rc_base(TSS2_RC rc)
{
	/* Format-one codes carry the failing handle, session or parameter
	 * in bits 6..11; the error itself is in the low six bits. */
	if ((rc & TPM2_RC_FMT1) && (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
		return rc & (TSS2_RC_LAYER_MASK | TPM2_RC_FMT1 | 0x3f);
	return rc;
}

int sr_tpm_open(const char *tcti, struct sr_tpm **out, struct sr_err *err)
{
	struct sr_tpm *tpm;
	const char *conf = sr_tpm_tcti(tcti);
	TSS2_RC rc;

	*out = NULL;
	if (strlen(conf) >= sizeof(tpm->tcti_conf))
		return sr_fail(err, SR_EINVAL,
			       "tpm: TCTI string is longer than %zu characters",
			       sizeof(tpm->tcti_conf) - 1);
	tpm = sr_calloc(1, sizeof(*tpm));
	if (!tpm)
		return sr_fail(err, SR_ENOMEM, "tpm: out of memory");
	snprintf(tpm->tcti_conf, sizeof(tpm->tcti_conf), "%s", conf);
	/* The TSS logs to stderr by default, and at debug levels it dumps
	 * command buffers (sealed secrets among them).  Errors reach the
	 * caller through err; TSS2_LOG set by the user is left alone. */
	setenv("TSS2_LOG", "all+NONE", 0);
	rc = Tss2_TctiLdr_Initialize(tpm->tcti_conf, &tpm->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		sr_tpm_fail(err, SR_EIO, "cannot open TCTI", rc);
		sr_err_prefix(err, "%s", tpm->tcti_conf);
		sr_free(tpm);
		return SR_EIO;
	}
	rc = Esys_Initialize(&tpm->esys, tpm->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		sr_tpm_fail(err, SR_EIO, "Esys_Initialize", rc);
		sr_err_prefix(err, "%s", tpm->tcti_conf);
		Tss2_TctiLdr_Finalize(&tpm->tcti);
		sr_free(tpm);
		return SR_EIO;
	}
	sr_log_debug("tpm: connected through %s", tpm->tcti_conf);
	*out = tpm;
	return SR_OK;
}

void sr_tpm_free(struct sr_tpm *tpm)
{
	if (!tpm)
		return;
	if (tpm->esys)
		Esys_Finalize(&tpm->esys);
	if (tpm->tcti)
		Tss2_TctiLdr_Finalize(&tpm->tcti);
	sr_free(tpm);
}

int sr_tpm_pcrs_parse(const char *text, uint32_t *mask, struct sr_err *err)
{
	const char *p = text;
	uint32_t m = 0;

	if (!text)
		return sr_fail(err, SR_EINVAL, "pcrs: missing");
	if (strncmp(p, "sha256:", 7) == 0)
		p += 7;
	else if (strchr(p, ':'))
		return sr_fail(err, SR_EINVAL,
			       "pcrs '%s': unsupported bank (expected sha256)",
			       text);
	for (;;) {
		unsigned v = 0;
		int digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(*p - '0');
			p++;
			digits++;
		}
		if (!digits || v >= SR_TPM_PCR_COUNT)
			return sr_fail(err, SR_EINVAL,
				       "pcrs '%s': expected PCR numbers 0..%d separated by commas",
				       text, SR_TPM_PCR_COUNT - 1);
		if (m & (1u << v))
			return sr_fail(err, SR_EINVAL,
				       "pcrs '%s': PCR %u is listed twice", text, v);
		m |= 1u << v;
		if (*p == '\0')
			break;
		if (*p != ',')
			return sr_fail(err, SR_EINVAL,
				       "pcrs '%s': expected PCR numbers 0..%d separated by commas",
				       text, SR_TPM_PCR_COUNT - 1);
		p++;
	}
	*mask = m;
	return SR_OK;
}

void sr_tpm_pcrs_format(uint32_t mask, char out[SR_TPM_PCRS_TEXT_MAX])
{
	size_t n = (size_t)snprintf(out, SR_TPM_PCRS_TEXT_MAX, "sha256:");
	int first = 1;

	for (int i = 0; i < SR_TPM_PCR_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		n += (size_t)snprintf(out + n, SR_TPM_PCRS_TEXT_MAX - n, "%s%d",
				      first ? "" : ",", i);
		first = 0;
	}
}

void sr_tpm_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *out)
{
	memset(out, 0, sizeof(*out));
	out->count = 1;
	out->pcrSelections[0].hash = TPM2_ALG_SHA256;
	out->pcrSelections[0].sizeofSelect = 3;
	for (int i = 0; i < SR_TPM_PCR_COUNT; i++)
		if (mask & (1u << i))
			out->pcrSelections[0].pcrSelect[i / 8] |=
				(uint8_t)(1u << (i % 8));
}
