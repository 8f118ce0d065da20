# lib.sh - helpers for the integration tests (sourced, not run).
# Each test script gets $SEALROOM (the binary) from CTest and works in a
# temporary directory that is removed on exit.
set -euo pipefail

: "${SEALROOM:?SEALROOM must point at the sealroom binary}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sr-it-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SEALROOM_PROGRESS=0
export SEALROOM_PASSPHRASE="it-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
unset SEALROOM_HOME
checks=0

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	checks=$((checks + 1))
}

# run_expect CODE CMD... : run, capture stdout/stderr in $OUT/$ERR, check
# the exit code.
run_expect() {
	local want=$1
	shift
	set +e
	"$@" >"$WORK/out" 2>"$WORK/err"
	local got=$?
	set -e
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
	if [ "$got" -ne "$want" ]; then
		echo "command: $*" >&2
		echo "stdout: $OUT" >&2
		echo "stderr: $ERR" >&2
		fail "exit code $got, expected $want"
	fi
	ok
}

# contains HAYSTACK NEEDLE
contains() {
	case "$1" in
	*"$2"*) ok ;;
	*) fail "expected to find '$2' in: $1" ;;
	esac
}

sr() {
	"$SEALROOM" "$@"
}

finish() {
	echo "$(basename "$0"): $checks checks passed"
}
