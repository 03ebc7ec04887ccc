"""Simulator-only control operations (`/_sim/...`): what the sandbox's "simulator" pages do, and more.

Each function takes the simulator and a JSON body and returns (http_status, body). They are not
part of the Midtrans API.
"""

from __future__ import annotations

from . import catalog
from .state import SimError, SnapError

Result = tuple[int, dict]


class ControlError(Exception):
    def __init__(self, http_status: int, message: str, **extra):
        super().__init__(message)
        self.http_status, self.body = http_status, {"error": message, **extra}


def _resolve(sim, body: dict) -> dict:
    """The transaction named by transaction_id, order_id (latest attempt) or va_number/bill_key."""
    try:
        if body.get("transaction_id"):
            return sim.state.find(str(body["transaction_id"]))
        if body.get("order_id"):
            return sim.state.find(str(body["order_id"]))
        code = body.get("va_number") or body.get("bill_key") or body.get("payment_code")
        if code:
            return sim.state.find_by_payment_code(str(code))
    except SimError:
        raise ControlError(404, "transaction not found") from None
    raise ControlError(400, "give one of transaction_id, order_id, va_number, bill_key")


def _move(sim, body: dict, new_status: str) -> Result:
    tx = _resolve(sim, body)
    try:
        tx = sim.state.transition(tx["transaction_id"], new_status)
    except SimError:
        raise ControlError(
            409,
            f"cannot move a {tx['transaction_status']} transaction to {new_status}",
            transaction_status=tx["transaction_status"],
        ) from None
    return 200, {"transaction": sim.state.view(tx, "status")}


def pay(sim, body: dict) -> Result:
    """Settle a pending transaction. For a Snap order with no usable attempt, first create an
    attempt with `method` (default: the first enabled method), as if the customer chose it."""
    order_id = body.get("order_id")
    token = sim.state.snap_orders.get(order_id) if order_id else None
    try:
        tx = _resolve(sim, body)
    except ControlError:
        if not token:
            raise
        tx = None
    if token and (tx is None or tx["transaction_status"] == "deny"):
        session = sim.state.session(token)
        method = body.get("method") or session["enabled"][0]
        if method not in catalog.METHODS:
            raise ControlError(400, f"unknown method {method}; known: {', '.join(catalog.METHODS)}")
        try:
            tx = sim.state.snap_attempt(token, method)
        except SnapError as exc:
            raise ControlError(409, "; ".join(exc.messages)) from None
    assert tx is not None  # _resolve found it, or the branch above created an attempt
    return _move(sim, {"transaction_id": tx["transaction_id"]}, "settlement")


def expire(sim, body: dict) -> Result:
    return _move(sim, body, "expire")


def deny(sim, body: dict) -> Result:
    return _move(sim, body, "deny")


def cancel(sim, body: dict) -> Result:
    return _move(sim, body, "cancel")


def reverse(sim, body: dict) -> Result:
    """settlement -> deny, the rare bank reversal (Permata VA, Mandiri bill; others with force=true)."""
    tx = _resolve(sim, body)
    if tx["method"] not in catalog.REVERSIBLE and not body.get("force"):
        raise ControlError(409, "only permata_va and echannel settlements are reversed by banks; pass force=true")
    if tx["transaction_status"] != "settlement":
        raise ControlError(409, "only a settlement can be reversed", transaction_status=tx["transaction_status"])
    return _move(sim, {"transaction_id": tx["transaction_id"]}, "deny")


def _money_back(sim, body: dict, *, chargeback: bool) -> Result:
    tx = _resolve(sim, body)
    params = {k: body[k] for k in ("amount", "refund_key", "reason") if k in body}
    try:
        tx, refund = sim.state.refund(
            tx["transaction_id"], params, chargeback=chargeback, any_method=chargeback or bool(body.get("force"))
        )
    except SimError as exc:
        raise ControlError(
            409, exc.message, transaction_status=tx["transaction_status"], status_code=exc.status_code
        ) from None
    return 200, {"transaction": sim.state.view(tx, "status"), "refund": sim.state._refund_view(refund)}


def refund(sim, body: dict) -> Result:
    """A refund made outside the merchant's API call (the Midtrans dashboard): settlement -> (partial_)refund,
    two notifications. Refundable methods only unless force=true. Optional amount, refund_key, reason."""
    return _money_back(sim, body, chargeback=False)


def chargeback(sim, body: dict) -> Result:
    """The customer's issuer takes the money back: settlement -> chargeback (or partial_chargeback with a
    smaller amount), one notification. Any method."""
    return _money_back(sim, body, chargeback=True)


def notify(sim, body: dict) -> Result:
    """Send the notification for the transaction's current status again (optionally to other urls)."""
    tx = _resolve(sim, body)
    urls = body.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    note_id = sim.resend(tx["transaction_id"], urls)
    return 202, {"notification_id": note_id, "urls": urls or sim.urls_for(tx)}


def faults(sim, body: dict) -> Result:
    try:
        return 201, {"fault": sim.faults.add(body), "faults": sim.faults.list()}
    except (ValueError, TypeError, KeyError) as exc:
        raise ControlError(400, str(exc)) from None


def chaos(sim, body: dict) -> Result:
    unknown = set(body) - {"duplicate", "out_of_order", "drop"}
    if unknown:
        raise ControlError(400, f"unknown chaos flags: {', '.join(sorted(unknown))}")
    return 200, {"chaos": sim.set_chaos(**body)}


def clock(sim, body: dict) -> Result:
    """Advance the simulated clock and expire whatever became due."""
    sim.state.advance_clock(float(body.get("advance_seconds", 0)))
    expired = sim.state.expire_due()
    return 200, {"clock_offset_s": sim.state.clock_offset, "expired": expired}


def reset(sim, body: dict) -> Result:
    sim.reset()
    return 200, {"ok": True}


POST_ACTIONS = {
    "pay": pay,
    "expire": expire,
    "deny": deny,
    "cancel": cancel,
    "reverse": reverse,
    "refund": refund,
    "chargeback": chargeback,
    "notify": notify,
    "faults": faults,
    "chaos": chaos,
    "clock": clock,
    "reset": reset,
}


def get(sim, name: str, query: dict) -> Result | None:
    if name == "notifications":
        return 200, {"deliveries": sim.deliveries(query.get("order_id"))}
    if name == "transactions":
        return 200, sim.state.all()
    if name == "faults":
        return 200, {"faults": sim.faults.list()}
    if name == "chaos":
        return 200, {"chaos": sim.notifier.chaos.as_dict()}
    if name == "health":
        return 200, {
            "ok": True,
            "base_url": sim.base_url,
            "snap_base_url": sim.snap_base_url,
            "notification_urls": sim.notification_urls,
        }
    return None
