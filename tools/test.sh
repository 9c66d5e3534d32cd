#!/usr/bin/env bash
# Runs the whole test suite on a fresh database: installs the addon without
# demo data (with it: --demo), then runs the tests with pytest-odoo. Extra
# arguments go to pytest.
#   tools/test.sh [--demo] [-k expression] ...
source "$(dirname "$0")/common.sh"
DEMO=0
if [ "${1:-}" = "--demo" ]; then
    DEMO=1
    shift
fi
if [ "$DEMO" = 1 ]; then
    DB=${TEST_DB:-${ADDON}_test_demo}
else
    DB=${TEST_DB:-${ADDON}_test}
fi
check_odoo
python3 -c "import pytest_odoo" 2>/dev/null || die "missing pytest-odoo: pip install -r $REPO/requirements-test.txt"
check_postgres
prepare_addons copy
CONF="$WORK/test-$DB.conf"
write_config "$CONF" "$DB"
LOG="$WORK/test-$DB-install.log"
dropdb --if-exists --force "$DB"
if [ "$DEMO" = 1 ]; then
    echo "Installing $ADDON with demo data into a fresh database $DB ..."
    DEMO_FLAG=()
else
    echo "Installing $ADDON without demo data into a fresh database $DB ..."
    DEMO_FLAG=(--without-demo=all)
fi
if ! odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" "${DEMO_FLAG[@]}" --stop-after-init --log-level=warn >"$LOG" 2>&1; then
    cat "$LOG"; die "installation failed"
fi
if grep -E " (WARNING|ERROR|CRITICAL) " "$LOG"; then
    die "installation logged warnings or errors (above)"
fi
cd "$ADDON_DIR"
exec python3 -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" \
    --odoo-log-level=warn --odoo-http tests "$@"
