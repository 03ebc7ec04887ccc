-- The per agency-month money summary and the indexes the dashboard reads through (PostgreSQL only).
-- Idempotent: run by install_summary_sql() after every change to these files. IF NOT EXISTS only looks at the
-- name, so a changed column or index definition needs its own ALTER/DROP here (or in a migration).
--
-- Columns, per agency A and month M (the figures are defined in words in docs/figures.md; the dashboard reads
-- them through sponsorship/dashboard/selectors/money.py):
--   outstanding_idr  sum of invoice lines of M on issued invoices
--   collected_idr    sum of coverage months M                      (scope by coverage_month.sponsor)
--   remitted_idr     sum of coverage months M with remitted_at
--   paid_invoices    paid invoices whose due date is in M
--   paid_on_time     of those, paid on or before the due date by the date in the regency's zone
--                    (sponsorship_dash_local_date: RegencyConfig.timezone, WIB without a config row)
-- There is no "expected" column: expected = collected + outstanding + written off, added up by the selectors,
-- so it cannot disagree with its parts. Written off (lines of refunded invoices whose worker-month nobody is
-- billed for any more) depends on other sponsors' rows and is read live, through sponsorship_invoice_refunded.
-- Issued (unpaid) invoices change meaning with the date (overdue or not), so they are read live through the
-- partial index sponsorship_invoice_open_due.

CREATE TABLE IF NOT EXISTS sponsorship_dash_agency_month (
    agency_id bigint NOT NULL,
    month date NOT NULL,
    outstanding_idr bigint NOT NULL DEFAULT 0,
    collected_idr bigint NOT NULL DEFAULT 0,
    remitted_idr bigint NOT NULL DEFAULT 0,
    paid_invoices integer NOT NULL DEFAULT 0,
    paid_on_time integer NOT NULL DEFAULT 0,
    PRIMARY KEY (agency_id, month)
);

-- "expected" was a column until issue 13 (lines of non-void invoices, which counted a refunded month and its
-- re-bill twice); it is now the sum of its parts.
ALTER TABLE sponsorship_dash_agency_month DROP COLUMN IF EXISTS expected_idr;

-- Money returned (refund, chargeback): the written-off figure starts from these few invoices.
CREATE INDEX IF NOT EXISTS sponsorship_invoice_refunded ON sponsorship_invoice (sponsor_id) WHERE status = 'refunded';
-- Open invoices (arrears, on-time denominators).
CREATE INDEX IF NOT EXISTS sponsorship_invoice_open_due ON sponsorship_invoice (due_date)
    INCLUDE (sponsor_id, amount_idr) WHERE status = 'issued';
-- Index-only scans for the coverage counts (workers per village, active sponsor per worker, paid month).
CREATE INDEX IF NOT EXISTS sponsorship_worker_village_id_id ON sponsorship_worker (village_id, id);
CREATE INDEX IF NOT EXISTS sponsorship_sponsorship_active_worker ON sponsorship_sponsorship (worker_id, sponsor_id)
    WHERE status = 'active';
CREATE INDEX IF NOT EXISTS sponsorship_coveragemonth_month_cover
    ON sponsorship_coveragemonth (month, worker_id, sponsor_id);
