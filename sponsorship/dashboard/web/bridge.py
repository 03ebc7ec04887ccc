"""Dashboard pages for the bridge fund (regency admins): the pools with their balance and rules, registering a pool,
recording a top-up, and each pool's monthly statement (page and CSV). Writes go through billing's services
(validated, audited); agency admins get 403: the pools belong to the regency."""

from django.contrib import messages
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from backend.api.errors import ApplicationError
from sponsorship.billing.api.bridge_views import parse_month, statement_csv
from sponsorship.billing.models import BridgePool
from sponsorship.billing.services import bridge as bridge_services
from sponsorship.people.models import Occupation

from .views import _ip, admin_page


def _regency_only(request, scope):
    if scope.agency is not None:
        return HttpResponseForbidden(render_to_string("dashboard/403.html", request=request))
    return None


def _int_or_none(value: str):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ApplicationError("Isian angka tidak valid.", code="invalid") from None


@admin_page
def pools(request, scope):
    if (denied := _regency_only(request, scope)) is not None:
        return denied
    if request.method == "POST":
        try:
            bridge_services.pool_create(
                regency=scope.regency,
                actor=request.user,
                ip=_ip(request),
                kind=request.POST.get("kind", ""),
                name=request.POST.get("name", ""),
                contact_name=request.POST.get("contact_name", "").strip(),
                contact_email=request.POST.get("contact_email", "").strip(),
                decile_max=_int_or_none(request.POST.get("decile_max", "")),
                max_months_per_worker=_int_or_none(request.POST.get("max_months_per_worker", "")) or 3,
                days_before_lapse=_int_or_none(request.POST.get("days_before_lapse", "")) or 7,
                priority=_int_or_none(request.POST.get("priority", "")) or 0,
                occupation_ids=[int(x) for x in request.POST.getlist("occupations") if x.isdigit()] or None,
            )
            messages.success(request, "Dana talangan terdaftar.")
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        return redirect("dashboard:bridge-pools")
    rows = BridgePool.objects.filter(regency=scope.regency).prefetch_related("occupations").order_by("-priority", "pk")
    return render(
        request,
        "dashboard/bridge_pools.html",
        {
            "scope": scope,
            "nav": "bridge",
            "pools": rows,
            "kinds": BridgePool.Kind.choices,
            "occupations": Occupation.objects.order_by("name"),
        },
    )


@require_POST
@admin_page
def top_up(request, scope, pk):
    if (denied := _regency_only(request, scope)) is not None:
        return denied
    pool = get_object_or_404(BridgePool, pk=pk, regency=scope.regency)
    try:
        amount = _int_or_none(request.POST.get("amount_idr", ""))
        bridge_services.pool_top_up(
            pool=pool,
            amount_idr=amount if amount is not None else 0,
            reference=request.POST.get("reference", ""),
            actor=request.user,
            ip=_ip(request),
        )
        messages.success(request, "Setoran dicatat.")
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("dashboard:bridge-pools")


@admin_page
def statement(request, scope, pk):
    if (denied := _regency_only(request, scope)) is not None:
        return denied
    pool = get_object_or_404(BridgePool, pk=pk, regency=scope.regency)
    try:
        month = parse_month(request.GET.get("month"))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("dashboard:bridge-pools")
    data = bridge_services.pool_statement(pool=pool, month=month)
    if request.GET.get("download") == "csv":
        return statement_csv(data)
    return render(request, "dashboard/bridge_statement.html", {"scope": scope, "nav": "bridge", **data})
