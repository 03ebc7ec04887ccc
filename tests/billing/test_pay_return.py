"""The pay call takes a return path on this service: the payment page's "back to the merchant" link (Snap
callbacks.finish). Never another host."""

import pytest

from sponsorship.billing.models import Invoice
from sponsorship.billing.services.billing import billing_run
from tests.billing.conftest import DEC_2026


@pytest.fixture
def invoice(family, gateway_settings):
    billing_run(period=DEC_2026, notify=False)
    return Invoice.objects.get(sponsor=family[0])


def test_return_path_becomes_the_finish_url_on_the_payment_page(invoice, api, sim):
    response = api(invoice.sponsor.user).post(
        f"/api/v1/sponsor/invoices/{invoice.pk}/pay/", {"return_path": f"/app/?paid={invoice.pk}"}, format="json"
    )
    assert response.status_code == 201, response.content
    session = sim.state.session(response.json()["token"])
    assert session["finish_url"] == f"http://testserver/app/?paid={invoice.pk}"


def test_without_return_path_there_is_no_finish_url(invoice, api, sim):
    response = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/")
    assert response.status_code == 201, response.content
    assert not sim.state.session(response.json()["token"]).get("finish_url")


@pytest.mark.parametrize("bad", ["//evil.example/app/", "https://evil.example/", "app/", "/\\evil.example", "/a b"])
def test_other_hosts_and_odd_paths_are_refused_in_plain_words(invoice, api, bad):
    response = api(invoice.sponsor.user).post(
        f"/api/v1/sponsor/invoices/{invoice.pk}/pay/", {"return_path": bad}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["message"]
