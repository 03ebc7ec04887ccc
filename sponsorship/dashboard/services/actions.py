"""Actions an HR admin takes from the dashboard's arrears worklist."""

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from sponsorship.core.audit import audit_record
from sponsorship.dashboard.selectors import AdminScope, dashboard_invalidate
from sponsorship.dashboard.selectors.money import REMIND_ACTION, month_label
from sponsorship.people.identifiers import is_ascii_digits


def arrears_remind(
    *, scope: AdminScope, sponsor_id: int, actor, ip: str | None = None, today: dt.date | None = None
) -> dict:
    """Send one overdue reminder to an ASN in the admin's scope (at most one per ASN per day).

    Returns {"sent": bool, "reason": str}. The reminder goes through the notifications outbox
    (`notify`, deduplicated per ASN and day); the audit row is what the worklist shows as "last reminder".
    """
    from sponsorship.billing.models import Invoice

    today = today or timezone.localdate()
    sponsor = scope.sponsors().select_related("agency").filter(pk=sponsor_id).first()
    if sponsor is None:
        raise ApplicationError(_("Sponsor not found."), code="not_found", status_code=404)
    overdue = Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.ISSUED, due_date__lt=today)
    totals = overdue.aggregate(amount=Sum("amount_idr"), since=Min("due_date"))
    if not totals["amount"]:
        return {"sent": False, "reason": "no_arrears"}
    first = overdue.order_by("due_date").first()
    assert first is not None  # the aggregate above found an overdue amount
    with transaction.atomic():
        notification = None
        reason = "sent"
        if sponsor.user_id is None:
            reason = "no_app_account"
        else:
            notify: Callable[..., object] | None
            try:
                from notifications.services import notify  # branch notifications; lazy so we never hard-depend
            except ImportError:
                notify = None
                reason = "notifications_unavailable"
            if notify is not None:
                notification = notify(
                    user=sponsor.user,
                    kind="invoice_overdue",
                    context={
                        "sponsor_name": sponsor.full_name,
                        "amount_idr": totals["amount"],
                        "due_date": totals["since"],
                        "invoice_id": first.pk,
                        "invoice_number": first.number,
                        "days": (today - totals["since"]).days,
                        "period_label": month_label(first.period),
                    },
                    dedupe_key=f"arrears-remind:{sponsor.pk}:{today.isoformat()}",
                    data={"invoice_id": str(first.pk), "screen": "invoices"},
                )
                if notification is None:
                    reason = "already_sent_today_or_opted_out"
        audit_record(
            actor=actor,
            action=REMIND_ACTION,
            obj=sponsor,
            ip=ip,
            extra={"outcome": reason, "amount_idr": totals["amount"], "since": totals["since"].isoformat()},
        )
        transaction.on_commit(lambda: dashboard_invalidate(scope.regency.pk))
    return {"sent": reason == "sent", "reason": reason}


def village_target_set(*, scope: AdminScope, village_code: str, target, actor, ip: str | None = None):
    """Set (or, with an empty value, clear) the coverage target of one village. Regency admins only."""
    from sponsorship.dashboard.models import VillageTarget
    from sponsorship.regions.models import Region

    if scope.agency is not None:
        raise ApplicationError(_("Only regency admins can change village targets."), code="forbidden", status_code=403)
    village = Region.objects.filter(code=village_code, level=Region.Level.VILLAGE, parent__parent=scope.regency).first()
    if village is None:
        raise ApplicationError(_("Village not found."), code="not_found", status_code=404)
    text = str(target if target is not None else "").strip()
    current = VillageTarget.objects.filter(village=village).first()
    before = {"target": current.target if current else None}
    with transaction.atomic():
        if text == "":
            VillageTarget.objects.filter(village=village).delete()
            after: dict[str, int | None] = {"target": None}
        else:
            if not is_ascii_digits(text) or not 0 <= int(text) <= 100_000:
                raise ApplicationError(_("The target must be a whole number 0–100,000."), code="invalid")
            VillageTarget.objects.update_or_create(village=village, defaults={"target": int(text), "updated_by": actor})
            after = {"target": int(text)}
        audit_record(actor=actor, action="village_target.set", obj=village, before=before, after=after, ip=ip)
        transaction.on_commit(lambda: dashboard_invalidate(scope.regency.pk))
    return after["target"]
