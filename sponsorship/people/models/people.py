"""Agencies (OPD), ASN sponsors, informal workers and their consent."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from sponsorship.people.crypto import EncryptedTextField
from sponsorship.regions.models import Region


class Agency(models.Model):
    """An OPD (organisasi perangkat daerah) of a regency government."""

    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="agencies", limit_choices_to={"level": Region.Level.REGENCY}
    )
    code = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=200)
    short_name = models.CharField(max_length=60, blank=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        db_table = "sponsorship_agency"
        ordering = ["regency__code", "name"]
        constraints = [models.UniqueConstraint(fields=["regency", "name"], name="agency_unique_name_per_regency")]

    def __str__(self):
        return self.short_name or self.name


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Sponsor(models.Model):
    """An ASN who pledges to pay for 2 or 3 workers."""

    class AsnType(models.TextChoices):
        PNS = "pns", "PNS"
        PPPK = "pppk", "PPPK"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LEFT = "left", _("Left")  # left the civil service
        RETIRED = "retired", _("Retired")
        MOVED = "moved", _("Moved to another regency")
        DECEASED = "deceased", _("Deceased")

    # A sponsor who leaves (retires, dies, moves to another regency, leaves the civil service: a life event,
    # people/services/life_events.py) ends every sponsorship; a returning ASN is registered again.
    TRANSITIONS = {
        Status.ACTIVE: {Status.LEFT, Status.RETIRED, Status.MOVED, Status.DECEASED},
        Status.LEFT: {Status.DECEASED},
        Status.RETIRED: {Status.DECEASED},
        Status.MOVED: {Status.DECEASED},
        Status.DECEASED: set(),
    }

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sponsor"
    )
    nip = models.CharField("NIP / NI PPPK", max_length=18, unique=True)
    asn_type = models.CharField(max_length=4, choices=AsnType.choices)
    full_name = models.CharField(max_length=150)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="sponsors")
    home_village = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", limit_choices_to={"level": Region.Level.VILLAGE}
    )
    lat = models.FloatField(null=True, blank=True, help_text="Precise home location, only with consent")
    lon = models.FloatField(null=True, blank=True)
    phone = EncryptedTextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    capacity = models.PositiveSmallIntegerField(default=2)
    # Kept equal to the number of active sponsorships by the services, in the same transaction;
    # the check constraint makes "over capacity" impossible even when two requests race.
    active_sponsorships = models.PositiveSmallIntegerField(default=0)
    contact_consent = models.BooleanField(default=False)
    show_name_to_workers = models.BooleanField(default=False, help_text="Workers may see the sponsor's first name")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sponsor")
        verbose_name_plural = _("sponsors")
        db_table = "sponsorship_sponsor"
        ordering = ["full_name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__in=[2, 3]), name="sponsor_capacity_2_or_3"),
            models.CheckConstraint(
                condition=Q(active_sponsorships__lte=F("capacity")), name="sponsor_active_within_capacity"
            ),
        ]
        indexes = [models.Index(fields=["agency", "status"])]

    def __str__(self):
        return f"{self.full_name} ({self.nip})"

    @property
    def free_capacity(self) -> int:
        return max(self.capacity - self.active_sponsorships, 0)


class Occupation(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    is_transport = models.BooleanField(default=False, help_text="Transport sector (decides the PP 50/2025 period)")

    class Meta:
        verbose_name = _("occupation")
        verbose_name_plural = _("occupations")
        db_table = "sponsorship_occupation"
        ordering = ["name"]

    def __str__(self):
        return self.name


class DecileReview(models.TextChoices):
    PENDING = "pending", _("Above the cut-off: admin to decide")
    KEPT = "kept", _("Kept by the admin")
    ENDED = "ended", _("Sponsorship ended by the admin")


class Worker(models.Model):
    class Payer(models.TextChoices):
        NONE = "none", _("None yet")
        SELF = "self", _("Self-paid")
        REGENCY_BUDGET = "regency_budget", _("Regency budget (APBD)")
        SPONSOR = "sponsor", _("Another sponsor")

    class Status(models.TextChoices):
        """Whether the worker can still be sponsored here; each other state is set by a life event."""

        ACTIVE = "active", _("Active")
        DECEASED = "deceased", _("Deceased")
        FORMAL_JOB = "formal_job", _("Formal job (wage-earner member)")
        AGED_OUT = "aged_out", _("Reached the age limit")
        MOVED_AWAY = "moved_away", _("Moved away")

    TRANSITIONS = {
        Status.ACTIVE: {Status.DECEASED, Status.FORMAL_JOB, Status.AGED_OUT, Status.MOVED_AWAY},
        Status.FORMAL_JOB: {Status.DECEASED},
        Status.AGED_OUT: {Status.DECEASED},
        Status.MOVED_AWAY: {Status.DECEASED},
        Status.DECEASED: set(),
    }

    nik = EncryptedTextField("NIK")
    nik_hash = models.CharField(max_length=64, unique=True, editable=False)
    full_name = models.CharField(max_length=150)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    phone = EncryptedTextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    occupation = models.ForeignKey(Occupation, on_delete=models.PROTECT, related_name="workers")
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="workers", limit_choices_to={"level": Region.Level.VILLAGE}
    )
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    welfare_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    # Keyed hash of the family card (KK) number: DTSEN ranks households, some files name only the KK.
    kk_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # A DTSEN round put the worker above the regency's cut-off: flagged, never dropped; an admin decides.
    decile_review = models.CharField(max_length=8, choices=DecileReview.choices, blank=True, db_index=True)
    collective_group = models.ForeignKey(
        "people.CollectiveGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="workers"
    )
    kpj = models.CharField("KPJ", max_length=11, blank=True)
    current_payer = models.CharField(max_length=16, choices=Payer.choices, default=Payer.NONE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="worker"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    anonymized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        db_table = "sponsorship_worker"
        ordering = ["full_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(welfare_decile__isnull=True) | Q(welfare_decile__gte=1, welfare_decile__lte=10),
                name="worker_decile_1_10",
            ),
        ]
        indexes = [models.Index(fields=["village", "current_payer"])]

    def __str__(self):
        return self.full_name

    @property
    def first_name(self) -> str:
        return (self.full_name or "").split(" ")[0]


class WorkerConsent(models.Model):
    """Proof of the worker's own consent (UU 27/2022): who collected it, when, how, which text."""

    class Channel(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        PAPER = "paper", _("Paper form")
        PHONE = "phone", _("Phone")
        APP = "app", _("App")

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="consents")
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    collected_at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    text_version = models.CharField(max_length=20)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("worker consent")
        verbose_name_plural = _("worker consents")
        db_table = "sponsorship_workerconsent"
        ordering = ["-collected_at"]

    def __str__(self):  # ids only: no personal data in admin logs
        return f"consent of worker {self.worker_id} ({self.channel}, {self.text_version})"
