-- The summary's functions (PostgreSQL only; the table is in summary_table.sql, the triggers in summary_triggers.sql).
-- Idempotent: CREATE OR REPLACE, run by install_summary_sql() (migrations, `manage.py install_summary_sql`).
-- To change a rule: edit this file and add a migration that calls install_summary_sql() again (it also rebuilds
-- the table from the raw rows, so past months follow the new rule). Changing a function's arguments or result
-- type needs a DROP FUNCTION first (CREATE OR REPLACE cannot change them).
--
-- "Paid on time" compares the date of paid_at in the regency's zone (RegencyConfig.timezone: WIB, WITA or WIT;
-- WIB without a config row) with the due date: sponsorship_dash_local_date() below is the one place that says
-- so in SQL (the raw recomputation, sponsorship/dashboard/selectors/money.py _paid_day, says it in the ORM).
-- The figures themselves are defined in words in docs/figures.md.

-- Changing a result type needs a DROP first (the "expected" column left the summary in issue 13).
DROP FUNCTION IF EXISTS sponsorship_dash_sponsor_months(bigint);
DROP FUNCTION IF EXISTS sponsorship_dash_sponsor_months(bigint, bigint);
DROP FUNCTION IF EXISTS sponsorship_dash_recompute();

-- The calendar date of a moment in the zone of an agency's regency.
CREATE OR REPLACE FUNCTION sponsorship_dash_local_date(at_ts timestamptz, agency bigint) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (at_ts AT TIME ZONE COALESCE(
        (SELECT rc.timezone FROM sponsorship_agency a JOIN sponsorship_regencyconfig rc ON rc.regency_id = a.regency_id
         WHERE a.id = agency), 'Asia/Jakarta'))::date
$$;

