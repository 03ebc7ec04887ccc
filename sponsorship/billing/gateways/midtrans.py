"""Midtrans via the official `midtransclient`, with the fixes the library needs (reference §8):

- a `requests.Session` that injects a timeout into every call (the library passes none);
- an `ApiConfig` subclass pointing both Core and Snap at MIDTRANS_API_BASE_URL (the local simulator)
  when set; empty means the real Midtrans (sandbox or production by MIDTRANS_IS_PRODUCTION);
- a fresh `custom_headers` dict per client (the library's default dict is shared between instances);
- status calls through `transactions.status()`, never `notification()` (which leaks headers into the query).

One instance is shared per process (gateways.get_gateway): the session's connection pool keeps the
connections to Midtrans alive, and the Core API client for status calls (no per-call headers) is built once.
Snap clients are built per checkout because their headers (Idempotency-Key, notification URL) are per call.
"""

import hashlib
import hmac
import logging
import threading
from decimal import Decimal, InvalidOperation

import midtransclient
import requests
import requests.adapters
from django.conf import settings
from midtransclient.config import ApiConfig

from .base import (
    CheckoutRequest,
    CheckoutSession,
    GatewayRejected,
    GatewayUnavailable,
    RefundEntry,
    RefundRefused,
    RefundRequest,
    RefundResult,
    TransactionNotFound,
    TransactionStatus,
)

logger = logging.getLogger(__name__)


class TimeoutSession(requests.Session):
    def __init__(self, timeout: float, pool_size: int = 16):
        super().__init__()
        self.trust_env = False  # a machine-wide HTTP(S)_PROXY must not capture calls to the local simulator
        self._timeout = timeout
        # Shared by the threads of a gunicorn/Celery worker: room for one kept-alive connection each.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


class LocalApiConfig(ApiConfig):
    """Both Midtrans 'hosts' on one base URL, independent of is_production (reference §8.2 approach B)."""

    def __init__(self, base: str, **kwargs):
        super().__init__(**kwargs)
        self._base = base.rstrip("/")

    def get_core_api_base_url(self):
        return self._base

    def get_snap_base_url(self):
        return self._base + "/snap/v1"


def signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def amount_to_idr(value) -> int:
    """'50400.00' -> 50400. A fractional or unparsable amount is a gateway error, never rounded."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise GatewayUnavailable(f"unparsable gross_amount {value!r}") from None
    if amount != amount.to_integral_value():
        raise GatewayUnavailable(f"fractional gross_amount {value!r}")
    return int(amount)


def refunds_from(raw: dict) -> tuple[RefundEntry, ...]:
    """The `refunds` list of a status answer (refunds and chargebacks alike); entries that are not objects are
    skipped."""
    entries = raw.get("refunds")
    if not isinstance(entries, list):
        return ()
    return tuple(
        RefundEntry(
            refund_key=str(r.get("refund_key") or ""),
            amount_idr=amount_to_idr(r.get("refund_amount", 0)),
            created_at=str(r.get("created_at") or ""),
            bank_confirmed_at=str(r.get("bank_confirmed_at") or ""),
            refund_id=str(r.get("refund_chargeback_id") or ""),
        )
        for r in entries
        if isinstance(r, dict)
    )


class MidtransGateway:
    def __init__(self, *, server_key=None, base_url=None, is_production=None, timeout=None, session=None):
        self.server_key = server_key if server_key is not None else settings.MIDTRANS_SERVER_KEY
        self.base_url = base_url if base_url is not None else settings.MIDTRANS_API_BASE_URL
        self.is_production = settings.MIDTRANS_IS_PRODUCTION if is_production is None else is_production
        self.timeout = timeout or settings.MIDTRANS_TIMEOUT_SECONDS
        self.session = session or TimeoutSession(self.timeout)
        self._core = None
        self._core_lock = threading.Lock()

    def _core_client(self):
        if self._core is None:
            with self._core_lock:
                if self._core is None:
                    self._core = self._client(midtransclient.CoreApi)
        return self._core

    def _client(self, cls, headers: dict | None = None):
        client = cls(
            is_production=self.is_production,
            server_key=self.server_key,
            client_key=settings.MIDTRANS_CLIENT_KEY,
            custom_headers=dict(headers or {}),
        )
        if self.base_url:
            client.api_config = LocalApiConfig(
                self.base_url,
                is_production=self.is_production,
                server_key=self.server_key,
                client_key=settings.MIDTRANS_CLIENT_KEY,
                custom_headers=dict(headers or {}),
            )
        client.http_client.http_client = self.session
        return client

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except midtransclient.MidtransAPIError as exc:
            body = exc.api_response_dict or {}
            code = str(body.get("status_code") or exc.http_status_code)
            if code == "404":
                raise TransactionNotFound(exc.message) from None
            if exc.http_status_code >= 500 or code.startswith("5"):
                raise GatewayUnavailable(f"Midtrans {code}: {body or exc.message}") from None
            raise GatewayRejected(f"Midtrans {code}: {body or exc.message}") from None
        except midtransclient.JSONDecodeError as exc:
            raise GatewayUnavailable(f"Midtrans answered non-JSON: {exc}") from None
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"Midtrans unreachable: {exc.__class__.__name__}: {exc}") from None

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        headers = {}
        if request.notification_url:
            headers["X-Override-Notification"] = request.notification_url
        if request.idempotency_key:
            headers["Idempotency-Key"] = request.idempotency_key[:46]
        params = {
            "transaction_details": {"order_id": request.order_id, "gross_amount": request.gross_amount_idr},
            "item_details": [
                {"id": i.id[:50], "name": i.name[:50], "price": i.price_idr, "quantity": i.quantity}
                for i in request.items
            ],
            "customer_details": {
                k: v
                for k, v in (
                    ("first_name", request.customer.first_name[:30]),
                    ("email", request.customer.email),
                    ("phone", request.customer.phone),
                )
                if v
            },
            "enabled_payments": list(settings.MIDTRANS_ENABLED_PAYMENTS),
            "page_expiry": {"duration": request.expiry_hours, "unit": "hours"},
        }
        if request.finish_url:
            params["callbacks"] = {"finish": request.finish_url}
        for index, value in enumerate(request.custom_fields[:3], start=1):
            params[f"custom_field{index}"] = value[:255]
        snap = self._client(midtransclient.Snap, headers)
        result = self._call(snap.create_transaction, params)
        if not result.get("token") or not result.get("redirect_url"):
            raise GatewayUnavailable(f"Midtrans answered without a token: {result}")
        return CheckoutSession(token=result["token"], redirect_url=result["redirect_url"])

    def get_status(self, order_or_transaction_id: str) -> TransactionStatus:
        raw = self._call(self._core_client().transactions.status, order_or_transaction_id)
        return TransactionStatus(
            order_id=str(raw.get("order_id", "")),
            transaction_id=str(raw.get("transaction_id", "")),
            transaction_status=str(raw.get("transaction_status", "")).lower(),
            status_code=str(raw.get("status_code", "")),
            gross_amount_idr=amount_to_idr(raw.get("gross_amount", "0")),
            fraud_status=str(raw.get("fraud_status", "") or "").lower(),
            payment_type=str(raw.get("payment_type", "")),
            refunds=refunds_from(raw),
            refunded_amount_idr=amount_to_idr(raw.get("refund_amount") or 0),
            raw=raw,
        )

    def refund(self, order_or_transaction_id: str, request: RefundRequest) -> RefundResult:
        """POST /v2/{id}/refund with a refund_key (the gateway's idempotency key; same key = same refund)."""
        params = {"refund_key": request.refund_key, "amount": request.amount_idr, "reason": request.reason[:255]}
        try:
            raw = self._call(self._core_client().transactions.refund, order_or_transaction_id, params)
        except GatewayRejected as exc:
            text = str(exc)
            code = text.split(":", 1)[0].replace("Midtrans", "").strip()
            if code in ("412", "414", "406"):
                raise RefundRefused(text, code) from None
            raise
        if str(raw.get("status_code", "")) != "200":
            raise GatewayUnavailable(f"Midtrans refund answered {raw}")
        return RefundResult(
            refund_key=str(raw.get("refund_key") or request.refund_key),
            refund_amount_idr=amount_to_idr(raw.get("refund_amount", request.amount_idr)),
            transaction_status=str(raw.get("transaction_status", "")).lower(),
            refund_id=str(raw.get("refund_chargeback_id", "")),
            raw=raw,
        )

    def verify_notification(self, payload: dict) -> bool:
        if not self.server_key:
            return False
        given = payload.get("signature_key")
        if not isinstance(given, str):
            return False
        expected = signature(
            str(payload.get("order_id", "")),
            str(payload.get("status_code", "")),
            str(payload.get("gross_amount", "")),
            self.server_key,
        )
        return hmac.compare_digest(expected.encode(), given.lower().encode())
