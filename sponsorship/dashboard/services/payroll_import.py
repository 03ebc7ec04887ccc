"""The treasurer's (or regional bank's) confirmation file of a payroll deduction list: read, check row by row,
store the report; nothing settles until an admin confirms (billing.services.payroll_settle applies it).

Columns (header names as treasurers write them): NIP, Jumlah (the amount deducted; 0 = not deducted), Referensi
(the transfer reference) and Tanggal (the transfer date). Readers and cell rules are the roster import's.
"""

import datetime as dt
import hashlib
import re

from django.db import transaction
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.billing.models import PayrollConfirmation, PayrollDeduction, PayrollList
from sponsorship.billing.services.payroll_settle import payroll_confirmation_confirm_request
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.periods import local_today
from sponsorship.core.transitions import transition
from sponsorship.dashboard.services.imports.cells import CellError, cell_text, date_cell, digits_cell
from sponsorship.dashboard.services.imports.readers import FileProblem, Problem, read_table, squash

HEADERS = {
    "nip": ("NIP", ("nip", "nipnipppk", "nipppk", "nipbaru", "nomorindukpegawai")),
    "amount": ("Jumlah", ("jumlah", "jumlahpotongan", "potongan", "nominal", "jumlahdipotong", "amount")),
    "reference": ("Referensi", ("referensi", "noreferensi", "nomorreferensi", "reference", "ref", "notransfer")),
    "date": ("Tanggal", ("tanggal", "tgl", "tanggaltransfer", "tanggalpotong", "date")),
}
REQUIRED = ("nip", "amount")


def _amount(value) -> int:
    """Whole rupiah: 16800, 16800.0, "16.800", "Rp 16.800", "16,800"."""
    if isinstance(value, bool):
        raise CellError(_("The amount must be a whole number of rupiah."))
    if isinstance(value, int | float):
        if value != int(value):
            raise CellError(_("The amount must be a whole number of rupiah."))
        amount = int(value)
    else:
        text = re.sub(r"(?i)^rp\.?\s*", "", cell_text(value)).replace(".", "").replace(",", "").replace(" ", "")
        if not text.lstrip("-").isdigit():
            raise CellError(_("The amount must be a whole number of rupiah."))
        amount = int(text)
    if amount < 0:
        raise CellError(_("The amount cannot be negative."))
    return amount


def confirmation_preview(*, payroll_list: PayrollList, file_name: str, content: bytes, actor) -> PayrollConfirmation:
    """Read and check the file against the list; store the valid rows and the problems (row, column, problem)."""
    if payroll_list.status == PayrollList.Status.DRAFT:
        raise ConflictError(_("Mark the list as sent before importing its confirmation."), code="list_not_sent")
    table = read_table(file_name, content)
    if not table:
        raise FileProblem(_("The file is empty."), code="empty_file")
    header_no, header = table[0]
    index: dict[str, int] = {}
    for i, value in enumerate(header):
        for key, (_label, aliases) in HEADERS.items():
            if squash(value) in aliases and key not in index:
                index[key] = i
    problems: list[Problem] = [
        Problem(
            header_no,
            HEADERS[key][0],
            _("Required column '%(column)s' not found in the header row.") % {"column": HEADERS[key][0]},
        )
        for key in REQUIRED
        if key not in index
    ]
    listed = {r.nip: r for r in PayrollDeduction.objects.filter(payroll_list=payroll_list)}
    rows: list[dict] = []
    seen: dict[str, int] = {}
    held: set[str] = set()
    today = local_today()
    for row_no, values in table[1:] if not problems else []:

        def cell(key, values=values):
            return values[index[key]] if key in index and index[key] < len(values) else None

        found: list[Problem] = []
        try:
            nip = digits_cell(cell("nip"), "NIP")
        except CellError as exc:
            found.append(Problem(row_no, "NIP", str(exc)))
            nip = ""
        if not found and not nip:
            found.append(Problem(row_no, "NIP", _("NIP is empty.")))
        elif nip and nip not in listed:
            found.append(Problem(row_no, "NIP", _("This NIP is not on the deduction list of this agency and month.")))
        elif nip in seen:
            found.append(
                Problem(row_no, "NIP", _("This NIP appears twice (also on row %(row)s).") % {"row": seen[nip]})
            )
        if nip:
            seen.setdefault(nip, row_no)
        try:
            amount = _amount(cell("amount"))
        except CellError as exc:
            found.append(Problem(row_no, "Jumlah", str(exc)))
            amount = None
        reference = cell_text(cell("reference"))[:64]
        try:
            on = date_cell(cell("date"))
        except CellError as exc:
            found.append(Problem(row_no, "Tanggal", str(exc)))
            on = None
        if amount:
            if not reference:
                found.append(Problem(row_no, "Referensi", _("The transfer reference is required for a deduction.")))
            if on is None and not any(p.column == "Tanggal" for p in found):
                found.append(Problem(row_no, "Tanggal", _("The transfer date is required for a deduction.")))
            elif on is not None and on > today:
                found.append(Problem(row_no, "Tanggal", _("The transfer date is in the future.")))
        row = listed.get(nip)
        if (
            not found
            and row is not None
            and row.status in PayrollDeduction.SETTLED
            and (row.deducted_idr != amount or row.transfer_reference != reference)
        ):
            found.append(
                Problem(row_no, "Jumlah", _("This deduction was already confirmed with another amount or reference."))
            )
        if found:
            problems += found
            if nip in listed:
                held.add(nip)  # named with a problem: never taken for "not deducted" when valid rows are applied
            continue
        assert amount is not None
        rows.append(
            {
                "row": row_no,
                "nip": nip,
                "amount_idr": amount,
                "reference": reference,
                "date": (on or today).isoformat(),
            }
        )
    with transaction.atomic():
        confirmation = PayrollConfirmation.objects.create(
            payroll_list=payroll_list,
            file_name=(file_name or "")[:200],
            file_sha256=hashlib.sha256(content).hexdigest(),
            rows=rows,
            problems=[p.as_dict() for p in problems],
            total_rows=max(len(table) - 1, 0),
            result={"held_nips": sorted(held)},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_CONFIRMATION_PREVIEW,
            obj=confirmation,
            after={
                "list_id": payroll_list.pk,
                "rows": len(rows),
                "problems": len(problems),
                "file_sha256": confirmation.file_sha256,
            },
        )
    return confirmation


def confirmation_confirm(*, confirmation: PayrollConfirmation, actor, valid_only: bool = False) -> PayrollConfirmation:
    """Confirm a checked file: it becomes APPLYING and a task settles it (billing.services.payroll_settle)."""
    return payroll_confirmation_confirm_request(confirmation=confirmation, actor=actor, valid_only=valid_only)


def confirmation_discard(*, confirmation: PayrollConfirmation, actor) -> PayrollConfirmation:
    with transaction.atomic():
        if not transition(
            PayrollConfirmation,
            confirmation.pk,
            to=PayrollConfirmation.Status.DISCARDED,
            from_=PayrollConfirmation.Status.PREVIEWED,
        ):
            raise ConflictError(_("This file was already applied or discarded."), code="already_applied")
        audit_record(actor=actor, action=AuditAction.PAYROLL_CONFIRMATION_DISCARD, obj=confirmation)
    confirmation.refresh_from_db()
    return confirmation


def parse_month(text: str) -> dt.date:
    """A payroll month as "YYYY-MM" (query parameters and forms)."""
    try:
        return dt.datetime.strptime(str(text or ""), "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        raise ApplicationError(_("Write the payroll month as YYYY-MM, e.g. 2027-01."), code="invalid_month") from None
