"""Reads of the payroll rail, and who may see its rows (registered at start-up by billing's AppConfig)."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from sponsorship.billing.models import (
    PayrollConfirmation,
    PayrollConsent,
    PayrollDeduction,
    PayrollList,
    PayrollSettings,
    PayrollTransfer,
)
from sponsorship.people.scoping import register_scope, register_sponsor_owned, scope
from sponsorship.regions.models import Region

# A sponsor sees their own consents and deductions; an agency admin the consents of the agency's sponsors and the
# rows of the agency's own lists (an ASN who moved keeps the old month on the old agency's list); a regency admin
# everything of the regency.
register_sponsor_owned(PayrollConsent, "sponsor")
register_scope(
    PayrollDeduction,
    sponsor=lambda p, u: Q(sponsor__user=u),
    agency_admin=lambda p, u: Q(payroll_list__agency_id=p.agency_id),
    regency_admin=lambda p, u: Q(payroll_list__agency__regency_id=p.regency_id),
)
for _model, _path in (
    (PayrollList, "agency"),
    (PayrollTransfer, "agency"),
    (PayrollConfirmation, "payroll_list__agency"),
):
    register_scope(
        _model,
        agency_admin=lambda p, u, path=_path: Q(**{f"{path}_id": p.agency_id}),
        regency_admin=lambda p, u, path=_path: Q(**{f"{path}__regency_id": p.regency_id}),
    )


def payroll_settings_for(regency: Region | int) -> PayrollSettings:
    """The regency's payroll settings (defaults until an admin changes them; not written by a read)."""
    regency_id = regency if isinstance(regency, int) else regency.pk
    found = PayrollSettings.objects.filter(regency_id=regency_id).first()
    return found or PayrollSettings(regency_id=regency_id)


def consents_for(user) -> QuerySet:
    return scope(PayrollConsent.objects.defer("scan"), user).select_related("sponsor").order_by("-created_at")


def access_consent(user, pk) -> PayrollConsent:
    return get_object_or_404(consents_for(user), pk=pk)


def live_consent(sponsor_id: int) -> PayrollConsent | None:
    return (
        PayrollConsent.objects.defer("scan")
        .filter(sponsor_id=sponsor_id, status__in=PayrollConsent.LIVE)
        .order_by("-start_month")
        .first()
    )


def consents_active_in(month: dt.date) -> QuerySet:
    """Consents that deduct payroll month `month`: started, not yet at their stop month, not ended."""
    return PayrollConsent.objects.defer("scan").filter(
        Q(end_month__isnull=True) | Q(end_month__gt=month), status__in=PayrollConsent.LIVE, start_month__lte=month
    )


def lists_for(user) -> QuerySet:
    return scope(PayrollList.objects.all(), user).select_related("agency").order_by("-payroll_month", "agency__name")


def access_list(user, pk) -> PayrollList:
    return get_object_or_404(lists_for(user), pk=pk)


def confirmations_for(user) -> QuerySet:
    return scope(PayrollConfirmation.objects.all(), user).select_related("payroll_list")


def transfers_for(user) -> QuerySet:
    return scope(PayrollTransfer.objects.all(), user).select_related("agency")


def deductions_of_sponsor(sponsor_id: int) -> QuerySet:
    return PayrollDeduction.objects.filter(sponsor_id=sponsor_id).order_by("-payroll_month")


def payroll_payer_sponsor_ids(month: dt.date | None = None) -> QuerySet:
    """Ids (a values queryset) of the sponsors whose live payroll consent covers `month` (default: this month).

    For the payday reminder's exclusion registry (the payday branch's `register_payday_exclusion(fn)`): these
    sponsors pay through their salary, so a "pay your invoice" nudge on payday is wrong for them.
    """
    from sponsorship.core.periods import local_today, month_start

    return consents_active_in(month_start(month or local_today())).values_list("sponsor_id", flat=True).distinct()
