#!/usr/bin/env bash
# Consistency check of a database with crm_service_routing: inquiries and
# offers in states that cannot be (an offered inquiry without its open offer,
# two open offers, ...), technicians over capacity, routing counters that
# disagree with the offers, intake keys without their inquiry. Reads only.
# Prints one line per rule (OK, or the number of rows and up to 10 ids) and
# exits 1 when a rule is broken.
#   tools/check.sh DATABASE
set -euo pipefail
DB=${1:?usage: tools/check.sh DATABASE}
SQL="$(dirname "$0")/check.sql"
pg_isready -q || { echo "error: PostgreSQL is not running on this machine." >&2; exit 2; }
psql -d "$DB" -tAc "SELECT 1 FROM ir_module_module WHERE name = 'crm_service_routing' AND state = 'installed'" \
    | grep -q 1 || { echo "error: crm_service_routing is not installed in $DB" >&2; exit 2; }
broken=0
while IFS='|' read -r name found ids; do
    if [ "$found" = 0 ]; then
        printf 'OK    %s\n' "$name"
    else
        printf 'FAIL  %s: %s (ids %s)\n' "$name" "$found" "$ids"
        broken=1
    fi
done < <(psql -d "$DB" -v ON_ERROR_STOP=1 -tA -F '|' -f "$SQL")
psql -d "$DB" -tAc "SELECT 'checked: ' || (SELECT count(*) FROM crm_lead WHERE routing_state IS NOT NULL) || ' inquiries, '
                         || (SELECT count(*) FROM service_offer) || ' offers, '
                         || (SELECT count(*) FROM service_technician_slot) || ' capacity slots, '
                         || (SELECT count(*) FROM service_intake_key) || ' intake keys'"
exit $broken
