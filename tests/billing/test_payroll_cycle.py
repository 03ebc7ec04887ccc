"""Payroll deduction over several months (docs/payroll.md): full, short and missing deductions, a stop requested
mid-month, an ASN who moves agency, a confirmation file imported twice, a late confirmation; the ledger holds."""

import datetime as dt

import pytest

from notifications.models import Notification
from sponsorship.billing.models import (
    CoverageMonth,
    PaymentAttempt,
    PayrollConsent,
    PayrollDeduction,
    PayrollList,
    RefundCase,
)
from sponsorship.billing.selectors.payroll import lists_for
from sponsorship.billing.services.payroll import (
    consent_create,
    consent_stop,
    consents_end_due,
    first_open_payroll_month,
    payroll_list_date,
    payroll_list_produce,
    payroll_list_send,
    payroll_lists_due,
)
from sponsorship.billing.services.payroll_settle import payroll_transfer_record
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.dashboard.services.payroll_import import confirmation_confirm, confirmation_preview
from sponsorship.people.models import Role
from sponsorship.people.services.people import sponsor_update
from tests import factories

TODAY = local_today()
M1 = add_months(month_start(TODAY), 1)
M2 = add_months(M1, 1)
M3 = add_months(M1, 2)


def _csv(rows) -> bytes:
    lines = ["NIP,Jumlah,Referensi,Tanggal"] + [f"{nip},{amount},{ref},{TODAY:%d/%m/%Y}" for nip, amount, ref in rows]
    return ("\n".join(lines) + "\n").encode()


def _import(payroll_list, rows, *, actor, capture, name="konfirmasi.csv"):
    confirmation = confirmation_preview(payroll_list=payroll_list, file_name=name, content=_csv(rows), actor=actor)
    assert confirmation.problems == [], confirmation.problems
    # The API's path: the file becomes APPLYING and the apply task (eager here) settles it after commit.
    with capture(execute=True):
        assert confirmation_confirm(confirmation=confirmation, actor=actor).status == "applying"
    confirmation.refresh_from_db()
    assert confirmation.status == "applied"
    return {k: confirmation.result[k] for k in ("outcomes", "fallback_links")}


def _produce_and_send(agency, month, actor):
    payroll_list = payroll_list_produce(agency=agency, month=month, actor=actor)
    return payroll_list_send(payroll_list=payroll_list, actor=actor)


def _row(sponsor, month) -> PayrollDeduction:
    return PayrollDeduction.objects.get(sponsor=sponsor, payroll_month=month)


def _covered(sponsor, month) -> bool:
    workers = set(sponsor.sponsorships.filter(status="active").values_list("worker_id", flat=True))
    got = set(CoverageMonth.objects.filter(worker_id__in=workers, month=month).values_list("worker_id", flat=True))
    return bool(workers) and got == workers


@pytest.fixture
def world(agency, other_agency, regency):
    """Four ASN of one agency with two workers each, each consenting from next month; an admin of the regency."""
    sponsors = []
    for i in range(4):
        sponsor = factories.make_sponsor(agency=agency, capacity=3, full_name=f"ASN {i}")
        for _ in range(2):
            factories.sponsor_worker(sponsor, factories.make_worker())
        consent_create(
            sponsor=sponsor,
            kind="salary" if i % 2 == 0 else "tpp",
            actor=sponsor.user,
            consent_text_version="2026.1",
            confirmed=True,
            golongan="III/a",
            account_number=f"00123{i}",
            today=TODAY,
        )
        sponsors.append(sponsor)
    admin = factories.make_user("admin.kab.payroll", Role.REGENCY_ADMIN, regency=regency)
    return sponsors, admin


