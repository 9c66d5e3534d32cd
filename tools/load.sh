#!/usr/bin/env bash
# Intake load test on a fresh database (dropped and made anew each run): sets up
# 40 technicians in Munich, serves Odoo on 127.0.0.1 (2 workers, 1 cron thread),
# sends submit_service_request and plain create calls from 4 client processes
# over XML-RPC, prints the figures and stops the server (a few minutes):
#   tools/load.sh [--clients 4] [--requests 500] [--technicians 40] [--capacity 30] [--port 8079]
# the load test sends Munich postal codes: the whole GeoNames file of DE, not the shipped sample
GEONAMES_DIR=${GEONAMES_DIR:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data/geonames}
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/load_intake.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${LOAD_DB:-${ADDON}_load}
check_odoo
check_postgres
note_autovacuum
prepare_addons copy
CONF="$WORK/load.conf"
write_config "$CONF" "$DB"
LOG="$WORK/load-install.log"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
if ! odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn >"$LOG" 2>&1; then
    cat "$LOG"; die "installation failed"
fi
exec python3 "$ADDON_DIR/tools/load_intake.py" -c "$CONF" -d "$DB" --server-log "$WORK/load-server.log" "$@"
