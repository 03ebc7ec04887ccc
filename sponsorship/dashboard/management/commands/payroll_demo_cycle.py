"""One month of the payroll deduction rail on the demo data (docs/payroll.md, issue 17's "done when"):

produce the treasurer's file for the agency with the most consents, mark it sent, write the treasurer's
confirmation with one row missing, import and apply it, record the bank's transfer, then print who is covered,
who got a payment link, and the ledger check. The payment link needs the gateway (the Midtrans simulator that
`python3 dev.py start` runs); without it the row is reported and the link is retried by the next confirmation.

    python manage.py payroll_demo_cycle [--agency-id N] [--out DIR]
"""

import csv
import io
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from sponsorship.billing.models import CoverageMonth, PayrollConsent, PayrollDeduction, PayrollList
from sponsorship.billing.selectors.payroll import consents_active_in
from sponsorship.billing.services.payroll import (
    first_open_payroll_month,
    payroll_list_file,
    payroll_list_produce,
    payroll_list_send,
)
from sponsorship.billing.services.payroll_settle import (
    confirmed_total_idr,
    payroll_confirmation_apply,
    payroll_transfer_record,
)
from sponsorship.core.periods import local_today
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.dashboard.services.payroll_import import confirmation_preview
from sponsorship.people.models import Agency, Profile, Role


class Command(BaseCommand):
    help = "Run one month of payroll deduction on the demo data: list, confirmation with one row missing, ledger."

    def add_arguments(self, parser):
        parser.add_argument("--agency-id", type=int, help="Default: the agency with the most live consents")
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "payroll-demo"))

    def handle(self, *args, **opts):
        agency = self._agency(opts.get("agency_id"))
        month = first_open_payroll_month(agency_id=agency.pk)
        if not consents_active_in(month).filter(sponsor__agency=agency).exists():
            month = (
                PayrollConsent.objects.filter(sponsor__agency=agency, status__in=PayrollConsent.LIVE)
                .order_by("start_month")
                .values_list("start_month", flat=True)
                .first()
            )
        existing = PayrollList.objects.filter(agency=agency, payroll_month=month).first()
        if existing is not None and existing.status != PayrollList.Status.DRAFT:
            raise CommandError(
                f"The {month:%Y-%m} list of {agency.name} was already sent ({existing.status}); nothing to demo."
            )
        admin = self._admin(agency)
        out = Path(opts["out"])
        out.mkdir(parents=True, exist_ok=True)
        w = self.stdout.write

        w(f"Agency: {agency.name} — payroll month {month:%m/%Y} (admin: {admin.username})")
        payroll_list = payroll_list_produce(agency=agency, month=month, actor=admin)
        content, _type, name = payroll_list_file(payroll_list=payroll_list, fmt="xlsx", actor=admin)
        (out / name).write_bytes(content)
        w(f"1. Treasurer's file: {out / name} — {payroll_list.rows_count} ASN, Rp {payroll_list.total_idr:,}")
        payroll_list = payroll_list_send(payroll_list=payroll_list, actor=admin)
        w("2. Marked sent to the treasurer (the list is locked)")

        rows = list(payroll_list.rows.order_by("full_name", "nip"))
        if len(rows) < 2:
            raise CommandError("The demo needs at least two ASN on the list.")
        today = local_today()
        deducted, missing = rows[:-1], rows[-1]
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["NIP", "Jumlah", "Referensi", "Tanggal"])
        for row in deducted:
            writer.writerow([row.nip, row.amount_idr, f"BPD-{month:%Y%m}-{agency.pk}", f"{today:%d/%m/%Y}"])
        confirmation_file = out / f"konfirmasi-{agency.pk}-{month:%Y-%m}.csv"
        confirmation_file.write_text(text.getvalue(), encoding="utf-8")
        w(f"3. Treasurer's confirmation: {confirmation_file} — {len(deducted)} rows, NIP {missing.nip} missing")
        confirmation = confirmation_preview(
            payroll_list=payroll_list, file_name=confirmation_file.name, content=text.getvalue().encode(), actor=admin
        )
        w(f"   report: {len(confirmation.rows)} valid rows, {len(confirmation.problems)} problems")
        result = payroll_confirmation_apply(confirmation=confirmation, actor=admin)
        w(f"4. Applied: {dict(result['outcomes'])}, payment links queued: {result['fallback_links']}")
        total = confirmed_total_idr(agency_id=agency.pk, month=month)
        transfer = payroll_transfer_record(
            agency=agency,
            month=month,
            amount_idr=total,
            reference=f"BPD-{month:%Y%m}-{agency.pk}",
            transfer_date=today,
            actor=admin,
        )
        w(f"5. Bank transfer Rp {transfer.amount_idr:,} recorded: {'matches' if transfer.matched else 'DIFFERS'}")

        w("Covered (deducted, their workers protected for the month):")
        for row in PayrollDeduction.objects.filter(payroll_list=payroll_list, status__in=PayrollDeduction.SETTLED):
            workers = CoverageMonth.objects.filter(month=month, attempt=row.attempt_id).count()
            w(f"  NIP {row.nip}: Rp {row.deducted_idr:,} ({row.status}), {workers} worker-months covered")
        w("Not deducted (payment link to the ASN):")
        for row in PayrollDeduction.objects.filter(payroll_list=payroll_list, status=PayrollDeduction.Status.MISSING):
            link = row.invoice.attempts.filter(status="open").values_list("redirect_url", flat=True).first()
            sent = f"link sent {row.fallback_sent_at:%Y-%m-%d %H:%M}: {link}" if row.fallback_sent_at else "no link yet"
            w(f"  NIP {row.nip}: invoice {row.invoice.number} Rp {row.amount_idr:,} — {sent}")
        report = ledger_check(regency=agency.regency)
        w(f"Ledger check ({', '.join(c.name for c in report.checks)}): {'OK' if report.ok else 'VIOLATIONS'}")
        for violation in report.violations[:10]:
            w(f"  {violation}")

    def _agency(self, agency_id):
        if agency_id:
            return Agency.objects.get(pk=agency_id)
        found = (
            Agency.objects.filter(sponsors__payroll_consents__status__in=PayrollConsent.LIVE)
            .annotate(n=Count("sponsors__payroll_consents"))
            .order_by("-n", "pk")
            .first()
        )
        if found is None:
            raise CommandError("No payroll consents: run seed_demo first.")
        return found

    def _admin(self, agency):
        profile = (
            Profile.objects.filter(role=Role.AGENCY_ADMIN, agency=agency).select_related("user").first()
            or Profile.objects.filter(role=Role.REGENCY_ADMIN, regency_id=agency.regency_id)
            .select_related("user")
            .first()
        )
        if profile is None:
            raise CommandError("No admin for this agency or regency.")
        return profile.user