@pytest.mark.django_db
def test_full_cycle_over_three_months(
    world, agency, other_agency, regency, sim, gateway_settings, django_capture_on_commit_callbacks
):
    (s1, s2, s3, s4), admin = world
    capture = django_capture_on_commit_callbacks

    # ---- month 1: s1, s3, s4 in full; s2 short ----------------------------------------------------------------
    with capture(execute=True):
        list_a1 = _produce_and_send(agency, M1, admin)
    assert list_a1.rows_count == 4
    amounts = {r.sponsor_id: r.amount_idr for r in list_a1.rows.all()}
    assert all(v > 0 for v in amounts.values())  # each row is the monthly invoice's amount
    file_rows = [
        (s1.nip, amounts[s1.pk], "TRF-A1"),
        (s2.nip, amounts[s2.pk] - 1000, "TRF-A1"),
        (s3.nip, amounts[s3.pk], "TRF-A1"),
        (s4.nip, amounts[s4.pk], "TRF-A1"),
    ]
    result = _import(list_a1, file_rows, actor=admin, capture=capture)
    assert result["outcomes"] == {"confirmed": 3, "short": 1} and result["fallback_links"] == 1
    for sponsor in (s1, s3, s4):
        assert _covered(sponsor, M1)
    assert not _covered(s2, M1)
    short = _row(s2, M1)
    assert short.status == "short" and short.deducted_idr == amounts[s2.pk] - 1000
    # The short money is held for an admin (never silently paying part of an invoice), and a link was sent.
    assert RefundCase.objects.get(attempt=short.attempt).amount_idr == amounts[s2.pk] - 1000
    assert short.attempt.status == "flagged"
    assert PaymentAttempt.objects.filter(invoice=short.invoice, status="open").count() == 1
    assert Notification.objects.filter(recipient=s2.user, dedupe_key=f"payroll_fallback:{short.pk}").exists()

    # ---- the same file imported twice changes nothing ----------------------------------------------------------
    coverage_before, attempts_before = CoverageMonth.objects.count(), PaymentAttempt.objects.count()
    again = _import(list_a1, file_rows, actor=admin, capture=capture)
    assert again["outcomes"] == {"unchanged": 4} and again["fallback_links"] == 0
    assert (CoverageMonth.objects.count(), PaymentAttempt.objects.count()) == (coverage_before, attempts_before)
    assert Notification.objects.filter(dedupe_key__startswith="payroll_fallback").count() == 1

    # The bank transfers what was deducted (short row included): matched.
    total = sum(a for _nip, a, _r in file_rows)
    assert payroll_transfer_record(
        agency=agency, month=M1, amount_idr=total, reference="BPD-1", transfer_date=TODAY, actor=admin
    ).matched

    # ---- mid-month: s3 stops, s4 moves to another agency --------------------------------------------------------
    mid = M1.replace(day=15)
    assert first_open_payroll_month(agency_id=agency.pk, today=mid) == M2
    stopped = consent_stop(consent=PayrollConsent.objects.get(sponsor=s3), actor=s3.user, today=mid)
    assert stopped.status == "stopping" and stopped.end_month == M2
    sponsor_update(sponsor=s4, agency=other_agency, actor=admin)

    # ---- month 2: s1 in full, s2 missing; s4 on the new agency's list; s3 not listed -----------------------------
    with capture(execute=True):
        list_a2 = _produce_and_send(agency, M2, admin)
        list_b2 = _produce_and_send(other_agency, M2, admin)
    assert set(list_a2.rows.values_list("sponsor_id", flat=True)) == {s1.pk, s2.pk}
    assert set(list_b2.rows.values_list("sponsor_id", flat=True)) == {s4.pk}
    amounts2 = {r.sponsor_id: r.amount_idr for r in PayrollDeduction.objects.filter(payroll_month=M2)}
    result = _import(list_a2, [(s1.nip, amounts2[s1.pk], "TRF-A2")], actor=admin, capture=capture)
    assert result["outcomes"] == {"confirmed": 1, "missing": 1} and result["fallback_links"] == 1
    _import(list_b2, [(s4.nip, amounts2[s4.pk], "TRF-B2")], actor=admin, capture=capture)
    assert _covered(s1, M2) and _covered(s4, M2) and not _covered(s2, M2)
    missing = _row(s2, M2)
    assert missing.status == "missing" and missing.fallback_sent_at is not None
    link = PaymentAttempt.objects.get(invoice=missing.invoice, status="open")

    # The old agency's admin sees the ASN's month on its own list, not the new agency's list.
    agency_admin = factories.make_user("admin.a.payroll", Role.AGENCY_ADMIN, agency=agency)
    assert set(lists_for(agency_admin).values_list("pk", flat=True)) == {list_a1.pk, list_a2.pk}

    # A late confirmation for the missing ASN settles it; the payment link is withdrawn (superseded).
    late = _import(
        list_a2, [(s2.nip, amounts2[s2.pk], "TRF-A2-LATE")], actor=admin, capture=capture, name="susulan.csv"
    )
    assert late["outcomes"] == {"confirmed": 1}
    assert _row(s2, M2).status == "confirmed" and _covered(s2, M2)
    link.refresh_from_db()
    assert link.status == "superseded"

    # ---- month 3: the stop has taken effect -----------------------------------------------------------------------
    assert consents_end_due(today=M2) == 1
    assert PayrollConsent.objects.get(sponsor=s3).status == "ended"
    with capture(execute=True):
        list_a3 = payroll_list_produce(agency=agency, month=M3, actor=admin)
    assert set(list_a3.rows.values_list("sponsor_id", flat=True)) == {s1.pk, s2.pk}
    assert list_a3.status == "draft"

    # No ASN's payroll month is settled twice, the money adds up, the dashboard agrees.
    report = ledger_check(regency=regency)
    assert report.ok, report.to_dict()


@pytest.mark.django_db
def test_scheduled_task_produces_lists_from_the_list_day_once(world, agency, django_capture_on_commit_callbacks):
    # The list day (the 20th), or the working day before when the 20th is a weekend or holiday.
    list_date = payroll_list_date(regency_id=agency.regency_id, month=add_months(M1, -1))
    assert list_date.day <= 20 and list_date.weekday() < 5
    with django_capture_on_commit_callbacks(execute=True):
        assert payroll_lists_due(today=list_date - dt.timedelta(days=1)) == {}
        produced = payroll_lists_due(today=list_date)
    assert sum(produced.values()) == 4
    assert PayrollList.objects.get(agency=agency, payroll_month=M1).status == "draft"
    with django_capture_on_commit_callbacks(execute=True):
        assert payroll_lists_due(today=list_date + dt.timedelta(days=1)) == {}  # a produced list is left alone
    assert PayrollList.objects.count() == 1


@pytest.mark.django_db
def test_stop_after_the_cut_off_takes_effect_a_month_later(world, agency):
    (s1, *_rest), admin = world
    list_1 = payroll_list_produce(agency=agency, month=M1, actor=admin)
    payroll_list_send(payroll_list=list_1, actor=admin)
    after_cutoff = (M1 - dt.timedelta(days=1)).replace(day=26)
    # Next month's list is sent: a stop now takes effect a month later.
    stopped = consent_stop(consent=PayrollConsent.objects.get(sponsor=s1), actor=s1.user, today=after_cutoff)
    assert stopped.end_month == add_months(M1, 1)