-- Adds signed deltas; rows are taken in (agency, month) order so concurrent writers never deadlock here.
CREATE OR REPLACE FUNCTION sponsorship_dash_add(rows_json jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO sponsorship_dash_agency_month AS d (agency_id, month, outstanding_idr, collected_idr,
                                                   remitted_idr, paid_invoices, paid_on_time)
    SELECT agency_id, month, SUM(outstanding_idr), SUM(collected_idr), SUM(remitted_idr),
           SUM(paid_invoices), SUM(paid_on_time)
    FROM jsonb_to_recordset(rows_json) AS r(agency_id bigint, month date,
         outstanding_idr bigint, collected_idr bigint, remitted_idr bigint, paid_invoices integer,
         paid_on_time integer)
    GROUP BY agency_id, month
    ORDER BY agency_id, month
    ON CONFLICT (agency_id, month) DO UPDATE SET
        outstanding_idr = d.outstanding_idr + EXCLUDED.outstanding_idr,
        collected_idr = d.collected_idr + EXCLUDED.collected_idr,
        remitted_idr = d.remitted_idr + EXCLUDED.remitted_idr,
        paid_invoices = d.paid_invoices + EXCLUDED.paid_invoices,
        paid_on_time = d.paid_on_time + EXCLUDED.paid_on_time;
$$;

-- One sponsor's contribution per month, from the raw rows, as if the sponsor belonged to agency `aid` (the caller
-- decides where it goes; the agency's regency decides the zone of "on time").
CREATE OR REPLACE FUNCTION sponsorship_dash_sponsor_months(sid bigint, aid bigint)
RETURNS TABLE (month date, outstanding_idr bigint, collected_idr bigint, remitted_idr bigint,
               paid_invoices integer, paid_on_time integer) LANGUAGE sql STABLE AS $$
    SELECT month, COALESCE(SUM(o), 0)::bigint, COALESCE(SUM(c), 0)::bigint,
           COALESCE(SUM(r), 0)::bigint, COALESCE(SUM(p), 0)::integer, COALESCE(SUM(t), 0)::integer
    FROM (
        SELECT l.month, SUM(l.amount_idr) AS o, 0 AS c, 0 AS r, 0 AS p, 0 AS t
        FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
        WHERE i.sponsor_id = sid AND i.status = 'issued' GROUP BY l.month
        UNION ALL
        SELECT month, 0, SUM(amount_idr), SUM(amount_idr) FILTER (WHERE remitted_at IS NOT NULL), 0, 0
        FROM sponsorship_coveragemonth WHERE sponsor_id = sid GROUP BY month
        UNION ALL
        SELECT date_trunc('month', i.due_date)::date, 0, 0, 0, COUNT(*),
               COUNT(*) FILTER (WHERE sponsorship_dash_local_date(i.paid_at, aid) <= i.due_date)
        FROM sponsorship_invoice i
        WHERE i.sponsor_id = sid AND i.status = 'paid' GROUP BY 1
    ) parts GROUP BY month
$$;

-- What the table should hold, straight from the raw rows: the rebuild writes it, `manage.py check_ledger` compares
-- it with the table (read-only), for one regency (`reg`) or all (NULL). One row per agency and month with any figure.
CREATE OR REPLACE FUNCTION sponsorship_dash_recompute(reg bigint DEFAULT NULL)
RETURNS TABLE (agency_id bigint, month date, outstanding_idr bigint, collected_idr bigint, remitted_idr bigint,
               paid_invoices integer, paid_on_time integer) LANGUAGE sql STABLE AS $$
    SELECT agency_id, month, COALESCE(SUM(o), 0)::bigint, COALESCE(SUM(c), 0)::bigint, COALESCE(SUM(r), 0)::bigint,
           COALESCE(SUM(p), 0)::integer, COALESCE(SUM(t), 0)::integer
    FROM (
        SELECT s.agency_id, l.month, SUM(l.amount_idr) AS o, 0 AS c, 0 AS r, 0 AS p, 0 AS t
        FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
             JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        WHERE i.status = 'issued' AND (reg IS NULL OR s.agency_id IN (SELECT a.id FROM sponsorship_agency a WHERE a.regency_id = reg))
        GROUP BY s.agency_id, l.month
        UNION ALL
        SELECT s.agency_id, c.month, 0, SUM(c.amount_idr),
               SUM(c.amount_idr) FILTER (WHERE c.remitted_at IS NOT NULL), 0, 0
        FROM sponsorship_coveragemonth c JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
        WHERE true AND (reg IS NULL OR s.agency_id IN (SELECT a.id FROM sponsorship_agency a WHERE a.regency_id = reg))
        GROUP BY s.agency_id, c.month
        UNION ALL
        SELECT s.agency_id, date_trunc('month', i.due_date)::date, 0, 0, 0, COUNT(*),
               COUNT(*) FILTER (WHERE sponsorship_dash_local_date(i.paid_at, s.agency_id) <= i.due_date)
        FROM sponsorship_invoice i JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        WHERE i.status = 'paid' AND (reg IS NULL OR s.agency_id IN (SELECT a.id FROM sponsorship_agency a WHERE a.regency_id = reg))
        GROUP BY s.agency_id, date_trunc('month', i.due_date)
    ) parts GROUP BY agency_id, month;
$$;

-- Recomputes the whole table from the raw rows (installer, tests, an operator in doubt).
CREATE OR REPLACE FUNCTION sponsorship_dash_rebuild() RETURNS void LANGUAGE sql AS $$
    LOCK TABLE sponsorship_dash_agency_month IN EXCLUSIVE MODE;
    DELETE FROM sponsorship_dash_agency_month;
    INSERT INTO sponsorship_dash_agency_month (agency_id, month, outstanding_idr, collected_idr,
                                               remitted_idr, paid_invoices, paid_on_time)
    SELECT * FROM sponsorship_dash_recompute(NULL);
$$;

-- Trigger functions. PL/pgSQL cannot name a transition table that the firing trigger does not define, even in a
-- branch not taken, so each event (insert, delete, update) has its own body.

-- invoice lines
CREATE OR REPLACE FUNCTION sponsorship_dash_lines_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE i.status = 'issued'), 0) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, 0 AS paid_invoices, 0 AS paid_on_time
        FROM (SELECT 1 AS sign, invoice_id, month, amount_idr FROM new_rows) c
             JOIN sponsorship_invoice i ON i.id = c.invoice_id
             JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        GROUP BY s.agency_id, c.month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sponsorship_dash_lines_del() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE i.status = 'issued'), 0) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, 0 AS paid_invoices, 0 AS paid_on_time
        FROM (SELECT -1 AS sign, invoice_id, month, amount_idr FROM old_rows) c
             JOIN sponsorship_invoice i ON i.id = c.invoice_id
             JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        GROUP BY s.agency_id, c.month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sponsorship_dash_lines_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE i.status = 'issued'), 0) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, 0 AS paid_invoices, 0 AS paid_on_time
        FROM (SELECT 1 AS sign, invoice_id, month, amount_idr FROM new_rows
              UNION ALL SELECT -1, invoice_id, month, amount_idr FROM old_rows) c
             JOIN sponsorship_invoice i ON i.id = c.invoice_id
             JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        GROUP BY s.agency_id, c.month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

