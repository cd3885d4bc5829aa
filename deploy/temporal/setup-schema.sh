#!/bin/sh
# One-shot (temporalio/admin-tools): create the two PostgreSQL databases Temporal needs and bring their
# schemas to the version this admin-tools image ships. Safe to rerun: `create` and `setup-schema -v 0.0`
# are no-ops on an existing database and `update-schema` applies only missing versions, which is also how a
# server upgrade is done (bump both image tags, then `docker compose up`).
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port="${DB_PORT:-5432}"
schema_root="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}" # overridable for tests outside the image

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
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
