"""Reading a roster file: the columns agencies and villages use, XLSX/CSV parsing, the header row and the limits.

Nothing here looks at the database; the rows come out as (row number, raw cell values) for the validators.
"""

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from openpyxl import load_workbook

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import ImportBatch


# -- columns, as agencies and villages keep them -------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    text: bool = False  # format as text in the template (long digit strings)
    width: int = 18
    note: str = ""


SPONSOR_COLUMNS = [
    Column("no", "No", width=5, note="Nomor urut (boleh kosong, tidak diimpor)."),
    Column(
        "nip",
        "NIP / NI PPPK",
        True,
        ("nip", "nipnipppk", "nipppk", "nomorindukpegawai", "nipbaru"),
        text=True,
        width=22,
        note="18 digit, ketik sebagai teks (jangan sebagai angka).",
    ),
    Column(
        "full_name",
        "Nama Lengkap",
        True,
        ("nama", "namalengkap", "namaasn", "namapegawai"),
        width=30,
        note="Nama tanpa gelar atau dengan gelar, sesuai data kepegawaian.",
    ),
    Column(
        "asn_type",
        "Jenis ASN (PNS/PPPK)",
        False,
        ("jenisasn", "statuspegawai", "jenispegawai", "jenis"),
        width=12,
        note="PNS atau PPPK. Jika kosong, ditentukan dari NIP.",
    ),
    Column(
        "agency",
        "OPD / Unit Kerja",
        True,
        ("opd", "unitkerja", "perangkatdaerah", "instansi", "skpd"),
        width=36,
        note="Nama OPD, singkatan (mis. Dinkes), atau kode OPD.",
    ),
    Column(
        "district",
        "Kecamatan Domisili",
        False,
        ("kecamatan", "kecamatandomisili"),
        width=18,
        note="Kecamatan tempat tinggal.",
    ),
    Column(
        "village",
        "Desa/Kelurahan Domisili",
        False,
        ("desa", "kelurahan", "desakelurahan", "desakelurahandomisili", "desadomisili"),
        width=22,
        note="Desa/kelurahan tempat tinggal.",
    ),
    Column(
        "village_code",
        "Kode Wilayah Desa",
        False,
        ("kodewilayah", "kodedesa", "kodewilayahdesa", "kodekemendagri"),
        text=True,
        width=16,
        note="Opsional, kode Kemendagri mis. 35.02.17.1001 (mengalahkan nama desa).",
    ),
    Column(
        "phone",
        "No. HP",
        False,
        ("nohp", "nomorhp", "hp", "telepon", "notelp", "nowa", "nomorwa"),
        text=True,
        width=16,
        note="08…, 628… atau +628…, ketik sebagai teks.",
    ),
    Column(
        "capacity",
        "Jumlah Pekerja Diampu (2/3)",
        False,
        ("jumlahpekerjadiampu", "jumlahpekerjadiampu23", "kapasitas", "kuota"),
        width=14,
        note="2 atau 3. Jika kosong: 2.",
    ),
]

