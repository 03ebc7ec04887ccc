"""Output shapes of the sponsor overview, the annual statement and the worker status, for the OpenAPI schema.

The views return plain dicts built in sponsorship/selectors/overview.py and sponsorship/api/worker_status.py;
these serializers describe them (they are not used to render).
"""

from rest_framework import serializers

from sponsorship.billing.models import Invoice

STATES = [("protected", "protected"), ("grace", "grace"), ("lapsed", "lapsed"), ("not_enrolled", "not_enrolled")]


class OverviewSponsor(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    agency = serializers.CharField()
    capacity = serializers.IntegerField()
    active_sponsorships = serializers.IntegerField()
    show_name_to_workers = serializers.BooleanField()


class OverviewWorker(serializers.Serializer):
    worker_id = serializers.IntegerField()
    name = serializers.CharField()
    occupation = serializers.CharField()
    village = serializers.CharField()
    since = serializers.DateField()
    state = serializers.ChoiceField(choices=STATES)
    protected_until = serializers.DateField(allow_null=True)
    next_due_date = serializers.DateField(allow_null=True)
    arrears_months = serializers.IntegerField()
    protection_ends_on = serializers.DateField(allow_null=True, help_text="Last protected day if nobody pays more")
    days_left = serializers.IntegerField(allow_null=True, help_text="Days from today to protection_ends_on")


class OwedInvoice(serializers.Serializer):
    invoice_id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=Invoice.Kind.choices)
    period = serializers.DateField()
    period_label = serializers.CharField()
    months = serializers.IntegerField()
    amount_idr = serializers.IntegerField()
    due_date = serializers.DateField()
    overdue = serializers.BooleanField()


class Owed(serializers.Serializer):
    total_idr = serializers.IntegerField()
    overdue_idr = serializers.IntegerField()
    next_due_date = serializers.DateField(allow_null=True)
    credit_idr = serializers.IntegerField(help_text="Credit from earlier overpayments, applied to the next invoice")
    invoices = OwedInvoice(many=True)


class Payment(serializers.Serializer):
    invoice_id = serializers.IntegerField()
    number = serializers.CharField()
    period_label = serializers.CharField()
    months = serializers.IntegerField()
    amount_idr = serializers.IntegerField()
    paid_at = serializers.DateTimeField()
    method = serializers.CharField(allow_blank=True, help_text="Midtrans payment_type, e.g. bank_transfer, qris")
    receipt_url = serializers.CharField(help_text="Printable HTML receipt")


class StatementLink(serializers.Serializer):
    year = serializers.IntegerField()
    url = serializers.CharField()


class SponsorOverviewOut(serializers.Serializer):
    sponsor = OverviewSponsor()
    workers = OverviewWorker(many=True)
    owed = Owed()
    payments = Payment(many=True)
    statements = StatementLink(many=True)


class StatementSponsor(serializers.Serializer):
    name = serializers.CharField()
    nip = serializers.CharField()
    agency = serializers.CharField()


class StatementWorker(serializers.Serializer):
    name = serializers.CharField()
    months = serializers.IntegerField()
    amount_idr = serializers.IntegerField()


class StatementPayment(serializers.Serializer):
    number = serializers.CharField()
    period_label = serializers.CharField()
    months = serializers.IntegerField()
    paid_at = serializers.DateTimeField()
    total_idr = serializers.IntegerField(help_text="Premiums paid for by this invoice = credit_idr + cash_idr")
    credit_idr = serializers.IntegerField(help_text="Paid from the sponsor's credit (an earlier overpayment)")
    cash_idr = serializers.IntegerField(help_text="Paid through the payment gateway")
    amount_idr = serializers.IntegerField(help_text="Same as cash_idr (kept for older clients)")
    receipt_url = serializers.CharField()


class SponsorStatementOut(serializers.Serializer):
    year = serializers.IntegerField()
    sponsor = StatementSponsor()
    total_idr = serializers.IntegerField(help_text="Everything paid for = the sum of the per-worker amounts")
    cash_idr = serializers.IntegerField(help_text="Of the total: paid through the payment gateway")
    credit_idr = serializers.IntegerField(help_text="Of the total: paid from the sponsor's credit")
    worker_months = serializers.IntegerField()
    workers = StatementWorker(many=True)
    payments = StatementPayment(many=True)


class StatusWorker(serializers.Serializer):
    first_name = serializers.CharField()
    kpj = serializers.CharField(allow_null=True, help_text="BPJS Ketenagakerjaan membership number (11 digits)")


class StatusRules(serializers.Serializer):
    jkm_full_benefit = serializers.BooleanField(help_text="More than 3 months of membership: full JKM benefit")
    scholarship_eligible = serializers.BooleanField(help_text="At least 36 months of contributions")
    months_to_scholarship = serializers.IntegerField()


class Programme(serializers.Serializer):
    code = serializers.ChoiceField(choices=[("JKK", "JKK"), ("JKM", "JKM")])
    name = serializers.CharField()
    summary = serializers.CharField()
    benefit_now_idr = serializers.IntegerField(required=False, help_text="JKM only: the death benefit today")
    benefits = serializers.ListField(child=serializers.CharField())


class AfterAccident(serializers.Serializer):
    title = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField())
    documents = serializers.ListField(child=serializers.CharField())


class WorkerStatusOut(serializers.Serializer):
    worker = StatusWorker()
    state = serializers.ChoiceField(choices=STATES)
    state_label = serializers.CharField()
    headline = serializers.CharField()
    protected_until = serializers.DateField(allow_null=True)
    next_due_date = serializers.DateField(allow_null=True)
    protection_ends_on = serializers.DateField(allow_null=True, help_text="Last protected day if nobody pays more")
    days_left = serializers.IntegerField(allow_null=True, help_text="Days from today to protection_ends_on")
    days_left_text = serializers.CharField(allow_null=True)
    months_of_membership = serializers.IntegerField()
    months_of_contributions = serializers.IntegerField()
    months_paid_ahead = serializers.IntegerField()
    arrears_months = serializers.IntegerField()
    rules = StatusRules()
    programmes = Programme(many=True)
    after_accident = AfterAccident()
    sponsor_first_name = serializers.CharField(allow_null=True)
    sponsor_text = serializers.CharField()
