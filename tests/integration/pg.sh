# pg.sh - a real PostgreSQL server for the tests (sourced after lib.sh):
# its own cluster made by initdb in a temporary directory, on a loopback
# port, password authentication over TCP, stopped and removed on exit.
#
#   pg_start        sets PG_PORT, PG_PASS, PG_URL (with the password) and
#                   PG_URL_NOPASS; PG_BIN is Debian's server directory
#   pg_sql SQL...   runs SQL with psql as the cluster's superuser
#   pg_stop         stops the server and removes its directory
#
# initdb and the server refuse to run as root, so as root they run as the
# "postgres" user the Debian package creates (or "nobody").

PG_BIN=${PG_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$PG_BIN/initdb" ] || PG_BIN=/usr/lib/postgresql/15/bin
[ -x "$PG_BIN/initdb" ] || fail "no initdb in $PG_BIN: scripts/install-deps installs postgresql"
PG_DIR=
PG_AS=()

pg_stop() {
	if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
		"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	[ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
	PG_DIR=
}

pg_start() {
	local user try
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sr-pg-XXXXXX")
	if [ "$(id -u)" -eq 0 ]; then
		user=postgres
		id -u "$user" >/dev/null 2>&1 || user=nobody
		chown "$user" "$PG_DIR"
		PG_AS=(runuser -u "$user" --)
	fi
	PG_PASS="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
	printf '%s\n' "$PG_PASS" >"$PG_DIR/pw"
	chmod 0644 "$PG_DIR/pw"
	"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U sr --pwfile="$PG_DIR/pw" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
	rm -f "$PG_DIR/pw"
	for try in 1 2 3 4 5 6 7 8; do
		PG_PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 30 -l "$PG_DIR/server.log" \
			-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c full_page_writes=off" \
			start >/dev/null 2>&1; then
			PG_URL="postgresql://sr:$PG_PASS@127.0.0.1:$PG_PORT/postgres"
			PG_URL_NOPASS="postgresql://sr@127.0.0.1:$PG_PORT/postgres"
			return 0
		fi
	done
	cat "$PG_DIR/server.log" >&2 || true
	fail "could not start PostgreSQL"
}

pg_sql() {
	PGPASSWORD="$PG_PASS" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
		-p "$PG_PORT" -U sr -d postgres "$@"
}

trap 'pg_stop; rm -rf "$WORK"' EXIT