WORKER_COLUMNS = [
    Column("no", "No", width=5, note="Nomor urut (boleh kosong, tidak diimpor)."),
    Column(
        "nik",
        "NIK",
        True,
        ("nik", "noktp", "nomorindukkependudukan"),
        text=True,
        width=20,
        note="16 digit, ketik sebagai teks (jangan sebagai angka).",
    ),
    Column("full_name", "Nama Lengkap", True, ("nama", "namalengkap", "namapekerja"), width=28),
    Column(
        "kk",
        "No. KK",
        False,
        ("nokk", "kk", "nomorkk", "nomorkartukeluarga"),
        text=True,
        width=20,
        note="Opsional: 16 digit Kartu Keluarga, untuk mencocokkan desil DTSEN per keluarga (hanya disimpan tersandi).",
    ),
    Column(
        "occupation",
        "Pekerjaan",
        True,
        ("pekerjaan", "jenispekerjaan", "profesi"),
        width=22,
        note="Mis. Petani, Buruh tani, Nelayan, Pengemudi ojek, Asisten rumah tangga, Lainnya.",
    ),
    Column("district", "Kecamatan", False, ("kecamatan",), width=18),
    Column("village", "Desa/Kelurahan", False, ("desa", "kelurahan", "desakelurahan"), width=22),
    Column(
        "village_code",
        "Kode Wilayah Desa",
        False,
        ("kodewilayah", "kodedesa", "kodewilayahdesa"),
        text=True,
        width=16,
        note="Opsional, kode Kemendagri mis. 35.02.17.1001 (mengalahkan nama desa).",
    ),
    Column("phone", "No. HP", False, ("nohp", "nomorhp", "hp", "telepon", "notelp", "nowa"), text=True, width=16),
    Column(
        "decile",
        "Desil Kesejahteraan (1-10)",
        False,
        ("desil", "desilkesejahteraan", "desilkesejahteraan110", "desildtks"),
        width=12,
        note="Dari DTKS/DTSEN, 1 = paling miskin. Boleh kosong.",
    ),
    Column(
        "kpj",
        "No. KPJ",
        False,
        ("kpj", "nokpj", "nomorkpj"),
        text=True,
        width=14,
        note="11 digit, jika sudah terdaftar di BPJS Ketenagakerjaan.",
    ),
    Column(
        "consent_channel",
        "Cara Persetujuan",
        False,
        ("carapersetujuan", "persetujuan", "persetujuanmelalui"),
        width=16,
        note="Tatap muka / Formulir kertas / Telepon. Wajib untuk pekerja baru (UU PDP).",
    ),
    Column(
        "consent_date",
        "Tanggal Persetujuan",
        False,
        ("tanggalpersetujuan", "tglpersetujuan"),
        width=16,
        note="DD/MM/YYYY. Wajib untuk pekerja baru.",
    ),
    Column(
        "consent_version",
        "Versi Teks Persetujuan",
        False,
        ("versitekspersetujuan", "versipersetujuan"),
        width=14,
        note="Versi naskah persetujuan yang dibacakan/ditandatangani, mis. 2026.1. Wajib untuk pekerja baru.",
    ),
    Column(
        "sponsor_nip",
        "NIP Pengampu",
        False,
        ("nippengampu", "nipasnpengampu", "pengampu"),
        text=True,
        width=22,
        note="Opsional: NIP ASN yang mengampu pekerja ini (membuat pengampuan).",
    ),
    Column(
        "contact_channels",
        "Boleh Dihubungi Lewat",
        False,
        ("bolehdihubungilewat", "bolehdihubungi", "dihubungilewat", "persetujuankontak"),
        width=16,
        note="Opsional: WA, SMS atau WA+SMS, jika pekerja setuju menerima pengingat lewat WhatsApp/SMS "
        "(dicatat dengan Cara Persetujuan). Perlu No. HP. Kosong: tidak diubah.",
    ),
]

# The social office's DTSEN extract: one household member (NIK) or household (KK) per row.
DTSEN_COLUMNS = [
    Column("no", "No", width=5, note="Nomor urut (boleh kosong, tidak diimpor)."),
    Column(
        "nik",
        "NIK",
        False,
        ("nik", "noktp", "nomorindukkependudukan", "nikart"),
        text=True,
        width=20,
        note="16 digit. Isi NIK atau No. KK (salah satu cukup).",
    ),
    Column(
        "kk",
        "No. KK",
        False,
        ("nokk", "kk", "nomorkk", "nomorkartukeluarga", "kartukeluarga"),
        text=True,
        width=20,
        note="16 digit nomor Kartu Keluarga; berlaku untuk semua pekerja satu KK.",
    ),
    Column(
        "decile",
        "Desil (1-10)",
        True,
        ("desil", "desil110", "desilnasional", "desildtsen", "desilkesejahteraan"),
        width=10,
        note="Desil DTSEN, 1 = paling miskin.",
    ),
    Column(
        "ranked_on",
        "Tanggal Pemeringkatan",
        True,
        ("tanggalpemeringkatan", "tglpemeringkatan", "tanggalperingkat", "periodepemeringkatan", "tanggal"),
        width=16,
        note="DD/MM/YYYY, tanggal pemeringkatan BPS/Dinas Sosial.",
    ),
]

