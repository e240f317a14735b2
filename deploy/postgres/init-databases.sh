#!/bin/bash
# PostgreSQL first start (docker-entrypoint-initdb.d): one database and one login role per service, each
# role owning only its own database, so no service can read another's tables.
set -euo pipefail

prefix="${YTCS_DB_PREFIX:-ytcs_}"
for service in finance claims investment gateway; do
  password_var="${service^^}_DB_PASSWORD"
  password="${!password_var:-${YTCS_DB_PASSWORD:?set YTCS_DB_PASSWORD or ${password_var}}}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v role="${prefix}${service}" -v db="${prefix}${service}" -v pw="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
