#!/usr/bin/env bash
# Runs the whole test suite on a fresh database: installs the addon without
# demo data (with it: --demo), then runs the tests with pytest-odoo. Extra
# arguments go to pytest. With --odoo-runner, the same suite runs through
# Odoo's own test runner instead (odoo --test-enable, as OCA's CI and hosted
# Odoo run it), and the number of tests it ran is printed.
#   tools/test.sh [--demo] [-k expression] ...
#   tools/test.sh --odoo-runner
source "$(dirname "$0")/common.sh"
DEMO=0
RUNNER=pytest
while [ $# -gt 0 ]; do
    case "$1" in
        --demo) DEMO=1; shift ;;
        --odoo-runner) RUNNER=odoo; shift ;;
        *) break ;;
    esac
done
if [ "$RUNNER" = odoo ]; then
    DB=${TEST_DB:-${ADDON}_test_odoo}
elif [ "$DEMO" = 1 ]; then
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
if [ "$RUNNER" = odoo ]; then
    echo "Installing $ADDON into a fresh database $DB and running its tests with Odoo's test runner ..."
    rc=0
    odoo_bin -c "$CONF" -d "$DB" -i "$ADDON" --without-demo=all --test-enable --test-tags "/$ADDON" \
        --stop-after-init --log-level=test >"$LOG" 2>&1 || rc=$?
    grep -E " (ERROR|CRITICAL) |FAIL:|ERROR:" "$LOG" | head -50 || true
    summary=$(grep -Eo "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$LOG" | tail -n1 || true)
    [ -n "$summary" ] || { tail -50 "$LOG"; die "Odoo's test runner printed no summary"; }
    failed=$(echo "$summary" | awk '{print $1}')
    errors=$(echo "$summary" | awk '{print $3}')
    total=$(echo "$summary" | awk '{print $6}')
    dropdb --if-exists --force "$DB"
    echo "odoo: $((total - failed - errors)) passed, $((failed + errors)) failed"
    [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$errors" = 0 ] || die "Odoo's test runner reported failures (log: $LOG)"
    exit 0
fi
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
