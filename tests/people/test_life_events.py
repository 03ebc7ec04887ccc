"""Life events through the API: each ends sponsorships through the hand-over rule, stops billing, tells the people
concerned and re-matches the workers who still need a sponsor; who may declare what."""

import datetime as dt

import pytest
from django.test import TestCase

from notifications.models import Notification
from sponsorship.billing.models import CreditEntry, Invoice, InvoiceLine
from sponsorship.billing.services.billing import billing_run, invoice_create_prepay
from sponsorship.core.models import AuditLog
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.matching.models import Proposal
from sponsorship.people.models import LifeEvent, Role, Sponsor, Sponsorship, Worker
from tests import factories
from tests.matching.conftest import HOME, NEAR, town  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
NEXT = add_months(month_start(local_today()), 1)


@pytest.fixture
def world(town, agency):  # noqa: F811
    """C sponsors w (who has the worker app); C's next-month invoice is out; D, nearby, has room."""
    c = factories.make_sponsor(agency=agency, village_code=HOME, full_name="Cahyo Utomo")
    d = factories.make_sponsor(agency=agency, village_code=NEAR, full_name="Dewi Lestari", capacity=3)
    w = factories.make_worker(village_code=HOME, full_name="Slamet Riyadi", user=True)
    sponsorship = factories.sponsor_worker(c, w)
    billing_run(period=NEXT, notify=False)
    return c, d, w, sponsorship, Invoice.objects.get(sponsor=c)


def declare(client, url, **body):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, body, format="json")