-- coverage months
CREATE OR REPLACE FUNCTION sponsorship_dash_cover_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month, 0 AS outstanding_idr,
               SUM(c.sign * c.amount_idr) AS collected_idr,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE c.remitted_at IS NOT NULL), 0) AS remitted_idr,
               0 AS paid_invoices, 0 AS paid_on_time
        FROM (SELECT 1 AS sign, sponsor_id, month, amount_idr, remitted_at FROM new_rows) c
             JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
        GROUP BY s.agency_id, c.month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sponsorship_dash_cover_del() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month, 0 AS outstanding_idr,
               SUM(c.sign * c.amount_idr) AS collected_idr,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE c.remitted_at IS NOT NULL), 0) AS remitted_idr,
               0 AS paid_invoices, 0 AS paid_on_time
        FROM (SELECT -1 AS sign, sponsor_id, month, amount_idr, remitted_at FROM old_rows) c
             JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
        GROUP BY s.agency_id, c.month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sponsorship_dash_cover_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month, 0 AS outstanding_idr,
               SUM(c.sign * c.amount_idr) AS collected_idr,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE c.remitted_at IS NOT NULL), 0) AS remitted_idr,
               0 AS paid_invoices, 0 AS paid_on_time
        FROM (SELECT 1 AS sign, sponsor_id, month, amount_idr, remitted_at FROM new_rows
              UNION ALL SELECT -1, sponsor_id, month, amount_idr, remitted_at FROM old_rows) c
             JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
        GROUP BY s.agency_id, c.month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

