#!/usr/bin/env bash
# Runs the whole test suite on a fresh database: installs the addon without
# demo data, then runs the tests with pytest-odoo. Extra arguments go to pytest.
#   tools/test.sh [-k expression] ...
source "$(dirname "$0")/common.sh"
DB=${TEST_DB:-${ADDON}_test}
check_odoo
python3 -c "import pytest_odoo" 2>/dev/null || die "missing pytest-odoo: pip install -r $REPO/requirements-test.txt"
check_postgres
prepare_addons copy
CONF="$WORK/test.conf"
write_config "$CONF" "$DB"
LOG="$WORK/test-install.log"
dropdb --if-exists --force "$DB"
echo "Installing $ADDON without demo data into a fresh database $DB ..."
if ! odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn >"$LOG" 2>&1; then
    cat "$LOG"; die "installation failed"
fi
if grep -E " (WARNING|ERROR|CRITICAL) " "$LOG"; then
    die "installation logged warnings or errors (above)"
fi
cd "$ADDON_DIR"
exec python3 -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" \
    --odoo-log-level=warn tests "$@"
