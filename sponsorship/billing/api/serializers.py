from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sponsorship.billing.models import Invoice, InvoiceLine


class InvoiceLineOut(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.full_name")

    class Meta:
        model = InvoiceLine
        fields = ["id", "worker", "worker_name", "month", "jkk_idr", "jkm_idr", "jht_idr", "amount_idr"]


class InvoiceOut(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "period",
            "months",
            "status",
            "issued_at",
            "due_date",
            "subtotal_idr",
            "credit_applied_idr",
            "amount_idr",
            "paid_at",
            "void_reason",
        ]


class InvoiceDetailOut(InvoiceOut):
    lines = serializers.SerializerMethodField()

    class Meta(InvoiceOut.Meta):
        fields = InvoiceOut.Meta.fields + ["lines"]

    @extend_schema_field(InvoiceLineOut(many=True))
    def get_lines(self, invoice):
        from sponsorship.billing.selectors.billing import invoice_lines

        return InvoiceLineOut(invoice_lines(invoice), many=True).data


class PayOut(serializers.Serializer):
    order_id = serializers.CharField()
    token = serializers.CharField(source="snap_token")
    redirect_url = serializers.CharField()
    amount_idr = serializers.IntegerField()
    status = serializers.CharField()


class PayResponse(PayOut):
    """What POST .../pay/ answers (schema only): 201 for a new attempt, 200 when an open one is reused."""

    reused = serializers.BooleanField(help_text="True when an open payment attempt was reused (answered 200)")


class PayIn(serializers.Serializer):
    return_path = serializers.RegexField(
        r"^/(?![/\\])[^\s#]*$",
        max_length=300,
        required=False,
        help_text="A path on this service (e.g. /app/?paid=1) the payment page links back to; no other host",
    )


class PrepayIn(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=12)


class VoidIn(serializers.Serializer):
    reason = serializers.CharField(max_length=255, allow_blank=False, trim_whitespace=True)


class CoverageStatusOut(serializers.Serializer):
    state = serializers.CharField()
    protected_until = serializers.DateField(allow_null=True)
    next_due_date = serializers.DateField(allow_null=True)
    months_paid = serializers.IntegerField()
    months_of_membership = serializers.IntegerField()
    arrears_months = serializers.IntegerField()
    arrears_idr = serializers.IntegerField()
    sponsor_first_name = serializers.CharField(allow_null=True)
