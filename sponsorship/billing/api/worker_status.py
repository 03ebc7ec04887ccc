"""GET /api/v1/worker/status/: am I protected, until when, what do I get, what to do after an accident.

Texts are in the request's language (Indonesian; English with Accept-Language: en), from the gettext catalogue.
Benefit amounts follow ../shared/domain.md §3 (Permenaker 1/2025, PP 44/2015) and are repeated here only as
explanations.
"""

import functools

from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from backend.formats import date as format_date
from backend.formats import date_numeric, rupiah
from backend.formats import language_of as formats_language
from sponsorship.billing.api.overview_serializers import WorkerStatusOut
from sponsorship.billing.selectors.overview import (
    SCHOLARSHIP_AFTER_MONTHS,
    worker_status_facts,
    worker_status_for_user,
    workers_for_status,
)
from sponsorship.people.api.permissions import IsWorker


class WorkerStatusJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, but the user comes with the worker's whole status in ONE query.

    The same checks as simplejwt (user exists, is active, password not changed when CHECK_REVOKE_TOKEN),
    then the profile (role) is already loaded for IsWorker and the worker row for the view. A token of a
    user who is not a worker falls back to simplejwt's own lookup, so the answers (403/404) stay the same.
    """

    def get_user(self, validated_token):
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if user_id is None or jwt_settings.USER_ID_FIELD != "id":
            return super().get_user(validated_token)
        worker = worker_status_for_user(user_id)
        if worker is None:
            return super().get_user(validated_token)
        user = worker.user
        if jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if jwt_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            jwt_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        user._status_worker = worker
        return user


STATE_LABELS = {
    "protected": _("Protected"),
    "grace": _("Grace period: contribution unpaid"),
    "lapsed": _("Lapsed: membership ended"),
    "not_enrolled": _("Not enrolled yet"),
}


class WorkerStatusJWTScheme(SimpleJWTScheme):
    """Documents WorkerStatusJWTAuthentication as the same bearer JWT scheme as simplejwt's."""

    target_class = "sponsorship.billing.api.worker_status.WorkerStatusJWTAuthentication"
    name = "workerJwtAuth"


def headline(f) -> str:
    if f.state == "protected":
        return gettext("You are protected by BPJS Ketenagakerjaan (JKK and JKM) until %(protected_until)s.") % {
            "protected_until": date_numeric(f.protected_until)
        }
    if f.state == "grace":
        if f.protected_until is None:
            return gettext("Your contribution is paid from next month; protection starts then.")
        return gettext(
            "Contributions are unpaid since %(protected_until)s. Until they are paid you are NOT protected. "
            "Arrears can still be paid for up to 3 months; your sponsor has been reminded."
        ) % {"protected_until": date_numeric(f.protected_until)}
    if f.state == "lapsed":
        return gettext(
            "Your membership ended because contributions were unpaid for more than 3 months. Contact your "
            "village or agency admin to re-enrol."
        )
    return gettext("You are not enrolled yet, or the first contribution has not been paid.")


def days_left_text(f) -> str | None:
    """The clock in plain words, e.g. 'Perlindungan BPJS Anda berakhir 7 hari lagi (31 Des 2026).'"""
    if f.days_left is None or f.state != "protected" or f.protection_ends_on is None:
        return None
    when = format_date(f.protection_ends_on)
    if f.days_left == 0:
        return gettext("Your BPJS protection ends today (%(date)s).") % {"date": when}
    return ngettext(
        "Your BPJS protection ends in %(days)s day (%(date)s).",
        "Your BPJS protection ends in %(days)s days (%(date)s).",
        f.days_left,
    ) % {"days": f.days_left, "date": when}


