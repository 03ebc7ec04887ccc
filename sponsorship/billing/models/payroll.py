"""Payroll deduction (potong gaji / potong TPP): a second payment rail beside Midtrans (docs/payroll.md).

An ASN consents to have the monthly invoice deducted from their salary or allowance; each month a list per agency
(OPD) goes to the agency treasurer (bendahara); the treasurer's (or the regional bank's) confirmation file settles
the listed invoices like a gateway payment; the bank's transfer per agency is matched against what was confirmed.
Money is integer rupiah; every state has a TRANSITIONS table applied by core.transitions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.people.models import Agency, Sponsor
from sponsorship.regions.models import Region

from .billing import Invoice
from .payments import PaymentAttempt

# PaymentAttempt.payment_type of a settlement by payroll deduction: never asked about at the gateway.
PAYROLL_PAYMENT_TYPE = "payroll"


class PayrollSettings(models.Model):
    """Per regency: when the deduction lists are produced and the payroll cut-off (RegencyConfig is not ours)."""

    regency = models.OneToOneField(
        Region, on_delete=models.CASCADE, related_name="payroll_settings", limit_choices_to={"level": "regency"}
    )
    list_day = models.PositiveSmallIntegerField(
        default=20, help_text="Day of the month before the payroll month on which the deduction lists are produced"
    )
    cutoff_day = models.PositiveSmallIntegerField(
        default=25, help_text="Payroll cut-off: after this day a stop takes effect one payroll month later"
    )
    consent_text_version = models.CharField(max_length=20, default="2026.1")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payroll settings")
        verbose_name_plural = _("payroll settings")
        constraints = [
            models.CheckConstraint(condition=Q(list_day__gte=1, list_day__lte=28), name="payroll_list_day_1_28"),
            models.CheckConstraint(
                condition=Q(cutoff_day__gte=models.F("list_day"), cutoff_day__lte=28),
                name="payroll_cutoff_after_list_day",
            ),
        ]

    def __str__(self):
        return f"{self.regency_id}: list {self.list_day}, cut-off {self.cutoff_day}"


class PayrollConsent(models.Model):
    """An ASN's signed consent to have their monthly invoice deducted by the agency treasurer."""

    class Kind(models.TextChoices):
        SALARY = "salary", _("Salary deduction (potong gaji)")
        TPP = "tpp", _("Allowance deduction (potong TPP)")

    class Channel(models.TextChoices):
        APP = "app", _("Confirmed in the app")
        PAPER = "paper", _("Paper form recorded by an admin")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        STOPPING = "stopping", _("Stop requested (deducted until the stop month)")
        ENDED = "ended", _("Ended")

    TRANSITIONS = {
        Status.ACTIVE: {Status.STOPPING, Status.ENDED},
        Status.STOPPING: {Status.ENDED},
        Status.ENDED: set(),
    }
    LIVE = (Status.ACTIVE, Status.STOPPING)

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="payroll_consents")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    start_month = models.DateField(help_text="First payroll month deducted (1st of month)")
    end_month = models.DateField(null=True, blank=True, help_text="First payroll month NOT deducted (after a stop)")
    monthly_amount_idr = models.PositiveIntegerField(
        help_text="Premium × workers when signed; each list follows the sponsor's actual monthly invoice"
    )
    golongan = models.CharField(max_length=10, blank=True, help_text="Civil-service grade, e.g. III/a")
    account_number = models.CharField(max_length=30, blank=True, help_text="Salary account (rekening)")
    consent_text_version = models.CharField(max_length=20)
    confirmed_in_app_at = models.DateTimeField(null=True, blank=True)
    scan = models.BinaryField(null=True, blank=True, editable=False)
    scan_content_type = models.CharField(max_length=40, blank=True)
    scan_sha256 = models.CharField(max_length=64, blank=True)
    scan_file_name = models.CharField(max_length=120, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payroll consent")
        verbose_name_plural = _("payroll consents")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sponsor"], condition=Q(status="active"), name="payrollconsent_one_active_per_sponsor"
            ),
            # Signature evidence: a stored scan (paper) or an in-app confirmation, never neither.
            models.CheckConstraint(
                condition=(Q(channel="paper") & ~Q(scan_sha256=""))
                | (Q(channel="app") & Q(confirmed_in_app_at__isnull=False)),
                name="payrollconsent_has_evidence",
            ),
            models.CheckConstraint(
                condition=Q(end_month__isnull=True) | Q(end_month__gte=models.F("start_month")),
                name="payrollconsent_end_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.sponsor_id} {self.kind} {self.status} from {self.start_month:%Y-%m}"


class PayrollList(models.Model):
    """The deduction list of one agency for one payroll month: a draft until marked sent, then locked."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent to the treasurer")
        RETURNED = "returned", _("Confirmation received")

    TRANSITIONS = {
        Status.DRAFT: {Status.SENT},
        Status.SENT: {Status.RETURNED},
        Status.RETURNED: set(),
    }

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="payroll_lists")
    payroll_month = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    rows_count = models.PositiveIntegerField(default=0)
    total_idr = models.PositiveBigIntegerField(default=0)
    produced_at = models.DateTimeField()
    produced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payroll deduction list")
        verbose_name_plural = _("payroll deduction lists")
        ordering = ["-payroll_month", "agency_id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "payroll_month"], name="payrolllist_one_per_agency_month")
        ]

    def __str__(self):
        return f"{self.agency_id} {self.payroll_month:%Y-%m} ({self.status})"


class PayrollDeduction(models.Model):
    """One ASN on one list: what to deduct (their monthly invoice) and what the treasurer confirmed."""

    class Status(models.TextChoices):
        LISTED = "listed", _("Listed")
        CONFIRMED = "confirmed", _("Deducted in full")
        SHORT = "short", _("Deducted a different amount")
        MISSING = "missing", _("Not deducted")

    TRANSITIONS = {
        Status.LISTED: {Status.CONFIRMED, Status.SHORT, Status.MISSING},
        # A late confirmation (a second file) may still settle a row first reported missing.
        Status.MISSING: {Status.CONFIRMED, Status.SHORT},
        Status.CONFIRMED: set(),
        Status.SHORT: set(),
    }
    SETTLED = (Status.CONFIRMED, Status.SHORT)

    payroll_list = models.ForeignKey(PayrollList, on_delete=models.CASCADE, related_name="rows")
    payroll_month = models.DateField()
    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="payroll_deductions")
    consent = models.ForeignKey(PayrollConsent, on_delete=models.PROTECT, related_name="deductions")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payroll_deductions")
    nip = models.CharField(max_length=18)
    full_name = models.CharField(max_length=150)
    golongan = models.CharField(max_length=10, blank=True)
    account_number = models.CharField(max_length=30, blank=True)
    kind = models.CharField(max_length=8, choices=PayrollConsent.Kind.choices)
    amount_idr = models.PositiveIntegerField(help_text="To deduct: the monthly invoice's amount")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LISTED, db_index=True)
    deducted_idr = models.PositiveIntegerField(null=True, blank=True)
    transfer_reference = models.CharField(max_length=64, blank=True)
    transfer_date = models.DateField(null=True, blank=True)
    attempt = models.OneToOneField(
        PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="payroll_deduction"
    )
    confirmation = models.ForeignKey(
        "PayrollConfirmation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    fallback_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payroll deduction")
        verbose_name_plural = _("payroll deductions")
        ordering = ["payroll_month", "nip"]
        constraints = [
            # One deduction per ASN per payroll month, whichever agency listed it: never settled twice.
            models.UniqueConstraint(fields=["payroll_month", "sponsor"], name="payrolldeduction_one_per_month"),
            models.CheckConstraint(
                condition=~Q(status__in=["confirmed", "short"]) | Q(attempt__isnull=False, deducted_idr__isnull=False),
                name="payrolldeduction_settled_has_payment",
            ),
        ]

    def __str__(self):
        return f"{self.nip} {self.payroll_month:%Y-%m} {self.status}"


class PayrollConfirmation(models.Model):
    """An uploaded confirmation file: validated and reported row by row; nothing settles until confirmed."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Checked, waiting for confirmation")
        APPLYING = "applying", _("Being applied")
        APPLIED = "applied", _("Applied")
        DISCARDED = "discarded", _("Discarded")

    # APPLYING: confirmed; a task settles the rows in chunks (progress_done of rows), each chunk its own
    # transaction, so a worker that dies midway leaves the done rows settled and the next run resumes.
    TRANSITIONS = {
        Status.PREVIEWED: {Status.APPLYING, Status.APPLIED, Status.DISCARDED},
        Status.APPLYING: {Status.APPLIED},
        Status.APPLIED: set(),
        Status.DISCARDED: set(),
    }

    payroll_list = models.ForeignKey(PayrollList, on_delete=models.PROTECT, related_name="confirmations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    rows = models.JSONField(default=list, help_text="Valid rows: row, nip, amount_idr, reference, date")
    problems = models.JSONField(default=list, help_text="row, column, problem")
    total_rows = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    valid_only = models.BooleanField(default=False, help_text="Confirmed for the valid rows only")
    progress_done = models.PositiveIntegerField(default=0, help_text="Rows applied so far (the task resumes here)")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payroll confirmation file")
        verbose_name_plural = _("payroll confirmation files")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.status})"


class PayrollTransfer(models.Model):
    """Money the regional bank transferred for one agency's payroll month, as an admin recorded it."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="payroll_transfers")
    payroll_month = models.DateField()
    amount_idr = models.PositiveBigIntegerField()
    reference = models.CharField(max_length=64)
    transfer_date = models.DateField()
    expected_idr = models.PositiveBigIntegerField(help_text="Sum of the confirmed deductions when recorded")
    matched = models.BooleanField(help_text="All transfers of the month equal the confirmed deductions")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payroll bank transfer")
        verbose_name_plural = _("payroll bank transfers")
        ordering = ["-payroll_month", "agency_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "payroll_month", "reference"], name="payrolltransfer_unique_reference"
            )
        ]

    def __str__(self):
        return f"{self.agency_id} {self.payroll_month:%Y-%m} {self.amount_idr} ({self.reference})"
