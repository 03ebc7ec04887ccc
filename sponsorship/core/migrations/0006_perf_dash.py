"""Dashboard speed-ups (PostgreSQL only; SQLite keeps computing from the raw tables).

1. `sponsorship_dash_agency_month`: the money figures per agency and month, maintained by statement-level
   triggers on invoice lines, invoices, coverage months and (row-level) sponsors changing agency, in the
   same transaction as the write, so they are never stale whatever path writes (services, bulk inserts,
   queryset updates). Columns, per agency A and month M (exactly the dashboard's definitions):
     expected_idr     Σ invoice lines of M on invoices not void
     outstanding_idr  Σ invoice lines of M on issued invoices
     collected_idr    Σ coverage months M                      (scope by coverage_month.sponsor)
     remitted_idr     Σ coverage months M with remitted_at
     paid_invoices    paid invoices whose due date is in M
     paid_on_time     of those, paid_at::date (UTC session date, as the raw query) <= due_date
   Issued (unpaid) invoices change meaning with the date (overdue or not), so they are read live through
   the partial index below.
2. A partial covering index on open invoices (arrears, on-time denominators) and covering indexes for the
   coverage counts (index-only scans).
3. `sponsorship_dash_rebuild()` recomputes the table from the raw rows (used by the backfill, tests, and
   by an operator if ever in doubt).
"""

from django.db import migrations

T = "sponsorship_dash_agency_month"

FORWARD = f"""
CREATE TABLE {T} (
    agency_id bigint NOT NULL,
    month date NOT NULL,
    expected_idr bigint NOT NULL DEFAULT 0,
    outstanding_idr bigint NOT NULL DEFAULT 0,
    collected_idr bigint NOT NULL DEFAULT 0,
    remitted_idr bigint NOT NULL DEFAULT 0,
    paid_invoices integer NOT NULL DEFAULT 0,
    paid_on_time integer NOT NULL DEFAULT 0,
    PRIMARY KEY (agency_id, month)
);

CREATE INDEX sponsorship_invoice_open_due ON sponsorship_invoice (due_date)
    INCLUDE (sponsor_id, amount_idr) WHERE status = 'issued';
-- Index-only scans for the coverage counts (workers per village, active sponsor per worker, paid month).
CREATE INDEX sponsorship_worker_village_id_id ON sponsorship_worker (village_id, id);
CREATE INDEX sponsorship_sponsorship_active_worker ON sponsorship_sponsorship (worker_id, sponsor_id)
    WHERE status = 'active';
CREATE INDEX sponsorship_coveragemonth_month_cover ON sponsorship_coveragemonth (month, worker_id, sponsor_id);

-- Adds signed deltas; rows are taken in (agency, month) order so concurrent writers never deadlock here.
CREATE FUNCTION sponsorship_dash_add(rows_json jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO {T} AS d (agency_id, month, expected_idr, outstanding_idr, collected_idr, remitted_idr,
                          paid_invoices, paid_on_time)
    SELECT agency_id, month, SUM(expected_idr), SUM(outstanding_idr), SUM(collected_idr), SUM(remitted_idr),
           SUM(paid_invoices), SUM(paid_on_time)
    FROM jsonb_to_recordset(rows_json) AS r(agency_id bigint, month date, expected_idr bigint,
         outstanding_idr bigint, collected_idr bigint, remitted_idr bigint, paid_invoices integer,
         paid_on_time integer)
    GROUP BY agency_id, month
    ORDER BY agency_id, month
    ON CONFLICT (agency_id, month) DO UPDATE SET
        expected_idr = d.expected_idr + EXCLUDED.expected_idr,
        outstanding_idr = d.outstanding_idr + EXCLUDED.outstanding_idr,
        collected_idr = d.collected_idr + EXCLUDED.collected_idr,
        remitted_idr = d.remitted_idr + EXCLUDED.remitted_idr,
        paid_invoices = d.paid_invoices + EXCLUDED.paid_invoices,
        paid_on_time = d.paid_on_time + EXCLUDED.paid_on_time;
$$;

"""

# PL/pgSQL cannot name a transition table that the firing trigger does not define, even in a branch not
# taken, so each event gets its own function body (generated below).
LINES_SQL = """
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE i.status <> 'void'), 0) AS expected_idr,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE i.status = 'issued'), 0) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, 0 AS paid_invoices, 0 AS paid_on_time
        FROM ({changes}) c JOIN sponsorship_invoice i ON i.id = c.invoice_id
             JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        GROUP BY s.agency_id, c.month) x;"""

