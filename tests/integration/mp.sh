# mp.sh - multi-party helpers for the integration tests (sourced after
# lib.sh): a coordinator and nodes as real processes on loopback.
#
#   coord_start [--fault F]       starts a coordinator; sets COORD_URL, COORD_PIN, COORD_PID
#   org_init NAME                 sealroom init + admin/steward/analyst tokens
#   node_start NAME [ARGS...]     starts NAME's node against the coordinator
#   as NAME ROLE CMD...           runs sealroom as NAME with ROLE's token
#   json_get FILE KEY             a top-level string or number from a JSON file
#
# Node homes are $HOMES/NAME ($HOMES defaults to $WORK).

PIDS=()
cleanup_mp() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup_mp EXIT

declare -A ORG_ID NODE_PID TOKEN

wait_for() {   # wait_for FILE PATTERN [SECONDS]
	local i
	for i in $(seq 1 $((${3:-20} * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "--- $1:" >&2; cat "$1" >&2 || true
	fail "timed out waiting for '$2' in $1"
}

coord_start() {
	local dir=${COORD_DIR:-$WORK/coord}
	# Emptied here, not by the redirection below: that one runs in the
	# child, and wait_for could still read a previous run's line.
	: >"$WORK/coord.out"
	"$SEALROOM" coordinator --listen 127.0.0.1:0 --data "$dir" "$@" \
		>"$WORK/coord.out" 2>"$WORK/coord.err" &
	COORD_PID=$!
	PIDS+=("$COORD_PID")
	wait_for "$WORK/coord.out" "listening on"
	COORD_URL=$(sed -n 's/^coordinator listening on \([^ ]*\).*/\1/p' "$WORK/coord.out")
	COORD_PIN=$(sed -n 's/.*(pin \([^)]*\)).*/\1/p' "$WORK/coord.out")
}

json_get() {
	/usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v[sys.argv[2]])' "$1" "$2"
}

org_init() {
	local name=$1 role
	"$SEALROOM" init --home "${HOMES:-$WORK}/$name" --json >"$WORK/$name.init.json"
	ORG_ID[$name]=$(json_get "$WORK/$name.init.json" org_id)
	for role in admin steward analyst; do
		"$SEALROOM" token create "$name-$role" --role "$role" --home "${HOMES:-$WORK}/$name" \
			--json >"$WORK/tok.json"
		TOKEN[$name.$role]=$(json_get "$WORK/tok.json" token)
	done
	rm -f "$WORK/tok.json"
}

node_start() {
	local name=$1
	shift
	rm -f "${HOMES:-$WORK}/$name/node.url"
	: >"$WORK/$name.node.out"   # (see coord_start)
	local pin_args=()
	[ -n "${COORD_PIN:-}" ] && pin_args=(--pin "$COORD_PIN")
	"$SEALROOM" node --home "${HOMES:-$WORK}/$name" --coordinator "${NODE_COORD_URL:-$COORD_URL}" \
		"${pin_args[@]}" --listen 127.0.0.1:0 --name "$name" "$@" \
		>"$WORK/$name.node.out" 2>"$WORK/$name.node.err" &
	NODE_PID[$name]=$!
	PIDS+=("${NODE_PID[$name]}")
	wait_for "$WORK/$name.node.out" "listening on"
}

node_stop() {
	kill -TERM "${NODE_PID[$1]}"
	wait "${NODE_PID[$1]}" || true
}

as() {   # as ORG ROLE sealroom-args...
	local org=$1 role=$2
	shift 2
	SEALROOM_TOKEN="${TOKEN[$org.$role]}" "$SEALROOM" "$@" --home "${HOMES:-$WORK}/$org"
}

# node_api ORG ROLE METHOD PATH [BODY]: raw call; sets CODE and BODY_OUT.
node_api() {
	local org=$1 role=$2 method=$3 path=$4 data=${5:-}
	local url
	url=$(cat "${HOMES:-$WORK}/$org/node.url")
	local args=(-s -o "$WORK/api.out" -w '%{http_code}' -X "$method"
		-H "Authorization: Bearer ${TOKEN[$org.$role]}")
	[ -n "$data" ] && args+=(--data-binary "$data")
	CODE=$(curl "${args[@]}" "$url$path")
	BODY_OUT=$(cat "$WORK/api.out")
}

# Write a CSV of customer ids "C<n>" for n in [FROM, TO) plus a column.
gen_ids() {   # gen_ids FILE FROM TO
	{ echo "customer_id,score"; seq "$2" $(($3 - 1)) | awk '{printf "C%07d,%d\n", $1, $1 % 97}'; } >"$1"
}

# A policy allowing join on customer_id and the given receivers.
gen_policy() {   # gen_policy FILE RECEIVER...
	local file=$1
	shift
	local recv=""
	for r in "$@"; do recv="$recv${recv:+, }\"$r\""; done
	cat >"$file" <<JSON
{"columns": {"customer_id": {"class": "id", "allow": ["join"]},
             "score": {"class": "sa", "bounds": [0, 100]}},
 "jobs": ["psi"], "receivers": [$recv]}
JSON
}

# wait_state ORG JOB STATE [SECONDS]
wait_state() {
	local i
	for i in $(seq 1 $((${4:-30} * 5))); do
		as "$1" analyst job show "$2" --json >"$WORK/job.json" 2>/dev/null || true
		[ "$(json_get "$WORK/job.json" state 2>/dev/null)" = "$3" ] && return 0
		sleep 0.2
	done
	cat "$WORK/job.json" >&2 || true
	fail "job $2 did not reach $3 at $1"
}

# A project with the given orgs (first creates, others join); sets PROJECT.
project_setup() {
	local creator=$1 o
	as "$creator" admin project create it-project --json >"$WORK/p.json"
	PROJECT=$(json_get "$WORK/p.json" project)
	shift
	for o in "$@"; do
		as "$creator" admin project invite "$PROJECT" "${ORG_ID[$o]}" >/dev/null
		as "$o" admin project join "$PROJECT" >/dev/null
	done
}

propose_job() {   # propose_job PROPOSER APPROVER...: $WORK/spec.json -> JOB, accepted, approved by each
	local p=$1 o i
	shift
	run_expect 0 as "$p" analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json
	echo "$OUT" >"$WORK/prop.json"
	contains "$OUT" '"accept": true'
	JOB=$(json_get "$WORK/prop.json" job_id)
	for o in "$@"; do
		for i in $(seq 1 100); do
			as "$o" steward job approve "$JOB" >/dev/null 2>&1 && break
			sleep 0.2
		done
	done
}