def kinds_of(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


WORKER_CASES = [
    ("worker_died", {"evidence_note": "Akta kematian 3502-KM-2026-000123"}, "deceased", "none"),
    ("worker_formal_job", {}, "formal_job", "none"),
    ("worker_other_payer", {"other_payer": "regency_budget"}, "active", "regency_budget"),
    ("worker_other_payer", {"other_payer": "self"}, "active", "self"),
    ("worker_aged_out", {}, "aged_out", "none"),
    ("worker_moved_away", {}, "moved_away", "none"),
]


@pytest.mark.parametrize("kind,extra,state,payer", WORKER_CASES)
def test_worker_life_event_ends_the_sponsorship_stops_billing_and_tells_the_sponsor(
    world, api, regency_admin, kind, extra, state, payer
):
    c, d, w, sponsorship, invoice = world
    response = declare(api(regency_admin), f"/api/v1/admin/workers/{w.pk}/life-events/", kind=kind, **extra)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == kind and body["worker_id"] == w.pk and body["sponsorships_ended"] == 1
    assert body["rematch_proposals"] == 0
    w.refresh_from_db()
    sponsorship.refresh_from_db()
    assert (w.status, w.current_payer) == (state, payer)
    assert sponsorship.status == "ended" and sponsorship.end_reason == kind
    c.refresh_from_db()
    assert c.active_sponsorships == 0 and c.status == "active"
    # Billing stops: the released month is on no live invoice and no run bills it again, to anyone.
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert billing_run(period=NEXT, notify=False).invoices == 0
    assert not InvoiceLine.objects.filter(worker=w, invoice__status__in=["issued", "paid"]).exists()
    # The worker leaves the pool: nobody is offered them.
    assert not Proposal.objects.filter(worker=w, status="offered").exists()
    event = LifeEvent.objects.get()
    assert event.recorded_by == regency_admin and event.ended_sponsorships == [sponsorship.pk]
    assert AuditLog.objects.filter(action="life_event.record", object_id=str(event.pk)).exists()
    assert kinds_of(c.user) == ["sponsorship_ended"]


def test_a_death_tells_the_family_how_to_claim_and_the_sponsor_only_with_consent(world, api, agency_admin):
    c, d, w, sponsorship, invoice = world
    response = declare(
        api(agency_admin),
        f"/api/v1/admin/workers/{w.pk}/life-events/",
        kind="worker_died",
        occurred_on=str(local_today() - dt.timedelta(days=2)),
        evidence_note="Akta kematian no. 123/2026",
        sponsor_may_be_told=True,
    )
    assert response.status_code == 201, response.content
    notice = response.json()["family_notice"]
    # Less than 3 months of membership: JKM is Rp 10 million, no scholarship.
    assert notice["jkm_idr"] == 10_000_000 and notice["scholarship_eligible"] is False
    family = Notification.objects.get(recipient=w.user)
    assert family.kind == "worker_died_family" and "Rp10.000.000" in family.body and "akta kematian" in family.body
    told = Notification.objects.get(recipient=c.user)
    assert told.kind == "sponsored_worker_died" and "memilih pekerja lain" in told.body
    assert told.data == {"screen": "proposals"}


def test_a_death_after_36_paid_months_mentions_the_scholarship_and_the_full_benefit(world, api, regency_admin):
    c, d, w, sponsorship, invoice = world
    invoice.refresh_from_db()
    # 36 months paid (ahead, from credit: the coverage ledger is what counts).
    CreditEntry.objects.create(sponsor=c, kind="surplus", amount_idr=36 * 16_800, note="uji")
    from sponsorship.billing.services.billing import invoice_void

    invoice_void(invoice=invoice, reason="uji")
    for _ in range(3):
        assert invoice_create_prepay(sponsor=c, months=12).status == "paid"
    response = declare(
        api(regency_admin), f"/api/v1/admin/workers/{w.pk}/life-events/", kind="worker_died", evidence_note="Akta 1"
    )
    notice = response.json()["family_notice"]
    assert notice == {
        "jkm_idr": 42_000_000,
        "contribution_months": 36,
        "scholarship_eligible": True,
        "documents": ["KPJ", "e-KTP", "KK", "akta kematian", "surat keterangan ahli waris"],
    }
    family = Notification.objects.get(recipient=w.user)
    assert family.kind == "worker_died_family_scholarship" and "Rp42.000.000" in family.body
    # Without the family's consent the sponsor is told the sponsorship ended, not why.
    assert kinds_of(c.user) == ["sponsorship_ended"]


SPONSOR_CASES = [
    ("sponsor_retired", "retired", "sponsor_retired"),
    ("sponsor_died", "deceased", "sponsor_died"),
    ("sponsor_moved", "moved", "sponsor_moved"),
    ("sponsor_left_service", "left", "sponsor_left"),
]


@pytest.mark.parametrize("kind,state,reason", SPONSOR_CASES)
def test_sponsor_life_event_hands_the_worker_over_and_rematches(world, api, regency_admin, kind, state, reason):
    c, d, w, sponsorship, invoice = world
    body = {"kind": kind, "evidence_note": "SK pensiun / akta kematian no. 77"}
    response = declare(api(regency_admin), f"/api/v1/admin/sponsors/{c.pk}/life-events/", **body)
    assert response.status_code == 201, response.content
    assert response.json()["sponsorships_ended"] == 1 and response.json()["rematch_proposals"] == 1
    c.refresh_from_db()
    sponsorship.refresh_from_db()
    assert c.status == state and c.active_sponsorships == 0
    assert sponsorship.end_reason == reason
    # The worker is offered to D at once; the released month is billed to D once D accepts.
    offer = Proposal.objects.get(worker=w, status="offered")
    assert offer.sponsor_id == d.pk
    assert api(d.user).post(f"/api/v1/sponsor/proposals/{offer.pk}/accept/").status_code == 201
    billing_run(period=NEXT, notify=False)
    assert list(
        InvoiceLine.objects.filter(worker=w, month=NEXT, invoice__status="issued").values_list(
            "invoice__sponsor_id", flat=True
        )
    ) == [d.pk]
    assert kinds_of(w.user) == ["worker_sponsor_left"]


def test_sponsor_declares_own_retirement_and_own_workers_events_only(world, api, agency):
    c, d, w, sponsorship, invoice = world
    other = factories.make_sponsor(agency=agency, village_code=HOME, full_name="Lain")
    stranger = factories.make_worker(village_code=HOME, full_name="Orang Lain")
    factories.sponsor_worker(other, stranger)
    client = api(c.user)
    # Another sponsor's worker: 404, nothing happens.
    response = declare(
        client, f"/api/v1/sponsor/workers/{stranger.pk}/life-events/", kind="worker_died", evidence_note="x" * 10
    )
    assert response.status_code == 404
    assert Worker.objects.get(pk=stranger.pk).status == "active" and not LifeEvent.objects.exists()
    # A sponsor cannot declare their own death, nor a worker's age limit (the scheduled check does that).
    assert declare(client, "/api/v1/sponsor/life-events/", kind="sponsor_died").status_code == 400
    response = declare(client, f"/api/v1/sponsor/workers/{w.pk}/life-events/", kind="worker_aged_out")
    assert response.status_code == 400
    # Their own worker's formal job: fine.
    response = declare(client, f"/api/v1/sponsor/workers/{w.pk}/life-events/", kind="worker_formal_job")
    assert response.status_code == 201
    # Their own retirement.
    response = declare(client, "/api/v1/sponsor/life-events/", kind="sponsor_retired")
    assert response.status_code == 201
    assert Sponsor.objects.get(pk=c.pk).status == "retired"
    assert declare(client, "/api/v1/sponsor/life-events/", kind="sponsor_retired").status_code == 409


def test_worker_declares_own_other_payer(world, api):
    c, d, w, sponsorship, invoice = world
    client = api(w.user)
    assert declare(client, "/api/v1/worker/life-events/", kind="worker_died").status_code == 400
    assert declare(client, "/api/v1/worker/life-events/", kind="worker_other_payer").status_code == 400
    response = declare(client, "/api/v1/worker/life-events/", kind="worker_other_payer", other_payer="self")
    assert response.status_code == 201, response.content
    w.refresh_from_db()
    assert w.current_payer == "self" and Sponsorship.objects.get(pk=sponsorship.pk).status == "ended"


def test_admin_scope_and_roles(world, api, regency, other_agency):
    c, d, w, sponsorship, invoice = world
    outsider = factories.make_user("admin.lain", Role.AGENCY_ADMIN, agency=other_agency)
    client = api(outsider)
    url = f"/api/v1/admin/workers/{w.pk}/life-events/"
    assert declare(client, url, kind="worker_died", evidence_note="Akta 123").status_code == 404
    assert declare(client, f"/api/v1/admin/sponsors/{c.pk}/life-events/", kind="sponsor_retired").status_code == 404
    assert client.get("/api/v1/admin/life-events/").json()["results"] == []
    assert declare(api(c.user), url, kind="worker_died", evidence_note="Akta 123").status_code == 403
    assert declare(api(None), url, kind="worker_died", evidence_note="Akta 123").status_code == 401
    assert Worker.objects.get(pk=w.pk).status == "active"


def test_bad_input_is_a_400_with_a_readable_message_and_a_repeat_is_409(world, api, regency_admin):
    c, d, w, sponsorship, invoice = world
    client = api(regency_admin)
    url = f"/api/v1/admin/workers/{w.pk}/life-events/"
    no_evidence = declare(client, url, kind="worker_died")
    assert no_evidence.status_code == 400 and "bukti" in no_evidence.json()["message"].lower()
    future = str(local_today() + dt.timedelta(days=5))
    response = declare(client, url, kind="worker_moved_away", occurred_on=future)
    assert response.status_code == 400 and "masa depan" in response.json()["message"]
    with TestCase.captureOnCommitCallbacks(execute=True):
        english = client.post(
            url, {"kind": "worker_moved_away", "occurred_on": future}, format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
    assert english.status_code == 400 and "future" in english.json()["message"]
    assert declare(client, url, kind="nonsense").status_code == 400
    assert not LifeEvent.objects.exists() and Sponsorship.objects.get(pk=sponsorship.pk).status == "active"
    assert declare(client, url, kind="worker_died", evidence_note="Akta 123").status_code == 201
    assert declare(client, url, kind="worker_died", evidence_note="Akta 123").status_code == 409
    listed = client.get("/api/v1/admin/life-events/").json()["results"]
    assert [e["kind"] for e in listed] == ["worker_died"]


def test_django_admin_declares_through_the_service(world, client):
    from django.contrib.auth import get_user_model

    c, d, w, sponsorship, invoice = world
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin_user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/admin/people/lifeevent/add/",
            {"kind": "worker_moved_away", "worker": w.pk, "occurred_on": str(local_today()), "evidence_note": "pindah"},
        )
    assert response.status_code == 302, response.content[:2000]
    event = LifeEvent.objects.get()
    assert event.recorded_by == admin_user and event.ended_sponsorships == [sponsorship.pk]
    assert Worker.objects.get(pk=w.pk).status == "moved_away"
    assert client.get(f"/admin/people/lifeevent/{event.pk}/change/").status_code == 200


def test_a_worker_who_left_the_scheme_cannot_be_sponsored_again(world, api, regency_admin):
    from backend.api.errors import ConflictError
    from sponsorship.people.services.sponsorships import sponsorship_start

    c, d, w, sponsorship, invoice = world
    declare(api(regency_admin), f"/api/v1/admin/workers/{w.pk}/life-events/", kind="worker_moved_away")
    with pytest.raises(ConflictError):
        sponsorship_start(sponsor=d, worker=w, source="admin")
    assert api(regency_admin).get(f"/api/v1/workers/{w.pk}/").json()["status"] == "moved_away"
