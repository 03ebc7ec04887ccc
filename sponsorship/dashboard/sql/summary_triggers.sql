-- Triggers keeping sponsorship_dash_agency_month up to date in the same transaction as the write, whatever path
-- writes (services, bulk inserts, queryset updates). Statement-level with transition tables, except a sponsor
-- changing agency (row-level). Idempotent: each trigger is dropped and created again; install_summary_sql() runs
-- this file in one transaction, so no write can slip between the drop and the create.

-- invoice lines
DROP TRIGGER IF EXISTS sponsorship_dash_lines_ins ON sponsorship_invoiceline;
CREATE TRIGGER sponsorship_dash_lines_ins AFTER INSERT ON sponsorship_invoiceline
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_lines_ins();

DROP TRIGGER IF EXISTS sponsorship_dash_lines_del ON sponsorship_invoiceline;
CREATE TRIGGER sponsorship_dash_lines_del AFTER DELETE ON sponsorship_invoiceline
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_lines_del();

DROP TRIGGER IF EXISTS sponsorship_dash_lines_upd ON sponsorship_invoiceline;
CREATE TRIGGER sponsorship_dash_lines_upd AFTER UPDATE ON sponsorship_invoiceline
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_lines_upd();

-- coverage months
DROP TRIGGER IF EXISTS sponsorship_dash_cover_ins ON sponsorship_coveragemonth;
CREATE TRIGGER sponsorship_dash_cover_ins AFTER INSERT ON sponsorship_coveragemonth
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_cover_ins();

DROP TRIGGER IF EXISTS sponsorship_dash_cover_del ON sponsorship_coveragemonth;
CREATE TRIGGER sponsorship_dash_cover_del AFTER DELETE ON sponsorship_coveragemonth
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_cover_del();

DROP TRIGGER IF EXISTS sponsorship_dash_cover_upd ON sponsorship_coveragemonth;
CREATE TRIGGER sponsorship_dash_cover_upd AFTER UPDATE ON sponsorship_coveragemonth
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_cover_upd();

-- invoices
DROP TRIGGER IF EXISTS sponsorship_dash_invoice_ins ON sponsorship_invoice;
CREATE TRIGGER sponsorship_dash_invoice_ins AFTER INSERT ON sponsorship_invoice
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_invoice_ins();

DROP TRIGGER IF EXISTS sponsorship_dash_invoice_del ON sponsorship_invoice;
CREATE TRIGGER sponsorship_dash_invoice_del AFTER DELETE ON sponsorship_invoice
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_invoice_del();

DROP TRIGGER IF EXISTS sponsorship_dash_invoice_upd ON sponsorship_invoice;
CREATE TRIGGER sponsorship_dash_invoice_upd AFTER UPDATE ON sponsorship_invoice
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sponsorship_dash_invoice_upd();

-- a sponsor moving to another agency takes its whole history along
DROP TRIGGER IF EXISTS sponsorship_dash_sponsor_move ON sponsorship_sponsor;
CREATE TRIGGER sponsorship_dash_sponsor_move AFTER UPDATE OF agency_id ON sponsorship_sponsor
    FOR EACH ROW WHEN (OLD.agency_id IS DISTINCT FROM NEW.agency_id)
    EXECUTE FUNCTION sponsorship_dash_sponsor_move();

-- a regency's zone decides which payments were on time: a change of it (not of the other settings) rebuilds
DROP TRIGGER IF EXISTS sponsorship_dash_zone_changed ON sponsorship_regencyconfig;
CREATE TRIGGER sponsorship_dash_zone_changed AFTER UPDATE OF timezone, regency_id ON sponsorship_regencyconfig
    FOR EACH ROW WHEN ((OLD.timezone, OLD.regency_id) IS DISTINCT FROM (NEW.timezone, NEW.regency_id))
    EXECUTE FUNCTION sponsorship_dash_zone_changed();
-- a regency without a config row is WIB: adding or removing a WIB row changes nothing
DROP TRIGGER IF EXISTS sponsorship_dash_zone_added ON sponsorship_regencyconfig;
CREATE TRIGGER sponsorship_dash_zone_added AFTER INSERT ON sponsorship_regencyconfig
    FOR EACH ROW WHEN (NEW.timezone IS DISTINCT FROM 'Asia/Jakarta')
    EXECUTE FUNCTION sponsorship_dash_zone_changed();
DROP TRIGGER IF EXISTS sponsorship_dash_zone_removed ON sponsorship_regencyconfig;
CREATE TRIGGER sponsorship_dash_zone_removed AFTER DELETE ON sponsorship_regencyconfig
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM 'Asia/Jakarta')
    EXECUTE FUNCTION sponsorship_dash_zone_changed();