COVER_SQL = """
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT s.agency_id, c.month, 0 AS expected_idr, 0 AS outstanding_idr,
               SUM(c.sign * c.amount_idr) AS collected_idr,
               COALESCE(SUM(c.sign * c.amount_idr) FILTER (WHERE c.remitted_at IS NOT NULL), 0) AS remitted_idr,
               0 AS paid_invoices, 0 AS paid_on_time
        FROM ({changes}) c JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
        GROUP BY s.agency_id, c.month) x;"""

# An invoice's own contribution: its lines (by status) and, when paid, one paid invoice in its due month.
INVOICE_SQL = """
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT agency_id, month, SUM(expected_idr) AS expected_idr, SUM(outstanding_idr) AS outstanding_idr,
               0 AS collected_idr, 0 AS remitted_idr, SUM(paid_invoices) AS paid_invoices,
               SUM(paid_on_time) AS paid_on_time
        FROM (
            SELECT s.agency_id, l.month,
                   COALESCE(SUM(c.sign * l.amount_idr) FILTER (WHERE c.status <> 'void'), 0) AS expected_idr,
                   COALESCE(SUM(c.sign * l.amount_idr) FILTER (WHERE c.status = 'issued'), 0) AS outstanding_idr,
                   0 AS paid_invoices, 0 AS paid_on_time
            FROM ({changes}) c JOIN sponsorship_invoiceline l ON l.invoice_id = c.id
                 JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.with_lines
            GROUP BY s.agency_id, l.month
            UNION ALL
            SELECT s.agency_id, date_trunc('month', c.due_date)::date, 0, 0, SUM(c.sign),
                   COALESCE(SUM(c.sign) FILTER (WHERE (c.paid_at AT TIME ZONE 'UTC')::date <= c.due_date), 0)
            FROM ({changes}) c JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
            WHERE c.status = 'paid'
            GROUP BY s.agency_id, date_trunc('month', c.due_date)
        ) parts GROUP BY agency_id, month) x;"""

INVOICE_COLS = "id, sponsor_id, status, due_date, paid_at"


def _fn(name, body):
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
{body}
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;
"""


def _trigger(table, fn, event, level="STATEMENT", referencing="", when=""):
    return (
        f"CREATE TRIGGER {fn} AFTER {event} ON {table} {referencing} FOR EACH {level} {when} EXECUTE FUNCTION {fn}();\n"
    )


def build_forward() -> str:
    sql = FORWARD
    # invoice lines
    sql += _fn(
        "sponsorship_dash_lines_ins",
        LINES_SQL.format(changes="SELECT 1 AS sign, invoice_id, month, amount_idr FROM new_rows"),
    )
    sql += _fn(
        "sponsorship_dash_lines_del",
        LINES_SQL.format(changes="SELECT -1 AS sign, invoice_id, month, amount_idr FROM old_rows"),
    )
    sql += _fn(
        "sponsorship_dash_lines_upd",
        LINES_SQL.format(
            changes="SELECT 1 AS sign, invoice_id, month, amount_idr FROM new_rows UNION ALL "
            "SELECT -1, invoice_id, month, amount_idr FROM old_rows"
        ),
    )
    # coverage months
    cols = "sponsor_id, month, amount_idr, remitted_at"
    sql += _fn("sponsorship_dash_cover_ins", COVER_SQL.format(changes=f"SELECT 1 AS sign, {cols} FROM new_rows"))
    sql += _fn("sponsorship_dash_cover_del", COVER_SQL.format(changes=f"SELECT -1 AS sign, {cols} FROM old_rows"))
    sql += _fn(
        "sponsorship_dash_cover_upd",
        COVER_SQL.format(changes=f"SELECT 1 AS sign, {cols} FROM new_rows UNION ALL SELECT -1, {cols} FROM old_rows"),
    )
    # invoices: inserts and deletes count paid invoices only (lines come and go through their own trigger);
    # updates move the lines between statuses only for invoices whose status or sponsor changed.
    sql += _fn(
        "sponsorship_dash_invoice_ins",
        INVOICE_SQL.format(changes=f"SELECT 1 AS sign, false AS with_lines, {INVOICE_COLS} FROM new_rows"),
    )
    sql += _fn(
        "sponsorship_dash_invoice_del",
        INVOICE_SQL.format(changes=f"SELECT -1 AS sign, false AS with_lines, {INVOICE_COLS} FROM old_rows"),
    )
    changed = (
        "FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE (n.status, n.sponsor_id, n.due_date, n.paid_at) "
        "IS DISTINCT FROM (o.status, o.sponsor_id, o.due_date, o.paid_at)"
    )
    lines_moved = "(n.status, n.sponsor_id) IS DISTINCT FROM (o.status, o.sponsor_id)"
    sql += _fn(
        "sponsorship_dash_invoice_upd",
        INVOICE_SQL.format(
            changes=(
                f"SELECT 1 AS sign, {lines_moved} AS with_lines, n.id, n.sponsor_id, n.status, n.due_date, n.paid_at "
                f"{changed} UNION ALL "
                f"SELECT -1, {lines_moved}, o.id, o.sponsor_id, o.status, o.due_date, o.paid_at {changed}"
            )
        ),
    )
    # a sponsor moving to another agency takes its whole history along
    sql += """
