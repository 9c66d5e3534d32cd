-- Consistency check of crm_service_routing (run through tools/check.sh DB).
-- Each query returns the rows that break one rule: (check, count, up to 10 ids).
-- Nothing here writes.
WITH checks AS (
    -- inquiries: the routing fields mirror the open offer
    SELECT 'inquiry offered/accepted without its open offer' AS name, l.id
      FROM crm_lead l
     WHERE l.routing_state IN ('offered', 'accepted')
       AND NOT EXISTS (SELECT 1 FROM service_offer o
                        WHERE o.lead_id = l.id AND o.state = l.routing_state
                          AND o.technician_id = l.technician_id)
    UNION ALL
    SELECT 'inquiry offered/accepted without technician', l.id
      FROM crm_lead l
     WHERE l.routing_state IN ('offered', 'accepted') AND l.technician_id IS NULL
    UNION ALL
    SELECT 'inquiry new, in review, closed or linked that holds an open offer', l.id
      FROM crm_lead l
     WHERE l.routing_state IN ('new', 'review', 'done', 'cancelled', 'linked')
       AND EXISTS (SELECT 1 FROM service_offer o WHERE o.lead_id = l.id AND o.state IN ('offered', 'accepted'))
    UNION ALL
    SELECT 'inquiry in review without a reason', l.id
      FROM crm_lead l
     WHERE l.routing_state = 'review' AND l.review_reason IS NULL
    UNION ALL
    SELECT 'inquiry accepted without acceptance time', l.id
      FROM crm_lead l
     WHERE l.routing_state = 'accepted' AND l.accepted_at IS NULL
    UNION ALL
    SELECT 'repeat linked to no inquiry, or to a repeat', l.id
      FROM crm_lead l
      LEFT JOIN crm_lead u ON u.id = l.service_unique_lead_id
     WHERE l.routing_state = 'linked' AND (u.id IS NULL OR u.service_unique_lead_id IS NOT NULL)
    UNION ALL
    SELECT 'closed offer without closing time', o.id
      FROM service_offer o
     WHERE o.state NOT IN ('offered', 'accepted') AND o.closed_at IS NULL
    -- offers
    UNION ALL
    SELECT 'inquiry with more than one open offer', o.lead_id
      FROM service_offer o
     WHERE o.state IN ('offered', 'accepted')
     GROUP BY o.lead_id HAVING count(*) > 1
    UNION ALL
    SELECT 'offer still offered on an inquiry that is not offered', o.id
      FROM service_offer o JOIN crm_lead l ON l.id = o.lead_id
     WHERE o.state = 'offered' AND l.routing_state IS DISTINCT FROM 'offered'
    UNION ALL
    SELECT 'offer answered without an answer time', o.id
      FROM service_offer o
     WHERE o.state IN ('accepted', 'declined') AND o.responded_at IS NULL
    UNION ALL
    SELECT 'offer declined without a reason', o.id
      FROM service_offer o
     WHERE o.state = 'declined' AND o.decline_reason IS NULL
    UNION ALL
    SELECT 'offer of another company than its inquiry', o.id
      FROM service_offer o JOIN crm_lead l ON l.id = o.lead_id
     WHERE o.company_id IS DISTINCT FROM l.company_id
    -- capacity: open inquiries per technician and company
    UNION ALL
    SELECT 'technician over capacity', p.id
      FROM res_partner p
      JOIN (SELECT technician_id, company_id, count(*) AS open_count
              FROM crm_lead
             WHERE active AND routing_state IN ('offered', 'accepted') AND technician_id IS NOT NULL
             GROUP BY technician_id, company_id) c ON c.technician_id = p.id
     WHERE c.open_count > greatest(p.service_capacity, 1)
    -- capacity slots: one for each open inquiry, of its technician and company, none for another
    UNION ALL
    SELECT 'open inquiry without its capacity slot', l.id
      FROM crm_lead l
     WHERE l.active AND l.routing_state IN ('offered', 'accepted') AND l.technician_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM service_technician_slot s
                        WHERE s.lead_id = l.id AND s.technician_id = l.technician_id
                          AND s.company_id IS NOT DISTINCT FROM l.company_id)
    UNION ALL
    SELECT 'capacity slot of an inquiry that is not open', s.id
      FROM service_technician_slot s JOIN crm_lead l ON l.id = s.lead_id
     WHERE NOT (l.active AND l.routing_state IN ('offered', 'accepted'))
    -- intake keys (the one store of external references): each names the
    -- inquiry it created (or the one that inquiry was merged into), of its company
    UNION ALL
    SELECT 'intake key without inquiry', k.id
      FROM service_intake_key k
     WHERE k.lead_id IS NULL
    UNION ALL
    SELECT 'intake key of another company than its inquiry', k.id
      FROM service_intake_key k JOIN crm_lead l ON l.id = k.lead_id
     WHERE l.company_id != k.company_id
), names(name, ord) AS (
    VALUES ('inquiry offered/accepted without its open offer', 1),
           ('inquiry offered/accepted without technician', 2),
           ('inquiry new/in review that holds an open offer', 3),
           ('inquiry in review without a reason', 4),
           ('inquiry accepted without acceptance time', 5),
           ('inquiry with more than one open offer', 6),
           ('offer still offered on an inquiry that is not offered', 7),
           ('offer answered without an answer time', 8),
           ('offer declined without a reason', 9),
           ('offer of another company than its inquiry', 10),
           ('technician over capacity', 11),
           ('open inquiry without its capacity slot', 12),
           ('capacity slot of an inquiry that is not open', 13),
           ('intake key without inquiry', 14),
           ('intake key of another company than its inquiry', 15)
)
SELECT n.name,
       count(c.id) AS found,
       coalesce(array_to_string((array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL))[1:10], ' '), '')
  FROM names n LEFT JOIN checks c ON c.name = n.name
 GROUP BY n.name, n.ord
 ORDER BY n.ord;
