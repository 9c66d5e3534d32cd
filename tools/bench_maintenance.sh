#!/usr/bin/env bash
# Maintenance benchmark on a fresh database (dropped and made anew each run):
#   tools/bench_maintenance.sh [--plans 100000] [--due 1000] [--customers 1000] [--covering 50] [--batch-size 100]
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/bench_maintenance.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-${ADDON}_bench_maintenance}
check_odoo
check_postgres
note_autovacuum
prepare_addons copy
CONF="$WORK/bench-maintenance.conf"
write_config "$CONF" "$DB"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
exec python3 "$ADDON_DIR/tools/bench_maintenance.py" -c "$CONF" -d "$DB" "$@"
