"""Roster import batches and per-village coverage targets."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sponsorship.people.crypto import EncryptedTextField
from sponsorship.regions.models import Region


class ImportBatch(models.Model):
    """An uploaded roster, validated and waiting for the admin's decision (preview → confirm)."""

    class Kind(models.TextChoices):
        SPONSORS = "sponsors", _("Sponsor data (ASN)")
        WORKERS = "workers", _("Vulnerable worker data")
        DTSEN = "dtsen", _("DTSEN welfare deciles")

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Waiting for confirmation")
        APPLYING = "applying", _("Being imported")
        APPLIED = "applied", _("Imported")
        DISCARDED = "discarded", _("Cancelled")

    class Mode(models.TextChoices):
        ALL = "all", _("All or nothing")
        VALID_ONLY = "valid_only", _("Valid rows only")

    # APPLYING: confirmed, the rows are being written by a task; an all-or-nothing batch whose row failed while
    # saving goes back to PREVIEWED with the problem in its report.
    TRANSITIONS = {
        Status.PREVIEWED: {Status.APPLYING, Status.APPLIED, Status.DISCARDED},
        Status.APPLYING: {Status.APPLIED, Status.PREVIEWED},
        Status.APPLIED: set(),
        Status.DISCARDED: set(),
    }

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED, db_index=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, blank=True)
    file_name = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Where the rows may land: the uploader's regency, and their agency for an agency admin.
    regency = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("people.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, help_text="[{row, column, problem}] in Indonesian")
    # The validated rows hold NIK/NIP and phone numbers: encrypted at rest like the columns they become.
    payload = EncryptedTextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Row-level outcome of a preview beyond its problems (DTSEN: matched, not found, unchanged, changed).
    report = models.JSONField(default=dict, blank=True)
    # Rows written so far by the confirm task (live figure in the cache while it runs; see services/imports).
    progress_done = models.PositiveIntegerField(default=0)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        db_table = "sponsorship_importbatch"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.file_name} ({self.status})"

    @property
    def error_rows(self) -> int:
        return len({p["row"] for p in self.problems})


class VillageTarget(models.Model):
    """Overrides RegencyConfig.village_target for one village (e.g. a large kelurahan)."""

    village = models.OneToOneField(
        Region,
        on_delete=models.CASCADE,
        related_name="coverage_target",
        limit_choices_to={"level": Region.Level.VILLAGE},
    )
    target = models.PositiveIntegerField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("village target")
        verbose_name_plural = _("village targets")
        db_table = "sponsorship_villagetarget"

    def __str__(self):
        return f"{self.village.name}: {self.target}"


def job_storage():
    """Where job files live: JOB_FILES_DIR (default var/jobs, beside var/remittance), never the web root.
    In production point it at a volume, or replace it by an object store behind the same Storage API."""
    from django.core.files.storage import FileSystemStorage

    location = getattr(settings, "JOB_FILES_DIR", None) or str(settings.BASE_DIR / "var" / "jobs")
    return FileSystemStorage(location=location)


class Job(models.Model):
    """A piece of long work asked for by an admin and done by a Celery task: a dashboard export or the BPJS
    remittance file (docs/long-work.md). Matching runs and import batches carry the same bookkeeping on their
    own rows; the jobs page shows all of them.

    Idempotent: `key` is a hash of the kind, the parameters and the scope; while a job with that key is queued or
    running for the same requester, asking again answers that job (a partial unique index makes this hold under
    races). Resumable: the task writes `heartbeat_at` while it works; the sweep queues a job whose heartbeat is
    stale again, and each kind's work is idempotent. The result file is stored in JOB_FILES_DIR and served
    only to the requester.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", _("Report export")
        REMITTANCE = "remittance", _("BPJS remittance file")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.DONE, Status.FAILED, Status.QUEUED},
        Status.DONE: set(),
        Status.FAILED: set(),
    }
    MAX_ATTEMPTS = 3
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    key = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    regency = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("people.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=20, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="%Y/%m/", storage=job_storage, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        db_table = "sponsorship_job"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "key"],
                condition=models.Q(status__in=["queued", "running"]),
                name="job_one_active_per_requester_and_key",
            ),
        ]

    def __str__(self):
        return f"Job #{self.pk} {self.kind} ({self.status})"


class RegencyFigures(models.Model):
    """One regency's aggregates for the province and national pages, precomputed (dashboard/services/areas.py):
    computing them live costs ~1 s per regency cold, minutes for a province, ~12 minutes for the nation. The
    periodic task `refresh_area_figures` rewrites the stale rows; the pages read these rows and show
    `computed_at`. Counts only: no row names a person."""

    regency = models.OneToOneField(
        Region,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="area_figures",
        limit_choices_to={"level": Region.Level.REGENCY},
    )
    asn = models.PositiveIntegerField(default=0)
    pledged = models.PositiveIntegerField(default=0)
    workers_registered = models.PositiveIntegerField(default=0)
    workers_covered = models.PositiveIntegerField(default=0)
    target = models.PositiveIntegerField(default=0)
    invoices_due = models.PositiveIntegerField(default=0)
    paid_on_time = models.PositiveIntegerField(default=0)
    arrears_idr = models.BigIntegerField(default=0)
    arrears_sponsors = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(db_index=True)
    compute_ms = models.PositiveIntegerField(default=0, help_text="How long the live computation took")

    class Meta:
        verbose_name = _("regency figures")
        verbose_name_plural = _("regency figures")
        db_table = "sponsorship_dash_regency_figures"

    def __str__(self):
        return f"{self.regency_id} @ {self.computed_at:%Y-%m-%d %H:%M}"
