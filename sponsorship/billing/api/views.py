"""Thin APIs for invoices, paying, and the Midtrans webhook. Rules live in the services."""

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from backend.observability.metrics import count_webhook
from sponsorship.billing.api.serializers import (
    CoverageStatusOut,
    InvoiceDetailOut,
    InvoiceOut,
    PayIn,
    PayOut,
    PayResponse,
    PrepayIn,
    VoidIn,
)
from sponsorship.billing.selectors.billing import access_invoice, invoices_for
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services import billing as billing_services
from sponsorship.billing.services import checkout, webhook
from sponsorship.people.api.permissions import IsAdmin, IsSponsor
from sponsorship.people.scoping import access_worker


def _own_sponsor(request):
    sponsor = getattr(request.user, "sponsor", None)
    if sponsor is None:
        raise ApplicationError(_("This account is not a sponsor account."), code="not_a_sponsor", status_code=403)
    return sponsor


class InvoiceList(generics.ListAPIView):
    permission_classes = [IsSponsor | IsAdmin]
    serializer_class = InvoiceOut

    def get_queryset(self):
        return invoices_for(self.request.user, status=self.request.query_params.get("status") or None)


class InvoiceDetail(APIView):
    permission_classes = [IsSponsor | IsAdmin]

    @extend_schema(responses=InvoiceDetailOut, summary="One invoice with its lines (worker, month, amount)")
    def get(self, request, pk):
        return Response(InvoiceDetailOut(access_invoice(request.user, pk)).data)


class InvoicePay(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=PayIn,
        responses={201: PayResponse, 200: PayResponse},
        summary="Start paying an invoice through Midtrans Snap: token and redirect URL",
    )
    def post(self, request, pk):
        data = PayIn(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = access_invoice(request.user, pk)
        if invoice.sponsor.user_id != request.user.pk and not request.user.is_superuser:
            raise ApplicationError(_("Only the invoice's sponsor can pay it."), code="forbidden", status_code=403)
        return_path = data.validated_data.get("return_path")
        finish_url = request.build_absolute_uri(return_path) if return_path else ""
        started = checkout.payment_start(invoice=invoice, actor=request.user, finish_url=finish_url)
        body = PayOut(started.attempt).data
        body["reused"] = started.reused
        return Response(body, status=status.HTTP_200_OK if started.reused else status.HTTP_201_CREATED)


class InvoicePrepay(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=PrepayIn,
        responses={201: InvoiceDetailOut},
        summary="Create an invoice prepaying 1-12 future months for all my workers",
    )
    def post(self, request):
        data = PrepayIn(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = billing_services.invoice_create_prepay(
            sponsor=_own_sponsor(request), months=data.validated_data["months"], actor=request.user
        )
        return Response(InvoiceDetailOut(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceArrears(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=None, responses={201: InvoiceDetailOut}, summary="Create one invoice for up to 3 months of arrears"
    )
    def post(self, request):
        invoice = billing_services.invoice_create_arrears(sponsor=_own_sponsor(request), actor=request.user)
        return Response(InvoiceDetailOut(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceVoid(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=VoidIn, responses=InvoiceOut, summary="Void an unpaid invoice with a reason (admins)")
    def post(self, request, pk):
        data = VoidIn(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = billing_services.invoice_void(
            invoice=access_invoice(request.user, pk), reason=data.validated_data["reason"], actor=request.user
        )
        return Response(InvoiceOut(invoice).data)


class WorkerCoverage(APIView):
    @extend_schema(responses=CoverageStatusOut, summary="A worker's protection from the coverage ledger")
    def get(self, request, pk):
        worker = access_worker(request.user, pk)
        return Response(CoverageStatusOut(worker_coverage_status(worker)).data)


@csrf_exempt
@require_POST
def midtrans_notification(request):
    """Unauthenticated by design (Midtrans cannot authenticate); trust comes from the signature + status API.

    The rate and the declared size are checked before the body is read (webhook.notification_refusal)."""
    remote_ip = request.META.get("REMOTE_ADDR")
    refused = webhook.notification_refusal(remote_ip=remote_ip, declared_bytes=_content_length(request))
    if refused is not None:
        count_webhook(refused.body.get("status", "refused"))
        return JsonResponse(refused.body, status=refused.status)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("cookie", "authorization")}
    answer = webhook.notification_receive(raw_body=request.body, headers=headers, remote_ip=remote_ip)
    count_webhook(answer.body.get("status", ""))
    return JsonResponse(answer.body, status=answer.status)


def _content_length(request) -> int | None:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return None