CREATE FUNCTION sponsorship_dash_sponsor_move() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta jsonb;
BEGIN
    SELECT jsonb_agg(x) INTO delta FROM (
        SELECT a.agency_id, m.month, a.sign * m.expected_idr AS expected_idr,
               a.sign * m.outstanding_idr AS outstanding_idr, a.sign * m.collected_idr AS collected_idr,
               a.sign * m.remitted_idr AS remitted_idr, a.sign * m.paid_invoices AS paid_invoices,
               a.sign * m.paid_on_time AS paid_on_time
        FROM sponsorship_dash_sponsor_months(NEW.id) m
        CROSS JOIN (VALUES (OLD.agency_id, -1), (NEW.agency_id, 1)) AS a(agency_id, sign)) x;
    IF delta IS NOT NULL THEN PERFORM sponsorship_dash_add(delta); END IF;
    RETURN NULL;
END $$;
"""
    sql += SPONSOR_MONTHS
    sql += REBUILD
    sql += _trigger(
        "sponsorship_invoiceline",
        "sponsorship_dash_lines_ins",
        "INSERT",
        referencing="REFERENCING NEW TABLE AS new_rows",
    )
    sql += _trigger(
        "sponsorship_invoiceline",
        "sponsorship_dash_lines_del",
        "DELETE",
        referencing="REFERENCING OLD TABLE AS old_rows",
    )
    sql += _trigger(
        "sponsorship_invoiceline",
        "sponsorship_dash_lines_upd",
        "UPDATE",
        referencing="REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    )
    sql += _trigger(
        "sponsorship_coveragemonth",
        "sponsorship_dash_cover_ins",
        "INSERT",
        referencing="REFERENCING NEW TABLE AS new_rows",
    )
    sql += _trigger(
        "sponsorship_coveragemonth",
        "sponsorship_dash_cover_del",
        "DELETE",
        referencing="REFERENCING OLD TABLE AS old_rows",
    )
    sql += _trigger(
        "sponsorship_coveragemonth",
        "sponsorship_dash_cover_upd",
        "UPDATE",
        referencing="REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    )
    sql += _trigger(
        "sponsorship_invoice", "sponsorship_dash_invoice_ins", "INSERT", referencing="REFERENCING NEW TABLE AS new_rows"
    )
    sql += _trigger(
        "sponsorship_invoice", "sponsorship_dash_invoice_del", "DELETE", referencing="REFERENCING OLD TABLE AS old_rows"
    )
    sql += _trigger(
        "sponsorship_invoice",
        "sponsorship_dash_invoice_upd",
        "UPDATE",
        referencing="REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    )
    sql += _trigger(
        "sponsorship_sponsor",
        "sponsorship_dash_sponsor_move",
        "UPDATE OF agency_id",
        level="ROW",
        when="WHEN (OLD.agency_id IS DISTINCT FROM NEW.agency_id)",
    )
    sql += "SELECT sponsorship_dash_rebuild();\n"
    return sql


# One sponsor's contribution per month, from the raw rows (agency left out: the caller decides).
SPONSOR_MONTHS = """
CREATE FUNCTION sponsorship_dash_sponsor_months(sid bigint)
RETURNS TABLE (month date, expected_idr bigint, outstanding_idr bigint, collected_idr bigint, remitted_idr bigint,
               paid_invoices integer, paid_on_time integer) LANGUAGE sql STABLE AS $$
    SELECT month, COALESCE(SUM(e), 0)::bigint, COALESCE(SUM(o), 0)::bigint, COALESCE(SUM(c), 0)::bigint,
           COALESCE(SUM(r), 0)::bigint, COALESCE(SUM(p), 0)::integer, COALESCE(SUM(t), 0)::integer
    FROM (
        SELECT l.month, SUM(l.amount_idr) FILTER (WHERE i.status <> 'void') AS e,
               SUM(l.amount_idr) FILTER (WHERE i.status = 'issued') AS o, 0 AS c, 0 AS r, 0 AS p, 0 AS t
        FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
        WHERE i.sponsor_id = sid GROUP BY l.month
        UNION ALL
        SELECT month, 0, 0, SUM(amount_idr), SUM(amount_idr) FILTER (WHERE remitted_at IS NOT NULL), 0, 0
        FROM sponsorship_coveragemonth WHERE sponsor_id = sid GROUP BY month
        UNION ALL
        SELECT date_trunc('month', due_date)::date, 0, 0, 0, 0, COUNT(*),
               COUNT(*) FILTER (WHERE (paid_at AT TIME ZONE 'UTC')::date <= due_date)
        FROM sponsorship_invoice WHERE sponsor_id = sid AND status = 'paid' GROUP BY 1
    ) parts GROUP BY month
