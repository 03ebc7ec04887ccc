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
    TIP = "tip", _("Tip")
    DTSEN_ROUND_DUE = "dtsen_round_due", _("DTSEN ranking round due")
    LEDGER_ALERT = "ledger_alert", _("Ledger check alert")
    WORKER_DIED_FAMILY = "worker_died_family", _("How the family claims the death benefit")
    WORKER_DIED_FAMILY_SCHOLARSHIP = (
        "worker_died_family_scholarship",
        _("How the family claims the death benefit and the scholarship"),
    )
    SPONSORED_WORKER_DIED = "sponsored_worker_died", _("A sponsored worker passed away")
    SPONSORSHIP_ENDED = "sponsorship_ended", _("Sponsorship ended")
    WORKER_SPONSOR_LEFT = "worker_sponsor_left", _("Sponsor left; finding a new one")
    PROTECTION_ENDING_SPONSOR = "protection_ending_sponsor", _("A worker's protection ends soon: pay the bill")
    PROTECTION_ENDING_NO_BILL = "protection_ending_no_bill", _("A worker's protection ends soon")
    PROTECTION_ENDING_WORKER = "protection_ending_worker", _("Your protection ends soon")
    BENEFIT_RECEIVED_SPONSOR = "benefit_received_sponsor", _("A sponsored worker received a benefit")
    PAYDAY_REMINDER = "payday_reminder", _("Payday reminder")
    PREPAY_THIRTEENTH = "prepay_thirteenth", _("13th salary: prepay suggestion")
    PREPAY_THR = "prepay_thr", _("THR: prepay suggestion")


# Receipts are records of money moving, a broken ledger is an admin's duty to know, and a family must learn how to
# claim the death benefit: no one switches them off.
MANDATORY_KINDS = frozenset(
    {Kind.PAYMENT_RECEIVED, Kind.LEDGER_ALERT, Kind.WORKER_DIED_FAMILY, Kind.WORKER_DIED_FAMILY_SCHOLARSHIP}
)


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
    # Channels (notifications.channels): the text's placeholders in order, for WhatsApp templates; the channel
    # being tried (blank: the route's first), those already tried, and the provider's delivery receipts.
    params = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    channels_tried = models.JSONField(default=list, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    delivery_status = models.CharField(max_length=16, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's queue: only rows still to send are indexed.
            models.Index(fields=["next_attempt_at"], name="notif_due_idx", condition=Q(status__in=["pending", "held"])),
            models.Index(fields=["recipient", "-created_at"], name="notif_inbox_idx"),
            models.Index(fields=["recipient"], name="notif_unread_idx", condition=Q(read_at__isnull=True)),
            # Delivery receipts find their row by the provider's message id.
            models.Index(
                fields=["provider_message_id"], name="notif_provider_msg_idx", condition=~Q(provider_message_id="")
            ),
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


class Channel(models.TextChoices):
    PUSH = "push", _("App push")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")


class ContactChannel(models.Model):
    """A person's consent to be contacted on one channel (UU 27/2022), and its rank in their route.

    Consent is recorded with when and from where (`consent_source`: "app", "in_person", "import", ...) and
    withdrawn the same way (a STOP/BERHENTI reply is `withdrawn_source="whatsapp_stop"`); the row is never
    deleted, so the proof outlives the withdrawal. Push needs no row: registering a phone is the consent.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_channels")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    granted = models.BooleanField(default=False)
    consent_source = models.CharField(max_length=32, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_source = models.CharField(max_length=32, blank=True)
    # 0 = preferred; null = the role's default order (notifications.routing).
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact channel")
        verbose_name_plural = _("contact channels")
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="contact_channel_unique_user_channel")]

    def __str__(self):
        return f"{self.user_id} {self.channel}={'yes' if self.granted else 'no'}"


class ChannelEvent(models.Model):
    """One event from a provider's webhook (a delivery receipt or an inbound message), stored before it is trusted.

    `key` dedupes: the provider's message id and status (a receipt) or its inbound message id, so a retried
    webhook changes nothing. A body whose signature fails is kept too (valid=False, key "invalid:<uuid>").
    """

    provider = models.CharField(max_length=16)
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16)  # status | inbound | invalid
    payload = models.JSONField(default=dict)
    valid = models.BooleanField(default=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("channel event")
        verbose_name_plural = _("channel events")
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.provider} {self.kind} {self.key}"
