#!/usr/bin/env bash
# docs/quickstart.md's by-hand section, run from the doc itself: every
# ```sh block from "## The same steps by hand" on, in order, in one shell,
# so that doc and code cannot drift apart.  What differs from a person
# pasting it, and only that:
#   - `make build` is skipped and PATH points at the binary under test;
#   - HOME is the test's directory, and the ports are free ones picked now;
#   - a line marked "# keeps running" (the coordinator, the nodes) runs in
#     the background, and the next line waits until the file it tees to
#     says "listening on";
#   - the passphrase comes from SEALROOM_PASSPHRASE (lib.sh), as for any
#     script.
. "$(dirname "$0")/lib.sh"

DOC=${SR_SOURCE_DIR:-$(dirname "$0")/../..}/docs/quickstart.md
[ -f "$DOC" ] || fail "no $DOC"
BIN_DIR=$(cd "$(dirname "$SEALROOM")" && pwd)
[ "$(basename "$SEALROOM")" = sealroom ] || fail "SEALROOM must be a binary named sealroom"
# Ports below the kernel's ephemeral range (32768 and up on Linux), so that
# no outgoing connection of a test running beside this one can hold them,
# and below pg.sh's 20000 and up; one already listening is skipped.
in_use() { grep -qi ":$(printf '%04X' "$1") [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
PICKED=" "
port() { # port VAR: a free port, not one given before, into VAR
	local p
	while :; do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 10000))
		case "$PICKED" in *" $p "*) continue ;; esac
		in_use "$p" || break
	done
	PICKED="$PICKED$p "
	printf -v "$1" '%s' "$p"
}
port P_COORD
port P_BANK
port P_SHOP

# The sh blocks of the section, with the substitutions above.
awk '/^## The same steps by hand/ { on = 1 } on && /^```sh$/ { inb = 1; next }
     inb && /^```$/ { inb = 0; next } inb { print }' "$DOC" >"$WORK/doc.sh"
[ "$(wc -l <"$WORK/doc.sh")" -gt 40 ] || fail "found too few commands in $DOC"
grep -q '^sealroom coordinator .*# keeps running$' "$WORK/doc.sh" || fail "no coordinator line"
{
	echo 'set -euo pipefail'
	echo 'set -m'
	echo "export HOME='$WORK'"
	while IFS= read -r line; do
		line=${line//7443/$P_COORD}
		line=${line//7701/$P_BANK}
		line=${line//7702/$P_SHOP}
		case "$line" in
		'make build') echo ': make build skipped' ;;
		'export PATH=$PWD/build:$PATH') echo "export PATH='$BIN_DIR':\$PATH" ;;
		*'# keeps running')
			out=$(printf '%s\n' "$line" | sed -n 's/.*| tee \([^ ]*\).*/\1/p')
			[ -n "$out" ] || { echo "echo 'a keeps-running line tees nowhere' >&2; exit 1"; continue; }
			echo "${line%%#*} &"
			echo "echo \$! >>'$WORK/pids'"
			echo "for _ in \$(seq 1 300); do grep -q 'listening on' $out 2>/dev/null && break; sleep 0.1; done"
			echo "grep -q 'listening on' $out || { echo 'not listening: $out' >&2; exit 1; }"
			;;
		*) printf '%s\n' "$line" ;;
		esac
	done <"$WORK/doc.sh"
} >"$WORK/run.sh"

stop_all() {
	local pid
	[ -f "$WORK/pids" ] || return 0
	# Each background pipeline is its own process group (set -m).
	while read -r pid; do
		kill -TERM -- "-$(ps -o pgid= -p "$pid" | tr -d ' ')" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done <"$WORK/pids"
	sleep 0.5
}
trap 'stop_all; rm -rf "$WORK"' EXIT

set +e
bash "$WORK/run.sh" >"$WORK/run.out" 2>"$WORK/run.err"
code=$?
set -e
if [ "$code" -ne 0 ]; then
	echo "--- stdout:" >&2; tail -n 40 "$WORK/run.out" >&2
	echo "--- stderr:" >&2; tail -n 40 "$WORK/run.err" >&2
	fail "the quickstart's by-hand section failed (exit $code)"
fi
ok
OUT=$(cat "$WORK/run.out")
contains "$OUT" "imported customers: 400 rows, 4 columns"
contains "$OUT" "imported purchases: 300 rows, 2 columns"
contains "$OUT" "joined project"
contains "$OUT" "published bank.customers to project"
contains "$OUT" "accepted by the security checker"
# Customers are multiples of 3 below 1200, purchases multiples of 4
# below 1200: 100 in common.
[ -f "$WORK/sr/common.csv" ] || fail "no common.csv"
[ "$(grep -c 'C[0-9]\{5\}' "$WORK/sr/common.csv")" -eq 100 ] || fail "common.csv: $(head -3 "$WORK/sr/common.csv")"
ok
grep -q 'C01188' "$WORK/sr/common.csv" || fail "C01188 is common to both"
ok
finish
