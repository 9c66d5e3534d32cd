# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import gc

from odoo import api, models
from odoo.models import parse_read_group_spec
from odoo.tools import SQL, unique


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused for a grouped read of a report.

    A grouped read allocates a few objects per group (the row, a record per
    grouped many2one); by technician and equipment type, 86,000 groups make
    several full collections, and each full collection walks every object of
    the process, the registry's included: 0.6 s of a 1.8 s read, in which
    no cycle is freed. Reference counting frees the read's objects as usual;
    a cycle made meanwhile waits for the next collection. The collector is
    enabled again by whoever found it enabled, whatever another thread does
    in between."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ServiceReportMixin(models.AbstractModel):
    """Measures of the service reports that are no sum or average of rows.

    A rate such as the acceptance rate is a ratio of two sums (accepted over
    answered offers): ``_service_ratios`` names, per rate field, its numerator
    and denominator, and every grouped read (pivot, graph, list groups,
    ``read_group`` over RPC) computes ``100 * SUM(numerator) / SUM(denominator)``
    for the group (or another factor than 100). ``_service_medians`` names fields whose average is read as
    the median of another field of the group's rows. A row shows its own value.
    """

    _name = "service.report.mixin"
    _description = "Service Report Measures"

    # {rate field: (numerator field, denominator field, factor)}: 100 for a percentage
    _service_ratios = {}
    # {median field: field whose median it is}
    _service_medians = {}

    def _service_plain_plan(self):
        """A report aggregates many rows once: PostgreSQL's JIT compiler would take longer to compile
        the plan (its estimated cost passes ``jit_above_cost``) than the plan takes to run. Off for
        the rest of the request, which only reads.

        And the sort of a grouped read (200,000 rows by technician and equipment type) in memory
        rather than in files: ``work_mem``, 4 MB by default, is what each sort of the plan may take."""
        self.env.cr.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")

    @api.model
    def _read_group(self, *args, **kwargs):
        self._service_plain_plan()
        with collector_paused():
            return super()._read_group(*args, **kwargs)

    @api.model
    def search_fetch(self, domain, field_names, offset=0, limit=None, order=None):
        self._service_plain_plan()
        return super().search_fetch(domain, self._service_columns(field_names), offset, limit, order)

    def _service_columns(self, field_names):
        """``field_names`` and the company. A report's rows are aggregated by the query that reads them, and
        another read of the same rows aggregates them all again: the company rule's access check that
        follows a search in the web client reads ``company_id``, which cost a second query as long as the
        first (0.56 s for the scorecard of 5,000 technicians). A search for ids alone reads nothing more."""
        field_names = list(field_names)
        if field_names and "company_id" in self._fields and "company_id" not in field_names:
            field_names.append("company_id")
        return field_names

    def _read_group_postprocess_groupby(self, groupby_spec, raw_values):
        """A many2one group's record, one per value: by technician and equipment type, 86,000 groups name
        5,000 technicians and a few dozen types, and a record made per group cost 0.1 s of a 1.4 s read.
        Records are values, so the groups of one technician share its record."""
        fname, *__ = parse_read_group_spec(groupby_spec)
        field = self._fields[fname]
        if field.type != "many2one":
            return super()._read_group_postprocess_groupby(groupby_spec, raw_values)
        empty = self._read_group_empty_value(groupby_spec)
        Model = self.pool[field.comodel_name]
        prefetch_ids = tuple(unique(value for value in raw_values if value))
        records = {value: Model(self.env, (value,), prefetch_ids) for value in prefetch_ids}
        return (records[value] if value else empty for value in raw_values)

    def _read_group_select(self, aggregate_spec, query):
        if aggregate_spec != "__count":
            fname, _property, func = parse_read_group_spec(aggregate_spec)
            if func == "avg" and fname in self._service_ratios:
                numerator, denominator, factor = self._service_ratios[fname]
                return SQL(
                    "(%s * SUM(%s) / NULLIF(SUM(%s), 0))::float8",
                    float(factor),
                    self._field_to_sql(self._table, numerator, query),
                    self._field_to_sql(self._table, denominator, query),
                )
            if func == "avg" and fname in self._service_medians:
                # checks read access like any field of the group
                super()._read_group_select(aggregate_spec, query)
                # a group sorts its values for the median; one without any value starts no sort
                value = self._field_to_sql(self._table, self._service_medians[fname], query)
                return SQL(
                    "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY %s) FILTER (WHERE %s IS NOT NULL)", value, value
                )
        return super()._read_group_select(aggregate_spec, query)
