"""Request validation for Snap and Core charges.

Exact Midtrans wording is used where the reference quotes it; other messages are inferred and
follow the same `<field> <problem>` style.
"""

from __future__ import annotations

import re
from datetime import datetime

ORDER_ID_RE = re.compile(r"^[A-Za-z0-9\-_~.]+$")
SUM_MISMATCH = "transaction_details.gross_amount is not equal to the sum of item_details"
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class ValidationError(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _as_int(value) -> int | None:
    """Integer rupiah from an int, an integral float or a digit string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def transaction_details(body) -> tuple[str, int]:
    """Validate the shared part of Snap and Core requests; returns (order_id, gross_amount)."""
    if not isinstance(body, dict):
        raise ValidationError(["transaction_details is required"])
    details = body.get("transaction_details")
    if not isinstance(details, dict):
        raise ValidationError(["transaction_details is required"])
    errors = []
    order_id = details.get("order_id")
    if order_id in (None, ""):
        errors.append("transaction_details.order_id is required")
    else:
        order_id = str(order_id)
        if len(order_id) > 50:
            errors.append("transaction_details.order_id too long, maximum 50 characters")
        if not ORDER_ID_RE.match(order_id):
            errors.append("transaction_details.order_id contains invalid characters, allowed: A-Z a-z 0-9 - _ ~ .")
    raw_amount = details.get("gross_amount")
    amount = _as_int(raw_amount)
    if raw_amount is None:
        errors.append("transaction_details.gross_amount is required")
    elif amount is None:
        errors.append("transaction_details.gross_amount must be an integer, decimals are not allowed")
    elif amount < 1:
        errors.append("transaction_details.gross_amount must be greater than or equal to 0.01")
    errors += _items(body.get("item_details"), amount)
    for n in (1, 2, 3):
        value = body.get(f"custom_field{n}")
        if value is not None and len(str(value)) > 255:
            errors.append(f"custom_field{n} too long, maximum 255 characters")
    if errors:
        raise ValidationError(errors)
    # No errors means order_id was made a non-empty str and gross_amount parsed as an int above.
    assert isinstance(order_id, str) and amount is not None
    return order_id, amount


def _items(items, amount: int | None) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        return ["item_details must be an array"]
    errors, total = [], 0
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"item_details[{i}] must be an object")
            continue
        price, qty = _as_int(item.get("price")), _as_int(item.get("quantity"))
        if price is None:
            errors.append(f"item_details[{i}].price is required and must be an integer")
        if qty is None or qty < 1:
            errors.append(f"item_details[{i}].quantity must be an integer greater than 0")
        name = item.get("name")
        if not name:
            errors.append(f"item_details[{i}].name is required")
        elif len(str(name)) > 50:
            errors.append(f"item_details[{i}].name too long, maximum 50 characters")
        if price is not None and qty is not None:
            total += price * qty
    if not errors and amount is not None and total != amount:
        errors.append(SUM_MISMATCH)
    return errors


def parse_start_time(value: str, field: str) -> float:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z").timestamp()
    except (TypeError, ValueError):
        raise ValidationError([f"{field} must be in format yyyy-MM-dd HH:mm:ss Z"]) from None


def snap_expiry(body: dict) -> dict | None:
    """Snap `expiry` -> {"start": epoch|None, "seconds": int} (start None = counted from the attempt)."""
    expiry = body.get("expiry")
    if expiry is None:
        return None
    if not isinstance(expiry, dict):
        raise ValidationError(["expiry must be an object"])
    unit = str(expiry.get("unit", "")).lower().rstrip("s")
    duration = _as_int(expiry.get("duration"))
    if unit not in ("minute", "hour", "day"):
        raise ValidationError(["expiry.unit must be one of day, hour, minute"])
    if duration is None or duration < 1:
        raise ValidationError(["expiry.duration must be a positive integer"])
    start = expiry.get("start_time")
    return {
        "start": parse_start_time(start, "expiry.start_time") if start else None,
        "seconds": duration * UNIT_SECONDS[unit],
    }


def core_custom_expiry(body: dict) -> dict | None:
    """Core `custom_expiry` -> same shape as snap_expiry()."""
    custom = body.get("custom_expiry")
    if custom is None:
        return None
    if not isinstance(custom, dict):
        raise ValidationError(["custom_expiry must be an object"])
    unit = str(custom.get("unit", "minute")).lower().rstrip("s")
    duration = _as_int(custom.get("expiry_duration"))
    if unit not in UNIT_SECONDS:
        raise ValidationError(["custom_expiry.unit must be one of second, minute, hour, day"])
    if duration is None or duration < 1:
        raise ValidationError(["custom_expiry.expiry_duration must be a positive integer"])
    order_time = custom.get("order_time")
    return {
        "start": parse_start_time(order_time, "custom_expiry.order_time") if order_time else None,
        "seconds": duration * UNIT_SECONDS[unit],
    }


def notification_urls(override: str | None, append: str | None) -> dict:
    """X-Override-Notification / X-Append-Notification header values -> url lists (max 3 each)."""

    def split(value):
        return [u.strip() for u in (value or "").split(",") if u.strip()][:3]

    return {"override": split(override), "append": split(append)}
