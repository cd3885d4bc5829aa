#!/bin/sh
# One-shot (temporalio/admin-tools): create the two PostgreSQL databases Temporal needs and bring their
# schemas to the version this admin-tools image ships. Safe to rerun: `create` and `setup-schema -v 0.0`
# are no-ops on an existing database and `update-schema` applies only missing versions, which is also how a
# server upgrade is done (bump both image tags, then `docker compose up`). scripts/server-postgres.sh runs this same
# script outside a container (`npm run server:postgres`), with SQL_TOOL and SCHEMA_ROOT pointing at its own build.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port="${DB_PORT:-5432}"
schema_root="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}" # the image's copy, else the Go module's

sql_tool() {
  "${SQL_TOOL:-temporal-sql-tool}" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db="${pair%%:*}"
  dir="$schema_root/${pair#*:}/versioned"
  echo "schema: $db <- $dir"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$dir"
done
echo 'schema: done'
