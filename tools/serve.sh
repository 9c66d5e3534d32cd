#!/usr/bin/env bash
# Sets up a database with this addon and its demo data (once), then serves
# Odoo on http://127.0.0.1:8069 (login admin / admin).
#   tools/serve.sh [DATABASE]     default: crm_service_routing
source "$(dirname "$0")/common.sh"
DB=${1:-$ADDON}
check_odoo
check_postgres
prepare_addons
CONF="$WORK/serve.conf"
write_config "$CONF" "$DB"
if ! psql -d "$DB" -tAc "SELECT 1 FROM ir_module_module WHERE name = '$ADDON' AND state = 'installed'" 2>/dev/null | grep -q 1; then
    echo "Installing $ADDON with demo data into database $DB ..."
    odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --stop-after-init
fi
echo "Odoo on http://127.0.0.1:${HTTP_PORT:-8069} (database $DB, login admin / admin)"
exec python3 -c "import sys, odoo.cli; sys.argv[0] = 'odoo'; odoo.cli.main()" -c "$CONF" -d "$DB" --db-filter="^$DB\$"
