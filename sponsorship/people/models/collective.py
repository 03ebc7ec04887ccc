"""BPJS collective membership: the group (wadah) a funder registers its workers under, and its source code."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from sponsorship.regions.models import Region

from .people import Agency


class CollectiveGroup(models.Model):
    """A BPJS Ketenagakerjaan collective group (wadah) of one funder in a regency.

    The source code says where the money comes from, as the branch files it; which code a funder uses is the
    branch's decision [UNVERIFIED], so it is data here, set per group, never derived."""

    class Funder(models.TextChoices):
        ASN_SPONSORS = "asn_sponsors", _("ASN sponsors")
        REGENCY_BUDGET = "regency_budget", _("Regency budget (APBD)")
        VILLAGE_FUND = "village_fund", _("Village funds")
        CORPORATE = "corporate", _("Corporate (CSR)")
        BANK = "bank", _("Bank")

    class SourceCode(models.TextChoices):
        SG = "SG", _("SG: government")
        SA = "SA", _("SA: village fund (APBDes)")
        SD = "SD", _("SD: village fund (Dana Desa)")
        SL = "SL", _("SL: other village funds")
        SC = "SC", _("SC: corporate")
        SB = "SB", _("SB: banking")

    regency = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="collective_groups",
        limit_choices_to={"level": Region.Level.REGENCY},
    )
    funder = models.CharField(max_length=16, choices=Funder.choices)
    # An agency's own wadah, when the branch registered one per OPD; empty: the funder's regency-wide group.
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="collective_groups"
    )
    name = models.CharField(max_length=150)
    code = models.CharField("BPJS group code", max_length=30, help_text="The wadah number the branch issued")
    source_code = models.CharField(max_length=2, choices=SourceCode.choices)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("collective group")
        verbose_name_plural = _("collective groups")
        ordering = ["regency_id", "funder", "name"]
        constraints = [
            models.UniqueConstraint(fields=["regency", "code"], name="collectivegroup_unique_code"),
            models.UniqueConstraint(
                fields=["regency", "funder", "agency"],
                condition=models.Q(active=True),
                name="collectivegroup_one_active_per_funder",
                nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.source_code} {self.code})"
