#!/usr/bin/env bash
# Run a Temporal server on PostgreSQL in the foreground, all from the repository: a PostgreSQL cluster of its own in
# .data/temporal-postgres (no system service), the temporal and temporal_visibility schemas set up and migrated with
# Temporal's SQL tool, the server started with deploy/temporal/config.yaml, and the namespace and the project's search
# attributes registered (deploy/temporal/register.sh). docker-compose.yml runs the same config, schema script,
# registration script and dynamic config.
#
#   npm run server:postgres                      # gRPC 127.0.0.1:7233, the same address as `npm run server`
#   npm run server:postgres -- --port 7500       # frontend on 7500; the other services' ports follow it
#
# Idempotent: a second run reuses the cluster, skips schema versions already applied and attributes already
# registered; if a server already answers on the port, it registers what is missing and exits 0.
# Ctrl-C (or SIGTERM to this script) stops the Temporal server, then the PostgreSQL server if this run started it.
#
# Environment:
#   HITL_TEMPORAL_PG_DIR  the cluster's folder (default .data/temporal-postgres in the repository)
#   HITL_TEMPORAL_PG_PORT PostgreSQL's TCP port on 127.0.0.1 (default 55432)
#   HITL_PG_BIN           folder of initdb/pg_ctl (default the newest /usr/lib/postgresql/N/bin)
#   LOG_LEVEL             the server's log level (default warn); TEMPORAL_TLS_* and the rest: deploy/temporal/config.yaml
set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
log() { printf 'server-postgres: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

port=7233
while (($# > 0)); do
  case "$1" in
    --port) port="${2:?--port needs a value}" && shift 2 ;;
    --port=*) port="${1#--port=}" && shift ;;
    *) die "unknown argument '$1' (only --port PORT)" ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] && ((port >= 1024 && port <= 65000)) || die "--port must be a number from 1024 to 65000"

# The server's ports, derived from the frontend's so that one number moves them all: with the default 7233 they are
# Temporal's usual ones (history 7234, matching 7235, worker 7239, HTTP 7243; membership 6933-6939).
export FRONTEND_GRPC_PORT="$port" HISTORY_GRPC_PORT=$((port + 1)) MATCHING_GRPC_PORT=$((port + 2))
export WORKER_GRPC_PORT=$((port + 6)) FRONTEND_HTTP_PORT=$((port + 10))
if ((port == 7233)); then membership=6933; else membership=$((port + 20)); fi
export FRONTEND_MEMBERSHIP_PORT=$membership HISTORY_MEMBERSHIP_PORT=$((membership + 1))
export MATCHING_MEMBERSHIP_PORT=$((membership + 2)) WORKER_MEMBERSHIP_PORT=$((membership + 6))
address="127.0.0.1:$port"

pg_dir="${HITL_TEMPORAL_PG_DIR:-$repo_root/.data/temporal-postgres}"
pg_port="${HITL_TEMPORAL_PG_PORT:-55432}"
if [[ -n "${HITL_PG_BIN:-}" ]]; then
  pg_bin="$HITL_PG_BIN"
