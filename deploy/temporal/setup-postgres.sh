#!/bin/sh
# Creates Temporal's two PostgreSQL databases, temporal (workflow state) and
# temporal_visibility (what the UI and list queries search), and brings both
# schemas up to the version this admin-tools image ships. Run by the
# temporal-schema service of docker-compose.yml before the server starts.
#
# Every step is idempotent: an existing database is kept, the version tables
# are created only when missing, and update-schema applies only the versions
# not yet applied. So this runs on every `docker compose up`, and after the
# server and admin-tools image tags are raised together it performs the schema
# upgrade the new server needs before the new server starts.
#
# Connection settings come from the environment (temporal-sql-tool reads
# SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD).
set -eu

for pair in temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility; do
  db=${pair%%:*}
  schema=${pair#*:}
  echo "setup-postgres: database $db, schema $schema"
  temporal-sql-tool --db "$db" create-database
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
done
echo "setup-postgres: done"
