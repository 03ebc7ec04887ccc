"""The payment gateway interface: plain frozen dataclasses in and out, three exceptions.

Services depend on this, never on midtransclient. Amounts are integer rupiah here; adapters
convert to the gateway's strings.
"""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    price_idr: int  # may be negative (a credit line)
    quantity: int = 1


@dataclass(frozen=True)
class Customer:
    first_name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CheckoutRequest:
    order_id: str
    gross_amount_idr: int
    items: tuple[Item, ...]
    customer: Customer
    custom_fields: tuple[str, ...] = ()
    notification_url: str = ""
    idempotency_key: str = ""
    expiry_hours: int = 24
    finish_url: str = ""  # where the payment page sends the payer back (Snap callbacks.finish)


@dataclass(frozen=True)
class CheckoutSession:
    token: str
    redirect_url: str


@dataclass(frozen=True)
class RefundEntry:
    """One refund or chargeback of a transaction, as the status API lists it."""

    refund_key: str  # ours when we asked for it (RefundCase.refund_key); the gateway's or empty otherwise
    amount_idr: int
    created_at: str = ""  # the gateway's time text, kept as evidence
    bank_confirmed_at: str = ""  # set once the bank confirmed a refund (the second refund notification)
    refund_id: str = ""


@dataclass(frozen=True)
class TransactionStatus:
    order_id: str
    transaction_id: str
    transaction_status: str  # lower-case Midtrans status: pending, settlement, capture, expire, ...
    status_code: str
    gross_amount_idr: int
    fraud_status: str = ""
    payment_type: str = ""
    refunds: tuple[RefundEntry, ...] = ()  # money returned so far (refunds and chargebacks), oldest first
    refunded_amount_idr: int = 0  # the gateway's total of what was returned (0 when it gives none)
    # The gateway's answer as received: stored as evidence, never read by services (they read the fields above).
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_paid(self) -> bool:
        return self.transaction_status in ("settlement", "capture") and self.fraud_status in ("", "accept")


@dataclass(frozen=True)
class RefundRequest:
    refund_key: str  # idempotency key at the gateway: retrying with the same key never refunds twice
    amount_idr: int
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_key: str
    refund_amount_idr: int  # this refund
    transaction_status: str  # refund | partial_refund
    refund_id: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


# Midtrans refunds through the API only these payment types (reference §3.8); VA / bank transfer / Mandiri
# bill / convenience stores need a manual bank transfer.
REFUNDABLE_PAYMENT_TYPES = frozenset({"credit_card", "gopay", "shopeepay", "dana", "ovo", "qris", "kredivo", "akulaku"})


class GatewayUnavailable(Exception):
    """Timeout, connection error, 5xx or a non-JSON answer: try again later; nothing is known to have happened."""


class GatewayRejected(Exception):
    """The gateway answered 4xx: our request is wrong (bad key, bad amount, duplicate order id)."""


class TransactionNotFound(Exception):
    """The gateway does not know this order (a Snap order where no method was chosen yet)."""


class RefundRefused(GatewayRejected):
    """The gateway will not refund this transaction (412 not settled / not refundable, 414 amount, 406 key)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class PaymentGateway(Protocol):
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def get_status(self, order_or_transaction_id: str) -> TransactionStatus: ...

    def verify_notification(self, payload: dict) -> bool: ...

    def refund(self, order_or_transaction_id: str, request: RefundRequest) -> RefundResult: ...
