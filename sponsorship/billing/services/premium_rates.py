"""Writes to the rate table (PremiumRate) and the holiday calendar, audited with old and new values.

Rates are data that decide what every future invoice charges, so an edit is checked before it is saved:
- amounts are positive whole numbers (income, JKK basis points, JKM rupiah), JHT basis points and the discount
  are whole numbers (discount 0-100), and the validity is ordered;
- two rows for the same sector, funding source and priority must not be valid on the same day: the rate book
  (services/rates.py) would then pick between them by start date alone, silently;
- a rate already used on invoice lines keeps its amounts, sector, funding source and start. Issued lines store
  their own amounts (snapshots), so editing them would not change any invoice, but the row would then no longer
  describe what those lines charged. End its validity and add a new row instead; its end may move, but not before
  the last month already billed with it.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from sponsorship.billing.models import Holiday, InvoiceLine, PremiumRate
from sponsorship.core.audit import audit_record, snapshot

RATE_FIELDS = (
    "name",
    "valid_from",
    "valid_to",
    "sector",
    "funding_source",
    "declared_income_idr",
    "jkk_rate_bp",
    "jkm_idr",
    "jht_rate_bp",
    "discount_pct",
    "priority",
    "legal_basis",
    "regency",  # empty: national; set: that regency's own row (wins over national rows, services/rates.py)
)
# What issued invoice lines were computed from: fixed once a line uses the rate.
RATE_LOCKED_WHEN_USED = (
    "valid_from",
    "sector",
    "funding_source",
    "declared_income_idr",
    "jkk_rate_bp",
    "jkm_idr",
    "jht_rate_bp",
    "discount_pct",
    "regency",
)
POSITIVE = ("declared_income_idr", "jkk_rate_bp", "jkm_idr")
HOLIDAY_FIELDS = ("date", "name")


def rate_last_billed_month(rate: PremiumRate) -> dt.date | None:
    """The latest month an invoice line was billed with this rate (None: the rate was never used)."""
    if rate.pk is None:
        return None
    return InvoiceLine.objects.filter(rate_id=rate.pk).aggregate(last=Max("month"))["last"]


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def premium_rate_problems(*, rate: PremiumRate | None, values: dict) -> dict[str, str | Promise]:
    """Field → message for every rule `values` (all of RATE_FIELDS) breaks; `rate` is the saved row when editing."""
    problems: dict[str, str | Promise] = {}
    for name in POSITIVE:
        if not _whole(values[name]) or values[name] < 1:
            problems[name] = _("Must be a positive whole number.")
    if not _whole(values["jht_rate_bp"]) or values["jht_rate_bp"] < 0:
        problems["jht_rate_bp"] = _("Must be a whole number, 0 or more.")
    if not _whole(values["discount_pct"]) or not 0 <= values["discount_pct"] <= 100:
        problems["discount_pct"] = _("Must be a whole number 0–100.")
    if not _whole(values["priority"]):
        problems["priority"] = _("Must be a whole number.")
    regency = values.get("regency")
    if regency is not None and getattr(regency, "level", None) != 2:
        problems["regency"] = _("Must be a regency or city.")
    start, end = values["valid_from"], values["valid_to"]
    if start is None:
        problems["valid_from"] = _("Required.")
        return problems
    if end is not None and end < start:
        problems["valid_to"] = _("Must not be before the start date.")
        return problems

    last_billed = rate_last_billed_month(rate) if rate is not None else None
    if last_billed is not None:
        for name in RATE_LOCKED_WHEN_USED:
            if values[name] != getattr(rate, name):
                problems[name] = _(
                    "This rate is used on invoice lines; it cannot change. End its validity and add a new rate."
                )
        if end is not None and end < last_billed:
            problems["valid_to"] = _(
                "This rate was billed for %(month)s; its validity cannot end before that.",
            ) % {"month": f"{last_billed:%Y-%m}"}

    overlapping = PremiumRate.objects.filter(
        sector=values["sector"],
        funding_source=values["funding_source"],
        priority=values["priority"],
        regency=values.get("regency"),
    )
    overlapping = overlapping.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
    if end is not None:
        overlapping = overlapping.filter(valid_from__lte=end)
    if rate is not None and rate.pk is not None:
        overlapping = overlapping.exclude(pk=rate.pk)
    other = overlapping.order_by("valid_from").first()
    if other is not None:
        problems["valid_from"] = _(
            "The validity overlaps rate '%(other)s' (same sector, funding source and priority)."
        ) % {"other": other}
    return problems


def _raise_if(problems: dict[str, str | Promise]) -> None:
    if problems:
        first = next(iter(problems.values()))
        raise ApplicationError(first, code="invalid", extra={"fields": {k: [str(v)] for k, v in problems.items()}})


def _rate_values(rate: PremiumRate, changes: dict) -> dict:
    unknown = set(changes) - set(RATE_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown field.") + f" {sorted(unknown)}", code="invalid")
    return {**{k: getattr(rate, k) for k in RATE_FIELDS}, **changes}


def premium_rate_create(*, actor, ip: str | None = None, **values) -> PremiumRate:
    rate = PremiumRate()  # model defaults for what is not given
    full = _rate_values(rate, values)
    with transaction.atomic():
        # One writer at a time checks overlaps: two admins adding overlapping rows at once would both pass.
        _lock_rate_table()
        _raise_if(premium_rate_problems(rate=None, values=full))
        for name in RATE_FIELDS:
            setattr(rate, name, full[name])
        rate.save(force_insert=True)
        audit_record(
            actor=actor, action="premium_rate.create", obj=rate, before=None, after=snapshot(rate, RATE_FIELDS), ip=ip
        )
    return rate


def premium_rate_update(*, rate: PremiumRate, actor, ip: str | None = None, **changes) -> PremiumRate:
    with transaction.atomic():
        _lock_rate_table()
        current = PremiumRate.objects.select_for_update().get(pk=rate.pk)
        full = _rate_values(current, changes)
        changed = [name for name in RATE_FIELDS if full[name] != getattr(current, name)]
        if not changed:
            return current
        _raise_if(premium_rate_problems(rate=current, values=full))
        before = snapshot(current, changed)
        for name in changed:
            setattr(current, name, full[name])
        current.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="premium_rate.update",
            obj=current,
            before=before,
            after=snapshot(current, changed),
            ip=ip,
        )
    return current


def premium_rate_delete(*, rate: PremiumRate, actor, ip: str | None = None) -> None:
    """Only a rate never billed: a used one would leave its invoice lines without their rate (SET NULL)."""
    with transaction.atomic():
        _lock_rate_table()
        current = PremiumRate.objects.select_for_update().get(pk=rate.pk)
        if rate_last_billed_month(current) is not None:
            raise ApplicationError(
                _("A rate used on invoices cannot be deleted; end its validity."), code="rate_in_use", status_code=409
            )
        before = snapshot(current, RATE_FIELDS)
        pk = current.pk
        current.delete()
        audit_record(
            actor=actor,
            action="premium_rate.delete",
            object_type="billing.premiumrate",
            object_id=pk,
            before=before,
            after=None,
            ip=ip,
        )


def _lock_rate_table() -> None:
    """Serialises rate writers (the overlap check reads other rows); readers (billing runs) are not blocked."""
    with connection.cursor() as cur:
        cur.execute(f"LOCK TABLE {PremiumRate._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def holiday_problems(*, holiday: Holiday | None, values: dict) -> dict[str, str | Promise]:
    problems: dict[str, str | Promise] = {}
    if not str(values.get("name") or "").strip():
        problems["name"] = _("Required.")
    day = values.get("date")
    if day is None:
        problems["date"] = _("Required.")
    else:
        taken = Holiday.objects.filter(date=day)
        if holiday is not None and holiday.pk is not None:
            taken = taken.exclude(pk=holiday.pk)
        if taken.exists():
            problems["date"] = _("This date is already a holiday.")
    return problems


def holiday_create(*, date: dt.date, name: str, actor, ip: str | None = None) -> Holiday:
    """Holidays move due dates of invoices issued from now on (issued invoices keep theirs)."""
    with transaction.atomic():
        _raise_if(holiday_problems(holiday=None, values={"date": date, "name": name}))
        holiday = Holiday.objects.create(date=date, name=name.strip())
        audit_record(
            actor=actor,
            action="holiday.create",
            obj=holiday,
            before=None,
            after=snapshot(holiday, HOLIDAY_FIELDS),
            ip=ip,
        )
    return holiday


def holiday_update(*, holiday: Holiday, actor, ip: str | None = None, **changes) -> Holiday:
    with transaction.atomic():
        current = Holiday.objects.select_for_update().get(pk=holiday.pk)
        values = {**{k: getattr(current, k) for k in HOLIDAY_FIELDS}, **changes}
        changed = [k for k in HOLIDAY_FIELDS if values[k] != getattr(current, k)]
        if not changed:
            return current
        _raise_if(holiday_problems(holiday=current, values=values))
        before = snapshot(current, changed)
        for name in changed:
            setattr(current, name, values[name])
        current.save(update_fields=changed)
        audit_record(
            actor=actor, action="holiday.update", obj=current, before=before, after=snapshot(current, changed), ip=ip
        )
    return current


def holiday_delete(*, holiday: Holiday, actor, ip: str | None = None) -> None:
    with transaction.atomic():
        current = Holiday.objects.select_for_update().get(pk=holiday.pk)
        before, pk = snapshot(current, HOLIDAY_FIELDS), current.pk
        current.delete()
        audit_record(
            actor=actor,
            action="holiday.delete",
            object_type="billing.holiday",
            object_id=pk,
            before=before,
            after=None,
            ip=ip,
        )
