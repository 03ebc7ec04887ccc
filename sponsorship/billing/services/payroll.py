"""Payroll deduction, part 1: consents to deduct and the monthly deduction lists (docs/payroll.md).

Payroll month M is the month whose salary (paid on the 1st) carries the deduction; it pays the sponsor's monthly
invoice for coverage month M (due the 15th of M). The list for M is produced on the regency's list day of M-1
(default the 20th), sent to the agency treasurer, and locked once marked sent. Settling from the treasurer's
confirmation is in payroll_settle.
"""

import csv
import datetime as dt
import hashlib
import io

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.billing.models import Invoice, PayrollConsent, PayrollDeduction, PayrollList, PayrollSettings
from sponsorship.billing.selectors.payday import working_day_on_or_before
from sponsorship.billing.selectors.payroll import consents_active_in, live_consent, payroll_settings_for
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.rates import premium_for
from sponsorship.core.audit import AuditAction, audit_record, snapshot
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.core.transitions import transition
from sponsorship.people.models import Agency, Sponsor, Sponsorship
from sponsorship.regions.models import Region

C = PayrollConsent.Status
MAX_SCAN_BYTES = 2 * 1024 * 1024
# What a scan of a signed form may be, told by its first bytes (never by the name or the declared type).
SCAN_TYPES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
LIST_COLUMNS = ("NIP", "Nama", "Golongan", "Jumlah", "Rekening", "Jenis")


# ---- settings --------------------------------------------------------------------------------------------
def payroll_settings_update(*, regency: Region, actor, **changes) -> PayrollSettings:
    current = payroll_settings_for(regency)
    fields = ("list_day", "cutoff_day", "consent_text_version")
    before = snapshot(current, fields) if current.pk else None
    for name, value in changes.items():
        if name in fields and value is not None:
            setattr(current, name, value)
    if not 1 <= current.list_day <= current.cutoff_day <= 28:
        raise ApplicationError(
            _("The list day must be between 1 and the cut-off day, and the cut-off day at most 28."),
            code="invalid_days",
        )
    with transaction.atomic():
        current.save()
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_SETTINGS_UPDATE,
            obj=current,
            before=before,
            after=snapshot(current, fields),
        )
    return current


# ---- when a change takes effect --------------------------------------------------------------------------
def payroll_list_date(*, regency_id: int, month: dt.date) -> dt.date:
    """The day of `month` from which next month's lists are produced: the list day, or the working day before
    when it falls on a weekend or one of the regency's holidays (the treasurer needs it before the cut-off)."""
    settings = payroll_settings_for(regency_id)
    return working_day_on_or_before(regency_id, month.replace(day=settings.list_day))


def payroll_cutoff_date(*, regency_id: int, month: dt.date) -> dt.date:
    """The payroll cut-off of `month`: the cut-off day, or the working day before when the office is closed."""
    settings = payroll_settings_for(regency_id)
    return working_day_on_or_before(regency_id, month.replace(day=settings.cutoff_day))


def first_open_payroll_month(*, agency_id: int, today: dt.date | None = None) -> dt.date:
    """The first payroll month a consent or a stop can still change: next month while before the cut-off and its
    list is not sent yet; otherwise the month after."""
    today = today or local_today()
    regency_id = Agency.objects.values_list("regency_id", flat=True).get(pk=agency_id)
    month = add_months(month_start(today), 1)
    locked = PayrollList.objects.filter(agency_id=agency_id, payroll_month=month).exclude(
        status=PayrollList.Status.DRAFT
    )
    if today > payroll_cutoff_date(regency_id=regency_id, month=month_start(today)) or locked.exists():
        month = add_months(month, 1)
    return month


def monthly_amount_estimate(*, sponsor: Sponsor, month: dt.date) -> int:
    """Premium × workers for `month` (what the consent form shows; each list takes the actual invoice)."""
    live = Sponsorship.objects.filter(sponsor=sponsor, status=Sponsorship.Status.ACTIVE).select_related(
        "worker__occupation"
    )
    total = 0
    for s in live:
        total += premium_for(month=month, is_transport=s.worker.occupation.is_transport).amount_idr
    return total


