# swtpm.sh - start and stop software TPMs (swtpm) for the TPM tests.
#
# Sourced by tests/integration/test_tpm*.sh, or run as a wrapper around a
# unit test:
#
#   bash tests/support/swtpm.sh run PROGRAM [ARGS...]
#
# starts two TPMs, A and B, each with its own local EK CA, exports
#   SEALROOM_TPM_TCTI      TPM A's TCTI string (swtpm:host=127.0.0.1,port=P)
#   SR_SWTPM_TCTI_A/_B     the TCTI strings of A and B
#   SR_SWTPM_CA_A/_B       each one's root CA certificate (PEM)
#   SR_SWTPM_ISSUER_A/_B   each one's intermediate (the EK certificate's issuer)
# runs PROGRAM and stops both TPMs, returning PROGRAM's status.  Without
# swtpm it prints "SKIP: ..." and exits 77 (CTest's SKIP_RETURN_CODE).
#
# Everything lives in a temporary directory: the CA, the TPM state, the
# swtpm_setup configuration.  Nothing global (/etc/swtpm*, /var/lib/
# swtpm-localca, ~/.config) is read or written.

swtpm_available() {
	command -v swtpm >/dev/null 2>&1 &&
		command -v swtpm_setup >/dev/null 2>&1 &&
		command -v swtpm_localca >/dev/null 2>&1
}

# _swtpm_free_port: a port P such that P and P+1 are free on loopback.
_swtpm_free_port() {
	/usr/bin/python3 - <<'PY'
import socket
for _ in range(200):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        a.close()
        continue
    a.close()
    b.close()
    print(p)
    break
PY
}

# swtpm_start DIR : manufacture a TPM with an EK certificate signed by a
# local CA in DIR/ca and serve it on loopback.  Sets SWTPM_TCTI.  The TPM
# runs until swtpm_stop DIR.
swtpm_start() {
	local dir=$1 port i
	mkdir -p "$dir/ca" "$dir/state"
	cat >"$dir/localca.conf" <<CONF
statedir = $dir/ca
signingkey = $dir/ca/signkey.pem
issuercert = $dir/ca/issuercert.pem
certserial = $dir/ca/certserial
CONF
	: >"$dir/localca.options"
	cat >"$dir/setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $dir/localca.conf
create_certs_tool_options = $dir/localca.options
active_pcr_banks = sha256
CONF
	if ! XDG_CONFIG_HOME="$dir" swtpm_setup --tpm2 --create-ek-cert \
		--tpmstate "$dir/state" --config "$dir/setup.conf" \
		--overwrite >"$dir/setup.log" 2>&1; then
		cat "$dir/setup.log" >&2
		echo "swtpm_setup failed in $dir" >&2
		return 1
	fi
	for i in 1 2 3 4 5; do
		port=$(_swtpm_free_port)
		if swtpm socket --tpm2 --daemon \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
			--tpmstate dir="$dir/state" \
			--flags not-need-init,startup-clear \
			--pid file="$dir/swtpm.pid" \
			--log file="$dir/swtpm.log" 2>>"$dir/start.log"; then
			SWTPM_TCTI="swtpm:host=127.0.0.1,port=$port"
			echo "$SWTPM_TCTI" >"$dir/tcti"
			return 0
		fi
	done
	cat "$dir/start.log" >&2
	echo "swtpm did not start in $dir" >&2
	return 1
}

# swtpm_stop DIR : stop the TPM started in DIR (if it runs).
swtpm_stop() {
	local dir=$1 pid i
	[ -f "$dir/swtpm.pid" ] || return 0
	pid=$(cat "$dir/swtpm.pid")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$dir/swtpm.pid"
}

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = run ]; then
	shift
	if ! swtpm_available; then
		echo "SKIP: swtpm, swtpm_setup or swtpm_localca is not installed (scripts/install-deps installs swtpm and swtpm-tools)"
		exit 77
	fi
	SWTPM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sr-swtpm-XXXXXX")
	trap 'swtpm_stop "$SWTPM_WORK/a"; swtpm_stop "$SWTPM_WORK/b"; rm -rf "$SWTPM_WORK"' EXIT
	swtpm_start "$SWTPM_WORK/a" || exit 1
	export SR_SWTPM_TCTI_A=$SWTPM_TCTI
	swtpm_start "$SWTPM_WORK/b" || exit 1
	export SR_SWTPM_TCTI_B=$SWTPM_TCTI
	export SEALROOM_TPM_TCTI=$SR_SWTPM_TCTI_A
	export SR_SWTPM_CA_A=$SWTPM_WORK/a/ca/swtpm-localca-rootca-cert.pem
	export SR_SWTPM_CA_B=$SWTPM_WORK/b/ca/swtpm-localca-rootca-cert.pem
	export SR_SWTPM_ISSUER_A=$SWTPM_WORK/a/ca/issuercert.pem
	export SR_SWTPM_ISSUER_B=$SWTPM_WORK/b/ca/issuercert.pem
	"$@"
	exit $?
fi
