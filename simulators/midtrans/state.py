"""Thread-safe state of the simulator: Snap sessions, transactions and their state machine.

Every status change calls `on_change(tx)` while the lock is held, so notifications are queued in
the order the changes happened. Amounts are integer rupiah inside; Midtrans strings outside.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

from . import catalog, validation
from .validation import ValidationError

WIB = timezone(timedelta(hours=7))

# Body status_code of GET status (and of the record) per transaction_status [reference §4.2, §9].
STATUS_CODE = {
    "pending": "201",
    "settlement": "200",
    "capture": "200",
    "expire": "407",
    "cancel": "200",
    "deny": "202",
    "refund": "200",
    "partial_refund": "200",
    "chargeback": "200",
    "partial_chargeback": "200",
}
# Notifications use 202 for every failure state, including expire and cancel [reference §5.6].
NOTIFY_CODE = {**STATUS_CODE, "expire": "202", "cancel": "202"}
TRANSITIONS = {
    "pending": {"settlement", "expire", "cancel", "deny"},
    "settlement": {"refund", "partial_refund", "deny"},  # deny = bank reversal (Permata, Mandiri bill)
    "partial_refund": {"refund", "partial_refund"},
}
MONEY_BACK_FROM = ("settlement", "partial_refund", "partial_chargeback")
FINAL_FOR_REUSE = {"cancel", "expire"}  # a Core order_id may be charged again only after these
NOT_MODIFIABLE = "Merchant cannot modify the status of the transaction"


class SimError(Exception):
    """A Core API error: body status_code + message, delivered with `http_status`."""

    def __init__(self, status_code: str, message: str, http_status: int = 200, extra: dict | None = None):
        super().__init__(message)
        self.status_code, self.message, self.http_status, self.extra = status_code, message, http_status, extra or {}


class SnapError(Exception):
    def __init__(self, http_status: int, messages: list[str]):
        super().__init__("; ".join(messages))
        self.http_status, self.messages = http_status, messages


def not_found() -> SimError:
    return SimError("404", "Transaction doesn't exist.", 404)


def fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, WIB).strftime("%Y-%m-%d %H:%M:%S")


def fmt_amount(amount: int) -> str:
    return f"{amount}.00"


def signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


class SimState:
    def __init__(
        self, *, server_key: str, merchant_id: str = "G000000000", state_file: str | None = None, on_change=None
    ):
        self.server_key = server_key
        self.merchant_id = merchant_id
        self.state_file = state_file
        self.on_change = on_change or (lambda tx: None)
        self.base_url = "http://127.0.0.1"  # set by the server once bound; used in actions/redirect_url
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self._clear()
        if state_file and os.path.exists(state_file):
            self._load(state_file)

    # ---- time and persistence -------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def _clear(self) -> None:
        self.sessions: dict[str, dict] = {}
        self.snap_orders: dict[str, str] = {}  # order_id -> current token
        self.transactions: dict[str, dict] = {}
        self.orders: dict[str, list[str]] = {}  # order_id -> transaction ids, oldest first

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self.clock_offset = 0.0
            self._save()

    def _save(self) -> None:
        if not self.state_file:
            return
        data = {
            "sessions": self.sessions,
            "snap_orders": self.snap_orders,
            "transactions": self.transactions,
            "orders": self.orders,
            "clock_offset": self.clock_offset,
        }
        tmp = f"{self.state_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, self.state_file)

    def _load(self, state_file: str) -> None:
        with open(state_file, encoding="utf-8") as fh:
            data = json.load(fh)
        self.sessions, self.snap_orders = data["sessions"], data["snap_orders"]
        self.transactions, self.orders = data["transactions"], data["orders"]
        self.clock_offset = data.get("clock_offset", 0.0)

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds
            self._save()

    # ---- Snap --------------------------------------------------------------------------------
    def create_snap(self, body, notify: dict) -> dict:
        try:
            order_id, amount = validation.transaction_details(body)
            expiry = validation.snap_expiry(body)
        except ValidationError as exc:
            raise SnapError(400, exc.messages) from None
        with self.lock:
            if self.orders.get(order_id):
                raise SnapError(
                    400, ["transaction_details.order_id has been paid and utilized, please use another order ID"]
                )
            old = self.snap_orders.get(order_id)
            if old:  # re-creating a token for an order with no attempt invalidates the old one
                self.sessions[old]["state"] = "invalidated"
            now = self.now()
            page = body.get("page_expiry") or {}
            unit = str(page.get("unit", "hour")).lower().rstrip("s")
            page_seconds = int(page.get("duration", 24)) * validation.UNIT_SECONDS.get(unit, 3600)
            token = str(uuid.uuid4())
            session = {
                "token": token,
                "order_id": order_id,
                "gross_amount": amount,
                "state": "open",
                "items": body.get("item_details") or [],
                "customer": body.get("customer_details") or {},
                "enabled": catalog.expand_enabled(body.get("enabled_payments")),
                "custom_fields": {
                    k: body[k] for k in ("custom_field1", "custom_field2", "custom_field3") if body.get(k)
                },
                "notify": notify,
                "expiry": expiry,
                "finish_url": (body.get("callbacks") or {}).get("finish"),
                "created_at": now,
                "page_expires_at": now + page_seconds,
                "attempts": [],
            }
            self.sessions[token] = session
            self.snap_orders[order_id] = token
            self._save()
            return copy.deepcopy(session)

    def session(self, token: str) -> dict | None:
        with self.lock:
            session = self.sessions.get(token)
            return copy.deepcopy(session) if session else None

    def session_problem(self, session: dict) -> str | None:
        """Why a Snap page can no longer be used, or None."""
        if session["state"] == "invalidated":
            return "token not found"
        if session["state"] == "canceled":
            return "token already canceled"
        if self.now() > session["page_expires_at"]:
            return "token expired"
        return None

    def cancel_snap(self, token: str) -> str:
        with self.lock:
            session = self.sessions.get(token)
            if not session or session["state"] == "invalidated":
                raise SnapError(404, ["token not found"])
            if session["state"] == "canceled":
                raise SnapError(400, ["token already canceled"])
            if session["attempts"]:
                raise SnapError(400, ["Transaction is on progress"])
            session["state"] = "canceled"
            self._save()
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def snap_attempt(self, token: str, method_key: str) -> dict:
        """The customer picked a method on the page: create a pending transaction like a Core charge."""
        with self.lock:
            session = self.sessions.get(token)
            if not session:
                raise SnapError(404, ["token not found"])
            problem = self.session_problem(session)
            if problem:
                raise SnapError(400, [problem])
            if method_key not in session["enabled"]:
                raise SnapError(400, [f"payment method {method_key} is not enabled for this transaction"])
            for tid in self.orders.get(session["order_id"], []):
                if self.transactions[tid]["transaction_status"] not in ("deny",):
                    raise SnapError(400, ["Transaction is on progress"])
            now, expiry = self.now(), session["expiry"]
            expiry_ts = (expiry["start"] or now) + expiry["seconds"] if expiry else None
            tx = self._new_tx(
                order_id=session["order_id"],
                amount=session["gross_amount"],
                method=catalog.METHODS[method_key],
                notify=session["notify"],
                custom_fields=session["custom_fields"],
                expiry_ts=expiry_ts,
                items=session["items"],
                customer=session["customer"],
                snap_token=token,
            )
            session["attempts"].append(tx["transaction_id"])
            self._commit_new(tx)
            return copy.deepcopy(tx)

    # ---- Core --------------------------------------------------------------------------------
    def charge(self, body, notify: dict) -> dict:
        if not isinstance(body, dict):
            raise SimError("500", "Sorry, we encountered an unexpected error. Please try again later.", 500)
        try:
            order_id, amount = validation.transaction_details(body)
            custom = validation.core_custom_expiry(body)
        except ValidationError as exc:
            raise SimError(
                "400", "One or more parameters in the payload is invalid.", 400, {"validation_messages": exc.messages}
            ) from None
        method = catalog.method_for_charge(body)
        if method is None:
            raise SimError("402", "Merchant doesn't have access for this payment type")
        with self.lock:
            for tid in self.orders.get(order_id, []):
                if self.transactions[tid]["transaction_status"] not in FINAL_FOR_REUSE:
                    raise SimError(
                        "406",
                        "The request could not be completed due to a conflict with the current "
                        "state of the target resource, please try again",
                    )
            now = self.now()
            expiry_ts = (custom["start"] or now) + custom["seconds"] if custom else None
            tx = self._new_tx(
                order_id=order_id,
                amount=amount,
                method=method,
                notify=notify,
                expiry_ts=expiry_ts,
                custom_fields={k: body[k] for k in ("custom_field1", "custom_field2", "custom_field3") if body.get(k)},
                items=body.get("item_details") or [],
                customer=body.get("customer_details") or {},
                requested_va=(body.get("bank_transfer") or {}).get("va_number"),
                requested_bill_key=(body.get("echannel") or {}).get("bill_key"),
                metadata=body.get("metadata"),
            )
            self._commit_new(tx)
            return copy.deepcopy(tx)

    def _new_tx(
        self,
        *,
        order_id,
        amount,
        method,
        notify,
        custom_fields,
        expiry_ts,
        items,
        customer,
        snap_token=None,
        requested_va=None,
        requested_bill_key=None,
        metadata=None,
    ) -> dict:
        now = self.now()
        tx = {
            "transaction_id": str(uuid.uuid4()),
            "order_id": order_id,
            "gross_amount": amount,
            "method": method.key,
            "payment_type": method.payment_type,
            "transaction_status": "pending",
            "created_at": now,
            "expiry_ts": expiry_ts or now + method.default_expiry_s,
            "settled_at": None,
            "notify": notify,
            "custom_fields": custom_fields,
            "metadata": metadata,
            "items": items,
            "customer": customer,
            "snap_token": snap_token,
            "refunds": [],
            "history": [["pending", now]],
        }
        if method.payment_type == "bank_transfer":
            taken = {t.get("va_number") for t in self.transactions.values()}
            tx["bank"] = method.bank
            tx["va_number"] = catalog.new_va_number(method.bank, requested_va, taken)
        elif method.payment_type == "echannel":
            taken = {t.get("bill_key") for t in self.transactions.values()}
            tx["bill_key"] = catalog.new_bill_key(requested_bill_key, taken)
        elif method.payment_type == "qris":
            tx["acquirer"] = method.bank
        return tx

    def _commit_new(self, tx: dict) -> None:
        self.transactions[tx["transaction_id"]] = tx
        self.orders.setdefault(tx["order_id"], []).append(tx["transaction_id"])
        self._save()
        self.on_change(copy.deepcopy(tx))

    # ---- lookups -------------------------------------------------------------------------------
    def _find(self, ident: str) -> dict:
        tx = self.transactions.get(ident)
        if tx is None and self.orders.get(ident):
            tx = self.transactions[self.orders[ident][-1]]
        if tx is None:
            raise not_found()
        return tx

    def find(self, ident: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._find(ident))

    def find_by_payment_code(self, code: str) -> dict:
        """A pending transaction by VA number / Permata VA / Mandiri bill key (latest first)."""
        with self.lock:
            for tx in reversed(list(self.transactions.values())):
                if code in (tx.get("va_number"), tx.get("bill_key")):
                    return copy.deepcopy(tx)
        raise not_found()

    def all(self) -> dict:
        with self.lock:
            return {
                "transactions": [self.view(t, "status") for t in self.transactions.values()],
                "snap_sessions": copy.deepcopy(list(self.sessions.values())),
            }

    # ---- state machine ---------------------------------------------------------------------
    def transition(self, ident: str, new_status: str) -> dict:
        """Move a transaction to `new_status`; SimError 412 when the state machine forbids it."""
        with self.lock:
            tx = self._find(ident)
            if new_status not in TRANSITIONS.get(tx["transaction_status"], ()):
                raise SimError("412", NOT_MODIFIABLE)
            now = self.now()
            tx["transaction_status"] = new_status
            tx["history"].append([new_status, now])
            if new_status == "settlement":
                tx["settled_at"] = now
            self._save()
            self.on_change(copy.deepcopy(tx))
            return copy.deepcopy(tx)

    def expire_due(self) -> int:
        """Expire pending transactions past their expiry_time (what Midtrans does on its own)."""
        with self.lock:
            due = [
                t["transaction_id"]
                for t in self.transactions.values()
                if t["transaction_status"] == "pending" and t["expiry_ts"] <= self.now()
            ]
            for tid in due:
                self.transition(tid, "expire")
            return len(due)

    def refund(
        self, ident: str, body: dict, *, chargeback: bool = False, any_method: bool = False
    ) -> tuple[dict, dict]:
        """POST /v2/{id}/refund (and, with chargeback=True, a chargeback raised by the card/e-wallet issuer).

        412 unless the transaction is settled (or partially refunded/charged back) and its method is refundable
        through the API (VA / bank transfer / Mandiri bill are not, unless `any_method`, which /_sim/chargeback
        uses). The same refund_key again returns the first result (idempotent), a different amount with it 406.
        """
        body = body if isinstance(body, dict) else {}
        with self.lock:
            tx = self._find(ident)
            if tx["transaction_status"] not in MONEY_BACK_FROM:
                raise SimError("412", NOT_MODIFIABLE)
            if not (any_method or catalog.METHODS[tx["method"]].refundable):
                raise SimError("412", NOT_MODIFIABLE)
            remaining = tx["gross_amount"] - sum(r["amount"] for r in tx["refunds"])
            key = body.get("refund_key") or str(uuid.uuid4())
            amount = validation._as_int(body.get("amount", remaining))
            for previous in tx["refunds"]:
                if previous["refund_key"] == key:
                    if previous["amount"] != amount and "amount" in body:
                        raise SimError("406", "Duplicate refund ID")
                    return copy.deepcopy(tx), copy.deepcopy(previous)  # same key retried: same result
            if amount is None or amount < 1 or amount > remaining:
                raise SimError("414", "Refund request is rejected due to invalid amount")
            refund = {
                "refund_chargeback_id": len(tx["refunds"]) + 1,
                "amount": amount,
                "created_at": self.now(),
                "reason": str(body.get("reason", ""))[:255],
                "refund_key": key,
                "bank_confirmed_at": None,
            }
            tx["refunds"].append(refund)
            kind = "chargeback" if chargeback else "refund"
            new_status = kind if amount == remaining else f"partial_{kind}"
            tx["transaction_status"] = new_status
            tx["history"].append([new_status, self.now()])
            self.on_change(copy.deepcopy(tx))
            if not chargeback:
                # Midtrans sends a second notification once the bank confirms the refund
                refund["bank_confirmed_at"] = self.now()
                self.on_change(copy.deepcopy(tx))
            self._save()
            return copy.deepcopy(tx), copy.deepcopy(refund)

    # ---- Midtrans-shaped views -------------------------------------------------------------
    def view(self, tx: dict, kind: str) -> dict:
        """kind: status | notification | charge | cancel | expire."""
        status = tx["transaction_status"]
        code, message = {
            "status": (STATUS_CODE[status], "Success, transaction is found"),
            "notification": (NOTIFY_CODE[status], "midtrans payment notification"),
            "charge": (
                "201",
                catalog.CHARGE_MESSAGES["permata" if tx.get("bank") == "permata" else tx["payment_type"]],
            ),
            "cancel": ("200", "Success, transaction is canceled"),
            "expire": ("407", "Success, transaction is expired"),
        }[kind]
        amount = fmt_amount(tx["gross_amount"])
        out = {
            "status_code": code,
            "status_message": message,
            "transaction_id": tx["transaction_id"],
            "order_id": tx["order_id"],
            "merchant_id": self.merchant_id,
            "gross_amount": amount,
            "currency": "IDR",
            "payment_type": tx["payment_type"],
            "transaction_time": fmt_time(tx["created_at"]),
            "transaction_status": status,
            "fraud_status": "accept",
            "expiry_time": fmt_time(tx["expiry_ts"]),
        }
        settled = tx["settled_at"] is not None
        if tx.get("bank") == "permata":
            out["permata_va_number"] = tx["va_number"]
        elif tx.get("va_number"):
            out["va_numbers"] = [{"bank": tx["bank"], "va_number": tx["va_number"]}]
            paid = (
                [{"paid_at": fmt_time(tx["settled_at"]), "amount": amount}] if settled and tx["bank"] == "bni" else []
            )
            out["payment_amounts"] = paid
        elif tx["payment_type"] == "echannel":
            out.update(bill_key=tx["bill_key"], biller_code=catalog.BILLER_CODE)
        elif tx["payment_type"] == "qris":
            out["acquirer"] = tx["acquirer"]
            if settled:
                out.update(transaction_type="on-us", issuer=tx["acquirer"])
        elif tx["payment_type"] == "gopay" and settled:
            out["payment_option_type"] = "GOPAY_WALLET"
        if settled:
            out["settlement_time"] = fmt_time(tx["settled_at"])
        out.update(tx["custom_fields"])
        if tx.get("metadata") is not None:
            out["metadata"] = tx["metadata"]
        if tx["refunds"]:
            out["refund_amount"] = fmt_amount(sum(r["amount"] for r in tx["refunds"]))
            out["refunds"] = [self._refund_view(r) for r in tx["refunds"]]
        if kind == "charge":
            out["actions"] = self._actions(tx)
            if not out["actions"]:
                del out["actions"]
        if kind in ("status", "notification"):
            out["signature_key"] = signature(tx["order_id"], code, amount, self.server_key)
        return out

    @staticmethod
    def _refund_view(refund: dict) -> dict:
        out = {
            "refund_chargeback_id": refund["refund_chargeback_id"],
            "refund_amount": fmt_amount(refund["amount"]),
            "created_at": fmt_time(refund["created_at"]),
            "reason": refund["reason"],
            "refund_key": refund["refund_key"],
            "refund_method": "online",
        }
        if refund["bank_confirmed_at"]:
            out["bank_confirmed_at"] = fmt_time(refund["bank_confirmed_at"])
        return out

    def _actions(self, tx: dict) -> list[dict]:
        base, tid, ptype = self.base_url, tx["transaction_id"], tx["payment_type"]
        if ptype not in ("qris", "gopay", "shopeepay"):
            return []
        qr = {"name": "generate-qr-code", "method": "GET", "url": f"{base}/v2/{ptype}/{tid}/qr-code"}
        deeplink = {"name": "deeplink-redirect", "method": "GET", "url": f"{base}/_sim/ui/tx/{tid}"}
        status = {"name": "get-status", "method": "GET", "url": f"{base}/v2/{tid}/status"}
        cancel = {"name": "cancel", "method": "POST", "url": f"{base}/v2/{tid}/cancel", "fields": []}
        by_type: dict[str, list[dict]] = {
            "qris": [qr],
            "gopay": [qr, deeplink, status, cancel],
            "shopeepay": [deeplink],
        }
        return by_type[ptype]
