/*
 * keyprov.h - the tpm2 master-key provider (DESIGN §5), as a hook for
 * crypto/masterkey.c, which keeps the check value and the optional
 * recovery copy.  The provider's fields in master.json:
 *
 *   "pcrs": "sha256:0,7"          the PCRs of the unseal policy
 *   "primary_name": hex           name of the TPM's storage primary key,
 *                                 i.e. which TPM the key is sealed to
 *   "sealed_public": hex          marshalled TPM2B_PUBLIC of the object
 *   "sealed_private": hex         marshalled TPM2B_PRIVATE (encrypted by
 *                                 the TPM; useless without that TPM)
 *
 * The TPM is reached through $SEALROOM_TPM_TCTI (default
 * device:/dev/tpmrm0): where the TPM is reached is a property of the
 * machine, not of the home, so it is not recorded.
 */
#ifndef SR_TEE_KEYPROV_H
#define SR_TEE_KEYPROV_H

#include <jansson.h>

#include "tee/tee.h"

/* The keys above, NULL-terminated. */
extern const char *const sr_tee_key_fields[];

/*
 * Seal key (len bytes) to the TPM of tcti (NULL: sr_tpm_tcti) under the
 * PCR selection pcrs (NULL: SR_TPM_PCRS_DEFAULT) and add the fields to doc.
 */
int sr_tee_key_seal(const char *tcti, const char *pcrs, const uint8_t *key,
		    size_t len, json_t *doc, struct sr_err *err) SR_WUR;

/*
 * Unseal the key described by doc (read from path, named in errors) into
 * key (len bytes).  Errors as sr_tpm_unseal; a malformed field is
 * SR_ECORRUPT naming path and field.
 */
int sr_tee_key_unseal(const json_t *doc, const char *path, uint8_t *key,
		      size_t len, struct sr_err *err) SR_WUR;

#endif
