#!/usr/bin/env bash
# Customer matching benchmark on a fresh database (dropped and made anew each run):
#   tools/bench_matching.sh [--customers 300000] [--contracts 100000] [--requests 600] [--target-ms 5]
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/bench_matching.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-${ADDON}_bench_matching}
check_odoo
check_postgres
note_autovacuum
prepare_addons copy
CONF="$WORK/bench-matching.conf"
write_config "$CONF" "$DB"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
exec python3 "$ADDON_DIR/tools/bench_matching.py" -c "$CONF" -d "$DB" "$@"