$$;
"""

REBUILD = f"""
CREATE FUNCTION sponsorship_dash_rebuild() RETURNS void LANGUAGE sql AS $$
    LOCK TABLE {T} IN EXCLUSIVE MODE;
    DELETE FROM {T};
    INSERT INTO {T} (agency_id, month, expected_idr, outstanding_idr, collected_idr, remitted_idr, paid_invoices,
                     paid_on_time)
    SELECT agency_id, month, COALESCE(SUM(e), 0), COALESCE(SUM(o), 0), COALESCE(SUM(c), 0), COALESCE(SUM(r), 0),
           COALESCE(SUM(p), 0), COALESCE(SUM(t), 0)
    FROM (
        SELECT s.agency_id, l.month, SUM(l.amount_idr) FILTER (WHERE i.status <> 'void') AS e,
               SUM(l.amount_idr) FILTER (WHERE i.status = 'issued') AS o, 0 AS c, 0 AS r, 0 AS p, 0 AS t
        FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
             JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        GROUP BY s.agency_id, l.month
        UNION ALL
        SELECT s.agency_id, c.month, 0, 0, SUM(c.amount_idr), SUM(c.amount_idr) FILTER (WHERE c.remitted_at IS NOT NULL),
               0, 0
        FROM sponsorship_coveragemonth c JOIN sponsorship_sponsor s ON s.id = c.sponsor_id
        GROUP BY s.agency_id, c.month
        UNION ALL
        SELECT s.agency_id, date_trunc('month', i.due_date)::date, 0, 0, 0, 0, COUNT(*),
               COUNT(*) FILTER (WHERE (i.paid_at AT TIME ZONE 'UTC')::date <= i.due_date)
        FROM sponsorship_invoice i JOIN sponsorship_sponsor s ON s.id = i.sponsor_id
        WHERE i.status = 'paid' GROUP BY s.agency_id, date_trunc('month', i.due_date)
    ) parts GROUP BY agency_id, month;
$$;
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS sponsorship_dash_lines_ins ON sponsorship_invoiceline;
DROP TRIGGER IF EXISTS sponsorship_dash_lines_del ON sponsorship_invoiceline;
DROP TRIGGER IF EXISTS sponsorship_dash_lines_upd ON sponsorship_invoiceline;
DROP TRIGGER IF EXISTS sponsorship_dash_cover_ins ON sponsorship_coveragemonth;
DROP TRIGGER IF EXISTS sponsorship_dash_cover_del ON sponsorship_coveragemonth;
DROP TRIGGER IF EXISTS sponsorship_dash_cover_upd ON sponsorship_coveragemonth;
DROP TRIGGER IF EXISTS sponsorship_dash_invoice_ins ON sponsorship_invoice;
DROP TRIGGER IF EXISTS sponsorship_dash_invoice_del ON sponsorship_invoice;
DROP TRIGGER IF EXISTS sponsorship_dash_invoice_upd ON sponsorship_invoice;
DROP TRIGGER IF EXISTS sponsorship_dash_sponsor_move ON sponsorship_sponsor;
DROP FUNCTION IF EXISTS sponsorship_dash_lines_ins(), sponsorship_dash_lines_del(), sponsorship_dash_lines_upd(),
    sponsorship_dash_cover_ins(), sponsorship_dash_cover_del(), sponsorship_dash_cover_upd(),
    sponsorship_dash_invoice_ins(), sponsorship_dash_invoice_del(), sponsorship_dash_invoice_upd(),
    sponsorship_dash_sponsor_move(), sponsorship_dash_rebuild(), sponsorship_dash_sponsor_months(bigint),
    sponsorship_dash_add(jsonb);
DROP INDEX IF EXISTS sponsorship_invoice_open_due, sponsorship_worker_village_id_id,
    sponsorship_sponsorship_active_worker, sponsorship_coveragemonth_month_cover;
DROP TABLE IF EXISTS {T};
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)  # no parameters: the simple protocol runs all statements


def forward(apps, schema_editor):
    _run(schema_editor, build_forward())


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("sponsorship", "0005_merge_matching")]
    operations = [migrations.RunPython(forward, backward)]
