"""The one formatter for money, numbers, dates and months that people read, in the active or a given language.

    rupiah(1250000)             "Rp 1.250.000"    (en: "Rp 1,250,000")
    number(1234) / percent(12.5)  "1.234" / "12,5%" (en: "1,234" / "12.5%")
    date(d)                     "10 Juli 2026"    (en: "10 July 2026")
    date_numeric(d)             "10-07-2026"      (both: how the worker app shows a date)
    month_name(7) / period_label(dt.date(2026, 7, 1))   "Juli" / "Juli 2026"

The language is `language` when given (push texts are rendered per recipient), else the active one (the request's);
anything but English is Indonesian. Month names come from Django's own catalogue (django.utils.dates.MONTHS).
Missing values (None, "") read as an en dash, as the dashboard shows them. backend/, so that notifications (which
knows no domain app) uses the same formatter as the apps.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.utils import translation
from django.utils.dates import MONTHS

MISSING = "–"


def language_of(language: str | None = None) -> str:
    """'en' or 'id': the given language, else the active one."""
    language = language or translation.get_language() or "id"
    return "en" if language.lower().startswith("en") else "id"


def _group(value: int, language: str) -> str:
    text = f"{value:,}"
    return text if language == "en" else text.replace(",", ".")


def number(value, language: str | None = None) -> str:
    if value in (None, ""):
        return MISSING
    return _group(int(value), language_of(language))


def rupiah(value, language: str | None = None, *, space: bool = True) -> str:
    """Whole rupiah (IDR has no minor unit in practice). space=False: "Rp1.250.000", the push texts' short form."""
    if value in (None, ""):
        return MISSING
    return ("Rp " if space else "Rp") + _group(int(value), language_of(language))


def percent(value, language: str | None = None) -> str:
    if value in (None, ""):
        return MISSING
    text = f"{float(value):.1f}"
    return (text if language_of(language) == "en" else text.replace(".", ",")) + "%"


@functools.lru_cache(maxsize=4)
def _month_names(language: str) -> tuple[str, ...]:
    with translation.override(language):
        return tuple(str(MONTHS[i]) for i in range(1, 13))


def month_name(month: int, language: str | None = None) -> str:
    return _month_names(language_of(language))[month - 1]


def period_label(month: dt.date, language: str | None = None) -> str:
    """A billing period (the first of a month): "Juli 2026" / "July 2026"."""
    return f"{month_name(month.month, language)} {month.year}"


def _as_date(value):
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def date(value, language: str | None = None) -> str:
    """ "10 Juli 2026" / "10 July 2026". An ISO string is read as a date; any other string is returned as it is."""
    if value in (None, ""):
        return MISSING
    day = _as_date(value)
    if day is None:
        return value
    return f"{day.day} {month_name(day.month, language)} {day.year}"


def date_numeric(value) -> str:
    """ "10-07-2026" (day-month-year), the same in both languages; "" for no date."""
    day = _as_date(value) if value else None
    return day.strftime("%d-%m-%Y") if day else ""
