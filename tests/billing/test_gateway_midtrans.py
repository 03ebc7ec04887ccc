"""The Midtrans adapter (the real midtransclient against the simulator, over HTTP) turns the status API's answer
into typed fields: services read those, never the raw answer."""

import uuid

from sponsorship.billing.gateways.base import CheckoutRequest, Customer, Item, RefundEntry
from sponsorship.billing.gateways.midtrans import MidtransGateway
from tests.billing.conftest import sim_control


def paid_order(gateway: MidtransGateway, http, sim, amount: int, method: str) -> str:
    order_id = f"GW-{uuid.uuid4().hex[:12]}"
    gateway.create_checkout(
        CheckoutRequest(
            order_id=order_id,
            gross_amount_idr=amount,
            items=(Item(id="W1-202612", name="Premi", price_idr=amount),),
            customer=Customer(first_name="Budi"),
        )
    )
    sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
    return order_id


def test_status_carries_the_refunds_parsed(gateway_settings, sim, http):
    gateway = MidtransGateway()
    order_id = paid_order(gateway, http, sim, 25_200, "gopay")
    paid = gateway.get_status(order_id)
    assert paid.is_paid and paid.refunds == () and paid.refunded_amount_idr == 0

    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 5_000, "refund_key": "dash-1"})
    once = gateway.get_status(order_id)
    assert once.transaction_status == "partial_refund" and once.gross_amount_idr == 25_200
    assert [(r.refund_key, r.amount_idr) for r in once.refunds] == [("dash-1", 5_000)]
    assert once.refunded_amount_idr == 5_000

    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 7_000, "refund_key": "dash-2"})
    twice = gateway.get_status(order_id)
    assert twice.transaction_status == "partial_refund"
    assert [(r.refund_key, r.amount_idr) for r in twice.refunds] == [("dash-1", 5_000), ("dash-2", 7_000)]
    assert twice.refunded_amount_idr == 12_000
    assert all(r.created_at and r.bank_confirmed_at for r in twice.refunds)  # the bank confirmed both refunds
    assert [r.refund_id for r in twice.refunds] == ["1", "2"]

    sim_control(http, sim, "chargeback", {"order_id": order_id})  # the rest, by the issuer
    charged = gateway.get_status(order_id)
    assert charged.transaction_status == "chargeback" and not charged.is_paid
    assert len(charged.refunds) == 3 and charged.refunds[:2] == twice.refunds
    chargeback = charged.refunds[2]
    assert isinstance(chargeback, RefundEntry)
    assert chargeback.amount_idr == 13_200 and chargeback.refund_key and chargeback.created_at
    assert chargeback.bank_confirmed_at == "" and chargeback.refund_id == "3"
    assert charged.refunded_amount_idr == 25_200 == sum(r.amount_idr for r in charged.refunds)


def test_partial_chargeback_total(gateway_settings, sim, http):
    gateway = MidtransGateway()
    order_id = paid_order(gateway, http, sim, 50_400, "bca_va")  # a chargeback reaches any method
    sim_control(http, sim, "chargeback", {"order_id": order_id, "amount": 400})
    status = gateway.get_status(order_id)
    assert status.transaction_status == "partial_chargeback" and status.refunded_amount_idr == 400
    assert [r.amount_idr for r in status.refunds] == [400]