COLUMNS: dict[str, list[Column]] = {
    ImportBatch.Kind.SPONSORS: SPONSOR_COLUMNS,
    ImportBatch.Kind.WORKERS: WORKER_COLUMNS,
    ImportBatch.Kind.DTSEN: DTSEN_COLUMNS,
}


def squash(text) -> str:
    """Lower-case letters and digits only: how headers, agency names and choices are compared."""
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


# -- problems ----------------------------------------------------------------------------------------------
@dataclass
class Problem:
    row: int
    column: str
    problem: str

    def as_dict(self):
        return {"row": self.row, "column": self.column, "problem": self.problem}


class FileProblem(ApplicationError):
    """The file as a whole cannot be read; the message says what to fix."""


# -- reading files -----------------------------------------------------------------------------------------
# Bounds that hold while reading, whatever the file claims about itself: a forged `<dimension ref="A1:XFD2002"/>`
# would make openpyxl pad every row to 16,384 cells, a row numbered 1,048,576 would make it yield a million blank
# rows before it, and a few KB of deflated XML can expand to gigabytes (a zip bomb).
MAX_COLUMNS = 64  # the widest template has 14 columns; what lies further right is never read
SHEET_ROW_LIMIT = 1_048_576  # Excel's own last row; a row number past it is a forged file


def _too_many_rows() -> FileProblem:
    return FileProblem(
        f"Terlalu banyak baris; maks. {settings.IMPORT_MAX_ROWS} per berkas.",
        code="too_many_rows",
    )


def _check_zip(content: bytes) -> None:
    """Refuse an XLSX whose parts expand beyond IMPORT_MAX_UNCOMPRESSED_BYTES or at a zip-bomb ratio."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip: load_workbook below says the file cannot be read
    # zipfile never inflates a member past its declared file_size, so these figures bound the real work.
    total = sum(m.file_size for m in members)
    bomb = any(
        m.file_size > 1024 * 1024 and m.file_size > settings.IMPORT_MAX_ZIP_RATIO * max(m.compress_size, 1)
        for m in members
    )
    if total > settings.IMPORT_MAX_UNCOMPRESSED_BYTES or bomb:
        raise FileProblem(
            "Isi berkas XLSX terlalu besar setelah dibuka (kemungkinan berkas rusak atau dimanipulasi). "
            "Simpan ulang sebagai .xlsx biasa atau CSV, atau bagi menjadi beberapa berkas.",
            code="file_too_large",
        )


def _bounded_rows(rows, *, blank=None) -> list[tuple[int, list]]:
    """Number the rows, drop blank ones as they come and stop past the row limit (header + data rows)."""
    kept: list[tuple[int, list]] = []
    limit = settings.IMPORT_MAX_ROWS + 1
    for i, values in enumerate(rows, start=1):
        if i > SHEET_ROW_LIMIT:
            raise _too_many_rows()
        if values is blank or _blank(values):
            continue
        if len(kept) >= limit:
            raise _too_many_rows()
        kept.append((i, list(values[:MAX_COLUMNS])))
    return kept


def _read_xlsx(content: bytes) -> list[tuple[int, list]]:
    _check_zip(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        # Ignore the <dimension> the file declares (it may be forged) and never read past MAX_COLUMNS.
        sheet.reset_dimensions()
        blank = (None,) * MAX_COLUMNS
        try:
            return _bounded_rows(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), blank=blank)
        finally:
            workbook.close()
    except FileProblem:
        raise
    except Exception:  # openpyxl raises many kinds for a broken or non-xlsx file
        raise FileProblem(
            "Berkas XLSX tidak dapat dibaca. Simpan ulang sebagai Excel Workbook (.xlsx) atau CSV.",
            code="unreadable_file",
        ) from None


def _decode_csv(content: bytes) -> str:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # "Unicode Text" from Excel: UTF-16 with a byte-order mark (and tabs between columns).
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif content[:3] == codecs.BOM_UTF8 or b"\x00" not in content[:4096]:
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    if b"\x00" not in content:
        # Older Excel on Windows saves "CSV" in the ANSI code page; cp1252 leaves five bytes undefined.
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError:
            pass
    raise FileProblem(
        "Berkas CSV tidak dapat dibaca: pengodean karakternya tidak dikenali (berkas UTF-16 tanpa penanda, "
        "atau bukan berkas teks). Simpan ulang dari Excel sebagai 'CSV UTF-8 (Comma delimited)'.",
        code="unreadable_file",
    )


def _read_csv(content: bytes) -> list[tuple[int, list]]:
    text = _decode_csv(content)
    first = text.split("\n", 1)[0]
    # Excel in an Indonesian locale writes ";" between columns.
    delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _bounded_rows(reader)
    except csv.Error as exc:
        raise FileProblem(f"Berkas CSV rusak: {exc}", code="unreadable_file") from None


def read_table(file_name: str, content: bytes) -> list[tuple[int, list]]:
    """The file's non-blank rows, numbered as the spreadsheet shows them, at most IMPORT_MAX_ROWS + 1."""
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise file_too_large()
    name = (file_name or "").lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        return _read_xlsx(content)
    if name.endswith((".csv", ".txt")):
        return _read_csv(content)
    if name.endswith(".xls"):
        raise FileProblem(
            "Format .xls (Excel 97-2003) tidak didukung. Simpan ulang sebagai .xlsx atau CSV.", code="unsupported_file"
        )
    raise FileProblem("Jenis berkas tidak didukung: unggah .xlsx atau .csv.", code="unsupported_file")


