"""Every dashboard table as XLSX or CSV; each export is written to the audit log (who, when, what, rows).

Cells that a spreadsheet would run as a formula (=, +, -, @, tab or CR at the start) are prefixed with an
apostrophe, so an exported name like "=HYPERLINK(...)" cannot execute on the admin's machine. In CSV the same is
done after every ';' and ',' inside a cell: Excel in an Indonesian locale splits a comma-separated file on ';'
(its list separator), so "Siti;=HYPERLINK(...)" would start a cell of its own. CSV comes ','-separated or, for
Indonesian Excel, ';'-separated (`sep="semicolon"`).
"""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy

from backend.api.errors import ApplicationError
from sponsorship.core.audit import audit_record
from sponsorship.core.periods import local_today

SEPARATORS = {"comma": ",", "semicolon": ";"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A dangerous character at the start of a piece that Excel may split off: after ; or , (spaces and a quote allowed).
_INNER_FORMULA = re.compile(r'([;,\t\r\n][\s"]*)([=+\-@])')

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Table:
    """What to export: a name for files and the audit log, headers (Indonesian), rows of plain values."""

    name: str
    title: str
    columns: list[tuple[str, str]]  # (key, header)
    rows: list[dict]
    personal: bool = False  # contains personal data (names, NIK, phone…)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    file_name: str


def _safe(value):
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_START:
        return "'" + value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if value is None:
        return ""
    return value


def _safe_csv(value):
    value = _safe(value)
    if isinstance(value, str):
        value = _INNER_FORMULA.sub(lambda m: m.group(1) + "'" + m.group(2), value)
    return value


def _csv(table: Table, sep: str = "comma") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=SEPARATORS[sep], quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_safe_csv(header) for _, header in table.columns])
    for row in table.rows:
        writer.writerow([_safe_csv(row.get(key)) for key, _ in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 correctly


def _xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = table.title[:31] or "Data"
    ws.append([header for _, header in table.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([_safe(row.get(key)) for key, _ in table.columns])
    for i, (_, header) in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(header) + 4))
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def table_export(
    *, actor, table: Table, fmt: str, filters: dict | None = None, ip: str | None = None, sep: str = "comma"
) -> ExportFile:
    if fmt not in FORMATS:
        raise ApplicationError(gettext_lazy("The export format must be xlsx or csv."), code="invalid")
    if sep not in SEPARATORS:
        raise ApplicationError(gettext_lazy("The CSV separator must be comma or semicolon."), code="invalid")
    content = _xlsx(table) if fmt == "xlsx" else _csv(table, sep)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="export.personal_data" if table.personal else "export.report",
            object_type="report",
            object_id=table.name,
            ip=ip,
            extra={
                "table": table.name,
                "format": fmt,
                **({"separator": sep} if fmt == "csv" else {}),
                "rows": len(table.rows),
                "filters": filters or {},
                "personal": table.personal,
            },
        )
    stamp = local_today().strftime("%Y%m%d")
    return ExportFile(content=content, content_type=FORMATS[fmt], file_name=f"{table.name}-{stamp}.{fmt}")
