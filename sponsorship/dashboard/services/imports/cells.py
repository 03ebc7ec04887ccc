"""One row's cells: turning what spreadsheets hold into values (Excel numbers, dates, place names), the regency's
villages and agencies to look names up in, and a row's problems collected cell by cell."""

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sponsorship.dashboard.selectors import AdminScope
from sponsorship.people.identifiers import IdentifierError, is_ascii_digits, normalize_phone
from sponsorship.people.models import Agency
from sponsorship.regions.models import Region

from .readers import Problem, squash


def place_key(text) -> str:
    """Village/district names as people write them: 'Desa Babadan', 'KEL. MANGKUJAYAN', 'Kec Babadan'."""
    t = str(text or "").strip().lower()
    t = re.sub(r"^(desa|kelurahan|kel\.?|ds\.?|kecamatan|kec\.?)\s+", "", t)
    return squash(t)


# -- cell values ---------------------------------------------------------------------------------------------
class CellError(Exception):
    pass


def digits_cell(value, label: str) -> str:
    """NIK/NIP must be text: Excel keeps only 15 significant digits of a number, so the last ones are lost."""
    if isinstance(value, float) and not math.isfinite(value):
        raise CellError(f"{label} tidak valid (tertulis {value}).")
    if isinstance(value, float | int) and not isinstance(value, bool):
        if len(str(int(value))) >= 16:
            raise CellError(
                f"{label} tersimpan sebagai angka di Excel sehingga digit terakhirnya bisa berubah "
                f"(tertulis {int(value)}). Format kolom sebagai Teks lalu ketik ulang {label}."
            )
        value = str(int(value))
    text = re.sub(r"[\s.\-']", "", str(value or ""))
    if text and not is_ascii_digits(text):
        raise CellError(f"{label} hanya boleh berisi angka 0-9 (ketik ulang dengan papan ketik biasa).")
    return text


def optional(normalize: Callable[[str], str], text: str) -> str:
    """An optional identifier (phone, KPJ): "" when the cell is empty, else its normal form."""
    return normalize(text) if text else ""


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def phone_cell(value) -> str:
    text = cell_text(value)
    if isinstance(value, int | float) and text.startswith("8"):
        text = "0" + text  # the leading 0 Excel drops from a number
    return text


def date_cell(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y"):
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date: .date() keeps no time or zone
        except ValueError:
            continue
    raise CellError(f"Tanggal '{text}' tidak dikenali; tulis sebagai DD/MM/YYYY, mis. 17/08/2026.")


# -- reference lookups ----------------------------------------------------------------------------------------
@dataclass
class Lookups:
    scope: AdminScope
    villages_by_code: dict = field(default_factory=dict)
    villages_by_name: dict = field(default_factory=dict)  # (district, village) -> [Region]
    villages_by_only_name: dict = field(default_factory=dict)  # village -> [Region]
    agencies: dict = field(default_factory=dict)

    @classmethod
    def load(cls, scope: AdminScope) -> "Lookups":
        self = cls(scope=scope)
        villages = Region.objects.filter(parent__parent=scope.regency, level=Region.Level.VILLAGE)
        for v in villages.select_related("parent"):
            assert v.parent is not None  # filtered on parent__parent
            self.villages_by_code[v.code] = v
            self.villages_by_name.setdefault((place_key(v.parent.name), place_key(v.name)), []).append(v)
            self.villages_by_only_name.setdefault(place_key(v.name), []).append(v)
        for a in Agency.objects.filter(regency=scope.regency):
            for key in (a.name, a.short_name, a.code):
                if key:
                    self.agencies.setdefault(squash(key), a)
        return self

    def village(self, code, district, name) -> Region:
        code = cell_text(code)
        if code:
            village = self.villages_by_code.get(code)
            if village is None:
                raise CellError(f"Kode wilayah '{code}' bukan desa/kelurahan di {self.scope.regency.name}.")
            return village
        if not cell_text(name):
            raise CellError("Desa/kelurahan wajib diisi (atau isi Kode Wilayah Desa).")
        if cell_text(district):
            found = self.villages_by_name.get((place_key(district), place_key(name)), [])
            if not found:
                raise CellError(
                    f"Desa/kelurahan '{cell_text(name)}' di Kecamatan '{cell_text(district)}' tidak "
                    f"ditemukan di {self.scope.regency.name}."
                )
        else:
            found = self.villages_by_only_name.get(place_key(name), [])
            if not found:
                raise CellError(f"Desa/kelurahan '{cell_text(name)}' tidak ditemukan di {self.scope.regency.name}.")
            if len(found) > 1:
                raise CellError(f"Ada {len(found)} desa/kelurahan bernama '{cell_text(name)}'; isi juga Kecamatan.")
        return found[0]


# -- one row's cells -----------------------------------------------------------------------------------------
class RowCells:
    """A row's cells by column key. Problems are collected, so a row reports every bad cell at once."""

    def __init__(self, row_no: int, values: list, index: dict[str, int], headers: dict[str, str]):
        self.row_no, self.values, self.index, self.headers = row_no, values, index, headers
        self.problems: list[Problem] = []

    def raw(self, key: str):
        i = self.index.get(key)
        return self.values[i] if i is not None and i < len(self.values) else None

    def text(self, key: str) -> str:
        return cell_text(self.raw(key))

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.row_no, self.headers[key], message))

    def parse(self, key: str, fn: Callable[..., Any], *args):
        """fn(*args), or None with the cell's problem noted."""
        try:
            return fn(*args)
        except (CellError, IdentifierError) as exc:
            self.problem(key, str(getattr(exc, "message", exc)))
            return None

    def full_name(self, max_length: int | None = None) -> str:
        name = self.text("full_name")
        if not name:
            self.problem("full_name", "Nama lengkap wajib diisi.")
        elif max_length and len(name) > max_length:
            self.problem("full_name", f"Nama terlalu panjang (maks. {max_length} huruf).")
        return name

    def village(self, lookups: Lookups) -> Region | None:
        return self.parse(
            "village", lookups.village, self.raw("village_code"), self.raw("district"), self.raw("village")
        )

    def phone(self) -> str | None:
        return self.parse("phone", optional, normalize_phone, phone_cell(self.raw("phone")))

    def once_in_file(self, key: str, value: str, seen: dict[str, int], shown: str) -> None:
        """The same NIP/NIK twice in one file is a problem on the second row."""
        if value in seen:
            self.problem(key, f"{shown} sudah ada di baris {seen[value]} berkas ini.")
        else:
            seen[value] = self.row_no
