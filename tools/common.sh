#!/usr/bin/env bash
# Shared by serve.sh, test.sh and bench.sh: checks the machine, prepares an
# addons path and an Odoo configuration for this checkout. Source it.
set -euo pipefail

ADDON=crm_service_routing
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${SERVICE_ROUTING_WORKDIR:-${XDG_CACHE_HOME:-$HOME/.cache}/$ADDON}
# GeoNames folder for the server option geonames_data_dir; empty: the sample
# shipped in data/geonames (enough for the demo and the tests)
GEONAMES_DIR=${GEONAMES_DIR:-}
mkdir -p "$WORK/addons"

die() { echo "error: $*" >&2; exit 2; }

check_odoo() {
    python3 -c "import odoo" 2>/dev/null || die "python3 cannot import odoo.
Install Odoo 18.0 into this Python first (its source package, then 'pip install -e <odoo source>'
and its requirements.txt); see README.rst, section Installation."
    python3 - <<'PY' || die "this addon needs Odoo 18.0"
import odoo.release, sys
sys.exit(0 if odoo.release.version_info[0] == 18 else 1)
PY
    python3 -c "import phonenumbers" 2>/dev/null || die "missing Python libraries: pip install -r $REPO/requirements.txt"
}

# a benchmark's figures assume PostgreSQL's default, autovacuum on: without it no table is
# analyzed while the benchmark runs, and the plans rest on the statistics of empty tables
note_autovacuum() {
    if [ "$(psql -d postgres -tAc 'SHOW autovacuum' 2>/dev/null)" = "off" ]; then
        echo "Note: autovacuum is off on this PostgreSQL server (its default is on); the figures are those of"
        echo "a server that never analyzes the tables the benchmark fills. To measure as a normal server runs:"
        echo "    psql -d postgres -c 'ALTER SYSTEM SET autovacuum = on' -c 'SELECT pg_reload_conf()'"
    fi
}

check_postgres() {
    if ! pg_isready -q 2>/dev/null; then
        if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
            pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start || true
            for _ in $(seq 1 20); do pg_isready -q && break; sleep 0.5; done
        fi
    fi
    pg_isready -q || die "PostgreSQL is not running on this machine."
    local me
    me=$(id -un)
    if ! psql -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$me'" 2>/dev/null | grep -q 1; then
        if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
            su postgres -c "psql -q -c \"CREATE ROLE \\\"$me\\\" LOGIN CREATEDB SUPERUSER\"" \
                || die "could not create the PostgreSQL role $me"
        else
            die "PostgreSQL has no role '$me'; create one: sudo -u postgres createuser -s $me"
        fi
    fi
}

# An addons folder in which this checkout is named after the addon, whatever
# the checkout's own folder is called: a link for the server, a copy for the
# tests (pytest resolves links, and needs the folder's name as module name).
prepare_addons() {
    if [ "$(basename "$REPO")" = "$ADDON" ]; then
        ADDONS_PATH=$(dirname "$REPO")
        ADDON_DIR=$REPO
        return
    fi
    if [ "${1:-link}" = copy ]; then
        rm -rf "$WORK/addons/$ADDON"
        mkdir -p "$WORK/addons/$ADDON"
        (cd "$REPO" && tar --exclude=.git --exclude=__pycache__ -cf - .) | (cd "$WORK/addons/$ADDON" && tar -xf -)
    else
        rm -rf "$WORK/addons/$ADDON"
        ln -sfn "$REPO" "$WORK/addons/$ADDON"
    fi
    ADDONS_PATH="$WORK/addons"
    ADDON_DIR="$WORK/addons/$ADDON"
}

# write_config FILE DB
write_config() {
    local conf=$1 db=$2
    cat > "$conf" <<CONF
[options]
addons_path = $ADDONS_PATH
data_dir = $WORK/data
db_name = $db
db_host = False
db_port = False
http_interface = 127.0.0.1
http_port = ${HTTP_PORT:-8069}
without_demo = False
max_cron_threads = 1
log_level = info
CONF
    if [ -n "$GEONAMES_DIR" ]; then
        echo "geonames_data_dir = $GEONAMES_DIR" >> "$conf"
    fi
}

odoo_bin() {
    python3 -c "import sys, odoo.cli; sys.argv[0] = 'odoo'; odoo.cli.main()" "$@"
}
