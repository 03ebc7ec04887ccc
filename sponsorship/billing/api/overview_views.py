"""The sponsor's own overview: workers and their status, what I owe, payments, receipts, annual statements."""

from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from sponsorship.billing.api.overview_serializers import SponsorOverviewOut, SponsorStatementOut
from sponsorship.billing.selectors.overview import sponsor_overview, sponsor_receipt, sponsor_statement
from sponsorship.core.periods import local_today
from sponsorship.people.api.permissions import IsSponsor
from sponsorship.people.models import Sponsor


def own_sponsor(request) -> Sponsor:
    sponsor = Sponsor.objects.filter(user=request.user).select_related("agency").first()
    if sponsor is None:
        raise NotFound
    return sponsor


class SponsorOverviewView(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        responses=SponsorOverviewOut,
        summary="My workers and their status, what I owe and when, payment history with receipt links, "
        "annual statements",
    )
    def get(self, request):
        return Response(sponsor_overview(own_sponsor(request)))


class SponsorReceiptView(APIView):
    """A printable HTML receipt for one paid invoice (the app opens it in a web view or the browser)."""

    permission_classes = [IsSponsor]

    @extend_schema(summary="Printable receipt (HTML) of one paid invoice", responses={(200, "text/html"): str})
    def get(self, request, pk: int):
        data = sponsor_receipt(own_sponsor(request), pk)
        if data is None:
            raise NotFound
        return render(request, "dashboard/receipt.html", data)


class SponsorStatementView(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        parameters=[OpenApiParameter("print", int, required=False, description="1 = printable HTML instead of JSON")],
        responses={(200, "application/json"): SponsorStatementOut, (200, "text/html"): str},
        summary="Annual statement: what I paid in a year, per worker and per payment",
    )
    def get(self, request, year: int):
        if not 2000 <= year <= local_today().year + 1:
            raise NotFound
        data = sponsor_statement(own_sponsor(request), year)
        if request.query_params.get("print"):
            return render(request, "dashboard/statement.html", data)
        return Response(data)
