"""backend.formats: the one formatter for rupiah, numbers, percentages, dates and billing periods."""

import datetime as dt

from django.utils import translation

from backend import formats

JULY_10 = dt.date(2026, 7, 10)


def test_indonesian_is_the_default():
    with translation.override("id"):
        assert formats.rupiah(1_250_000) == "Rp 1.250.000"
        assert formats.rupiah(1_250_000, space=False) == "Rp1.250.000"
        assert formats.number(1234) == "1.234" and formats.percent(12.5) == "12,5%"
        assert formats.date(JULY_10) == "10 Juli 2026" and formats.period_label(JULY_10.replace(day=1)) == "Juli 2026"
        assert formats.date("2026-12-15") == "15 Desember 2026"


def test_english_when_active_or_given():
    with translation.override("en"):
        assert formats.date(JULY_10) == "10 July 2026" and formats.rupiah(1_250_000) == "Rp 1,250,000"
        assert formats.percent(12.5) == "12.5%"
    with translation.override("id"):
        assert formats.period_label(JULY_10, "en") == "July 2026" and formats.month_name(12, "en-gb") == "December"


def test_missing_values_and_numeric_dates():
    assert formats.rupiah(None) == formats.number("") == formats.percent(None) == formats.date(None) == "–"
    assert formats.date("not a date") == "not a date"
    assert formats.date_numeric(JULY_10) == "10-07-2026" and formats.date_numeric(None) == ""