def upload_content(upload) -> bytes:
    """An uploaded file's bytes, refused by its size before it is read into memory."""
    if upload.size is None or upload.size > settings.IMPORT_MAX_BYTES:
        raise file_too_large()
    return upload.read(settings.IMPORT_MAX_BYTES + 1)


def file_too_large() -> FileProblem:
    """The upload's size is checked before it is read into memory (the API and the web page call this too)."""
    return FileProblem(
        f"Berkas terlalu besar (maks. {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB).",
        code="file_too_large",
        status_code=413,
    )


def _blank(values) -> bool:
    return all(v is None or str(v).strip() == "" for v in values)


def _map_header(columns: list[Column], header: list, row_no: int) -> tuple[dict[str, int], list[Problem]]:
    index: dict[str, int] = {}
    by_alias: dict[str, str] = {}
    for col in columns:
        for alias in (squash(col.header), *col.aliases):
            by_alias.setdefault(alias, col.key)
    for i, value in enumerate(header):
        key = by_alias.get(squash(value))
        if key and key not in index:
            index[key] = i
    problems = [
        Problem(row_no, col.header, f"Kolom wajib '{col.header}' tidak ditemukan di baris judul.")
        for col in columns
        if col.required and col.key not in index
    ]
    if any(col.key == "kk" for col in columns) and not any(k in index for k in ("nik", "kk")):
        problems.append(Problem(row_no, "NIK / No. KK", "Kolom 'NIK' atau 'No. KK' harus ada."))
    places = any(col.key == "village" for col in columns)  # the DTSEN file has no place columns
    if places and not any(k in index for k in ("village", "village_code")):
        problems.append(
            Problem(
                row_no,
                "Desa/Kelurahan",
                "Kolom 'Desa/Kelurahan' (dengan 'Kecamatan') atau 'Kode Wilayah Desa' harus ada.",
            )
        )
    return index, problems


@dataclass
class Table:
    """A file's data rows (blank ones dropped) and where each column is; or the header's problems."""

    index: dict[str, int]
    rows: list[tuple[int, list]]
    header_problems: list[Problem]


def read_rows(kind: str, file_name: str, content: bytes) -> Table:
    """Read the file, map its header row to `COLUMNS[kind]` and apply the row limit."""
    table = read_table(file_name, content)
    if not table:
        raise FileProblem("Berkas kosong: tidak ada baris judul maupun data.", code="empty_file")
    header_no, header = table[0]
    index, problems = _map_header(COLUMNS[kind], header, header_no)
    if problems:
        return Table(index, [], problems)
    rows = table[1:]
    if not rows:
        raise FileProblem("Berkas hanya berisi baris judul; belum ada data.", code="empty_file")
    if len(rows) > settings.IMPORT_MAX_ROWS:
        raise _too_many_rows()
    return Table(index, rows, [])
