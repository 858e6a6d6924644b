#!/usr/bin/env bash
# A database branch's MariaDB server: in branch mode (MIRRORD_BRANCH_SOURCE_HOST set) copies the
# source database (empty, schema, or all, with rows of listed tables filtered) with mariadb-dump and
# mariadb, then serves it with the source user's name and password (user@'%'); in server mode
# creates MIRRORD_DB_USER/MIRRORD_DB_PASSWORD's database MIRRORD_DB_DATABASE and serves it. Ready
# (the file /tmp/mirrord-branch-ready) once the database is complete and the user can connect; a
# failure is one line in /dev/termination-log and a non-zero exit. See ../README.md.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../common.sh
source "$here/common.sh"
VERSION=10.11
trap 'if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null; fi; exit 143' TERM INT

# SQL quoting: an identifier, a string literal.
ident() { local s=${1//\`/\`\`}; printf '`%s`' "$s"; }
literal() {
  local s=${1//\\/\\\\}
  s=${s//\'/\'\'}
  printf "'%s'" "$s"
}

# The branch's own server, over its socket, as the local administrator (mysql@localhost, by the
# socket's peer).
local_sql() { mariadb --no-defaults --protocol=socket --socket=/tmp/mysqld.sock -u mysql --batch --skip-column-names "$@"; }

start_server() {
  mariadbd &
  server_pid=$!
  await_server MariaDB 15 local_sql -e 'SELECT 1'
}

# The user@'%' (locked until the copy is done) and its database; the password travels only on the
# client's standard input.
create_user_and_database() {
  local user=$1 password=$2 database=$3 create_options=${4:-}
  local_sql 2>"$errors/user" <<<"CREATE USER $(literal "$user")@'%' IDENTIFIED BY $(literal "$password") ACCOUNT LOCK;
CREATE DATABASE $(ident "$database") $create_options;
GRANT ALL PRIVILEGES ON $(ident "$database").* TO $(literal "$user")@'%';" ||
    fail "creating the user $user and the database $database: $(first_error <"$errors/user")"
}

# User $1 logs in over TCP with password $2 (in the client's environment, not its arguments) to database $3.
user_logs_in() { MYSQL_PWD=$2 mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P 3306 -u "$1" -e 'SELECT 1' "$3"; }

# The user let in, a check that it gets in over TCP with its password, then ready.
open_and_serve() {
  local user=$1 password=$2 database=$3
  local_sql -e "ALTER USER $(literal "$user")@'%' ACCOUNT UNLOCK" 2>"$errors/unlock" ||
    fail "unlocking the user $user: $(first_error <"$errors/unlock")"
  serve_once_user_connects TERM "$user" user_logs_in "$user" "$password" "$database"
}

# ---- branch mode ----

# A client program ($1) to the source, the password in its environment only (never in argv).
src() {
  local program=$1
  shift
  MYSQL_PWD=${MIRRORD_BRANCH_SOURCE_PASSWORD:-} "$program" --no-defaults --protocol=tcp -h "$SOURCE_HOST" -P "$SOURCE_PORT" \
    -u "$SOURCE_USER" "$@"
}
# (mariadb-dump has no --connect-timeout: check_source, with it, has reached the source first.)
src_sql() { src mariadb --connect-timeout=3 --batch --skip-column-names "$@"; }
# mariadb-dump's error without the query it quotes.
dump_error() { first_error | sed -E "s/^Couldn't execute '.*': //; s/^Got error: //"; }

check_source() {
  local version
  version=$(ask_source '\((1044|1045|1049)\)|ERROR (1044|1045|1049)|Access denied|Unknown database' src_sql -e 'SELECT VERSION()' "$SOURCE_DATABASE")
  if [[ "$version" != *MariaDB* ]]; then
    fail "the source database at $SOURCE_HOST:$SOURCE_PORT runs MySQL $version, not MariaDB: this branch runs MariaDB $VERSION and needs a MariaDB $VERSION source"
  fi
  local major_minor
  major_minor=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$version")
  if [ "$major_minor" != "$VERSION" ]; then
    fail "the source database at $SOURCE_HOST:$SOURCE_PORT runs MariaDB $major_minor; this branch runs MariaDB $VERSION (the versions must match)"
  fi
  progress "source reachable: MariaDB ${version%%-*}"
}

# The source database's character set and collation, for the branch's.
database_options() {
  local row charset collation
  row=$(src_sql -e "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()" "$SOURCE_DATABASE" 2>"$errors/charset") ||
    fail "reading the source database's character set: $(first_error <"$errors/charset")"
  read -r charset collation <<<"$row"
  if [[ "$charset" =~ ^[a-z0-9_]+$ && "$collation" =~ ^[a-z0-9_]+$ ]]; then printf 'CHARACTER SET %s COLLATE %s' "$charset" "$collation"; fi
}

dump_options=(--single-transaction --no-tablespaces --hex-blob --default-character-set=utf8mb4 --skip-comments)
# Definers (views, routines, triggers) become the branch's user, who exists here.
definers=(cat)

# mariadb-dump's output (its options: the rest) into the branch; $1 names the step in messages.
restore() {
  local what=$1
  shift
  if ! src mariadb-dump "${dump_options[@]}" "$@" 2>"$errors/dump" | "${definers[@]}" |
    local_sql --default-character-set=utf8mb4 "$SOURCE_DATABASE" 2>"$errors/restore"; then
    if [ -s "$errors/dump" ] && grep -qv -e '^[[:space:]]*$' -e 'Warning' "$errors/dump"; then fail "$what: $(dump_error <"$errors/dump")"; fi
    fail "$what (restoring into the branch): $(first_error <"$errors/restore")"
  fi
}

branch_mode() {
  begin_branch 3306
  if [[ "$SOURCE_USER" =~ ^[A-Za-z0-9_.-]+$ ]]; then
    definers=(sed -E "s/DEFINER=\`([^\`]|\`\`)*\`@\`[^\`]*\`/DEFINER=\`$SOURCE_USER\`@\`%\`/g")
  fi
  if [ "$COPY_MODE" != empty ]; then
    restore "copying the schema" --no-data --skip-triggers --routines "$SOURCE_DATABASE"
    progress "schema (tables, views, routines) copied"
    local i ignored=()
    for i in "${!TABLE_NAMES[@]}"; do ignored+=("--ignore-table=$SOURCE_DATABASE.${TABLE_NAMES[$i]}"); done
    if [ "$COPY_MODE" = all ]; then
      restore "copying the rows" --no-create-info --skip-triggers "${ignored[@]}" "$SOURCE_DATABASE"
      progress "rows copied"
    fi
    for i in "${!TABLE_NAMES[@]}"; do
      local name=${TABLE_NAMES[$i]} filter=${TABLE_FILTERS[$i]} described
      described=${filter:+ with filter \"$filter\"}
      restore "copying table $name$described" --no-create-info --skip-triggers --where="(${filter:-true})" "$SOURCE_DATABASE" "$name"
      progress "table $name copied$described"
    done
    restore "copying the triggers" --no-data --no-create-info --triggers "$SOURCE_DATABASE"
    progress "triggers copied"
  fi
  open_and_serve "$SOURCE_USER" "${MIRRORD_BRANCH_SOURCE_PASSWORD:-}" "$SOURCE_DATABASE"
}

if [ -n "${MIRRORD_BRANCH_SOURCE_HOST:-}" ]; then branch_mode; else server_mode "CHARACTER SET utf8mb4"; fi
