"""Devices that can receive push, the notification outbox (which is also the inbox), and opt-outs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    INVOICE_ISSUED = "invoice_issued", _("Bill issued")
    INVOICE_DUE_SOON = "invoice_due_soon", _("Bill due soon")
    INVOICE_DUE_TODAY = "invoice_due_today", _("Bill due today")
    INVOICE_OVERDUE = "invoice_overdue", _("Bill overdue")
    COVERAGE_LAPSING = "coverage_lapsing", _("Worker's protection ending soon")
    PAYMENT_RECEIVED = "payment_received", _("Payment received")
    MATCHING_PROPOSAL = "matching_proposal", _("A new worker proposal")
    WORKER_PROTECTED = "worker_protected", _("You are protected")
    WORKER_AT_RISK = "worker_at_risk", _("Protection at risk")
    WORKER_LAPSED = "worker_lapsed", _("Protection lapsed")
    WORKER_NEW_SPONSOR = "worker_new_sponsor", _("New sponsor")
    ADMIN_DIGEST = "admin_digest", _("Daily digest")
    WORKER_DIED_FAMILY = "worker_died_family", _("How the family claims the death benefit")
    WORKER_DIED_FAMILY_SCHOLARSHIP = (
        "worker_died_family_scholarship",
        _("How the family claims the death benefit and the scholarship"),
    )
    SPONSORED_WORKER_DIED = "sponsored_worker_died", _("A sponsored worker passed away")
    SPONSORSHIP_ENDED = "sponsorship_ended", _("Sponsorship ended")
    WORKER_SPONSOR_LEFT = "worker_sponsor_left", _("Sponsor left; finding a new one")


# Receipts are records of money moving, and a family must learn how to claim the death benefit: a user cannot
# switch them off.
MANDATORY_KINDS = frozenset({Kind.PAYMENT_RECEIVED, Kind.WORKER_DIED_FAMILY, Kind.WORKER_DIED_FAMILY_SCHOLARSHIP})


class Device(models.Model):
    class PushIdKind(models.TextChoices):
        TOKEN = "token", "FCM registration token"
        FID = "fid", "Firebase Installation ID"

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    token = models.CharField(max_length=512, unique=True)
    kind = models.CharField(max_length=5, choices=PushIdKind.choices, default=PushIdKind.TOKEN)
    platform = models.CharField(max_length=8, choices=Platform.choices, default=Platform.ANDROID)
    app_version = models.CharField(max_length=32, blank=True)
    language = models.CharField(max_length=2, choices=[("id", "Bahasa Indonesia"), ("en", "English")], default="id")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        indexes = [models.Index(fields=["user", "active"])]

    def __str__(self):
        return f"{self.platform} {self.token[:12]}… ({self.user})"


class Notification(models.Model):
    """One message to one user: an outbox row until sent, an inbox entry forever after."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", _("Held (quiet hours)")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    language = models.CharField(max_length=2, default="id")
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Devices that already accepted this message, so a retry never pushes twice to the same phone.
    delivered_device_ids = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    collapse_key = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's queue: only rows still to send are indexed.
            models.Index(fields=["next_attempt_at"], name="notif_due_idx", condition=Q(status__in=["pending", "held"])),
            models.Index(fields=["recipient", "-created_at"], name="notif_inbox_idx"),
            models.Index(fields=["recipient"], name="notif_unread_idx", condition=Q(read_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.kind} → {self.recipient} [{self.status}]"


class NotificationPreference(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notif_pref_unique_user_kind")]

    def __str__(self):
        return f"{self.user} {self.kind}={'on' if self.enabled else 'off'}"
