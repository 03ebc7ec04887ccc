"""The one place that decides which rows a caller may see.

Every API read goes through `scope(queryset, user)`. Each model registers one rule per role;
a model without a rule is visible to superusers only, so a forgotten rule fails closed.
Other areas (billing, notifications) register their models with `register_scope`.
"""

from collections.abc import Callable

from django.db.models import Model, Q, QuerySet

from sponsorship.people.models import Agency, LifeEvent, Profile, Role, Sponsor, Sponsorship, Worker

# model -> role -> (profile, user) -> Q
_RULES: dict[type[Model], dict[str, Callable]] = {}
_DISTINCT_MODELS: set[type[Model]] = set()


def register_scope(model: type[Model], *, distinct: bool = False, **rules: Callable) -> None:
    """Add per-role rules for `model`. `distinct=True` when a rule joins a to-many relation (duplicate rows)."""
    _RULES.setdefault(model, {}).update(rules)
    if distinct:
        _DISTINCT_MODELS.add(model)


def register_sponsor_owned(
    model: type[Model], path: str = "sponsor", *, distinct: bool = False, **extra_rules: Callable
) -> None:
    """Rows that belong to a sponsor through `path`: the sponsor sees their own, admins their agency's/regency's."""
    register_scope(
        model,
        distinct=distinct,
        sponsor=lambda p, u: Q(**{f"{path}__user": u}),
        agency_admin=lambda p, u: Q(**{f"{path}__agency_id": p.agency_id}),
        regency_admin=lambda p, u: Q(**{f"{path}__agency__regency_id": p.regency_id}),
        **extra_rules,
    )


def profile_of(user) -> Profile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def role_of(user) -> str | None:
    if getattr(user, "is_superuser", False):
        return "superuser"
    profile = profile_of(user)
    return profile.role if profile else None


def scope(queryset: QuerySet, user) -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_superuser:
        return queryset
    profile = profile_of(user)
    rule = _RULES.get(queryset.model, {}).get(profile.role) if profile else None
    if rule is None:
        return queryset.none()
    queryset = queryset.filter(rule(profile, user))
    return queryset.distinct() if queryset.model in _DISTINCT_MODELS else queryset


register_scope(
    Agency,
    distinct=True,
    regency_admin=lambda p, u: Q(regency_id=p.regency_id),
    agency_admin=lambda p, u: Q(pk=p.agency_id),
    sponsor=lambda p, u: Q(sponsors__user=u),
)
register_scope(
    Sponsor,
    regency_admin=lambda p, u: Q(agency__regency_id=p.regency_id),
    agency_admin=lambda p, u: Q(agency_id=p.agency_id),
    sponsor=lambda p, u: Q(user=u),
)
register_sponsor_owned(Sponsorship, worker=lambda p, u: Q(worker__user=u))
# A regency admin sees the workers living in the regency; an agency admin those its ASN sponsor now; a sponsor
# those they sponsor now; a worker only themself. Only the live sponsorship counts: when a worker moves to another
# agency's ASN, the old agency admin loses the worker (no export of the clear NIK and phone, no phone change, which
# would redirect the sign-in code). The sponsor's history stays on their own invoices and receipts.
# Both conditions sit in one Q on the same relation, so they hold for the same sponsorship row.
LIVE = Sponsorship.Status.ACTIVE
register_scope(
    Worker,
    distinct=True,
    regency_admin=lambda p, u: Q(village__parent__parent_id=p.regency_id),
    agency_admin=lambda p, u: Q(sponsorships__sponsor__agency_id=p.agency_id, sponsorships__status=LIVE),
    sponsor=lambda p, u: Q(sponsorships__sponsor__user=u, sponsorships__status=LIVE),
    worker=lambda p, u: Q(user=u),
)

# Life events: an admin sees those of the workers and sponsors in their scope (the same rules as above).
register_scope(
    LifeEvent,
    distinct=True,
    regency_admin=lambda p, u: (
        Q(worker__village__parent__parent_id=p.regency_id) | Q(sponsor__agency__regency_id=p.regency_id)
    ),
    agency_admin=lambda p, u: (
        Q(worker__sponsorships__sponsor__agency_id=p.agency_id) | Q(sponsor__agency_id=p.agency_id)
    ),
    sponsor=lambda p, u: Q(sponsor__user=u) | Q(worker__sponsorships__sponsor__user=u),
    worker=lambda p, u: Q(worker__user=u),
)


def access_worker(user, pk) -> Worker:
    """Permission-checking getter: 404 for rows the caller may not see (no existence leak)."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(scope(Worker.objects.all(), user), pk=pk)


def admin_regency_id(user) -> int | None:
    """The regency an admin may write in: a regency admin's own, an agency admin's agency's. None = no regency
    limit (superuser, or no user: a service called by the system itself)."""
    if user is None or getattr(user, "is_superuser", False):
        return None
    profile = profile_of(user)
    if profile is None:
        return -1  # a signed-in user without a profile writes nowhere
    if profile.role == Role.REGENCY_ADMIN:
        return profile.regency_id
    if profile.role == Role.AGENCY_ADMIN and profile.agency_id:
        return Agency.objects.filter(pk=profile.agency_id).values_list("regency_id", flat=True).first()
    return -1


def is_admin(user) -> bool:
    return role_of(user) in ("superuser", Role.AGENCY_ADMIN, Role.REGENCY_ADMIN)