else
  pg_bin="$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sort -V | tail -n 1 || true)"
  [[ -n "$pg_bin" ]] || die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): \`sudo apt-get install -y postgresql\`, or set HITL_PG_BIN"
  pg_bin="$(dirname -- "$pg_bin")"
fi

cli="$(bash "$repo_root/scripts/temporal-cli.sh")"
server="$(bash "$repo_root/scripts/temporal-server.sh")"
sql_tool="$(bash "$repo_root/scripts/temporal-server.sh" sql-tool)"

# Someone already serves this port: make sure the namespace and attributes are there, and stop.
if "$cli" operator cluster health --address "$address" >/dev/null 2>&1; then
  log "a Temporal server already answers on $address; checking the namespace and search attributes only"
  TEMPORAL_CLI="$cli" TEMPORAL_ADDRESS="$address" sh "$repo_root/deploy/temporal/register.sh" >&2
  exit 0
fi

# PostgreSQL refuses to run as root: as root, its folder belongs to the `postgres` user and its tools run as that user.
as_pg() {
  if (($(id -u) == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}
mkdir -p -- "$pg_dir"
if (($(id -u) == 0)); then chown postgres:postgres "$pg_dir"; fi
chmod 700 "$pg_dir"
# The database password: made once, kept beside the cluster (the folder is private to its owner).
password_file="$pg_dir/password"
if [[ ! -s "$password_file" ]]; then
  (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$password_file")
  if (($(id -u) == 0)); then chown postgres:postgres "$password_file"; fi
fi
password="$(cat -- "$password_file")"
data="$pg_dir/data"
if [[ ! -f "$data/PG_VERSION" ]]; then
  log "creating a PostgreSQL cluster in $data"
  as_pg "$pg_bin/initdb" -D "$data" -U temporal --pwfile="$password_file" -A scram-sha-256 -E UTF8 --locale=C >&2
fi
started_pg=false
stop_pg() {
  if [[ "$started_pg" == true ]]; then
    log "stopping PostgreSQL"
    as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
    started_pg=false
  fi
}
if as_pg "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  log "PostgreSQL is already running in $data"
else
  log "starting PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/pg_ctl" -D "$data" -l "$pg_dir/postgres.log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_dir" start >/dev/null ||
    die "PostgreSQL did not start; see $pg_dir/postgres.log"
  started_pg=true
fi

server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    log "stopping the Temporal server"
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -f -- "$pg_dir/ready"
  stop_pg
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The schema files ship in the server's Go module; `go install` put it in the module cache, else fetch it.
module_dir="$(go env GOMODCACHE 2>/dev/null || true)/go.temporal.io/server@v1.31.2"
if [[ ! -d "$module_dir/schema/postgresql/v12" ]]; then
  command -v go >/dev/null 2>&1 || die "the schema files of Temporal Server 1.31.2 are not in the Go module cache and Go is not installed"
  log "fetching the schema files (go mod download go.temporal.io/server@v1.31.2)"
  (cd / && go mod download go.temporal.io/server@v1.31.2) >&2
fi
# The SQL tool logs every statement it runs: keep that in a file, show it only when something fails.
log "setting up and migrating the schemas (details in $pg_dir/schema.log)"
if ! POSTGRES_SEEDS=127.0.0.1 DB_PORT="$pg_port" POSTGRES_USER=temporal SQL_PASSWORD="$password" \
  SCHEMA_ROOT="$module_dir/schema/postgresql/v12" SQL_TOOL="$sql_tool" \
  sh "$repo_root/deploy/temporal/setup-schema.sh" >"$pg_dir/schema.log" 2>&1; then
  tail -n 30 -- "$pg_dir/schema.log" >&2
  die "the schema set-up failed (the whole log: $pg_dir/schema.log)"
fi
log "schemas current ($(grep -c 'Schema updated from' -- "$pg_dir/schema.log" || true) version steps applied by this run)"

log "starting Temporal Server 1.31.2 on $address (config deploy/temporal/config.yaml)"
cd -- "$repo_root"
POSTGRES_SEEDS=127.0.0.1 DB_PORT="$pg_port" POSTGRES_USER=temporal POSTGRES_PWD="$password" \
  "$server" --config-file deploy/temporal/config.yaml --allow-no-auth start &
server_pid=$!

attempt=0
until "$cli" operator cluster health --address "$address" >/dev/null 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || die "the Temporal server exited before answering (see its output above)"
  attempt=$((attempt + 1))
  ((attempt <= 300)) || die "the Temporal server did not answer on $address within 60 s"
  sleep 0.2
done
# In the background, so that Ctrl-C is handled at once rather than after the script (bash defers traps until the
# foreground command ends, but interrupts `wait`).
TEMPORAL_CLI="$cli" TEMPORAL_ADDRESS="$address" sh "$repo_root/deploy/temporal/register.sh" >&2 &
wait $! || die "registering the namespace and search attributes failed (see above)"
printf '%s\n' "$address" >"$pg_dir/ready"
log "ready: TEMPORAL_ADDRESS=$address (PostgreSQL 127.0.0.1:$pg_port, data in $pg_dir); Ctrl-C stops it"
wait "$server_pid"
