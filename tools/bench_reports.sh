#!/usr/bin/env bash
# Reporting benchmark on a fresh database (dropped and made anew each run):
#   tools/bench_reports.sh [--inquiries 200000] [--offers 1000000] [--technicians 5000] [--repeats 0.05]
# Again on the data already inserted: BENCH_KEEP=1 tools/bench_reports.sh --no-insert
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/bench_reports.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-${ADDON}_bench_reports}
check_odoo
check_postgres
note_autovacuum
prepare_addons copy
CONF="$WORK/bench-reports.conf"
write_config "$CONF" "$DB"
if [ -z "${BENCH_KEEP:-}" ]; then
    dropdb --if-exists --force "$DB"
    echo "Installing $ADDON without demo data into a fresh database $DB ..."
    odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
fi
exec python3 "$ADDON_DIR/tools/bench_reports.py" -c "$CONF" -d "$DB" "$@"
