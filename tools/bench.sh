#!/usr/bin/env bash
# Routing benchmark on a fresh database (dropped and made anew each run):
#   tools/bench.sh [--technicians 5000] [--ranges 10] [--inquiries 10000] [--odoo-members N] [--odoo-inquiries 500]
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-${ADDON}_bench}
check_odoo
check_postgres
prepare_addons copy
CONF="$WORK/bench.conf"
write_config "$CONF" "$DB"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
exec python3 "$ADDON_DIR/tools/bench_routing.py" -c "$CONF" -d "$DB" "$@"
