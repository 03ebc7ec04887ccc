"""Kemendagri regions: province > regency/city > district (kecamatan) > village (desa/kelurahan)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    class Level(models.IntegerChoices):
        PROVINCE = 1, _("Province")
        REGENCY = 2, _("Regency/city")
        DISTRICT = 3, _("District")
        VILLAGE = 4, _("Village")

    class VillageKind(models.TextChoices):
        KELURAHAN = "kelurahan", _("Urban village (kelurahan)")
        DESA = "desa", _("Rural village (desa)")

    code = models.CharField(max_length=13, unique=True, help_text="Kemendagri code, e.g. 35.02.01.2001")
    name = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField(choices=Level.choices, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    village_kind = models.CharField(max_length=10, choices=VillageKind.choices, blank=True)
    # Village centre; the national file has none, so they come from an operator's file or the demo seed.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        db_table = "sponsorship_region"
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "level"])]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def regency_code(self) -> str:
        return ".".join(self.code.split(".")[:2])

    @property
    def district_code(self) -> str:
        return ".".join(self.code.split(".")[:3])

    @staticmethod
    def level_of(code: str) -> int:
        return len(code.split("."))


class RegencyConfig(models.Model):
    """What a regency sets for its own programme (defaults follow ../shared/domain.md)."""

    class Zone(models.TextChoices):
        WIB = "Asia/Jakarta", "WIB"
        WITA = "Asia/Makassar", "WITA"
        WIT = "Asia/Jayapura", "WIT"

    regency = models.OneToOneField(
        Region, on_delete=models.PROTECT, related_name="config", limit_choices_to={"level": Region.Level.REGENCY}
    )
    timezone = models.CharField(max_length=32, choices=Zone.choices, default=Zone.WIB)
    matching_radius_m = models.PositiveIntegerField(default=5000)
    decline_cooldown_days = models.PositiveIntegerField(default=90)
    village_target = models.PositiveIntegerField(default=100, help_text="Default target of covered workers per village")
    max_new_member_age = models.PositiveSmallIntegerField(default=65)
    # DTSEN (Inpres 4/2025): BPS re-ranks households quarterly; each regency picks its own cut-off (1, 1-4, 1-5).
    decile_cutoff = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Highest welfare decile the programme serves (e.g. 4 for deciles 1-4); empty: no cut-off",
    )
    dtsen_round_months = models.PositiveSmallIntegerField(
        default=3, help_text="Months between DTSEN ranking rounds (the admins are reminded when one is due)"
    )
    # BPJS branches count a worker towards their targets only after this many contribution months [UNVERIFIED].
    bpjs_counted_months = models.PositiveSmallIntegerField(default=6)
    # Payday (issue 17): ASN salaries on the 1st, the TPP allowance on a day the regency sets, and the months
    # the THR and the 13th salary are paid. Card/e-wallet payers are reminded on paydays; prepay is suggested
    # in the THR and 13th-salary months (billing/reminders.py, docs/scheduling.md).
    salary_day = models.PositiveSmallIntegerField(default=1, help_text="Day of the month ASN salaries are paid")
    tpp_day = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Day of the month the TPP allowance is paid; empty: no TPP reminder"
    )
    thr_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Month the THR is paid (Lebaran moves: set it each year); empty: none"
    )
    thirteenth_month = models.PositiveSmallIntegerField(
        null=True, blank=True, default=6, help_text="Month the 13th salary is paid; empty: none"
    )
    payday_reminders = models.BooleanField(default=True, help_text="Remind card/e-wallet payers on paydays")

    class PaydayShift(models.TextChoices):
        FORWARD = "forward", _("Next working day")
        BACKWARD = "backward", _("Previous working day")
        NONE = "none", _("Not moved")

    # A payday on a Saturday, Sunday or one of the regency's holidays (RegencyHoliday) is paid on the next working
    # day (ASN salary rule); some regencies pay the working day before. See regions/workdays.py.
    payday_shift = models.CharField(
        max_length=10,
        choices=PaydayShift.choices,
        default=PaydayShift.FORWARD,
        help_text="Where a payday on a weekend or holiday moves",
    )
    # Local hours (in `timezone`) of the regency's daily jobs; each regency also gets a stable minute slot
    # within that hour (regions/scheduling.py) so hundreds of regencies never start at the same second.
    billing_hour = models.PositiveSmallIntegerField(default=0, help_text="Local hour of the daily billing run")
    reminder_hour = models.PositiveSmallIntegerField(default=7, help_text="Local hour of the payday reminder wave")

    class Meta:
        verbose_name = _("regency settings")
        verbose_name_plural = _("regency settings")
        db_table = "sponsorship_regencyconfig"

    def __str__(self):
        return f"Konfigurasi {self.regency.name}"


class RegencyHoliday(models.Model):
    """A day the regency's offices are closed (national holidays, cuti bersama, local days): no payday on it."""

    regency = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="holidays", limit_choices_to={"level": Region.Level.REGENCY}
    )
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        verbose_name = _("regency holiday")
        verbose_name_plural = _("regency holidays")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["regency", "date"], name="regencyholiday_one_per_day")]

    def __str__(self):
        return f"{self.regency_id} {self.date} {self.name}"


class RegencyJobRun(models.Model):
    """One regency's daily job (billing run, reminder wave) on one local date: claimed once, so a dispatcher
    that runs hourly (or twice, or after downtime) starts each regency's job once a day."""

    job = models.CharField(max_length=32)
    regency = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "sponsorship_regencyjobrun"
        constraints = [
            models.UniqueConstraint(fields=["job", "regency", "local_date"], name="regencyjobrun_once_per_day")
        ]

    def __str__(self):
        return f"{self.job} {self.regency_id} {self.local_date}"
