"""Who read a person's clear NIK or phone, when and why (UU PDP accountability): an append-only log."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sponsorship.regions.models import Region


class PersonalDataAccess(models.Model):
    """One read of clear identifiers of one person. Rows are never changed; the retention job deletes old ones.

    Append-only in the database too: a trigger (migration 0003) refuses UPDATE, and DELETE unless the retention
    job has set `pengampu.retention_purge` for its transaction. Actor and subject are plain ids, not cascading
    foreign keys, so erasing a worker or a user leaves the record of who looked (and nothing to update).
    """

    class Purpose(models.TextChoices):
        DATA_SUBJECT_REQUEST = "data_subject_request", _("Data-subject request (access)")
        BPJS_REMITTANCE = "bpjs_remittance", _("Remittance to BPJS Ketenagakerjaan")
        SUPPORT = "support", _("Helping the person (helpdesk)")
        COMPLAINT = "complaint", _("Complaint or investigation")
        OTHER = "other", _("Other (see the note)")

    class Channel(models.TextChoices):
        API = "api", _("API")
        DASHBOARD = "dashboard", _("Dashboard")
        ADMIN = "admin", _("Django admin")
        FILE = "file", _("File export")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_role = models.CharField(max_length=16, blank=True)
    # The regency whose data-protection officer sees the row: the person's regency.
    regency = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    subject_type = models.CharField(max_length=20)  # "people.worker", "people.sponsor"
    subject_id = models.CharField(max_length=40)
    fields = models.JSONField(default=list, help_text='What was shown in clear, e.g. ["nik", "phone"]')
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    note = models.CharField(max_length=300, blank=True)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        db_table = "sponsorship_personaldataaccess"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["regency", "-at"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.subject_type}:{self.subject_id} {self.fields}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("the personal-data access log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("the personal-data access log is append-only; the retention job removes old rows")
