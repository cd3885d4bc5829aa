#!/usr/bin/env bash
# The integration suite against Temporal on PostgreSQL (`npm run test:postgres`):
#   1. starts scripts/server-postgres.sh (the `npm run server:postgres` server) on a cluster and ports of its own,
#      .data/temporal-postgres-test and 127.0.0.1:7433 unless HITL_TEMPORAL_PG_DIR / HITL_TEST_POSTGRES_PORT say else;
#   2. runs test/all.ts against it (HITL_TEST_TEMPORAL_ADDRESS): every suite but server-restart.test.ts, which crashes a
#      dev server of its own (test/all.ts says so);
#   3. runs test/postgres/all.ts: the server's services as separate processes, and mutual TLS, each on a server of
#      its own (test/support/temporal-postgres.ts);
#   4. stops the server and its PostgreSQL.
# `--core` (first argument) runs test/postgres/core-suite.ts instead of test/all.ts in step 2: the part .ci/run runs.
# Other arguments go to node's test runner (e.g. `npm run test:postgres -- --test-name-pattern=refund`).
set -euo pipefail

suite=test/all.ts
if [[ "${1:-}" == "--core" ]]; then
  suite=test/postgres/core-suite.ts
  shift
fi

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$repo_root"
log() { printf 'test-postgres: %s\n' "$*" >&2; }

port="${HITL_TEST_POSTGRES_PORT:-7433}"
export HITL_TEMPORAL_PG_DIR="${HITL_TEMPORAL_PG_DIR:-$repo_root/.data/temporal-postgres-test}"
export HITL_TEMPORAL_PG_PORT="${HITL_TEMPORAL_PG_PORT:-55433}"
export TEMPORAL_CLI="${TEMPORAL_CLI:-$(bash scripts/temporal-cli.sh)}"
export TEMPORAL_SERVER="${TEMPORAL_SERVER:-$(bash scripts/temporal-server.sh)}"
export TEMPORAL_SQL_TOOL="${TEMPORAL_SQL_TOOL:-$(bash scripts/temporal-server.sh sql-tool)}"
server_log="$(mktemp -t hitl-temporal-postgres.XXXXXX.log)"

rm -f -- "$HITL_TEMPORAL_PG_DIR/ready"
log "starting Temporal on PostgreSQL on 127.0.0.1:$port (output in $server_log)"
bash scripts/server-postgres.sh --port "$port" >"$server_log" 2>&1 &
server_pid=$!
stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT

# The script writes the ready file once the namespace and the search attributes are registered.
until [[ -s "$HITL_TEMPORAL_PG_DIR/ready" ]]; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 40 -- "$server_log" >&2
    log "the server did not start (the whole log: $server_log)"
    exit 1
  fi
  sleep 0.2
done
log "server ready after ${SECONDS}s"

suite_started=$SECONDS
HITL_TEST_TEMPORAL_ADDRESS="127.0.0.1:$port" HITL_LOG_LEVEL="${HITL_LOG_LEVEL:-warn}" \
  node --import tsx --test --test-timeout=3600000 --test-reporter=spec "$@" "$suite"
log "$suite against PostgreSQL passed in $((SECONDS - suite_started))s"

stop_server
postgres_started=$SECONDS
HITL_LOG_LEVEL="${HITL_LOG_LEVEL:-warn}" node --import tsx --test --test-timeout=600000 --test-reporter=spec "$@" \
  test/postgres/all.ts
log "test/postgres/all.ts passed in $((SECONDS - postgres_started))s; everything in ${SECONDS}s"