# ---- consents --------------------------------------------------------------------------------------------
def scan_validate(*, content: bytes, file_name: str) -> str:
    """The content type of a signed form's scan (PDF, JPEG, PNG up to 2 MB), or a 400 saying what is wrong."""
    if not content:
        raise ApplicationError(_("The scan of the signed form is empty."), code="scan_empty")
    if len(content) > MAX_SCAN_BYTES:
        raise ApplicationError(_("The scan is too large (at most 2 MB)."), code="scan_too_large", status_code=413)
    for magic, content_type in SCAN_TYPES:
        if content.startswith(magic):
            return content_type
    raise ApplicationError(
        _("The scan must be a PDF, JPEG or PNG file."), code="scan_type", extra={"fields": {"scan": [file_name[:80]]}}
    )


def consent_create(
    *,
    sponsor: Sponsor,
    kind: str,
    actor,
    start_month: dt.date | None = None,
    golongan: str = "",
    account_number: str = "",
    consent_text_version: str = "",
    confirmed: bool = False,
    scan: bytes | None = None,
    scan_file_name: str = "",
    today: dt.date | None = None,
) -> PayrollConsent:
    """Record a consent: in the app (`confirmed` with the consent text's version) or a paper form (`scan`)."""
    today = today or local_today()
    settings = payroll_settings_for(sponsor.agency.regency_id)
    if kind not in PayrollConsent.Kind.values:
        raise ApplicationError(_("Choose salary (gaji) or allowance (TPP) deduction."), code="invalid_kind")
    channel = PayrollConsent.Channel.PAPER if scan is not None else PayrollConsent.Channel.APP
    scan_type = ""
    if channel == PayrollConsent.Channel.APP:
        if not confirmed:
            raise ApplicationError(_("Confirm the consent text to deduct from your pay."), code="not_confirmed")
        if consent_text_version != settings.consent_text_version:
            raise ApplicationError(
                _("The consent text has changed; read the current version (%(version)s) and confirm again.")
                % {"version": settings.consent_text_version},
                code="consent_text_outdated",
            )
    else:
        assert scan is not None
        scan_type = scan_validate(content=scan, file_name=scan_file_name)
    earliest = first_open_payroll_month(agency_id=sponsor.agency_id, today=today)
    start = month_start(start_month) if start_month else earliest
    if start < earliest:
        raise ApplicationError(
            _("The earliest payroll month that can still be deducted is %(month)s.") % {"month": f"{earliest:%m/%Y}"},
            code="start_month_too_early",
        )
    with transaction.atomic():
        Sponsor.objects.select_for_update().filter(pk=sponsor.pk).first()
        current = live_consent(sponsor.pk)
        if current is not None and current.status == C.ACTIVE:
            raise ConflictError(
                _("A payroll deduction is already active; stop it before choosing another one."),
                code="consent_exists",
            )
        if current is not None and current.end_month and start < current.end_month:
            start = current.end_month  # a stopping consent still deducts until its stop month
        amount = monthly_amount_estimate(sponsor=sponsor, month=start)
        if amount <= 0:
            raise ApplicationError(
                _("You do not sponsor any worker yet: there is nothing to deduct."), code="nothing_to_deduct"
            )
        consent = PayrollConsent.objects.create(
            sponsor=sponsor,
            kind=kind,
            channel=channel,
            start_month=start,
            monthly_amount_idr=amount,
            golongan=golongan.strip()[:10],
            account_number="".join(account_number.split())[:30],
            consent_text_version=consent_text_version or settings.consent_text_version,
            confirmed_in_app_at=timezone.now() if channel == PayrollConsent.Channel.APP else None,
            scan=scan,
            scan_content_type=scan_type,
            scan_sha256=hashlib.sha256(scan).hexdigest() if scan is not None else "",
            scan_file_name=scan_file_name[:120],
            recorded_by=actor if channel == PayrollConsent.Channel.PAPER else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_CONSENT_CREATE,
            obj=consent,
            after={
                "sponsor_id": sponsor.pk,
                "kind": kind,
                "channel": channel,
                "start_month": start.isoformat(),
                "monthly_amount_idr": amount,
                "consent_text_version": consent.consent_text_version,
                "scan_sha256": consent.scan_sha256,
            },
        )
    return consent


