"""BPJS collective membership: which group (wadah) and source code a worker's contributions are filed under.

Rule (one place): the group set on the worker wins; otherwise the funder's group in the worker's regency —
for a sponsor-paid month the sponsor's agency group, else the regency-wide ASN sponsors' group; for a
regency-budget worker the regency budget group. The remittance export records the group it used on workers that
had none, so the worker and the file say the same from then on.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from sponsorship.core.audit import audit_record, snapshot
from sponsorship.people.models import Agency, CollectiveGroup, Worker
from sponsorship.regions.models import Region

GROUP_FIELDS = ["funder", "agency", "name", "code", "source_code", "active"]


def collective_group_save(
    *,
    regency: Region,
    funder: str,
    name: str,
    code: str,
    source_code: str,
    agency: Agency | None = None,
    group: CollectiveGroup | None = None,
    active: bool = True,
    actor=None,
    ip: str | None = None,
) -> CollectiveGroup:
    """Create (group=None) or change a regency's collective group; one active group per funder (and agency)."""
    problems = {}
    if funder not in CollectiveGroup.Funder.values:
        problems["funder"] = [str(_("Unknown funder."))]
    if source_code not in CollectiveGroup.SourceCode.values:
        problems["source_code"] = [str(_("Unknown BPJS source code."))]
    if not (code or "").strip() or not (name or "").strip():
        problems["code"] = [str(_("The group needs a name and the code the BPJS branch issued."))]
    if agency is not None and agency.regency_id != regency.pk:
        problems["agency"] = [str(_("The agency is not in this regency."))]
    if problems:
        raise ApplicationError(_("The collective group cannot be saved."), code="invalid", extra={"fields": problems})
    values = {
        "funder": funder,
        "agency": agency,
        "name": name.strip(),
        "code": code.strip(),
        "source_code": source_code,
    }
    try:
        with transaction.atomic():
            if group is None:
                group = CollectiveGroup.objects.create(regency=regency, active=active, **values)
                before = None
            else:
                group = CollectiveGroup.objects.select_for_update().get(pk=group.pk)
                before = snapshot(group, GROUP_FIELDS)
                for key, value in {**values, "active": active}.items():
                    setattr(group, key, value)
                group.save()
            audit_record(
                actor=actor,
                action="collective_group.save",
                obj=group,
                before=before,
                after=snapshot(group, GROUP_FIELDS),
                ip=ip,
            )
    except IntegrityError:
        raise ApplicationError(
            _("This regency already has an active group for this funder, or that group code."),
            code="conflict",
            status_code=409,
        ) from None
    return group


def worker_collective_group_set(*, worker: Worker, group: CollectiveGroup | None, actor=None) -> Worker:
    with transaction.atomic():
        current = Worker.objects.select_for_update(of=("self",)).select_related("village__parent").get(pk=worker.pk)
        if group is not None and current.village.parent.parent_id != group.regency_id:  # type: ignore[union-attr]
            raise ApplicationError(_("The group is not in the worker's regency."), code="invalid")
        if current.collective_group_id != (group.pk if group else None):
            before = current.collective_group_id
            Worker.objects.filter(pk=current.pk).update(collective_group=group)
            audit_record(
                actor=actor,
                action="worker.collective_group",
                obj=current,
                before={"collective_group": before},
                after={"collective_group": group.pk if group else None},
            )
    worker.refresh_from_db()
    return worker


class GroupBook:
    """The active groups of some regencies, for resolving many workers at once (the remittance export)."""

    def __init__(self, regency_ids):
        self.by_agency: dict[int, CollectiveGroup] = {}
        self.by_funder: dict[tuple[int, str], CollectiveGroup] = {}
        self.by_id: dict[int, CollectiveGroup] = {}
        for g in CollectiveGroup.objects.filter(regency_id__in=set(regency_ids), active=True):
            self.by_id[g.pk] = g
            if g.agency_id:
                self.by_agency[g.agency_id] = g
            else:
                self.by_funder[(g.regency_id, g.funder)] = g

    def for_month(self, *, worker: Worker, regency_id: int, sponsor_agency_id: int | None) -> CollectiveGroup | None:
        """The group a paid worker-month is filed under (see the module's rule)."""
        if worker.collective_group_id:
            return self.by_id.get(worker.collective_group_id) or CollectiveGroup.objects.get(
                pk=worker.collective_group_id
            )
        if sponsor_agency_id is not None:
            return self.by_agency.get(sponsor_agency_id) or self.by_funder.get(
                (regency_id, CollectiveGroup.Funder.ASN_SPONSORS)
            )
        if worker.current_payer == Worker.Payer.REGENCY_BUDGET:
            return self.by_funder.get((regency_id, CollectiveGroup.Funder.REGENCY_BUDGET))
        return None


def collective_groups_for_months(months) -> dict[int, CollectiveGroup | None]:
    """{coverage month id: group} for coverage-month rows (with worker, worker__village__parent and sponsor loaded);
    workers without a group get the one used recorded (call inside the export's transaction)."""
    regency_of = {m.pk: m.worker.village.parent.parent_id for m in months}
    book = GroupBook(regency_of.values())
    out: dict[int, CollectiveGroup | None] = {}
    assign: dict[int, list[int]] = {}
    for m in months:
        group = book.for_month(
            worker=m.worker, regency_id=regency_of[m.pk], sponsor_agency_id=m.sponsor.agency_id if m.sponsor else None
        )
        out[m.pk] = group
        if group is not None and not m.worker.collective_group_id:
            assign.setdefault(group.pk, []).append(m.worker_id)
    for group_id, worker_ids in assign.items():
        Worker.objects.filter(pk__in=worker_ids, collective_group__isnull=True).update(collective_group_id=group_id)
    return out
