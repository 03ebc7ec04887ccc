"""payroll_payer_sponsor_ids(): the sponsors the payday reminder must skip (they pay through their salary)."""

import pytest

from sponsorship.billing.selectors.payroll import payroll_payer_sponsor_ids
from sponsorship.billing.services.payroll import consent_create, consent_stop
from sponsorship.core.periods import add_months
from tests import factories


@pytest.mark.django_db
def test_only_sponsors_with_a_consent_covering_the_month(agency):
    payer = factories.make_sponsor(agency=agency, capacity=2, full_name="ASN Potong Gaji")
    factories.sponsor_worker(payer, factories.make_worker())
    other = factories.make_sponsor(agency=agency, capacity=2, full_name="ASN Bayar Sendiri")
    factories.sponsor_worker(other, factories.make_worker())
    consent = consent_create(
        sponsor=payer, kind="salary", actor=payer.user, consent_text_version="2026.1", confirmed=True
    )
    first = consent.start_month
    assert list(payroll_payer_sponsor_ids(first)) == [payer.pk]
    assert list(payroll_payer_sponsor_ids(add_months(first, 5))) == [payer.pk]
    assert list(payroll_payer_sponsor_ids(add_months(first, -1))) == []  # not yet deducted
    consent_stop(consent=consent, actor=payer.user)
    consent.refresh_from_db()
    assert consent.end_month is not None
    assert list(payroll_payer_sponsor_ids(consent.end_month)) == []  # from the stop month on: pays itself again
