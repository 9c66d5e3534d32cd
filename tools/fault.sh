#!/usr/bin/env bash
# Fault runs on a fresh database (dropped and made anew each run): kill -9 of
# the Odoo server during a batch intake over XML-RPC, then of an escalation
# run; after a restart the same batches are sent again and the run finishes;
# each time tools/check.sh checks the database. A few minutes:
#   tools/fault.sh [--batches 10] [--batch-size 30] [--kill-after 0.5] [--port 8089]
# the fixture sends Munich postal codes: the whole GeoNames file of DE if there, else the shipped sample
SHARED_GEONAMES=$(cd "$(dirname "$0")/.." && pwd)/../shared/data/geonames
if [ -z "${GEONAMES_DIR:-}" ] && [ -d "$SHARED_GEONAMES" ]; then
    GEONAMES_DIR=$SHARED_GEONAMES
fi
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/fault_kill.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${FAULT_DB:-${ADDON}_fault}
check_odoo
check_postgres
prepare_addons copy
CONF="$WORK/fault.conf"
write_config "$CONF" "$DB"
LOG="$WORK/fault-install.log"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
if ! odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn >"$LOG" 2>&1; then
    cat "$LOG"; die "installation failed"
fi
exec python3 "$ADDON_DIR/tools/fault_kill.py" -c "$CONF" -d "$DB" --server-log "$WORK/fault-server.log" "$@"