def programmes(f) -> list[dict]:
    income = f.declared_income_idr
    jkm_amount = 42_000_000 if f.jkm_full else 10_000_000
    jkm_rule = (
        gettext("You have been a member for more than 3 months: the full death benefit of %(full)s.")
        % {"full": rupiah(42_000_000)}
        if f.jkm_full
        else gettext(
            "In the first 3 months of membership the death benefit is only %(first)s; after that "
            "%(full)s. You have been a member for %(months)s months."
        )
        % {"first": rupiah(10_000_000), "full": rupiah(42_000_000), "months": f.months_of_membership}
    )
    scholarship = (
        gettext(
            "The scholarship for up to 2 children (up to %(amount)s) applies: you have "
            "%(months)s months of contributions."
        )
        % {"amount": rupiah(174_000_000), "months": f.contributions_to_date}
        if f.scholarship_eligible
        else gettext(
            "The children's scholarship (up to 2 children, up to %(amount)s) applies after "
            "%(after)s months of contributions; you have %(months)s (%(to_go)s to go). After a "
            "death from a work accident it is paid regardless."
        )
        % {
            "amount": rupiah(174_000_000),
            "after": SCHOLARSHIP_AFTER_MONTHS,
            "months": f.contributions_to_date,
            "to_go": f.months_to_scholarship,
        }
    )
    return [
        {
            "code": "JKK",
            "name": gettext("Work Accident Insurance"),
            "summary": gettext("Accidents at work, including the way to and from work."),
            "benefits": [
                gettext("Medical treatment as needed, with no cost ceiling."),
                gettext("Income replacement while unable to work: 100% for the first 12 months, then 50%."),
                gettext("Total permanent disability: 56 × declared income (%(amount)s).")
                % {"amount": rupiah(56 * income)},
                gettext("Death from a work accident: 48 × declared income (%(amount)s).")
                % {"amount": rupiah(48 * income)},
            ],
        },
        {
            "code": "JKM",
            "name": gettext("Death Insurance"),
            "summary": gettext("Death not caused by a work accident."),
            "benefit_now_idr": jkm_amount if f.state == "protected" else 0,
            "benefits": [
                gettext(
                    "%(amount)s in total: Rp 20 million death benefit, Rp 12 million periodic benefit, "
                    "Rp 10 million funeral costs."
                )
                % {"amount": rupiah(42_000_000)},
                jkm_rule,
                scholarship,
            ],
        },
    ]


def after_accident() -> dict:
    """The same for every worker: built once per language (the caller must not change it)."""
    return _after_accident(formats_language())


@functools.lru_cache(maxsize=8)
def _after_accident(language: str) -> dict:
    with translation.override(language):
        return {
            "title": gettext("After a work accident"),
            "steps": [
                gettext(
                    "Get treatment at the nearest hospital or clinic, preferably one that works with BPJS "
                    "Ketenagakerjaan. Say you are a BPJS Ketenagakerjaan member and show your e-KTP/KPJ card."
                ),
                gettext(
                    "Report the accident to BPJS Ketenagakerjaan within 2 × 24 hours: a branch office, the JMO "
                    "app or the 175 hotline. Ask family, your sponsor or the village admin to help if needed."
                ),
                gettext(
                    "Prepare the documents, then claim (within 5 years). Claims are paid within 3 working days "
                    "of a complete file."
                ),
            ],
            "documents": [
                gettext("BPJS Ketenagakerjaan membership card (KPJ)"),
                gettext("e-KTP (ID card)"),
                gettext("Family card (KK)"),
                gettext("Witness statements"),
                gettext("Police report for a traffic accident"),
                gettext("For a death claim: death certificate and letter naming the heirs"),
            ],
        }


class WorkerStatusView(APIView):
    authentication_classes = [WorkerStatusJWTAuthentication, SessionAuthentication]
    permission_classes = [IsWorker]

    @extend_schema(
        responses=WorkerStatusOut,
        summary="The signed-in worker's protection: state, until when, benefits, what to do after an accident",
    )
    def get(self, request):
        worker = getattr(request.user, "_status_worker", None)  # loaded with the user by the JWT lookup
        if worker is None:  # session or test client: one more query
            worker = workers_for_status().filter(user=request.user).first()
        if worker is None:
            raise NotFound
        f = worker_status_facts(worker)
        return Response(
            {
                "worker": {"first_name": worker.first_name, "kpj": worker.kpj or None},
                "state": f.state,
                "state_label": str(STATE_LABELS[f.state]),
                "headline": headline(f),
                "protected_until": f.protected_until,
                "next_due_date": f.next_due_date,
                "protection_ends_on": f.protection_ends_on,
                "days_left": f.days_left,
                "days_left_text": days_left_text(f),
                "months_of_membership": f.months_of_membership,
                "months_of_contributions": f.contributions_to_date,
                "months_paid_ahead": max(f.months_paid_total - f.contributions_to_date, 0),
                "arrears_months": f.arrears_months,
                "rules": {
                    "jkm_full_benefit": f.jkm_full,
                    "scholarship_eligible": f.scholarship_eligible,
                    "months_to_scholarship": f.months_to_scholarship,
                },
                "programmes": programmes(f),
                "after_accident": after_accident(),
                "sponsor_first_name": f.sponsor_first_name,
                "sponsor_text": gettext("Your contributions are paid by %(name)s, your ASN sponsor.")
                % {"name": f.sponsor_first_name}
                if f.sponsor_first_name
                else gettext("Your contributions are paid by an ASN sponsor."),
            }
        )
