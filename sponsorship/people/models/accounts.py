"""Who a user is in Pengampu: one role, and the agency or regency that role is bound to."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.regions.models import Region

from .people import Agency


class Role(models.TextChoices):
    SPONSOR = "sponsor", _("ASN sponsor")
    WORKER = "worker", _("Worker")
    AGENCY_ADMIN = "agency_admin", _("Agency admin")
    REGENCY_ADMIN = "regency_admin", _("Regency admin")
    # Aggregates only (docs/scale.md): a province admin sees the province's regencies, a national admin the
    # provinces; neither reads a row of personal data (no rule in people.scoping, so every scoped read is empty).
    PROVINCE_ADMIN = "province_admin", _("Province admin")
    NATIONAL_ADMIN = "national_admin", _("National admin")


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=16, choices=Role.choices)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="admins")
    regency = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": Region.Level.REGENCY},
    )
    province = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": Region.Level.PROVINCE},
    )
    language = models.CharField(max_length=2, choices=[("id", "Bahasa Indonesia"), ("en", "English")], default="id")

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        db_table = "sponsorship_profile"
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="agency_admin") | Q(agency__isnull=False), name="profile_agency_admin_has_agency"
            ),
            models.CheckConstraint(
                condition=~Q(role="regency_admin") | Q(regency__isnull=False), name="profile_regency_admin_has_regency"
            ),
            models.CheckConstraint(
                condition=~Q(role="province_admin") | Q(province__isnull=False),
                name="profile_province_admin_has_province",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.role})"
