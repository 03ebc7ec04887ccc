"""Blank roster templates (XLSX with a help sheet, CSV) that the importer reads back without changes."""

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from sponsorship.dashboard.models import ImportBatch
from sponsorship.people.models import Occupation

from .readers import COLUMNS

TEMPLATE_TITLES: dict[str, str] = {
    ImportBatch.Kind.SPONSORS: "Templat impor data ASN pengampu",
    ImportBatch.Kind.WORKERS: "Templat impor data pekerja rentan",
    ImportBatch.Kind.DTSEN: "Templat impor desil DTSEN dari Dinas Sosial",
}


def template_csv(kind: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([c.header for c in COLUMNS[kind]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    columns = COLUMNS[kind]
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append([c.header for c in columns])
    for i, col in enumerate(columns, start=1):
        letter = get_column_letter(i)
        head = ws.cell(row=1, column=i)
        head.font = Font(bold=True, color="FFFFFF" if col.required else "000000")
        head.fill = PatternFill("solid", fgColor="1F6F50" if col.required else "D9EAD3")
        head.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[letter].width = col.width
        if col.text:  # keep NIK/NIP/phone as text so Excel does not round or drop the leading 0
            for r in range(2, 2002):
                ws.cell(row=r, column=i).number_format = "@"
        if col.key == "asn_type":
            dv = DataValidation(type="list", formula1='"PNS,PPPK"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}2001")
        if col.key == "consent_channel":
            dv = DataValidation(type="list", formula1='"Tatap muka,Formulir kertas,Telepon"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}2001")
        if col.key == "contact_channels":
            dv = DataValidation(type="list", formula1='"WA,SMS,WA+SMS"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}2001")
        if col.key == "capacity":
            dv = DataValidation(type="list", formula1='"2,3"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}2001")
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("Petunjuk")
    help_ws.append([TEMPLATE_TITLES[kind]])
    help_ws["A1"].font = Font(bold=True, size=13)
    help_ws.append(["Isi lembar 'Data' mulai baris 2. Kolom hijau tua wajib diisi. Jangan ubah baris judul."])
    help_ws.append(["Data yang sama (NIP/NIK sama) boleh diimpor ulang: data lama diperbarui, tidak digandakan."])
    help_ws.append([])
    help_ws.append(["Kolom", "Wajib", "Keterangan"])
    for cell in help_ws[5]:
        cell.font = Font(bold=True)
    for col in columns:
        help_ws.append([col.header, "ya" if col.required else "", col.note])
    if kind == ImportBatch.Kind.WORKERS:
        help_ws.append([])
        help_ws.append(["Daftar pekerjaan"])
        help_ws.cell(row=help_ws.max_row, column=1).font = Font(bold=True)
        for o in Occupation.objects.order_by("name"):
            help_ws.append([o.name, o.code])
    help_ws.column_dimensions["A"].width = 34
    help_ws.column_dimensions["B"].width = 8
    help_ws.column_dimensions["C"].width = 90
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