def consent_stop(*, consent: PayrollConsent, actor, today: dt.date | None = None) -> PayrollConsent:
    """Stop deducting from the next payroll month that can still change (a sent list is never changed)."""
    effective = first_open_payroll_month(agency_id=consent.sponsor.agency_id, today=today)
    with transaction.atomic():
        consent = PayrollConsent.objects.defer("scan").select_for_update().get(pk=consent.pk)
        if consent.status not in PayrollConsent.LIVE:
            raise ConflictError(_("This payroll deduction has already ended."), code="consent_ended")
        if consent.status == C.STOPPING and consent.end_month and consent.end_month <= effective:
            return consent  # asked twice: the first stop stands
        now = timezone.now()
        if effective <= consent.start_month:
            # Never deducted: it ends at once, without a month deducted.
            transition(
                PayrollConsent,
                consent.pk,
                to=C.ENDED,
                end_month=consent.start_month,
                stop_requested_at=now,
                ended_at=now,
            )
        else:
            transition(PayrollConsent, consent.pk, to=C.STOPPING, end_month=effective, stop_requested_at=now)
        consent.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_CONSENT_STOP,
            obj=consent,
            after={"status": consent.status, "end_month": consent.end_month.isoformat() if consent.end_month else None},
        )
    return consent


def consents_end_due(*, today: dt.date | None = None) -> int:
    """Scheduled: a stopping consent whose stop month has come is ended."""
    month = month_start(today or local_today())
    ended = 0
    for pk in PayrollConsent.objects.filter(status=C.STOPPING, end_month__lte=month).values_list("pk", flat=True):
        with transaction.atomic():
            if transition(PayrollConsent, pk, to=C.ENDED, from_=C.STOPPING, ended_at=timezone.now()):
                audit_record(
                    actor=None,
                    action=AuditAction.PAYROLL_CONSENT_END,
                    object_type="billing.payrollconsent",
                    object_id=pk,
                )
                ended += 1
    return ended


# ---- the monthly deduction list ---------------------------------------------------------------------------
def _monthly_invoices(sponsor_ids, month: dt.date) -> dict[int, Invoice]:
    """Each sponsor's monthly invoice for `month` (the run's, sequence 1 first; voided ones left out): one query."""
    out: dict[int, Invoice] = {}
    for invoice in (
        Invoice.objects.filter(sponsor_id__in=list(sponsor_ids), kind=Invoice.Kind.MONTHLY, period=month)
        .exclude(status=Invoice.Status.VOID)
        .order_by("sponsor_id", "sequence")
    ):
        if invoice.sponsor_id is not None:  # filtered on sponsors: always set (pool/self-pay invoices have none)
            out.setdefault(invoice.sponsor_id, invoice)
    return out


def payroll_list_produce(*, agency: Agency, month: dt.date, actor=None) -> PayrollList:
    """Produce (or re-produce, while a draft) the deduction list of `agency` for payroll month `month`.

    Each consenting ASN of the agency is listed with their monthly invoice for `month`; when the billing run has
    not issued that month yet, it is run first (idempotent: it bills only what is not billed). An invoice already
    paid (e.g. through the gateway) or fully paid by credit is not listed. An ASN already on another agency's list
    for the month (they moved) stays there."""
    month = month_start(month)
    existing = PayrollList.objects.filter(agency=agency, payroll_month=month).first()
    if existing is not None and existing.status != PayrollList.Status.DRAFT:
        raise ConflictError(
            _("The list for this month was already sent to the treasurer and can no longer change."),
            code="list_locked",
        )
    consents = list(consents_active_in(month).filter(sponsor__agency=agency).select_related("sponsor"))
    if {c.sponsor_id for c in consents} - set(_monthly_invoices([c.sponsor_id for c in consents], month)):
        billing_run(period=month, actor=actor)
    now = timezone.now()
    with transaction.atomic():
        payroll_list, _created = PayrollList.objects.get_or_create(
            agency=agency, payroll_month=month, defaults={"produced_at": now, "produced_by": actor}
        )
        payroll_list = PayrollList.objects.select_for_update().get(pk=payroll_list.pk)
        if payroll_list.status != PayrollList.Status.DRAFT:
            raise ConflictError(
                _("The list for this month was already sent to the treasurer and can no longer change."),
                code="list_locked",
            )
        payroll_list.rows.all().delete()
        elsewhere = set(PayrollDeduction.objects.filter(payroll_month=month).values_list("sponsor_id", flat=True))
        invoices = _monthly_invoices([c.sponsor_id for c in consents], month)
        rows = []
        for consent in consents:
            if consent.sponsor_id in elsewhere:
                continue
            invoice = invoices.get(consent.sponsor_id)
            if invoice is None or invoice.status != Invoice.Status.ISSUED or invoice.amount_idr <= 0:
                continue
            rows.append(
                PayrollDeduction(
                    payroll_list=payroll_list,
                    payroll_month=month,
                    sponsor=consent.sponsor,
                    consent=consent,
                    invoice=invoice,
                    nip=consent.sponsor.nip,
                    full_name=consent.sponsor.full_name,
                    golongan=consent.golongan,
                    account_number=consent.account_number,
                    kind=consent.kind,
                    amount_idr=invoice.amount_idr,
                )
            )
        PayrollDeduction.objects.bulk_create(rows)
        payroll_list.rows_count = len(rows)
        payroll_list.total_idr = sum(r.amount_idr for r in rows)
        payroll_list.produced_at = now
        payroll_list.produced_by = actor if getattr(actor, "is_authenticated", False) else None
        payroll_list.save(update_fields=["rows_count", "total_idr", "produced_at", "produced_by"])
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_LIST_PRODUCE,
            obj=payroll_list,
            after={
                "agency_id": agency.pk,
                "payroll_month": month.isoformat(),
                "rows": len(rows),
                "total_idr": payroll_list.total_idr,
                "skipped_on_other_list": len([c for c in consents if c.sponsor_id in elsewhere]),
            },
        )
    return payroll_list


