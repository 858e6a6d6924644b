#!/usr/bin/env bash
# A database branch's PostgreSQL server: in branch mode (MIRRORD_BRANCH_SOURCE_HOST set) copies the
# source database (empty, schema, or all, with rows of listed tables filtered) with pg_dump and psql,
# then serves it with the source user's name and password; in server mode creates
# MIRRORD_DB_USER/MIRRORD_DB_PASSWORD's database MIRRORD_DB_DATABASE and serves it. Ready (the
# file /tmp/mirrord-branch-ready) once the database is complete and the user can connect; a
# failure is one line in /dev/termination-log and a non-zero exit. See ../README.md.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../common.sh
source "$here/common.sh"
MAJOR=15
ADMIN=mirrord_admin
trap 'if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null; fi; exit 143' TERM INT

# SQL quoting: an identifier, a literal.
ident() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }
literal() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
# A table name as given (`table` or `schema.table`), each part an exact identifier; a name that
# already quotes itself is taken as it is.
table_ident() {
  if [[ "$1" == *'"'* ]]; then printf '%s' "$1"; return; fi
  if [[ "$1" == *.* ]]; then printf '%s.%s' "$(ident "${1%%.*}")" "$(ident "${1#*.}")"; else ident "$1"; fi
}

# The branch's own server, over its local socket, as the bootstrap superuser.
local_psql() { psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U "$ADMIN" "$@"; }

start_server() {
  # Until the copy is done, no TCP client is let in (the user's final rules come after).
  printf '%s\n' 'local all all trust' 'host all all all reject' >"$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" &
  server_pid=$!
  await_server PostgreSQL 10 pg_isready -q -h /tmp -p 5432 -U "$ADMIN"
}

# The user (the same name and password as the source's), owner of the database, let in over TCP
# with its password; the password travels only on psql's standard input.
create_user_and_database() {
  local user=$1 password=$2 database=$3 create_options=${4:-}
  local exists verb=CREATE
  exists=$(local_psql -d postgres -A -t -c "SELECT 1 FROM pg_roles WHERE rolname = $(literal "$user")" 2>"$errors/user") ||
    fail "creating the user $user: $(first_error <"$errors/user")"
  if [ -n "$exists" ]; then verb=ALTER; fi
  local_psql -d postgres >/dev/null 2>"$errors/user" <<<"$verb ROLE $(ident "$user") LOGIN PASSWORD $(literal "$password");" ||
    fail "creating the user $user: $(first_error <"$errors/user")"
  if [ "$database" != postgres ]; then
    local_psql -d postgres -c "CREATE DATABASE $(ident "$database") OWNER $(ident "$user") $create_options" 2>"$errors/db" ||
      fail "creating the database $database: $(first_error <"$errors/db")"
  else
    local_psql -d postgres -c "ALTER DATABASE postgres OWNER TO $(ident "$user")" 2>"$errors/db" ||
      fail "creating the database $database: $(first_error <"$errors/db")"
  fi
}

# User $1 logs in over TCP with password $2 (in psql's environment, not its arguments) to database $3.
user_logs_in() { PGPASSWORD=$2 psql -X -q -h 127.0.0.1 -p 5432 -U "$1" -d "$3" -c 'SELECT 1'; }

# TCP with a password for everyone (the superuser has none: it cannot log in that way), then a
# check that the user gets in, then ready.
open_and_serve() {
  local user=$1 password=$2 database=$3
  printf '%s\n' 'local all all trust' 'host all all 0.0.0.0/0 scram-sha-256' 'host all all ::/0 scram-sha-256' >"$PGDATA/pg_hba.conf"
  local_psql -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
  serve_once_user_connects INT "$user" user_logs_in "$user" "$password" "$database"
}

# ---- branch mode ----

# The source, with the password in the environment of the one command only (never in argv).
src() {
  PGHOST=$SOURCE_HOST PGPORT=$SOURCE_PORT PGUSER=$SOURCE_USER PGPASSWORD=${MIRRORD_BRANCH_SOURCE_PASSWORD:-} \
    PGDATABASE=$SOURCE_DATABASE PGCONNECT_TIMEOUT=3 PGAPPNAME=mirrord-db-branch "$@"
}
src_psql() { src psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# The branch's database, as its user (what it creates, it owns), over the local socket.
dst_psql() { psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U "$SOURCE_USER" -d "$SOURCE_DATABASE" "$@"; }

# The source answers (within ~10 s), the credentials work, the major version is ours.
check_source() {
  local version
  version=$(ask_source 'password authentication failed|does not exist|no pg_hba\.conf entry|permission denied' src_psql -A -t -c 'SHOW server_version_num')
  version=${version//[[:space:]]/}
  [[ "$version" =~ ^[0-9]+$ ]] || fail "the source database at $SOURCE_HOST:$SOURCE_PORT did not tell its version (got \"$version\")"
  if ((version / 10000 != MAJOR)); then
    fail "the source database at $SOURCE_HOST:$SOURCE_PORT runs PostgreSQL $((version / 10000)); this branch runs PostgreSQL $MAJOR (the major versions must match)"
  fi
  progress "source reachable: PostgreSQL $((version / 10000)).$((version % 10000))"
}

# The source's encoding and locale for the branch's database (C where the image lacks the locale).
database_options() {
  local row encoding collate ctype
  row=$(src_psql -A -t -F '|' -c "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database()" 2>"$errors/enc") ||
    fail "reading the source database's encoding: $(first_error <"$errors/enc")"
  IFS='|' read -r encoding collate ctype <<<"$row"
  if locale -a 2>/dev/null | grep -qix -e "${collate//./\\.}" -e "${collate/UTF-8/utf8}" && [ "$collate" = "$ctype" ]; then
    printf "TEMPLATE template0 ENCODING %s LC_COLLATE %s LC_CTYPE %s" "$(literal "$encoding")" "$(literal "$collate")" "$(literal "$ctype")"
  elif [ "$encoding" = UTF8 ]; then
    printf "TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"
  else
    printf "TEMPLATE template0 ENCODING %s LOCALE 'C'" "$(literal "$encoding")"
  fi
}

# One snapshot of the source for every dump and copy, held by a session open until the end.
export_snapshot() {
  coproc SNAPSHOT { src psql -X -q -A -t -v ON_ERROR_STOP=1 2>/dev/null; }
  printf '%s\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;' 'SELECT pg_export_snapshot();' >&"${SNAPSHOT[1]}"
  SNAPSHOT_ID=
  read -r -t 10 SNAPSHOT_ID <&"${SNAPSHOT[0]}" || true
  if [ -z "$SNAPSHOT_ID" ]; then progress "no snapshot of the source (each step reads its own)"; fi
}

dump_options=(--no-owner --no-privileges --no-publications --no-subscriptions --no-security-labels --no-tablespaces)
dump() {
  local snapshot=()
  if [ -n "${SNAPSHOT_ID:-}" ]; then snapshot=(--snapshot="$SNAPSHOT_ID"); fi
  src pg_dump "${dump_options[@]}" "${snapshot[@]}" "$@"
}

# pg_dump's section $1 into the branch; $2 names the step in messages; the rest go to pg_dump.
restore_section() {
  local section=$1 what=$2
  shift 2
  local filter=(cat)
  # Filtered rows may lack what they reference (or be referenced by what was left out): foreign
  # keys are then made NOT VALID, enforced for new rows only.
  if [ "$section" = post-data ] && ((${#TABLE_NAMES[@]} > 0)); then
    filter=(sed -E '/^    ADD CONSTRAINT .* FOREIGN KEY .*;$/ s/;$/ NOT VALID;/')
  fi
  if ! dump --section="$section" "$@" 2>"$errors/dump" | "${filter[@]}" | dst_psql -1 >/dev/null 2>"$errors/restore"; then
    if [ -s "$errors/dump" ]; then fail "dumping the source's $what: $(first_error <"$errors/dump")"; fi
    fail "restoring the source's $what: $(first_error <"$errors/restore")"
  fi
  progress "$what copied"
}

# The rows of a listed table matching its filter, streamed from a COPY on the source into a COPY on
# the branch (the columns the branch's table can take, generated ones left out).
copy_filtered() {
  local name=$1 filter=$2 table columns described
  table=$(table_ident "$name")
  described=${filter:+ with filter \"$filter\"}
  columns=$(local_psql -d "$SOURCE_DATABASE" -A -t -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = $(literal "$table")::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''" 2>"$errors/columns") ||
    fail "copying table $name$described: $(first_error <"$errors/columns") (in the source's schema as copied)"
  local select="SELECT $columns FROM $table WHERE (${filter:-true})"
  local snapshot=''
  if [ -n "${SNAPSHOT_ID:-}" ]; then snapshot="SET TRANSACTION SNAPSHOT $(literal "$SNAPSHOT_ID");"; fi
  if ! src_psql -c "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; $snapshot" -c "COPY ($select) TO STDOUT" -c 'COMMIT' 2>"$errors/copy-out" |
    dst_psql -c "COPY $table ($columns) FROM STDIN" 2>"$errors/copy-in"; then
    if [ -s "$errors/copy-out" ]; then fail "copying table $name$described: $(first_error <"$errors/copy-out")"; fi
    fail "copying table $name$described into the branch: $(first_error <"$errors/copy-in")"
  fi
  progress "table $name copied$described"
}

# Sequences where the source's are (schema mode: no rows, but new rows don't reuse the source's ids).
copy_sequence_positions() {
  if ! src_psql -A -t -c "SELECT format('SELECT pg_catalog.setval(%L, %s, true);', format('%I.%I', schemaname, sequencename), last_value) FROM pg_sequences WHERE last_value IS NOT NULL" 2>"$errors/seq-out" |
    dst_psql >/dev/null 2>"$errors/seq-in"; then
    progress "sequence positions not copied: $(cat "$errors/seq-out" "$errors/seq-in" | first_error)"
    return
  fi
  progress "sequence positions copied"
}

branch_mode() {
  begin_branch 5432
  if [ "$COPY_MODE" != empty ]; then
    export_snapshot
    restore_section pre-data "schema (tables, types, functions, sequences)"
    local excluded=() i
    for i in "${!TABLE_NAMES[@]}"; do excluded+=("--exclude-table-data=$(table_ident "${TABLE_NAMES[$i]}")"); done
    if [ "$COPY_MODE" = all ]; then
      restore_section data "rows" "${excluded[@]}"
    else
      copy_sequence_positions
    fi
    for i in "${!TABLE_NAMES[@]}"; do copy_filtered "${TABLE_NAMES[$i]}" "${TABLE_FILTERS[$i]}"; done
    restore_section post-data "indexes, constraints and triggers"
    if [ -n "${SNAPSHOT_PID:-}" ]; then kill "$SNAPSHOT_PID" 2>/dev/null || true; fi
    local_psql -d "$SOURCE_DATABASE" -c 'ANALYZE' >/dev/null 2>&1 || true
  fi
  open_and_serve "$SOURCE_USER" "${MIRRORD_BRANCH_SOURCE_PASSWORD:-}" "$SOURCE_DATABASE"
}

if [ -n "${MIRRORD_BRANCH_SOURCE_HOST:-}" ]; then branch_mode; else server_mode; fi
