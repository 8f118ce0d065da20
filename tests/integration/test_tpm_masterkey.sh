#!/usr/bin/env bash
# The tpm2 master-key provider against two real software TPMs (swtpm):
#  - init seals the key to TPM A; the home opens on A (data round-trips);
#  - the home copied and opened with TPM B fails with one line: "the master
#    key is sealed to another TPM";
#  - extending a PCR of the policy makes A refuse, naming the PCR policy,
#    while a home sealed to other PCRs still opens;
#  - the recovery copy (only when asked at init) opens the home without the
#    TPM; a wrong recovery passphrase, or a home without one, fails;
#  - an altered sealed blob, an unreachable TPM and bad flags fail cleanly.
. "$(dirname "$0")/lib.sh"
. "$SR_SOURCE_DIR/tests/support/swtpm.sh"

if ! swtpm_available; then
	echo "SKIP: swtpm, swtpm_setup or swtpm_localca is not installed (scripts/install-deps)"
	exit 77
fi
trap 'swtpm_stop "$WORK/tpm-a"; swtpm_stop "$WORK/tpm-b"; rm -rf "$WORK"' EXIT
swtpm_start "$WORK/tpm-a"
TPM_A=$SWTPM_TCTI
swtpm_start "$WORK/tpm-b"
TPM_B=$SWTPM_TCTI
export SEALROOM_TPM_TCTI=$TPM_A

cat >"$WORK/t.csv" <<'CSV'
customer_id,balance
C1,1200.5
C2,-3.25
CSV
cat >"$WORK/p.json" <<'JSON'
{"columns": {"customer_id": {"class": "id", "allow": ["join"]},
             "balance": {"class": "sa", "bounds": [-10000, 10000]}}}
JSON

# --- bad flags change nothing
run_expect 2 sr init --home "$WORK/bad" --key-provider tpm2 --tpm-pcrs 0,24
contains "$ERR" "--tpm-pcrs"
contains "$ERR" "0..23"
run_expect 2 sr init --home "$WORK/bad" --key-provider tpm2 --tpm-pcrs sha1:0
contains "$ERR" "unsupported bank"
run_expect 2 sr init --home "$WORK/bad" --tpm-pcrs 0,7
contains "$ERR" "--tpm-pcrs is for --key-provider tpm2"
[ ! -e "$WORK/bad" ] || fail "a refused init left $WORK/bad behind"
ok

# --- an unreachable TPM: init fails naming the TCTI and leaves nothing
SEALROOM_TPM_TCTI="swtpm:host=127.0.0.1,port=1" \
	run_expect 1 sr init --home "$WORK/none" --key-provider tpm2
contains "$ERR" "swtpm:host=127.0.0.1,port=1"
[ ! -e "$WORK/none" ] || fail "a failed init left $WORK/none behind"
ok

# --- sealed to A (default PCRs 0,7); opens on A; data round-trips
H="$WORK/home"
run_expect 0 sr init --home "$H" --key-provider tpm2
contains "$OUT" "master key: tpm2"
contains "$(cat "$H/master.json")" '"provider": "tpm2"'
contains "$(cat "$H/master.json")" '"pcrs": "sha256:0,7"'
if grep -q '"recovery"' "$H/master.json"; then fail "recovery copy made without being asked"; fi
ok
run_expect 0 sr dataset import t "$WORK/t.csv" --policy "$WORK/p.json" --home "$H"
run_expect 0 sr dataset export t --home "$H"
diff "$WORK/t.csv" "$WORK/out" >/dev/null || fail "export differs from input: $OUT"
ok

# --- copied to the machine with TPM B: one line, and nothing opened
cp -a "$H" "$WORK/stolen"
SEALROOM_TPM_TCTI=$TPM_B run_expect 1 sr dataset export t --home "$WORK/stolen"
[ "$ERR" = "sealroom: the master key is sealed to another TPM" ] ||
	fail "expected the one-line other-TPM error, got: $ERR"
[ -z "$OUT" ] || fail "data came out on another TPM: $OUT"
ok

# --- an altered sealed blob is named as such
cp -a "$H" "$WORK/altered"
/usr/bin/python3 - "$WORK/altered/master.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
b = d["sealed_private"]
i = len(b) // 2
d["sealed_private"] = b[:i] + ("0" if b[i] != "0" else "1") + b[i + 1:]
json.dump(d, open(p, "w"))
PY
run_expect 1 sr dataset list --home "$WORK/altered"
contains "$ERR" "integrity check"

# --- a home sealed to PCR 16 only, and one with a recovery copy
H16="$WORK/home16"
run_expect 0 sr init --home "$H16" --key-provider tpm2 --tpm-pcrs 16
contains "$(cat "$H16/master.json")" '"pcrs": "sha256:16"'
HR="$WORK/homer"
SEALROOM_PASSPHRASE="recover-me" \
	run_expect 0 sr init --home "$HR" --key-provider tpm2 --recovery-passphrase --kdf test
contains "$(cat "$HR/master.json")" '"recovery"'
run_expect 0 sr dataset import t "$WORK/t.csv" --policy "$WORK/p.json" --home "$HR"

# --- a policy PCR changes: refused, naming the PCR policy
command -v tpm2_pcrextend >/dev/null || fail "tpm2_pcrextend (tpm2-tools) is needed"
tpm2_pcrextend -T "$TPM_A" 7:sha256=5ea1400000000000000000000000000000000000000000000000000000000001
run_expect 1 sr dataset export t --home "$H"
contains "$ERR" "PCR policy (sha256:0,7) does not hold"
[ -z "$OUT" ] || fail "data came out after a PCR changed: $OUT"
# PCR 7 is not in H16's policy: it still opens.
run_expect 0 sr dataset list --home "$H16"
tpm2_pcrextend -T "$TPM_A" 16:sha256=5ea1400000000000000000000000000000000000000000000000000000000002
run_expect 1 sr dataset list --home "$H16"
contains "$ERR" "PCR policy (sha256:16) does not hold"

# --- recovery: the copied home opens on B only through the recovery copy
cp -a "$HR" "$WORK/moved"
SEALROOM_TPM_TCTI=$TPM_B run_expect 1 sr dataset export t --home "$WORK/moved"
contains "$ERR" "sealed to another TPM"
SEALROOM_TPM_TCTI=$TPM_B SEALROOM_KEY_RECOVERY=1 SEALROOM_PASSPHRASE=wrong \
	run_expect 1 sr dataset export t --home "$WORK/moved"
contains "$ERR" "wrong recovery passphrase"
SEALROOM_TPM_TCTI=$TPM_B SEALROOM_KEY_RECOVERY=1 SEALROOM_PASSPHRASE=recover-me \
	run_expect 0 sr dataset export t --home "$WORK/moved"
diff "$WORK/t.csv" "$WORK/out" >/dev/null || fail "recovered export differs: $OUT"
contains "$ERR" "recovery passphrase, not the TPM"
SEALROOM_KEY_RECOVERY=1 run_expect 1 sr dataset list --home "$WORK/stolen"
contains "$ERR" "has no recovery copy"

finish