def payroll_list_send(*, payroll_list: PayrollList, actor) -> PayrollList:
    """Mark the list sent to the treasurer: from now on it is locked."""
    with transaction.atomic():
        if not transition(
            PayrollList,
            payroll_list.pk,
            to=PayrollList.Status.SENT,
            from_=PayrollList.Status.DRAFT,
            sent_at=timezone.now(),
            sent_by=actor,
        ):
            raise ConflictError(_("This list was already marked as sent."), code="list_already_sent")
        payroll_list.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_LIST_SEND,
            obj=payroll_list,
            after={"rows": payroll_list.rows_count, "total_idr": payroll_list.total_idr},
        )
    return payroll_list


def payroll_lists_due(*, today: dt.date | None = None) -> dict[str, int]:
    """Scheduled daily: from each regency's list day on, produce next month's list of every agency that has
    consenting ASN and no list yet (a scheduler that was down catches up; a produced list is left alone)."""
    today = today or local_today()
    month = add_months(month_start(today), 1)
    produced: dict[str, int] = {}
    agency_ids = set(consents_active_in(month).values_list("sponsor__agency_id", flat=True))
    done = set(PayrollList.objects.filter(payroll_month=month).values_list("agency_id", flat=True))
    for agency in Agency.objects.filter(pk__in=agency_ids - done).select_related("regency").order_by("pk"):
        if today < payroll_list_date(regency_id=agency.regency_id, month=month_start(today)):
            continue
        payroll_list = payroll_list_produce(agency=agency, month=month, actor=None)
        produced[agency.regency.code] = produced.get(agency.regency.code, 0) + payroll_list.rows_count
    return produced


def payroll_list_file(*, payroll_list: PayrollList, fmt: str, actor) -> tuple[bytes, str, str]:
    """The treasurer's file (XLSX or CSV): NIP, Nama, Golongan, Jumlah, Rekening, Jenis. The download is audited."""
    rows = [
        (r.nip, r.full_name, r.golongan, r.amount_idr, r.account_number, r.kind)
        for r in payroll_list.rows.order_by("full_name", "nip")
    ]
    stem = f"potongan-{payroll_list.agency.short_name or payroll_list.agency_id}-{payroll_list.payroll_month:%Y-%m}"
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(LIST_COLUMNS)
        writer.writerows(rows)
        content, content_type, name = out.getvalue().encode("utf-8-sig"), "text/csv", f"{stem}.csv"
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = f"{payroll_list.payroll_month:%Y-%m}"
        sheet.append(LIST_COLUMNS)
        for row in rows:
            sheet.append(row)
        for cell in sheet["A"][1:]:
            cell.number_format = "@"  # a NIP is text: Excel would round an 18-digit number
        total = payroll_list.rows.aggregate(s=Sum("amount_idr"))["s"] or 0
        sheet.append(("", "TOTAL", "", total, "", ""))
        buffer = io.BytesIO()
        workbook.save(buffer)
        content = buffer.getvalue()
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name = f"{stem}.xlsx"
    audit_record(
        actor=actor,
        action=AuditAction.PAYROLL_LIST_DOWNLOAD,
        obj=payroll_list,
        after={"format": fmt, "rows": len(rows)},
    )
    return content, content_type, name
