#!/usr/bin/env bash
# Routing benchmark on a fresh database (dropped and made anew each run):
#   tools/bench.sh [--technicians 5000] [--ranges 10] [--inquiries 10000] [--history 1000000]
#                  [--history-sample 1000] [--history-rounds 3] [--history-won 0.65]
#                  [--odoo-members N] [--odoo-inquiries 500]
# A quick check: tools/bench.sh --technicians 500 --inquiries 2000 --history 100000 --odoo-inquiries 100
# the benchmark needs whole countries, not the shipped sample
GEONAMES_DIR=${GEONAMES_DIR:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data/geonames}
case " $* " in *" -h "* | *" --help "*) exec python3 "$(dirname "$0")/bench_routing.py" -c - -d - --help ;; esac
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-${ADDON}_bench}
check_odoo
check_postgres
note_autovacuum
prepare_addons copy
CONF="$WORK/bench.conf"
write_config "$CONF" "$DB"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
# 1,000,000 past offers unless told otherwise (--history 0: none)
exec python3 "$ADDON_DIR/tools/bench_routing.py" -c "$CONF" -d "$DB" --history 1000000 "$@"
