#!/usr/bin/env bash
# Postgres' first start (docker-entrypoint-initdb.d): the warehouse database and its roles.
set -euo pipefail
: "${CRM_TRANSFORM_PASSWORD:?set CRM_TRANSFORM_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v transform_password="$CRM_TRANSFORM_PASSWORD" -f /opt/crm-init/init-warehouse.sql
