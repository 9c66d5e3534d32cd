#!/usr/bin/env bash
# Desktop screenshots of the back office (and any shots added with --shots FILE.json)
# on a database with demo data: sets it up once, starts a server unless one answers on
# HTTP_PORT, drives headless Chromium through tools/screenshots.py, stops the server.
#   tools/screenshots.sh [--db DATABASE] [--out DIR] [screenshots.py options ...]
#   default: database crm_service_routing_screenshots, PNGs in $WORK/screenshots
source "$(dirname "$0")/common.sh"
DB=${ADDON}_screenshots
OUT=$WORK/screenshots
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --db) DB=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
PORT=${HTTP_PORT:-8069}
URL="http://127.0.0.1:$PORT"
check_odoo
check_postgres
python3 -c "import websocket" 2>/dev/null || die "missing websocket-client: pip install websocket-client"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (set CHROMIUM)"
prepare_addons
CONF="$WORK/screenshots-$DB.conf"
write_config "$CONF" "$DB"
if ! psql -d "$DB" -tAc "SELECT 1 FROM ir_module_module WHERE name = '$ADDON' AND state = 'installed'" 2>/dev/null | grep -q 1; then
    echo "Installing $ADDON with demo data into database $DB ..."
    odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --stop-after-init --log-level=warn
elif ! curl -fs "http://127.0.0.1:${HTTP_PORT:-8069}/web/login" >/dev/null 2>&1; then
    echo "Updating $ADDON in database $DB to this checkout ..."
    odoo_bin -c "$CONF" -d "$DB" -u "$ADDON" --stop-after-init --log-level=warn
fi
SERVER=
if ! curl -fs "$URL/web/login" >/dev/null 2>&1; then
    echo "Starting Odoo on $URL (database $DB) ..."
    # python itself in the background (not a function's subshell): $! is the server to stop
    python3 -c "import sys, odoo.cli; sys.argv[0] = 'odoo'; odoo.cli.main()" -c "$CONF" -d "$DB" \
        --db-filter="^$DB\$" --max-cron-threads=0 --log-level=warn >"$WORK/screenshots-server.log" 2>&1 &
    SERVER=$!
    trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null' EXIT
    for _ in $(seq 1 120); do
        curl -fs "$URL/web/login" >/dev/null 2>&1 && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/screenshots-server.log"; die "the server stopped"; }
        sleep 1
    done
fi
python3 "$REPO/tools/screenshots.py" --url "$URL" --db "$DB" --out "$OUT" "${ARGS[@]}"
