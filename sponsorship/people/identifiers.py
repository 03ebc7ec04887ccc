"""Indonesian identifiers: NIK, NIP (PNS) / NI PPPK, mobile numbers, KPJ. Pure functions, no database.

Every parser raises `IdentifierError` with an Indonesian/English message a person can act on.
Sources: ../shared/domain.md §4.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from sponsorship.core.periods import local_today


class IdentifierError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class NikInfo:
    nik: str
    region_code: str  # PP.KK.CC where the NIK was first issued
    birth_date: dt.date
    sex: str  # "M" or "F"


@dataclass(frozen=True)
class NipInfo:
    nip: str
    kind: str  # "pns" or "pppk"
    birth_date: dt.date
    sex: str
    start: str  # PNS: CPNS start YYYYMM; PPPK: appointment year YYYY


def is_ascii_digits(text: str) -> bool:
    """0-9 only. `str.isdigit()` also accepts full-width (１), Arabic-Indic (٣) and superscript (²) digits: those
    hash differently from the ASCII number (the same person registered twice) and some break `int()`."""
    return bool(text) and text.isascii() and text.isdigit()


def ascii_digits(value, label) -> str:
    """The one parser of a number made of digits (NIK, NIP, KK, KPJ, phone, codes): spaces, dots and dashes
    dropped, then ASCII digits 0-9 only, else a message a person can act on."""
    text = re.sub(r"[\s.\-]", "", str(value if value is not None else ""))
    if not text:
        raise IdentifierError(_("%(label)s is required.") % {"label": label})
    if not is_ascii_digits(text):
        raise IdentifierError(
            _("%(label)s may contain the digits 0-9 only (type it again with a normal keyboard).") % {"label": label}
        )
    return text


def _two_digit_year(yy: int, today: dt.date) -> int:
    year = 2000 + yy
    return year if year <= today.year else 1900 + yy


def parse_nik(value, *, today: dt.date | None = None) -> NikInfo:
    """16 digits: PP KK CC DDMMYY SSSS; women have 40 added to the day."""
    today = today or local_today()
    nik = ascii_digits(value, "NIK")
    if len(nik) != 16:
        raise IdentifierError(
            _(
                "NIK must have 16 digits (got %(len_nik)s).",
            )
            % {"len_nik": len(nik)}
        )
    province = int(nik[0:2])
    if province < 11 or province > 99 or nik[2:4] == "00" or nik[4:6] == "00":
        raise IdentifierError(
            _(
                "The region code in the first 6 digits of the NIK is not valid.",
            )
        )
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "M"
    if day > 40:
        day -= 40
        sex = "F"
    try:
        birth = dt.date(_two_digit_year(yy, today), month, day)
    except ValueError:
        raise IdentifierError(
            _(
                "The birth date in the NIK (digits 7–12) is not valid.",
            )
        ) from None
    if nik[12:16] == "0000":
        raise IdentifierError(
            _(
                "The serial number in the last 4 digits of the NIK cannot be 0000.",
            )
        )
    return NikInfo(nik=nik, region_code=f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}", birth_date=birth, sex=sex)


def parse_nip(value, *, kind: str, today: dt.date | None = None) -> NipInfo:
    """18 digits. PNS: YYYYMMDD (birth) YYYYMM (CPNS start) S NNN. PPPK: YYYYMMDD YYYY NN S NNN."""
    today = today or local_today()
    label = "NIP" if kind == "pns" else "NI PPPK"
    if kind not in ("pns", "pppk"):
        raise IdentifierError(_("The ASN type must be PNS or PPPK."))
    nip = ascii_digits(value, label)
    if len(nip) != 18:
        raise IdentifierError(
            _(
                "%(label)s must have 18 digits (got %(len_nip)s).",
            )
            % {"label": label, "len_nip": len(nip)}
        )
    try:
        birth = dt.date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise IdentifierError(
            _(
                "The birth date in the %(label)s (digits 1–8) is not valid.",
            )
            % {"label": label}
        ) from None
    age = (today - birth).days // 365
    if age < 17 or age > 80:
        raise IdentifierError(
            _(
                "The birth date in the %(label)s gives an age of %(age)s; check the number.",
            )
            % {"label": label, "age": age}
        )
    if kind == "pns":
        start_year, start_month = int(nip[8:12]), int(nip[12:14])
        if not (1 <= start_month <= 12) or start_year < birth.year + 17 or start_year > today.year:
            raise IdentifierError(
                _(
                    "The CPNS start in the NIP (digits 9–14) is not valid.",
                )
            )
        start = nip[8:14]
    else:
        start_year = int(nip[8:12])
        if start_year < birth.year + 17 or start_year > today.year + 1:
            raise IdentifierError(
                _(
                    "The appointment year in the NI PPPK (digits 9–12) is not valid.",
                )
            )
        start = nip[8:12]
    sex_digit = nip[14]
    if sex_digit not in "12":
        raise IdentifierError(
            _(
                "Digit 15 of the %(label)s (sex) must be 1 or 2.",
            )
            % {"label": label}
        )
    if nip[15:18] == "000":
        raise IdentifierError(
            _(
                "The serial in the last 3 digits of the %(label)s cannot be 000.",
            )
            % {"label": label}
        )
    return NipInfo(nip=nip, kind=kind, birth_date=birth, sex="M" if sex_digit == "1" else "F", start=start)


def normalize_phone(value) -> str:
    """Accept 08…, 628…, +628… (spaces, dashes, dots allowed); return E.164 +628… with 8–11 digits after the 8."""
    text = re.sub(r"[\s.\-()]", "", str(value or ""))
    if not text:
        raise IdentifierError(_("The mobile number is required."))
    if text.startswith("+"):
        text = text[1:]
        if not text.startswith("62"):
            raise IdentifierError(
                _(
                    "The mobile number must be Indonesian (+62).",
                )
            )
    if not is_ascii_digits(text):
        raise IdentifierError(_("The mobile number may contain digits only."))
    if text.startswith("62"):
        rest = text[2:]
    elif text.startswith("0"):
        rest = text[1:]
    else:
        raise IdentifierError(
            _(
                "The mobile number must start with 08, 628 or +628.",
            )
        )
    if not rest.startswith("8"):
        raise IdentifierError(
            _(
                "The number must be a mobile number (starting 08).",
            )
        )
    if not (8 <= len(rest) - 1 <= 11):
        raise IdentifierError(
            _(
                "The mobile number has an unusual length (10–13 digits including 08).",
            )
        )
    return "+62" + rest


def normalize_kpj(value) -> str:
    kpj = ascii_digits(value, "KPJ")
    if len(kpj) != 11:
        raise IdentifierError(
            _(
                "A KPJ number has 11 digits (got %(len_kpj)s).",
            )
            % {"len_kpj": len(kpj)}
        )
    return kpj


def mask_nik(nik: str | None) -> str:
    """3502171403850001 -> ************0001: the serial only.

    The first 12 digits are where the NIK was issued and the birth date (day +40 for women), which a caller can
    learn elsewhere (the village code, an age, the sex); with only the serial shown, nothing returned next to it
    rebuilds the number. Never return a masked NIK next to the birth date and sex of someone else
    (people/api/serializers.py:WorkerSerializer decides per role)."""
    if not nik:
        return ""
    return "*" * (len(nik) - 4) + nik[-4:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:5] + "*" * max(len(phone) - 8, 0) + phone[-3:]


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_band(age: int) -> str:
    """40 -> "40–49": what a sponsor or an admin needs instead of the birth date (which is in the NIK)."""
    low = (age // 10) * 10
    return f"{low}–{low + 9}"
