#!/usr/bin/env bash
# Escalation benchmark on a fresh database (dropped and made anew each run):
#   tools/bench_escalation.sh [--offers 200000] [--due-share 0.01] [--technicians 5000] [--covering 50] [--batch-size 200]
#   [--profile N]: the full run under cProfile, its N costliest functions
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/bench_escalation.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-${ADDON}_bench_escalation}
check_odoo
check_postgres
note_autovacuum
prepare_addons copy
CONF="$WORK/bench-escalation.conf"
write_config "$CONF" "$DB"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
exec python3 "$ADDON_DIR/tools/bench_escalation.py" -c "$CONF" -d "$DB" "$@"
