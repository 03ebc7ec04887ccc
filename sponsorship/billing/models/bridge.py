"""The bridge fund (dana talangan): funding pools a regency registers, their money ledger, and the open bridges.

A pool pays a worker's coming month when the sponsor has stopped paying or left and no new sponsor has accepted
(services/bridge.py). Its balance moves only with a ledger entry written in the same transaction: a top-up adds,
a bridge payment takes exactly its invoice's amount (`bridge_payment`, one per invoice). A CHECK keeps the balance
from going below zero, so two payments racing for the last rupiah cannot both win.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.people.models import Occupation, Worker
from sponsorship.regions.models import Region


class BridgePool(models.Model):
    class Kind(models.TextChoices):
        CSR = "csr", _("Company CSR")
        ZAKAT = "zakat", _("Baznas / zakat body")
        VILLAGE_FUND = "village_fund", _("Village fund (dana desa)")
        REGENCY_BUDGET = "regency_budget", _("Regency budget (APBD)")
        OTHER = "other", _("Other")

    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="bridge_pools", limit_choices_to={"level": Region.Level.REGENCY}
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=150)
    contact_name = models.CharField(max_length=150, blank=True)
    contact_email = models.EmailField(blank=True)
    # The pool's manager gets the monthly statement in the app inbox (and WhatsApp if they consented).
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="bridge_pools"
    )
    balance_idr = models.BigIntegerField(default=0)
    # Rules: which workers this pool pays for. Empty = no limit.
    decile_max = models.PositiveSmallIntegerField(null=True, blank=True)
    occupations = models.ManyToManyField(Occupation, blank=True, related_name="+")
    areas = models.ManyToManyField(Region, blank=True, related_name="+", help_text="Villages or kecamatan")
    max_months_per_worker = models.PositiveSmallIntegerField(default=3)
    days_before_lapse = models.PositiveSmallIntegerField(default=7)
    priority = models.SmallIntegerField(default=0, help_text="Higher pays first")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bridge fund pool")
        verbose_name_plural = _("bridge fund pools")
        db_table = "sponsorship_bridgepool"
        ordering = ["-priority", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_idr__gte=0), name="bridgepool_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(decile_max__isnull=True) | Q(decile_max__gte=1, decile_max__lte=10),
                name="bridgepool_decile_1_10",
            ),
            models.CheckConstraint(
                condition=Q(max_months_per_worker__gte=1, max_months_per_worker__lte=12),
                name="bridgepool_max_months_1_12",
            ),
            models.CheckConstraint(condition=Q(days_before_lapse__lte=31), name="bridgepool_days_le_31"),
        ]

    def __str__(self):
        return self.name


class PoolEntry(models.Model):
    """One movement of a pool's balance. Sum of entries = the pool's balance (dashboard/invariants.py)."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        BRIDGE_PAYMENT = "bridge_payment", _("Premium paid")
        ADJUSTMENT = "adjustment", _("Adjustment")

    pool = models.ForeignKey(BridgePool, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount_idr = models.BigIntegerField(help_text="Positive adds, negative pays out")
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="pool_entries"
    )
    reference = models.CharField(max_length=120, blank=True, help_text="Transfer reference of a top-up")
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("bridge fund entry")
        verbose_name_plural = _("bridge fund entries")
        db_table = "sponsorship_poolentry"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(kind="bridge_payment"), name="poolentry_one_payment_per_invoice"
            ),
            models.CheckConstraint(
                condition=~Q(kind="bridge_payment") | Q(invoice__isnull=False, amount_idr__lt=0),
                name="poolentry_payment_has_invoice",
            ),
            models.CheckConstraint(condition=~Q(kind="top_up") | Q(amount_idr__gt=0), name="poolentry_topup_positive"),
        ]
        indexes = [models.Index(fields=["pool", "created_at"])]

    def __str__(self):
        return f"{self.pool_id} {self.kind} {self.amount_idr:+}"


class Bridge(models.Model):
    """A worker a pool is carrying: open from the first month it paid until a new sponsor accepts (or the pool's
    limit or money ends). At most one open bridge per worker."""

    class EndReason(models.TextChoices):
        REMATCHED = "rematched", _("A new sponsor accepted")
        LIMIT = "limit", _("The pool's limit per worker was reached")
        NO_FUNDS = "no_funds", _("No pool had money left")
        WORKER_INACTIVE = "worker_inactive", _("The worker left the scheme")

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="bridges")
    pool = models.ForeignKey(BridgePool, on_delete=models.PROTECT, related_name="bridges")
    reason = models.CharField(max_length=20, help_text="sponsor_not_paying | sponsor_left")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    class Meta:
        verbose_name = _("bridge")
        verbose_name_plural = _("bridges")
        db_table = "sponsorship_bridge"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["worker"], condition=Q(ended_at__isnull=True), name="bridge_one_open"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | ~Q(end_reason=""), name="bridge_ended_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.worker_id} ← {self.pool_id}"
