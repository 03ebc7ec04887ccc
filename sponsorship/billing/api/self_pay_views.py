"""/bayar/<token>/: the self-pay page a worker opens from the link (no account). Thin: services/self_pay.py.

Guessing tokens is throttled per address: after SELF_PAY_MISSES_PER_HOUR unknown tokens the address gets 429 for
the rest of the hour (known tokens still count nothing). The page shows only the first name, the month, the amount,
protected-until and how else to pay (JMO, BPJS office, bank/PPOB); never NIK, phone or village.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from backend import formats
from backend.api.errors import ApplicationError
from backend.formats import period_label
from sponsorship.billing.services.checkout import payment_start
from sponsorship.billing.services.self_pay import self_pay_link_for


def _misses_key(request) -> str:
    return f"selfpay:miss:{request.META.get('REMOTE_ADDR', '')}"


def _throttled(request) -> bool:
    return (cache.get(_misses_key(request)) or 0) >= getattr(settings, "SELF_PAY_MISSES_PER_HOUR", 20)


def _count_miss(request) -> None:
    key = _misses_key(request)
    if not cache.add(key, 1, timeout=3600):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=3600)


@never_cache
@require_http_methods(["GET", "POST"])
def self_pay_page(request, token: str):
    if _throttled(request):
        return render(request, "billing/self_pay.html", {"state": "throttled"}, status=429)
    view = self_pay_link_for(token)
    if view is None:
        _count_miss(request)
        return render(request, "billing/self_pay.html", {"state": "unknown"}, status=404)
    language = formats.language_of(getattr(request, "LANGUAGE_CODE", "id") or "id")
    context = {
        "view": view,
        "state": view.state,
        "month_label": period_label(view.month, language),
        "amount": formats.rupiah(view.amount_idr, language),
        "protected_until": formats.date(view.protected_until, language) if view.protected_until else "",
        "expires": formats.date(timezone.localtime(view.link.expires_at).date(), language),
    }
    if view.state == "expired":
        return render(request, "billing/self_pay.html", context, status=410)
    if request.method == "POST":
        if view.state != "payable":
            return render(request, "billing/self_pay.html", context, status=409)
        try:
            started = payment_start(invoice=view.link.invoice, finish_url=request.build_absolute_uri())
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "billing/self_pay.html", context, status=exc.status_code)
        return HttpResponseRedirect(started.attempt.redirect_url)
    return render(request, "billing/self_pay.html", context)
