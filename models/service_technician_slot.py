# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

# first key of the transaction-level advisory lock a routing takes on a technician
CLAIM_LOCK = 7318
# the unique index that makes a slot a claim (made in init)
SLOT_INDEX = "service_technician_slot_slot_uniq"


class ServiceTechnicianSlot(models.Model):
    """One row per open inquiry of a technician: what makes its capacity hold under concurrency.

    A technician with capacity n has slots 0 .. n-1 in each company it
    serves; an inquiry offered to it (or accepted by it) holds one. Routing
    claims a slot by inserting its row: a unique index on (technician,
    company, slot) lets one inquiry into each slot, whatever the snapshot
    of the transaction that inserts it, so two routings that counted the
    same free room cannot both take it. The one that comes second waits for
    the first (the index), then takes the next slot or finds none: a wait,
    never a row updated by two transactions (which REPEATABLE READ answers
    with a serialization failure and Odoo with a retried request).

    Rows are only inserted and deleted, both in SQL: a claim by routing
    (``_claim``), and a trigger on ``crm_lead`` that releases the slot of
    an inquiry that leaves the open states, changes technician or company,
    and gives one to an inquiry that enters them otherwise (a reopened
    job, a dispatcher's offer beyond the capacity). No user writes here.
    """

    _name = "service.technician.slot"
    _description = "Technician Capacity Slot"
    _log_access = False
    _rec_name = "technician_id"
    _order = "technician_id, slot"

    technician_id = fields.Many2one("res.partner", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", readonly=True, ondelete="cascade")
    slot = fields.Integer(required=True, readonly=True)
    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, readonly=True, ondelete="cascade")

    _sql_constraints = [
        ("lead_uniq", "unique(lead_id)", "An inquiry holds one slot."),
    ]

    def init(self):
        cr = self.env.cr
        cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS service_technician_slot_slot_uniq
                    ON service_technician_slot (technician_id, COALESCE(company_id, 0), slot)"""
        )
        # one slot tried: true when inserted, false when taken (by a transaction committed after
        # this one's snapshot, or still running: then after waiting for it)
        cr.execute(
            """
            CREATE OR REPLACE FUNCTION service_technician_slot_take(
                p_technician integer, p_company integer, p_slot integer, p_lead integer)
            RETURNS boolean LANGUAGE plpgsql AS $$
            DECLARE
                constraint_name text;
            BEGIN
                INSERT INTO service_technician_slot (technician_id, company_id, slot, lead_id)
                VALUES (p_technician, p_company, p_slot, p_lead);
                RETURN true;
            EXCEPTION WHEN unique_violation THEN
                GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
                IF constraint_name <> %(index)s THEN
                    -- the same inquiry claimed by two transactions at once: one of them starts over
                    RAISE EXCEPTION 'inquiry %% is being routed by another transaction', p_lead
                        USING ERRCODE = 'serialization_failure';
                END IF;
                RETURN false;
            END $$
            """,
            {"index": SLOT_INDEX},
        )
        # the claim: the slot taken, NULL when none is free within p_capacity, -1 when p_lock is
        # 'try' and another routing holds the technician now. A NULL p_capacity claims beyond the
        # technician's capacity when it is full (a dispatcher's offer, a restored job).
        cr.execute(
            """
            CREATE OR REPLACE FUNCTION service_technician_slot_claim(
                p_technician integer, p_company integer, p_lead integer, p_capacity integer, p_lock text)
            RETURNS integer LANGUAGE plpgsql
            -- its plans last as long as the connection: never a scan of all slots, however few
            -- there were when they were made
            SET enable_seqscan = off
            AS $$
            DECLARE
                capacity integer := p_capacity;
                taken integer;
                above integer;
                top integer;
                slot_limit integer;
                slot_no integer;
            BEGIN
                IF p_lock = 'try' THEN
                    IF NOT pg_try_advisory_xact_lock(%(lock)s, p_technician) THEN
                        RETURN -1;
                    END IF;
                ELSIF p_lock = 'wait' THEN
                    PERFORM pg_advisory_xact_lock(%(lock)s, p_technician);
                END IF;
                IF capacity IS NULL THEN
                    SELECT coalesce(p.service_capacity, 0) INTO capacity FROM res_partner p WHERE p.id = p_technician;
                END IF;
                DELETE FROM service_technician_slot WHERE lead_id = p_lead;
                SELECT count(*), count(*) FILTER (WHERE s.slot >= capacity), max(s.slot)
                  INTO taken, above, top
                  FROM service_technician_slot s
                 WHERE s.technician_id = p_technician AND COALESCE(s.company_id, 0) = COALESCE(p_company, 0);
                IF taken < capacity THEN
                    -- slots above the capacity (it was lowered, or a dispatcher went beyond it) are
                    -- only ever released: they take room from below
                    slot_limit := capacity - above;
                    -- slots fill from the bottom: the next one is free unless some were released
                    slot_no := taken - above;
                    IF slot_no < slot_limit THEN
                        -- (two IFs: SQL does not promise to evaluate AND from the left)
                        IF service_technician_slot_take(p_technician, p_company, slot_no, p_lead) THEN
                            RETURN slot_no;
                        END IF;
                    END IF;
                    -- else the lowest free one in this snapshot, then the next
                    FOR slot_no IN
                        SELECT g FROM generate_series(0, slot_limit - 1) g
                         WHERE NOT EXISTS (SELECT 1 FROM service_technician_slot s
                                            WHERE s.technician_id = p_technician AND s.slot = g
                                              AND COALESCE(s.company_id, 0) = COALESCE(p_company, 0))
                    LOOP
                        IF service_technician_slot_take(p_technician, p_company, slot_no, p_lead) THEN
                            RETURN slot_no;
                        END IF;
                    END LOOP;
                END IF;
                IF p_capacity IS NOT NULL THEN
                    RETURN NULL;
                END IF;
                -- beyond the capacity: above every slot, whatever was taken since
                slot_no := greatest(coalesce(top, -1), capacity - 1);
                LOOP
                    slot_no := slot_no + 1;
                    IF service_technician_slot_take(p_technician, p_company, slot_no, p_lead) THEN
                        RETURN slot_no;
                    END IF;
                END LOOP;
            END $$
            """,
            {"lock": CLAIM_LOCK},
        )
        # an inquiry holds a slot exactly while it is open with a technician: whoever writes it
        cr.execute(
            """
            CREATE OR REPLACE FUNCTION service_technician_slot_sync() RETURNS trigger
            LANGUAGE plpgsql SET enable_seqscan = off AS $$
            BEGIN
                IF NEW.active AND NEW.technician_id IS NOT NULL
                   AND NEW.routing_state IN ('offered', 'accepted') THEN
                    IF NOT EXISTS (SELECT 1 FROM service_technician_slot s
                                    WHERE s.lead_id = NEW.id AND s.technician_id = NEW.technician_id
                                      AND s.company_id IS NOT DISTINCT FROM NEW.company_id) THEN
                        PERFORM service_technician_slot_claim(NEW.technician_id, NEW.company_id, NEW.id,
                                                              NULL, NULL);
                    END IF;
                ELSIF TG_OP = 'UPDATE' THEN
                    DELETE FROM service_technician_slot WHERE lead_id = NEW.id;
                END IF;
                RETURN NULL;
            END $$;
            CREATE OR REPLACE TRIGGER service_technician_slot_insert
                AFTER INSERT ON crm_lead FOR EACH ROW
                WHEN (NEW.routing_state IN ('offered', 'accepted'))
                EXECUTE FUNCTION service_technician_slot_sync();
            CREATE OR REPLACE TRIGGER service_technician_slot_update
                AFTER UPDATE OF routing_state, technician_id, active, company_id ON crm_lead FOR EACH ROW
                WHEN (OLD.routing_state IS DISTINCT FROM NEW.routing_state
                      OR OLD.technician_id IS DISTINCT FROM NEW.technician_id
                      OR OLD.active IS DISTINCT FROM NEW.active
                      OR OLD.company_id IS DISTINCT FROM NEW.company_id)
                EXECUTE FUNCTION service_technician_slot_sync();
            """
        )
        # inquiries open before the slots existed (an upgrade): each takes one
        cr.execute(
            """SELECT service_technician_slot_claim(l.technician_id, l.company_id, l.id, NULL, NULL)
                 FROM crm_lead l
                WHERE l.active AND l.technician_id IS NOT NULL AND l.routing_state IN ('offered', 'accepted')
                  AND NOT EXISTS (SELECT 1 FROM service_technician_slot s WHERE s.lead_id = l.id)
                ORDER BY l.id"""
        )

    @api.model
    def _release(self, lead_id):
        """Give back the slot ``lead_id`` holds (a claim whose decision was not written): the room
        returns to its technician at once, as when the inquiry closes."""
        self.env.cr.execute("DELETE FROM service_technician_slot WHERE lead_id = %s", (lead_id,))

    @api.model
    def _claim(self, technician_id, lead_id, company_id=None, capacity=None, lock="try", rotation=None):
        """Claim a slot of ``technician_id`` for ``lead_id``, in one query: the slot, None when none is free.

        ``capacity``: the technician's room (None: its own, and beyond it when
        it is full, for a dispatcher who offers anyway). ``lock``: 'try' returns -1 at once when
        another routing holds the technician right now (the caller may move
        on to its next candidate); 'wait' waits for it. ``rotation``: (company
        id, {technician id: credit change}) appended to the rotation ledger
        (service.rotation.entry) in the same statement when the slot is taken,
        with the offer to ``technician_id`` made now.
        """
        claim = SQL(
            "SELECT service_technician_slot_claim(%s, %s, %s, %s, %s) AS slot",
            technician_id,
            company_id or None,
            lead_id,
            capacity,
            lock,
        )
        rotation_company_id, changes = rotation or (None, {})
        if not changes:
            self.env.cr.execute(claim)
            return self.env.cr.fetchone()[0]
        paid = self.env["service.rotation.entry"]._append_sql(
            rotation_company_id,
            changes,
            offered=(technician_id, fields.Datetime.now()),
            where=SQL("(SELECT slot FROM claim) >= 0"),
        )
        self.env.cr.execute(SQL("WITH claim AS MATERIALIZED (%s), paid AS (%s) SELECT slot FROM claim", claim, paid))
        return self.env.cr.fetchone()[0]
