"""Output shapes of /api/v1/admin/dashboard/... for the OpenAPI schema (the views build plain dicts; these
describe them).

Kept in step with sponsorship/selectors/dashboard/{figures,money,tables}.py: one row serializer per named table.
"""

from typing import TypedDict

from rest_framework import serializers


class _PctKwargs(TypedDict):
    allow_null: bool
    help_text: str


PCT: _PctKwargs = {
    "allow_null": True,
    "help_text": "Percentage with one decimal; null when there is nothing to divide by",
}


class DashboardColumn(serializers.Serializer):
    key = serializers.CharField(help_text="Key of the value in each row")
    # A field named label: DRF's serializer metaclass takes it out of the class, the stubs see Field.label.
    label = serializers.CharField(help_text="Column header (Indonesian), as in the exports")  # type: ignore[assignment]


class DashboardTableBase(serializers.Serializer):
    scope = serializers.CharField(help_text="Regency or agency the figures are scoped to")
    table = serializers.CharField(help_text="Table name")
    title = serializers.CharField()
    columns = DashboardColumn(many=True)


class AgencyRow(serializers.Serializer):
    rank = serializers.IntegerField()
    agency_id = serializers.IntegerField()
    agency = serializers.CharField()
    short_name = serializers.CharField()
    asn = serializers.IntegerField(help_text="Active ASN of the agency")
    pledged = serializers.IntegerField(help_text="ASN with at least one active sponsorship")
    pledged_pct = serializers.FloatField(**PCT)
    workers_covered = serializers.IntegerField()
    on_time_pct = serializers.FloatField(**PCT)
    arrears_idr = serializers.IntegerField()
    arrears_sponsors = serializers.IntegerField()


