#!/usr/bin/env bash
# Compose postgres init (after 10-readonly-role.sql): give the Grafana read-only role its password from
# the environment (.env GRAFANA_DB_PASSWORD), so no secret is ever written into the repo.
set -euo pipefail
: "${GRAFANA_DB_PASSWORD:?GRAFANA_DB_PASSWORD is not set (see .env.example)}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v reader_password="$GRAFANA_DB_PASSWORD" <<'EOSQL'
alter role grafana_reader with login password :'reader_password';
EOSQL
