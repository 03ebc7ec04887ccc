"""Payment methods the simulator knows: Snap names, Core charge shapes, labels and defaults."""

from __future__ import annotations

import random
from collections.abc import Set as AbstractSet
from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    key: str  # Snap `enabled_payments` name, also used by the control endpoints
    payment_type: str  # Core `payment_type` recorded on the transaction
    bank: str | None  # VA bank, or QRIS acquirer
    label_id: str
    label_en: str
    default_expiry_s: int
    refundable: bool


_DAY = 24 * 3600
_QUARTER = 15 * 60

METHODS: dict[str, Method] = {
    m.key: m
    for m in (
        Method("bca_va", "bank_transfer", "bca", "BCA Virtual Account", "BCA virtual account", _DAY, False),
        Method("bni_va", "bank_transfer", "bni", "BNI Virtual Account", "BNI virtual account", _DAY, False),
        Method("bri_va", "bank_transfer", "bri", "BRI Virtual Account", "BRI virtual account", _DAY, False),
        Method("cimb_va", "bank_transfer", "cimb", "CIMB Niaga Virtual Account", "CIMB virtual account", _DAY, False),
        Method(
            "permata_va", "bank_transfer", "permata", "Permata Virtual Account", "Permata virtual account", _DAY, False
        ),
        Method(
            "echannel", "echannel", None, "Mandiri Bill Payment", "Mandiri bill (biller code + bill key)", _DAY, False
        ),
        Method(
            "other_qris", "qris", "gopay", "QRIS (semua e-wallet & m-banking)", "QRIS, any e-wallet", _QUARTER, True
        ),
        Method("gopay", "gopay", None, "GoPay", "GoPay e-wallet", _QUARTER, True),
        Method("shopeepay", "shopeepay", None, "ShopeePay", "ShopeePay e-wallet", _QUARTER, True),
    )
}

# Snap aliases for groups of methods.
ALIASES = {
    "bank_transfer": ["bca_va", "bni_va", "bri_va", "cimb_va", "permata_va", "echannel"],
    "other_va": ["bca_va", "bni_va", "bri_va", "cimb_va", "permata_va"],
}

CHARGE_MESSAGES = {
    "bank_transfer": "Success, Bank Transfer transaction is created",
    "permata": "Success, PERMATA VA transaction is successful",
    "echannel": "OK, Mandiri Bill transaction is successful",
    "gopay": "GO-PAY transaction is created",
    "qris": "QRIS transaction is created",
    "shopeepay": "ShopeePay transaction is created",
}

# Methods whose settlement the bank can reverse (settlement -> deny) [reference §4.1].
REVERSIBLE = {"permata_va", "echannel"}

VA_PREFIX = {"bca": "12345", "bni": "9888", "bri": "8578", "cimb": "2810", "permata": "8562"}
VA_LENGTH = {"bca": 11, "bni": 16, "bri": 16, "cimb": 16, "permata": 16}
BILLER_CODE = "70012"


def expand_enabled(enabled: list | None) -> list[str]:
    """Snap `enabled_payments` -> the supported method keys, in request order (all when omitted)."""
    if not enabled:
        return list(METHODS)
    keys: list[str] = []
    for name in enabled:
        for key in ALIASES.get(name, [name]):
            if key in METHODS and key not in keys:
                keys.append(key)
    return keys


def method_for_charge(body: dict) -> Method | None:
    """Core `/v2/charge` body -> Method, or None when the payment type is not simulated."""
    payment_type = body.get("payment_type")
    if payment_type == "bank_transfer":
        bank = (body.get("bank_transfer") or {}).get("bank")
        return METHODS.get(f"{bank}_va")
    if payment_type == "permata":
        return METHODS["permata_va"]
    if payment_type == "qris":
        return METHODS["other_qris"]
    if payment_type in ("echannel", "gopay", "shopeepay"):
        return METHODS[payment_type]
    return None


def new_va_number(bank: str, requested: str | None, taken: AbstractSet[str | None]) -> str:
    """A VA number for `bank`; honours a requested number (trimmed/zero-padded) when it is free."""
    length = VA_LENGTH[bank]
    if requested and str(requested).isdigit():
        wanted = str(requested)
        body_len = length - len(VA_PREFIX[bank])
        candidate = VA_PREFIX[bank] + wanted[-body_len:].rjust(body_len, "0")
        if candidate not in taken:
            return candidate
    while True:
        candidate = VA_PREFIX[bank] + "".join(random.choices("0123456789", k=length - len(VA_PREFIX[bank])))
        if candidate not in taken:
            return candidate


def new_bill_key(requested: str | None, taken: AbstractSet[str | None]) -> str:
    if requested and str(requested).isdigit() and str(requested) not in taken:
        return str(requested)[:12]
    while True:
        candidate = "".join(random.choices("0123456789", k=12))
        if candidate not in taken:
            return candidate