class DistrictCoverageRow(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    villages = serializers.IntegerField()
    workers_registered = serializers.IntegerField()
    workers_covered = serializers.IntegerField()
    workers_protected = serializers.IntegerField(help_text="Workers with a paid coverage month for this month")
    target = serializers.IntegerField()
    target_pct = serializers.FloatField(**PCT)


class CoverageRow(DistrictCoverageRow):
    """A kecamatan row, or with ?district= a village row (then `kind` and `target_overridden`, no `villages`)."""

    villages = serializers.IntegerField(required=False, help_text="Kecamatan rows only")
    kind = serializers.CharField(required=False, allow_blank=True, help_text="Village rows only: desa or kelurahan")
    target_overridden = serializers.BooleanField(required=False, help_text="Village rows only")


class MoneyRow(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the coverage month")
    # A field named label: DRF's serializer metaclass takes it out of the class, the stubs see Field.label.
    label = serializers.CharField(help_text="e.g. Desember 2026")  # type: ignore[assignment]
    expected_idr = serializers.IntegerField(help_text="collected + outstanding + written off (docs/figures.md)")
    collected_idr = serializers.IntegerField()
    remitted_idr = serializers.IntegerField()
    outstanding_idr = serializers.IntegerField()
    written_off_idr = serializers.IntegerField(help_text="Money returned (refund, chargeback) and not billed again")
    on_time_pct = serializers.FloatField(**PCT)


class OnTimeRate(serializers.Serializer):
    invoices_due = serializers.IntegerField()
    paid_on_time = serializers.IntegerField()
    pct = serializers.FloatField(**PCT)
    since = serializers.DateField()


class ArrearsRow(serializers.Serializer):
    sponsor_id = serializers.IntegerField()
    sponsor_name = serializers.CharField()
    nip = serializers.CharField()
    agency = serializers.CharField()
    phone = serializers.CharField(help_text="Masked")
    has_app = serializers.BooleanField()
    workers = serializers.IntegerField()
    invoices = serializers.IntegerField()
    amount_idr = serializers.IntegerField()
    since = serializers.DateField(help_text="Earliest unpaid due date")
    days = serializers.IntegerField(help_text="Days since the earliest unpaid due date")
    last_reminder = serializers.CharField(allow_blank=True, help_text="YYYY-MM-DD HH:MM local time, or empty")


class AgencyTable(DashboardTableBase):
    rows = AgencyRow(many=True)


class CoverageTable(DashboardTableBase):
    rows = CoverageRow(many=True)


class MoneyTable(DashboardTableBase):
    rows = MoneyRow(many=True)
    on_time = OnTimeRate(allow_null=True, help_text="On-time payment rate over the last 12 months")


class ArrearsTable(DashboardTableBase):
    rows = ArrearsRow(many=True)


class Summary(serializers.Serializer):
    scope = serializers.CharField()
    regency_code = serializers.CharField()
    agency_id = serializers.IntegerField(allow_null=True)
    asn = serializers.IntegerField()
    pledged = serializers.IntegerField()
    pledged_pct = serializers.FloatField(**PCT)
    workers_covered = serializers.IntegerField()
    workers_registered = serializers.IntegerField()
    villages = serializers.IntegerField()
    target = serializers.IntegerField()
    target_pct = serializers.FloatField(**PCT)
    as_of = serializers.DateField()
    on_time = OnTimeRate(allow_null=True)


class RemindResult(serializers.Serializer):
    sent = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=["sent", "no_arrears", "no_app_account", "notifications_unavailable", "already_sent_today_or_opted_out"]
    )


class AtRiskAction(serializers.Serializer):
    kind = serializers.CharField(help_text="ProtectionAction kind: reminded_sponsor, bridged, offered, ...")
    at = serializers.DateField()


class AtRiskRow(serializers.Serializer):
    worker_id = serializers.IntegerField()
    worker_name = serializers.CharField()
    district = serializers.CharField()
    village = serializers.CharField()
    sponsor_name = serializers.CharField(allow_blank=True)
    agency = serializers.CharField(allow_blank=True)
    protected = serializers.CharField(help_text="'ya' while still protected, 'tidak' once ended (arrears payable)")
    ends_on = serializers.DateField(help_text="Last protected day")
    days_left = serializers.IntegerField()
    reason = serializers.ChoiceField(
        choices=[
            "cohort_ending",
            "sponsor_not_paying",
            "sponsor_left",
            "bridged",
            "self_paid_not_renewed",
            "no_sponsor",
        ]
    )
    reason_label = serializers.CharField()
    overdue_invoices = serializers.IntegerField()
    actions = AtRiskAction(many=True)
    actions_text = serializers.CharField(allow_blank=True)


class AtRiskTable(DashboardTableBase):
    rows = AtRiskRow(many=True)
    reasons = serializers.DictField(child=serializers.IntegerField(), help_text="Workers per reason")
    with_action = serializers.IntegerField(help_text="Workers for whom something has been done")


class BenefitsRow(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    jkk = serializers.IntegerField()
    jkm = serializers.IntegerField()
    total = serializers.IntegerField()
    amount_idr = serializers.IntegerField()
    sponsors_told = serializers.IntegerField()


class BenefitsTotal(serializers.Serializer):
    jkk = serializers.IntegerField()
    jkm = serializers.IntegerField()
    total = serializers.IntegerField()
    amount_idr = serializers.IntegerField()


class BenefitsTable(DashboardTableBase):
    rows = BenefitsRow(many=True)
    regency_total = BenefitsTotal()


class AreaRow(serializers.Serializer):
    """One regency (province view) or one province (national view), or the total: aggregates only."""

    code = serializers.CharField(help_text="Kemendagri code of the regency or province; empty in the totals")
    name = serializers.CharField()
    regencies = serializers.IntegerField(required=False, help_text="National view: regencies in the programme")
    asn = serializers.IntegerField(help_text="Active ASN sponsors")
    pledged = serializers.IntegerField(help_text="ASN with at least one active sponsorship")
    pledged_pct = serializers.FloatField(**PCT)
    workers_registered = serializers.IntegerField()
    workers_covered = serializers.IntegerField(help_text="Workers with an active sponsor")
    target = serializers.IntegerField(help_text="Sum of the village targets")
    target_pct = serializers.FloatField(**PCT)
    invoices_due = serializers.IntegerField(help_text="Invoices due in the last 12 months (standing, already due)")
    paid_on_time = serializers.IntegerField()
    on_time_pct = serializers.FloatField(**PCT)
    arrears_idr = serializers.IntegerField(help_text="Overdue unpaid invoices, rupiah")
    arrears_sponsors = serializers.IntegerField(help_text="ASN with overdue unpaid invoices")
    computed_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When these figures were computed (precomputed per regency every 15 minutes); for a province "
        "or the totals the oldest of their regencies; null when there is no row",
    )


class AreaSummary(serializers.Serializer):
    scope = serializers.CharField(help_text="Province name, or Indonesia")
    level = serializers.ChoiceField(choices=["province", "national"])
    province_code = serializers.CharField(allow_null=True)
    unit = serializers.ChoiceField(choices=["regency", "province"], help_text="What each row is")
    rows = AreaRow(many=True)
    totals = AreaRow(help_text="The sum of the rows (percentages recomputed from the sums)")
    computed_at = serializers.DateTimeField(allow_null=True, help_text="The oldest row's computed_at: how fresh")
