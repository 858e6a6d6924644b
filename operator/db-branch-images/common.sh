# Helpers both branch images' entry scripts (postgres/branch.sh, mysql/branch.sh) source: progress
# lines, the one failure line, the readiness file, the copy contract read from the environment.
# shellcheck shell=bash

READY_FILE=/tmp/mirrord-branch-ready
TERMINATION_LOG=/dev/termination-log
# Each step's error output, for the one line a failure reports.
errors=$(mktemp -d)
started_at=$EPOCHREALTIME
step_at=$EPOCHREALTIME

# Seconds since $1 (an $EPOCHREALTIME), with one decimal.
since() {
  local now=$EPOCHREALTIME
  awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

# A progress line on stderr: what was done, how long it took, and the time since the start.
progress() {
  printf 'mirrord-db-branch: %s (%ss, %ss since start)\n' "$1" "$(since "$step_at")" "$(since "$started_at")" >&2
  step_at=$EPOCHREALTIME
}

# The first meaningful line of a tool's error output (the error, not its hints), without the
# tool's own prefix.
first_error() {
  local line
  line=$(grep -v -i -e '^[[:space:]]*$' -e '^WARNING' -e 'Warning:' | head -n 1 | tr '\t' ' ' | sed -e 's/  */ /g' -e 's/ $//')
  line=${line#psql: error: }
  line=${line#pg_dump: error: }
  line=${line#mysqldump: }
  line=${line#mariadb-dump: }
  printf '%s' "${line:-no error message}"
}

# Never a secret in a message: the source's password, where it appears, is masked.
mask() {
  local text=$1
  if [ -n "${MIRRORD_BRANCH_SOURCE_PASSWORD:-}" ]; then text=${text//"$MIRRORD_BRANCH_SOURCE_PASSWORD"/***}; fi
  if [ -n "${MIRRORD_DB_PASSWORD:-}" ]; then text=${text//"$MIRRORD_DB_PASSWORD"/***}; fi
  printf '%s' "$text"
}

# The one line Kubernetes shows as the container's termination message (and stderr), then the end.
server_pid=
fail() {
  local message
  message=$(mask "$1" | tr '\n' ' ')
  printf 'mirrord-db-branch: failed: %s\n' "$message" >&2
  { printf '%s\n' "$message" >"$TERMINATION_LOG"; } 2>/dev/null || true
  if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; fi
  exit 1
}

# The copy contract (branch mode): mode, and the tables whose rows are filtered.
read_copy_contract() {
  COPY_MODE=${MIRRORD_BRANCH_COPY_MODE:-empty}
  case "$COPY_MODE" in empty | schema | all) ;; *) fail "unknown copy mode \"$COPY_MODE\" (empty, schema or all)" ;; esac
  TABLE_NAMES=()
  TABLE_FILTERS=()
  local count=${MIRRORD_BRANCH_TABLE_COUNT:-0} i name filter
  [[ "$count" =~ ^[0-9]+$ ]] || fail "MIRRORD_BRANCH_TABLE_COUNT is not a number: $count"
  for ((i = 0; i < count; i++)); do
    name_var=MIRRORD_BRANCH_TABLE_${i}_NAME
    filter_var=MIRRORD_BRANCH_TABLE_${i}_FILTER
    name=${!name_var:-}
    filter=${!filter_var:-}
    [ -n "$name" ] || fail "$name_var is not set"
    TABLE_NAMES+=("$name")
    TABLE_FILTERS+=("$filter")
  done
  SOURCE_HOST=$MIRRORD_BRANCH_SOURCE_HOST
  SOURCE_USER=${MIRRORD_BRANCH_SOURCE_USER:-}
  SOURCE_DATABASE=${MIRRORD_BRANCH_SOURCE_DATABASE:-}
  [ -n "$SOURCE_USER" ] || fail "MIRRORD_BRANCH_SOURCE_USER is not set"
  [ -n "$SOURCE_DATABASE" ] || fail "MIRRORD_BRANCH_SOURCE_DATABASE is not set"
}

# Serves until SIGTERM (or SIGINT), which stops the server at once ($1: the signal the server
# takes as "stop now"), then exits with the server's status.
serve() {
  local stop_signal=$1 status
  : >"$READY_FILE"
  progress "ready"
  trap 'kill -'"$stop_signal"' "$server_pid" 2>/dev/null' TERM INT
  while true; do
    status=0
    wait "$server_pid" || status=$?
    # A trapped signal ends `wait` early (status > 128) while the server still runs.
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  done
  rm -f "$READY_FILE"
  exit "$status"
}

# Waits for the server just started ($server_pid) to answer: up to $2 s, the rest a command that
# succeeds once it does; $1 names the engine in messages.
await_server() {
  local engine=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    if "$@" >/dev/null 2>&1; then
      progress "server started"
      return
    fi
    kill -0 "$server_pid" 2>/dev/null || fail "the $engine server did not start"
    sleep 0.1
  done
  fail "the $engine server did not start within $seconds s"
}

# Serves ($1: the signal the server takes as "stop now") once user $2 gets in over TCP with its
# password: the rest is the command that tries, within 5 s.
serve_once_user_connects() {
  local stop_signal=$1 user=$2 i
  shift 2
  for i in $(seq 1 50); do
    if "$@" >/dev/null 2>"$errors/check"; then serve "$stop_signal"; fi
    sleep 0.1
  done
  fail "the user $user cannot connect to the branch: $(first_error <"$errors/check")"
}

# Asks the source (the rest: the client command; its output is printed) until it answers, for up
# to 10 s; fails at once when it refuses the login (an error matching the extended regex $1).
ask_source() {
  local refused=$1 deadline=$((SECONDS + 10)) error
  shift
  while true; do
    if "$@" 2>"$errors/connect"; then return; fi
    error=$(first_error <"$errors/connect")
    if [[ "$error" =~ $refused ]]; then
      fail "the source database at $SOURCE_HOST:$SOURCE_PORT refused user $SOURCE_USER on database $SOURCE_DATABASE: $error"
    fi
    if ((SECONDS >= deadline)); then fail "the source database at $SOURCE_HOST:$SOURCE_PORT could not be reached: $error"; fi
    sleep 1
  done
}

# Branch mode's first steps (the engine's default port $1): the contract read, the source checked,
# the branch's server started with the source's user (and password) and database in it.
begin_branch() {
  SOURCE_PORT=${MIRRORD_BRANCH_SOURCE_PORT:-$1}
  read_copy_contract
  progress "branching $SOURCE_DATABASE at $SOURCE_HOST:$SOURCE_PORT as $SOURCE_USER, copy mode $COPY_MODE, ${#TABLE_NAMES[@]} filtered table(s)"
  check_source
  local options
  options=$(database_options)
  start_server
  create_user_and_database "$SOURCE_USER" "${MIRRORD_BRANCH_SOURCE_PASSWORD:-}" "$SOURCE_DATABASE" "$options"
  progress "user $SOURCE_USER and database $SOURCE_DATABASE created"
}

# Server mode: a fresh database MIRRORD_DB_DATABASE of user MIRRORD_DB_USER (password
# MIRRORD_DB_PASSWORD), created with the engine's options $1.
server_mode() {
  local user=${MIRRORD_DB_USER:-} password=${MIRRORD_DB_PASSWORD:-}
  [ -n "$user" ] || fail "MIRRORD_DB_USER is not set (server mode; or set MIRRORD_BRANCH_SOURCE_HOST to branch a database)"
  [ -n "$password" ] || fail "MIRRORD_DB_PASSWORD is not set"
  local database=${MIRRORD_DB_DATABASE:-$user}
  start_server
  create_user_and_database "$user" "$password" "$database" "${1:-}"
  progress "user $user and database $database created"
  open_and_serve "$user" "$password" "$database"
}
