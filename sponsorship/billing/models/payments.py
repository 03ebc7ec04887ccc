"""Payment attempts at the gateway and the raw evidence of every notification received."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .billing import Invoice


class PaymentAttempt(models.Model):
    """One Midtrans order. An invoice may have many attempts, at most one live at a time."""

    class Status(models.TextChoices):
        CREATING = "creating", _("Creating")
        OPEN = "open", _("Waiting for a payment method")
        PENDING = "pending", _("Waiting for payment")
        SETTLED = "settled", _("Settled")
        FLAGGED = "flagged", _("Needs an admin's review")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        DENIED = "denied", _("Denied")
        GATEWAY_FAILED = "gateway_failed", _("Gateway call failed")
        SUPERSEDED = "superseded", _("Superseded by a new attempt")
        REVERSED = "reversed", _("Reversed by the bank")
        REFUNDED = "refunded", _("Refunded")
        CHARGED_BACK = "charged_back", _("Chargeback")

    LIVE = (Status.CREATING, Status.OPEN, Status.PENDING)
    # Forward-only: a late pending/expire can never undo a settlement. Terminal failures may still
    # settle (a VA paid after we gave up on it is money received and must be booked).
    TRANSITIONS = {
        Status.CREATING: {
            Status.OPEN,
            Status.PENDING,
            Status.GATEWAY_FAILED,
            Status.SETTLED,
            Status.FLAGGED,
            Status.EXPIRED,
            Status.CANCELLED,
            Status.DENIED,
        },
        Status.OPEN: {
            Status.PENDING,
            Status.SETTLED,
            Status.FLAGGED,
            Status.EXPIRED,
            Status.CANCELLED,
            Status.DENIED,
            Status.SUPERSEDED,
        },
        Status.PENDING: {
            Status.SETTLED,
            Status.FLAGGED,
            Status.EXPIRED,
            Status.CANCELLED,
            Status.DENIED,
            Status.SUPERSEDED,
        },
        Status.GATEWAY_FAILED: {
            Status.PENDING,
            Status.SETTLED,
            Status.FLAGGED,
            Status.EXPIRED,
            Status.CANCELLED,
            Status.DENIED,
        },
        Status.SUPERSEDED: {
            Status.PENDING,
            Status.SETTLED,
            Status.FLAGGED,
            Status.EXPIRED,
            Status.CANCELLED,
            Status.DENIED,
        },
        Status.EXPIRED: {Status.SETTLED, Status.FLAGGED},
        Status.CANCELLED: {Status.SETTLED, Status.FLAGGED},
        # Snap lets a customer retry after a deny on the same order id.
        Status.DENIED: {Status.PENDING, Status.SETTLED, Status.FLAGGED, Status.EXPIRED},
        # Money going back: bank reversal (deny), refund (ours or from the Midtrans dashboard), chargeback.
        Status.SETTLED: {Status.REVERSED, Status.REFUNDED, Status.CHARGED_BACK},
        Status.FLAGGED: {Status.REFUNDED, Status.CHARGED_BACK},
        Status.REFUNDED: {Status.REFUNDED, Status.CHARGED_BACK},  # a second partial refund adds up
        Status.REVERSED: set(),
        Status.CHARGED_BACK: set(),
    }

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="attempts")
    order_id = models.CharField(max_length=50, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING, db_index=True)
    amount_idr = models.PositiveIntegerField()
    snap_token = models.CharField(max_length=64, blank=True)
    redirect_url = models.URLField(max_length=300, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    payment_type = models.CharField(max_length=32, blank=True)
    gateway_status = models.CharField(max_length=24, blank=True)
    paid_amount_idr = models.PositiveIntegerField(null=True, blank=True)
    refunded_amount_idr = models.PositiveIntegerField(default=0, help_text="Refunded / charged back (gateway)")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        db_table = "sponsorship_paymentattempt"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["creating", "open", "pending"]),
                name="paymentattempt_one_live_per_invoice",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self):
        return f"{self.order_id} ({self.status})"


class PaymentNotification(models.Model):
    """A webhook exactly as received, stored before anything trusts it (RECEIVED → PROCESSED/…)."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate")
        REJECTED = "rejected", _("Rejected (signature/format)")
        UNKNOWN_ORDER = "unknown_order", _("Unknown order")
        FAILED = "failed", _("Processing failed")
        OTHER_DEPLOYMENT = "other_deployment", _("Another deployment's order (ignored)")

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The body as text when it is exactly that (UTF-8 without NUL, every real Midtrans notification); otherwise a
    # readable rendering here and the exact bytes in raw_bytes (PostgreSQL text cannot hold NUL or invalid UTF-8).
    raw_body = models.TextField()
    raw_bytes = models.BinaryField(null=True, blank=True)
    headers = models.JSONField(default=dict)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    order_id = models.CharField(max_length=64, blank=True, db_index=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    transaction_status = models.CharField(max_length=24, blank=True)
    status_code = models.CharField(max_length=8, blank=True)
    gross_amount = models.CharField(max_length=24, blank=True)
    signature_valid = models.BooleanField(null=True)
    # Set only on the first copy of one event (webhook.event_key: status, amounts, fraud status and the refund
    # list): the database dedupes, not exists(). Released (NULL) when the status API did not confirm the event,
    # so a later genuine copy is processed afresh.
    dedupe_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED, db_index=True)
    outcome = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        db_table = "sponsorship_paymentnotification"
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.order_id} {self.transaction_status} ({self.state})"

    def body_bytes(self) -> bytes:
        """The body exactly as received."""
        return bytes(self.raw_bytes) if self.raw_bytes is not None else self.raw_body.encode()


class RefusedNotification(models.Model):
    """Webhook requests refused before anything of them was stored (too large, too many from one address, more
    rejected bodies than are kept): one small row per (address, reason, minute) as evidence, no body."""

    class Reason(models.TextChoices):
        TOO_LARGE = "too_large", _("Body too large")
        RATE_LIMITED = "rate_limited", _("Too many requests")
        REJECTED_NOT_STORED = "rejected_not_stored", _("Rejected; body not kept (too many)")

    remote_ip = models.CharField(max_length=45, blank=True)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    window_start = models.DateTimeField(help_text="The minute these requests arrived in")
    count = models.PositiveIntegerField(default=1, help_text="Refused in that minute (at least)")
    largest_bytes = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = _("refused notification")
        verbose_name_plural = _("refused notifications")
        db_table = "sponsorship_refusednotification"
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["remote_ip", "reason", "window_start"], name="refusednotification_one_per_minute"
            )
        ]

    def __str__(self):
        return f"{self.remote_ip} {self.reason} x{self.count}"
