"""One small regency with every role and one object of every kind the API exposes.

Ownership is always on the "first" side: the sponsor owns the invoice, the proposal, the nomination;
the worker is sponsored by that sponsor; the agency admin is that sponsor's agency. The "other_*" roles
are the same kind of user on the other side (another sponsor, another worker, another agency's admin),
so each row of the permission matrix says who may touch the first side's object.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone

from sponsorship.people.models import Occupation, Role
from tests import factories

ROLES = [
    "anonymous",
    "worker",
    "other_worker",
    "sponsor",
    "other_sponsor",
    "agency_admin",
    "other_agency_admin",
    "regency_admin",
    "superuser",
]


@dataclass
class World:
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    def user(self, role):
        return self.users.get(role)


def _optional(builder, world, name):
    """Objects of feature branches that may not be merged yet: absent → the row that needs it is reported."""
    try:
        world.objects[name] = builder()
    except ImportError:
        pass


def build_world(*, with_money=True) -> World:
    regency = factories.load_ponorogo()
    agency_a = factories.make_agency(regency, name="Dinas Pendidikan dan Kebudayaan")
    agency_b = factories.make_agency(regency, name="Dinas Kesehatan")
    s1 = factories.make_sponsor(agency=agency_a, capacity=3, full_name="Budi Santoso")
    s2 = factories.make_sponsor(agency=agency_b, capacity=3, full_name="Sri Wahyuni")
    w1 = factories.make_worker(user=True, full_name="Slamet Riyadi")
    w2 = factories.make_worker(user=True, full_name="Siti Aminah", sex="F")
    factories.sponsor_worker(s1, w1)
    factories.sponsor_worker(s2, w2)
    free = factories.make_worker(full_name="Joko Susilo", decile=1)
    superuser = get_user_model().objects.create_superuser("root.hardening", password="root-pass-123456")
    w = World()
    w.users = {
        "anonymous": None,
        "worker": w1.user,
        "other_worker": w2.user,
        "sponsor": s1.user,
        "other_sponsor": s2.user,
        "agency_admin": factories.make_user("admin.opd.a", Role.AGENCY_ADMIN, agency=agency_a),
        "other_agency_admin": factories.make_user("admin.opd.b", Role.AGENCY_ADMIN, agency=agency_b),
        "regency_admin": factories.make_user("admin.kab", Role.REGENCY_ADMIN, regency=regency),
        "superuser": superuser,
    }
    w.objects.update(
        regency=regency,
        agency=agency_a,
        other_agency=agency_b,
        sponsor=s1,
        other_sponsor=s2,
        worker=w1,
        other_worker=w2,
        free_worker=free,
        year=timezone.localdate().year,
    )
    if with_money:
        _optional(lambda: _invoices(s1), w, "invoices")
    _optional(lambda: _proposal(s1), w, "proposal")
    _optional(lambda: _nomination(s1), w, "nomination")
    _optional(lambda: _matching_run(regency, w.users["regency_admin"]), w, "matching_run")
    _optional(lambda: _import_batch(w.users["agency_admin"]), w, "import_batch")
    _optional(lambda: _notification(s1.user), w, "notification")
    _optional(lambda: _device(s1.user), w, "device")
    _optional(lambda: _bridge_pool(regency), w, "bridge_pool")
    _optional(lambda: _job(w.users["agency_admin"], regency, agency_a), w, "job")
    try:
        w.objects.update(_payroll(s1, w.users["agency_admin"]))
    except ImportError:
        pass
    return w


def _bridge_pool(regency):
    from sponsorship.billing.models.bridge import BridgePool

    return BridgePool.objects.create(regency=regency, kind="csr", name="CSR Bank Jatim", balance_idr=100_800)


def _job(admin, regency, agency):
    from sponsorship.dashboard.models import Job

    return Job.objects.create(
        kind=Job.Kind.EXPORT,
        key="hardening",
        params={"table": "agencies", "fmt": "csv"},
        requested_by=admin,
        regency=regency,
        agency=agency,
    )


PAYROLL_SCAN = b"%PDF-1.4\n% signed consent form\n"


def _payroll(sponsor, admin) -> dict:
    """A paper consent (with its scan) of the first sponsor, a draft list, a sent list with a checked confirmation
    of the first agency."""
    from sponsorship.billing.services.payroll import consent_create, payroll_list_produce, payroll_list_send
    from sponsorship.core.periods import add_months, local_today, month_start
    from sponsorship.dashboard.services.payroll_import import confirmation_preview

    consent = consent_create(
        sponsor=sponsor, kind="salary", actor=admin, scan=PAYROLL_SCAN, scan_file_name="form.pdf", golongan="III/b"
    )
    next_month = add_months(month_start(local_today()), 1)
    sent = payroll_list_produce(agency=sponsor.agency, month=next_month, actor=admin)
    sent = payroll_list_send(payroll_list=sent, actor=admin)
    draft = payroll_list_produce(agency=sponsor.agency, month=add_months(next_month, 1), actor=admin)
    row = sent.rows.get(sponsor=sponsor)
    content = f"NIP,Jumlah,Referensi,Tanggal\n{row.nip},{row.amount_idr},TRF-1,{local_today():%d/%m/%Y}\n".encode()
    confirmation = confirmation_preview(payroll_list=sent, file_name="konfirmasi.csv", content=content, actor=admin)
    return {
        "payroll_consent": consent,
        "payroll_list": draft,
        "payroll_sent_list": sent,
        "payroll_confirmation": confirmation,
        "payroll_month": next_month,
    }


def _invoices(sponsor):
    from sponsorship.billing.models import Invoice
    from sponsorship.billing.services.billing import billing_run
    from sponsorship.billing.services.coverage import coverage_record_invoice
    from sponsorship.core.periods import add_months, local_today, month_start

    this_month = month_start(local_today())
    paid_period, open_period = add_months(this_month, -1), this_month
    # The sponsorships have existed since before the billed months (a sponsorship that starts after a month's
    # due date is first billed the month after: docs/money.md).
    from sponsorship.people.models import Sponsorship

    Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE).update(
        started_at=timezone.make_aware(dt.datetime.combine(add_months(paid_period, -1), dt.time(8)))
    )
    billing_run(period=paid_period, notify=False, now=timezone.now() - dt.timedelta(days=40))
    billing_run(period=open_period, notify=False, now=timezone.now() - dt.timedelta(days=5))
    paid = Invoice.objects.get(sponsor=sponsor, period=paid_period)
    paid_at = timezone.now() - dt.timedelta(days=20)
    Invoice.objects.filter(pk=paid.pk).update(status=Invoice.Status.PAID, paid_at=paid_at)
    paid.refresh_from_db()
    coverage_record_invoice(invoice=paid, paid_at=paid_at)
    return {"paid": paid, "open": Invoice.objects.get(sponsor=sponsor, period=open_period)}


def _proposal(sponsor):
    from sponsorship.matching.models import Proposal
    from sponsorship.matching.services.proposals import proposals_for_sponsor

    proposals_for_sponsor(sponsor=sponsor)
    return Proposal.objects.filter(sponsor=sponsor).first()


def _nomination(sponsor):
    from sponsorship.matching.services.nominations import nomination_submit

    return nomination_submit(
        sponsor=sponsor,
        nik=factories.make_nik(),
        full_name="Sumarni Lestari",
        occupation=Occupation.objects.get(code="petani"),
        village="35.02.17.1001",
        relationship="neighbour",
        consent_channel="in_person",
        consent_text_version="2026.1",
        phone="081298765432",
        actor=sponsor.user,
    )


def _matching_run(regency, admin):
    from sponsorship.matching.services.runs import matching_run_preview

    run, _ = matching_run_preview(regency=regency, actor=admin)
    return run


def _import_batch(admin):
    from sponsorship.dashboard.selectors import admin_scope
    from sponsorship.dashboard.services.imports import import_preview

    return import_preview(
        actor=admin, scope=admin_scope(admin), kind="workers", file_name="pekerja.csv", content=worker_roster_csv()
    )


def worker_roster_csv() -> bytes:
    """The shipped template plus one plausible row (whether it validates does not matter for permissions)."""
    from sponsorship.dashboard.services.imports import template_csv

    header = template_csv("workers")
    header = header if isinstance(header, bytes) else header.encode()
    line = (
        f"1,{factories.make_nik('35.02.17.1003')},Wagiyo,petani,,,35.02.17.1003,081355556666,3,,"
        "in_person,2026-01-05,2026.1,\r\n"
    )
    return header + line.encode()


def _notification(user):
    from notifications.services import notify

    return notify(
        user=user,
        kind="payment_received",
        dedupe_key="hardening-receipt-1",
        context={
            "sponsor_name": "Budi",
            "amount_idr": 16800,
            "invoice_number": "INV-1",
            "invoice_id": 1,
            "period_label": "Desember 2026",
            "workers": 1,
        },
    )


def _device(user):
    from notifications.services import device_register

    return device_register(user=user, token="hardening-device-token-0001", platform="android")