-- invoices: an invoice's own contribution is its lines (by status) and, when paid, one paid invoice in its due
-- month. Inserts and deletes count paid invoices only (lines come and go through their own trigger); updates move
-- the lines between statuses only for invoices whose status or sponsor changed.
CREATE OR REPLACE FUNCTION sponsorship_dash_invoice_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT agency_id, month, SUM(outstanding_idr) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, SUM(paid_invoices) AS paid_invoices,
               SUM(paid_on_time) AS paid_on_time
        FROM (
            SELECT s.agency_id, l.month,
                   COALESCE(SUM(c.sign * l.amount_idr) FILTER (WHERE c.status = 'issued'), 0) AS outstanding_idr,
                   0 AS paid_invoices, 0 AS paid_on_time
            FROM (SELECT 1 AS sign, false AS with_lines, id, sponsor_id, status, due_date, paid_at FROM new_rows) c
                 JOIN sponsorship_invoiceline l ON l.invoice_id = c.id
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.with_lines
            GROUP BY s.agency_id, l.month
            UNION ALL
            SELECT s.agency_id, date_trunc('month', c.due_date)::date, 0, SUM(c.sign),
                   COALESCE(SUM(c.sign) FILTER (WHERE sponsorship_dash_local_date(c.paid_at, s.agency_id) <= c.due_date), 0)
            FROM (SELECT 1 AS sign, false AS with_lines, id, sponsor_id, status, due_date, paid_at FROM new_rows) c
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.status = 'paid'
            GROUP BY s.agency_id, date_trunc('month', c.due_date)
        ) parts GROUP BY agency_id, month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sponsorship_dash_invoice_del() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT agency_id, month, SUM(outstanding_idr) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, SUM(paid_invoices) AS paid_invoices,
               SUM(paid_on_time) AS paid_on_time
        FROM (
            SELECT s.agency_id, l.month,
                   COALESCE(SUM(c.sign * l.amount_idr) FILTER (WHERE c.status = 'issued'), 0) AS outstanding_idr,
                   0 AS paid_invoices, 0 AS paid_on_time
            FROM (SELECT -1 AS sign, false AS with_lines, id, sponsor_id, status, due_date, paid_at FROM old_rows) c
                 JOIN sponsorship_invoiceline l ON l.invoice_id = c.id
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.with_lines
            GROUP BY s.agency_id, l.month
            UNION ALL
            SELECT s.agency_id, date_trunc('month', c.due_date)::date, 0, SUM(c.sign),
                   COALESCE(SUM(c.sign) FILTER (WHERE sponsorship_dash_local_date(c.paid_at, s.agency_id) <= c.due_date), 0)
            FROM (SELECT -1 AS sign, false AS with_lines, id, sponsor_id, status, due_date, paid_at FROM old_rows) c
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.status = 'paid'
            GROUP BY s.agency_id, date_trunc('month', c.due_date)
        ) parts GROUP BY agency_id, month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sponsorship_dash_invoice_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT agency_id, month, SUM(outstanding_idr) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, SUM(paid_invoices) AS paid_invoices,
               SUM(paid_on_time) AS paid_on_time
        FROM (
            SELECT s.agency_id, l.month,
                   COALESCE(SUM(c.sign * l.amount_idr) FILTER (WHERE c.status = 'issued'), 0) AS outstanding_idr,
                   0 AS paid_invoices, 0 AS paid_on_time
            FROM (SELECT 1 AS sign, (n.status, n.sponsor_id) IS DISTINCT FROM (o.status, o.sponsor_id) AS with_lines,
                         n.id, n.sponsor_id, n.status, n.due_date, n.paid_at
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE (n.status, n.sponsor_id, n.due_date, n.paid_at)
                        IS DISTINCT FROM (o.status, o.sponsor_id, o.due_date, o.paid_at)
                  UNION ALL
                  SELECT -1, (n.status, n.sponsor_id) IS DISTINCT FROM (o.status, o.sponsor_id),
                         o.id, o.sponsor_id, o.status, o.due_date, o.paid_at
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE (n.status, n.sponsor_id, n.due_date, n.paid_at)
                        IS DISTINCT FROM (o.status, o.sponsor_id, o.due_date, o.paid_at)) c
                 JOIN sponsorship_invoiceline l ON l.invoice_id = c.id
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.with_lines
            GROUP BY s.agency_id, l.month
            UNION ALL
            SELECT s.agency_id, date_trunc('month', c.due_date)::date, 0, SUM(c.sign),
                   COALESCE(SUM(c.sign) FILTER (WHERE sponsorship_dash_local_date(c.paid_at, s.agency_id) <= c.due_date), 0)
            FROM (SELECT 1 AS sign, (n.status, n.sponsor_id) IS DISTINCT FROM (o.status, o.sponsor_id) AS with_lines,
                         n.id, n.sponsor_id, n.status, n.due_date, n.paid_at
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE (n.status, n.sponsor_id, n.due_date, n.paid_at)
                        IS DISTINCT FROM (o.status, o.sponsor_id, o.due_date, o.paid_at)
                  UNION ALL
                  SELECT -1, (n.status, n.sponsor_id) IS DISTINCT FROM (o.status, o.sponsor_id),
                         o.id, o.sponsor_id, o.status, o.due_date, o.paid_at
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE (n.status, n.sponsor_id, n.due_date, n.paid_at)
                        IS DISTINCT FROM (o.status, o.sponsor_id, o.due_date, o.paid_at)) c
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.status = 'paid'
            GROUP BY s.agency_id, date_trunc('month', c.due_date)
        ) parts GROUP BY agency_id, month) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

-- a sponsor moving to another agency takes its whole history along
CREATE OR REPLACE FUNCTION sponsorship_dash_sponsor_move() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT a.agency_id, m.month, a.sign * m.outstanding_idr AS outstanding_idr, a.sign * m.collected_idr AS collected_idr,
               a.sign * m.remitted_idr AS remitted_idr, a.sign * m.paid_invoices AS paid_invoices,
               a.sign * m.paid_on_time AS paid_on_time
        FROM (VALUES (OLD.agency_id, -1), (NEW.agency_id, 1)) AS a(agency_id, sign)
        CROSS JOIN LATERAL sponsorship_dash_sponsor_months(NEW.id, a.agency_id) m) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;

-- a regency changing its zone changes which payments were on time: recompute everything (a rare admin action;
-- the row triggers fire only when the zone itself changes)
CREATE OR REPLACE FUNCTION sponsorship_dash_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sponsorship_dash_rebuild();
    RETURN NULL;
END $$;
