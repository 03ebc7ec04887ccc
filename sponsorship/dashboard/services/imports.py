"""Roster imports (ASN and workers) from XLSX or CSV: preview → confirm, never half-imported.

1. `import_preview` reads the file, validates every row and stores an ImportBatch with a report of
   (row, column, problem) in Indonesian and the validated rows (encrypted, they hold NIK/NIP).
2. `import_confirm` applies the batch once: mode "all" (the default) writes every row in one transaction
   or nothing; mode "valid_only" writes the valid rows, each in its own savepoint, and reports the rest.
Rows are keyed by NIP / NIK, so importing the same file twice updates and never duplicates.
"""
import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from sponsorship.people.crypto import keyed_hash
from sponsorship.people.identifiers import (IdentifierError, age_on, mask_nik, normalize_kpj, normalize_phone, parse_nik,
                                     parse_nip)
from sponsorship.people.models import Agency, Occupation, Sponsor, Sponsorship, Worker
from sponsorship.dashboard.models import ImportBatch
from sponsorship.regions.models import RegencyConfig, Region
from sponsorship.dashboard.selectors import AdminScope
from sponsorship.people.services import people
from sponsorship.core.audit import audit_record, snapshot
from sponsorship.people.services.sponsorships import sponsorship_start


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
    Column("nip", "NIP / NI PPPK", True, ("nip", "nipnipppk", "nipppk", "nomorindukpegawai", "nipbaru"), text=True,
           width=22, note="18 digit, ketik sebagai teks (jangan sebagai angka)."),
    Column("full_name", "Nama Lengkap", True, ("nama", "namalengkap", "namaasn", "namapegawai"), width=30,
           note="Nama tanpa gelar atau dengan gelar, sesuai data kepegawaian."),
    Column("asn_type", "Jenis ASN (PNS/PPPK)", False, ("jenisasn", "statuspegawai", "jenispegawai", "jenis"),
           width=12, note="PNS atau PPPK. Jika kosong, ditentukan dari NIP."),
    Column("agency", "OPD / Unit Kerja", True, ("opd", "unitkerja", "perangkatdaerah", "instansi", "skpd"), width=36,
           note="Nama OPD, singkatan (mis. Dinkes), atau kode OPD."),
    Column("district", "Kecamatan Domisili", False, ("kecamatan", "kecamatandomisili"), width=18,
           note="Kecamatan tempat tinggal."),
    Column("village", "Desa/Kelurahan Domisili", False, ("desa", "kelurahan", "desakelurahan", "desakelurahandomisili",
                                                         "desadomisili"), width=22, note="Desa/kelurahan tempat tinggal."),
    Column("village_code", "Kode Wilayah Desa", False, ("kodewilayah", "kodedesa", "kodewilayahdesa", "kodekemendagri"),
           text=True, width=16, note="Opsional, kode Kemendagri mis. 35.02.17.1001 (mengalahkan nama desa)."),
    Column("phone", "No. HP", False, ("nohp", "nomorhp", "hp", "telepon", "notelp", "nowa", "nomorwa"), text=True,
           width=16, note="08…, 628… atau +628…, ketik sebagai teks."),
    Column("capacity", "Jumlah Pekerja Diampu (2/3)", False, ("jumlahpekerjadiampu", "jumlahpekerjadiampu23",
                                                              "kapasitas", "kuota"), width=14,
           note="2 atau 3. Jika kosong: 2."),
]

WORKER_COLUMNS = [
    Column("no", "No", width=5, note="Nomor urut (boleh kosong, tidak diimpor)."),
    Column("nik", "NIK", True, ("nik", "noktp", "nomorindukkependudukan"), text=True, width=20,
           note="16 digit, ketik sebagai teks (jangan sebagai angka)."),
    Column("full_name", "Nama Lengkap", True, ("nama", "namalengkap", "namapekerja"), width=28),
    Column("occupation", "Pekerjaan", True, ("pekerjaan", "jenispekerjaan", "profesi"), width=22,
           note="Mis. Petani, Buruh tani, Nelayan, Pengemudi ojek, Asisten rumah tangga, Lainnya."),
    Column("district", "Kecamatan", False, ("kecamatan",), width=18),
    Column("village", "Desa/Kelurahan", False, ("desa", "kelurahan", "desakelurahan"), width=22),
    Column("village_code", "Kode Wilayah Desa", False, ("kodewilayah", "kodedesa", "kodewilayahdesa"), text=True,
           width=16, note="Opsional, kode Kemendagri mis. 35.02.17.1001 (mengalahkan nama desa)."),
    Column("phone", "No. HP", False, ("nohp", "nomorhp", "hp", "telepon", "notelp", "nowa"), text=True, width=16),
    Column("decile", "Desil Kesejahteraan (1-10)", False, ("desil", "desilkesejahteraan", "desilkesejahteraan110",
                                                           "desildtks"), width=12,
           note="Dari DTKS/DTSEN, 1 = paling miskin. Boleh kosong."),
    Column("kpj", "No. KPJ", False, ("kpj", "nokpj", "nomorkpj"), text=True, width=14,
           note="11 digit, jika sudah terdaftar di BPJS Ketenagakerjaan."),
    Column("consent_channel", "Cara Persetujuan", False, ("carapersetujuan", "persetujuan", "persetujuanmelalui"),
           width=16, note="Tatap muka / Formulir kertas / Telepon. Wajib untuk pekerja baru (UU PDP)."),
    Column("consent_date", "Tanggal Persetujuan", False, ("tanggalpersetujuan", "tglpersetujuan"), width=16,
           note="DD/MM/YYYY. Wajib untuk pekerja baru."),
    Column("consent_version", "Versi Teks Persetujuan", False, ("versitekspersetujuan", "versipersetujuan"), width=14,
           note="Versi naskah persetujuan yang dibacakan/ditandatangani, mis. 2026.1. Wajib untuk pekerja baru."),
    Column("sponsor_nip", "NIP Pengampu", False, ("nippengampu", "nipasnpengampu", "pengampu"), text=True, width=22,
           note="Opsional: NIP ASN yang mengampu pekerja ini (membuat pengampuan)."),
]

COLUMNS = {ImportBatch.Kind.SPONSORS: SPONSOR_COLUMNS, ImportBatch.Kind.WORKERS: WORKER_COLUMNS}
TEMPLATE_TITLES = {ImportBatch.Kind.SPONSORS: "Templat impor data ASN pengampu",
                   ImportBatch.Kind.WORKERS: "Templat impor data pekerja rentan"}
CONSENT_CHANNELS = {
    "tatapmuka": "in_person", "langsung": "in_person", "inperson": "in_person",
    "formulirkertas": "paper", "formulir": "paper", "kertas": "paper", "paper": "paper",
    "telepon": "phone", "telp": "phone", "phone": "phone",
    "aplikasi": "app", "app": "app",
}


def _norm(text) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _place(text) -> str:
    """Village/district names as people write them: 'Desa Babadan', 'KEL. MANGKUJAYAN', 'Kec Babadan'."""
    t = str(text or "").strip().lower()
    t = re.sub(r"^(desa|kelurahan|kel\.?|ds\.?|kecamatan|kec\.?)\s+", "", t)
    return _norm(t)


# -- reading files -----------------------------------------------------------------------------------------
@dataclass
class Problem:
    row: int
    column: str
    problem: str

    def as_dict(self):
        return {"row": self.row, "column": self.column, "problem": self.problem}


class FileProblem(ApplicationError):
    """The file as a whole cannot be read; the message says what to fix."""


def _read_xlsx(content: bytes) -> list[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken or non-xlsx file
        raise FileProblem("Berkas XLSX tidak dapat dibaca. Simpan ulang sebagai Excel Workbook (.xlsx) atau CSV.",
                          code="unreadable_file") from None
    sheet = workbook.worksheets[0]
    rows = [(i, list(values)) for i, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    workbook.close()
    return rows


def _read_csv(content: bytes) -> list[tuple[int, list]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = text.split("\n", 1)[0]
    # Excel in an Indonesian locale writes ";" between columns.
    delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(i, row) for i, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise FileProblem(f"Berkas CSV rusak: {exc}", code="unreadable_file") from None


def read_table(file_name: str, content: bytes) -> list[tuple[int, list]]:
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise FileProblem(f"Berkas terlalu besar (maks. {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB).",
                          code="file_too_large")
    name = (file_name or "").lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        return _read_xlsx(content)
    if name.endswith((".csv", ".txt")):
        return _read_csv(content)
    if name.endswith(".xls"):
        raise FileProblem("Format .xls (Excel 97-2003) tidak didukung. Simpan ulang sebagai .xlsx atau CSV.",
                          code="unsupported_file")
    raise FileProblem("Jenis berkas tidak didukung: unggah .xlsx atau .csv.", code="unsupported_file")


def _blank(values) -> bool:
    return all(v is None or str(v).strip() == "" for v in values)


def _map_header(columns: list[Column], header: list, row_no: int) -> tuple[dict[str, int], list[Problem]]:
    index: dict[str, int] = {}
    by_alias = {}
    for col in columns:
        for alias in (_norm(col.header), *col.aliases):
            by_alias.setdefault(alias, col.key)
    for i, value in enumerate(header):
        key = by_alias.get(_norm(value))
        if key and key not in index:
            index[key] = i
    problems = [Problem(row_no, col.header, f"Kolom wajib '{col.header}' tidak ditemukan di baris judul.")
                for col in columns if col.required and col.key not in index]
    if not any(k in index for k in ("village", "village_code")):
        problems.append(Problem(row_no, "Desa/Kelurahan",
                                "Kolom 'Desa/Kelurahan' (dengan 'Kecamatan') atau 'Kode Wilayah Desa' harus ada."))
    return index, problems


# -- cell values ---------------------------------------------------------------------------------------------
class CellError(Exception):
    pass


def _digits_cell(value, label: str, length: int) -> str:
    """NIK/NIP must be text: Excel keeps only 15 significant digits of a number, so the last ones are lost."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if len(str(int(value))) >= 16:
            raise CellError(f"{label} tersimpan sebagai angka di Excel sehingga digit terakhirnya bisa berubah "
                            f"(tertulis {int(value)}). Format kolom sebagai Teks lalu ketik ulang {label}.")
        value = str(int(value))
    return re.sub(r"[\s.\-']", "", str(value or ""))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _phone_cell(value) -> str:
    text = _text(value)
    if isinstance(value, int | float) and text.startswith("8"):
        text = "0" + text  # the leading 0 Excel drops from a number
    return text


def _date_cell(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
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
        for v in Region.objects.filter(parent__parent=scope.regency, level=Region.Level.VILLAGE).select_related("parent"):
            self.villages_by_code[v.code] = v
            self.villages_by_name.setdefault((_place(v.parent.name), _place(v.name)), []).append(v)
            self.villages_by_only_name.setdefault(_place(v.name), []).append(v)
        for a in Agency.objects.filter(regency=scope.regency):
            for key in (a.name, a.short_name, a.code):
                if key:
                    self.agencies.setdefault(_norm(key), a)
        return self

    def village(self, code, district, name) -> Region:
        code = _text(code)
        if code:
            village = self.villages_by_code.get(code)
            if village is None:
                raise CellError(f"Kode wilayah '{code}' bukan desa/kelurahan di {self.scope.regency.name}.")
            return village
        if not _text(name):
            raise CellError("Desa/kelurahan wajib diisi (atau isi Kode Wilayah Desa).")
        if _text(district):
            found = self.villages_by_name.get((_place(district), _place(name)), [])
            if not found:
                raise CellError(f"Desa/kelurahan '{_text(name)}' di Kecamatan '{_text(district)}' tidak ditemukan "
                                f"di {self.scope.regency.name}.")
        else:
            found = self.villages_by_only_name.get(_place(name), [])
            if not found:
                raise CellError(f"Desa/kelurahan '{_text(name)}' tidak ditemukan di {self.scope.regency.name}.")
            if len(found) > 1:
                raise CellError(f"Ada {len(found)} desa/kelurahan bernama '{_text(name)}'; isi juga Kecamatan.")
        return found[0]


# -- validation ------------------------------------------------------------------------------------------------
def _get(row: list, index: dict, key: str):
    i = index.get(key)
    return row[i] if i is not None and i < len(row) else None


def _validate_sponsors(rows, index, lookups: Lookups) -> tuple[list[dict], list[Problem]]:
    scope = lookups.scope
    headers = {c.key: c.header for c in SPONSOR_COLUMNS}
    parsed_nips = {}
    problems: list[Problem] = []
    candidates = []
    for row_no, values in rows:
        errs: list[Problem] = []

        def cell(key, fn):
            try:
                return fn()
            except (CellError, IdentifierError) as exc:
                errs.append(Problem(row_no, headers[key], str(getattr(exc, "message", exc))))
                return None

        def nip_value():
            raw = _digits_cell(_get(values, index, "nip"), "NIP", 18)
            kind_text = _norm(_get(values, index, "asn_type"))
            kinds = {"pns": ["pns"], "pppk": ["pppk"], "": ["pns", "pppk"]}.get(kind_text)
            if kinds is None:
                raise CellError(f"Jenis ASN '{_text(_get(values, index, 'asn_type'))}' harus PNS atau PPPK.")
            last = None
            for kind in kinds:
                try:
                    return parse_nip(raw, kind=kind)
                except IdentifierError as exc:
                    last = exc
            raise last

        info = cell("nip", nip_value)
        name = _text(_get(values, index, "full_name"))
        if not name:
            errs.append(Problem(row_no, headers["full_name"], "Nama lengkap wajib diisi."))
        elif len(name) > 150:
            errs.append(Problem(row_no, headers["full_name"], "Nama terlalu panjang (maks. 150 huruf)."))

        def agency_value():
            text = _text(_get(values, index, "agency"))
            if not text and scope.agency:
                return scope.agency
            if not text:
                raise CellError("OPD wajib diisi.")
            agency = lookups.agencies.get(_norm(text))
            if agency is None:
                raise CellError(f"OPD '{text}' tidak dikenal di {scope.regency.name}; gunakan nama OPD resmi atau "
                                "singkatannya.")
            if scope.agency and agency.pk != scope.agency.pk:
                raise CellError(f"OPD '{text}' bukan OPD Anda ({scope.agency.name}); Anda hanya dapat mengimpor ASN "
                                "OPD Anda.")
            return agency

        agency = cell("agency", agency_value)
        village = cell("village", lambda: lookups.village(_get(values, index, "village_code"),
                                                          _get(values, index, "district"),
                                                          _get(values, index, "village")))
        phone = cell("phone", lambda: normalize_phone(_phone_cell(_get(values, index, "phone")))
                     if _text(_get(values, index, "phone")) else "")

        def capacity_value():
            text = _text(_get(values, index, "capacity"))
            if text in ("", "2"):
                return 2
            if text == "3":
                return 3
            raise CellError(f"Jumlah pekerja diampu harus 2 atau 3 (tertulis '{text}').")

        capacity = cell("capacity", capacity_value)
        if info is not None:
            if info.nip in parsed_nips:
                errs.append(Problem(row_no, headers["nip"], f"NIP {info.nip} sudah ada di baris {parsed_nips[info.nip]} "
                                                            "berkas ini."))
            else:
                parsed_nips[info.nip] = row_no
        if errs:
            problems.extend(errs)
            continue
        candidates.append({"row": row_no, "nip": info.nip, "asn_type": info.kind, "full_name": name,
                           "agency_id": agency.pk, "village_id": village.pk, "phone": phone, "capacity": capacity})
    # Existing sponsors: the same NIP updates, unless it belongs elsewhere.
    existing = {s.nip: s for s in Sponsor.objects.filter(nip__in=[c["nip"] for c in candidates])
                .select_related("agency")}
    valid = []
    for c in candidates:
        current = existing.get(c["nip"])
        if current is not None:
            if current.agency.regency_id != scope.regency.pk:
                problems.append(Problem(c["row"], headers["nip"], "NIP ini terdaftar di kabupaten/kota lain."))
                continue
            if scope.agency and current.agency_id != scope.agency.pk:
                problems.append(Problem(c["row"], headers["nip"], "NIP ini terdaftar di OPD lain; minta admin "
                                                                  "kabupaten untuk memindahkannya."))
                continue
            if c["capacity"] < current.active_sponsorships:
                problems.append(Problem(c["row"], headers["capacity"], f"ASN ini sudah mengampu "
                                        f"{current.active_sponsorships} pekerja; jumlah tidak boleh lebih kecil."))
                continue
        c["action"] = "update" if current else "create"
        valid.append(c)
    return valid, problems


def _validate_workers(rows, index, lookups: Lookups) -> tuple[list[dict], list[Problem]]:
    scope = lookups.scope
    headers = {c.key: c.header for c in WORKER_COLUMNS}
    occupations = {}
    for o in Occupation.objects.all():
        for key in (o.code, o.name, o.name_en):
            if key:
                occupations.setdefault(_norm(key), o)
    config = RegencyConfig.objects.filter(regency=scope.regency).first()
    max_age = config.max_new_member_age if config else 65
    today = timezone.localdate()
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    candidates = []
    for row_no, values in rows:
        errs: list[Problem] = []

        def cell(key, fn):
            try:
                return fn()
            except (CellError, IdentifierError) as exc:
                errs.append(Problem(row_no, headers[key], str(getattr(exc, "message", exc))))
                return None

        info = cell("nik", lambda: parse_nik(_digits_cell(_get(values, index, "nik"), "NIK", 16), today=today))
        name = _text(_get(values, index, "full_name"))
        if not name:
            errs.append(Problem(row_no, headers["full_name"], "Nama lengkap wajib diisi."))

        def occupation_value():
            text = _text(_get(values, index, "occupation"))
            if not text:
                raise CellError("Pekerjaan wajib diisi (gunakan 'Lainnya' bila tidak ada yang cocok).")
            found = occupations.get(_norm(text))
            if found is None:
                matches = [o for k, o in occupations.items() if _norm(text) in k]
                if len({m.pk for m in matches}) == 1:
                    return matches[0]
                raise CellError(f"Pekerjaan '{text}' tidak dikenal; lihat daftar pekerjaan di lembar Petunjuk.")
            return found

        occupation = cell("occupation", occupation_value)
        village = cell("village", lambda: lookups.village(_get(values, index, "village_code"),
                                                          _get(values, index, "district"),
                                                          _get(values, index, "village")))
        phone = cell("phone", lambda: normalize_phone(_phone_cell(_get(values, index, "phone")))
                     if _text(_get(values, index, "phone")) else "")

        def decile_value():
            text = _text(_get(values, index, "decile"))
            if not text:
                return None
            if not text.isdigit() or not 1 <= int(text) <= 10:
                raise CellError(f"Desil harus angka 1–10 (tertulis '{text}').")
            return int(text)

        decile = cell("decile", decile_value)
        kpj = cell("kpj", lambda: normalize_kpj(_text(_get(values, index, "kpj")))
                   if _text(_get(values, index, "kpj")) else "")

        def channel_value():
            text = _norm(_get(values, index, "consent_channel"))
            if not text:
                return ""
            if text not in CONSENT_CHANNELS:
                raise CellError(f"Cara persetujuan '{_text(_get(values, index, 'consent_channel'))}' harus Tatap "
                                "muka, Formulir kertas, atau Telepon.")
            return CONSENT_CHANNELS[text]

        channel = cell("consent_channel", channel_value)

        def consent_date_value():
            day = _date_cell(_get(values, index, "consent_date"))
            if day and day > today:
                raise CellError("Tanggal persetujuan tidak boleh di masa depan.")
            return day

        consent_date = cell("consent_date", consent_date_value)
        version = _text(_get(values, index, "consent_version"))[:20]
        sponsor_nip = cell("sponsor_nip", lambda: _digits_cell(_get(values, index, "sponsor_nip"), "NIP", 18))
        if info is not None:
            if info.nik in seen:
                errs.append(Problem(row_no, headers["nik"], f"NIK {mask_nik(info.nik)} sudah ada di baris "
                                                            f"{seen[info.nik]} berkas ini."))
            else:
                seen[info.nik] = row_no
        if errs:
            problems.extend(errs)
            continue
        candidates.append({
            "row": row_no, "nik": info.nik, "nik_hash": keyed_hash(info.nik), "birth_date": info.birth_date,
            "full_name": name, "occupation_id": occupation.pk, "village_id": village.pk, "phone": phone,
            "welfare_decile": decile, "kpj": kpj, "consent_channel": channel,
            "consent_date": consent_date.isoformat() if consent_date else None, "consent_version": version,
            "sponsor_nip": sponsor_nip or "",
        })
    existing = {w.nik_hash: w for w in Worker.objects.filter(nik_hash__in=[c["nik_hash"] for c in candidates])
                .select_related("village__parent")}
    active = {s.worker_id: s for s in Sponsorship.objects.filter(
        status=Sponsorship.Status.ACTIVE, worker__nik_hash__in=[c["nik_hash"] for c in candidates])
        .select_related("sponsor")}
    sponsors = {s.nip: s for s in Sponsor.objects.filter(nip__in=[c["sponsor_nip"] for c in candidates
                                                                  if c["sponsor_nip"]]).select_related("agency")}
    planned: dict[int, int] = {}  # sponsor -> new sponsorships this file would add
    valid = []
    for c in candidates:
        current = existing.get(c.pop("nik_hash"))
        row = c["row"]
        if current is not None and current.village.parent.parent_id != scope.regency.pk:
            problems.append(Problem(row, headers["nik"], "NIK ini terdaftar sebagai pekerja di kabupaten/kota lain."))
            continue
        if current is None:
            missing = [(k, m) for k, m in (("consent_channel", "Cara persetujuan"), ("consent_date", "Tanggal "
                                                                                     "persetujuan"),
                                           ("consent_version", "Versi teks persetujuan")) if not c[k]]
            for key, label in missing:
                problems.append(Problem(row, headers[key], f"{label} wajib diisi untuk pekerja baru (bukti "
                                                           "persetujuan pekerja, UU PDP)."))
            age = age_on(c["birth_date"], today)
            if age >= max_age:
                problems.append(Problem(row, headers["nik"], f"Usia menurut NIK {age} tahun; peserta baru harus "
                                                             f"di bawah {max_age} tahun."))
            if missing or age >= max_age:
                continue
        sponsor = None
        if c["sponsor_nip"]:
            sponsor = sponsors.get(c["sponsor_nip"])
            if sponsor is None or sponsor.agency.regency_id != scope.regency.pk:
                problems.append(Problem(row, headers["sponsor_nip"], f"ASN dengan NIP {c['sponsor_nip']} belum "
                                                                     "terdaftar; impor data ASN terlebih dahulu."))
                continue
            if scope.agency and sponsor.agency_id != scope.agency.pk:
                problems.append(Problem(row, headers["sponsor_nip"], "ASN pengampu bukan dari OPD Anda."))
                continue
            holding = active.get(current.pk) if current else None
            if holding and holding.sponsor_id != sponsor.pk:
                problems.append(Problem(row, headers["sponsor_nip"], "Pekerja ini sudah diampu ASN lain; akhiri "
                                                                     "pengampuan lama terlebih dahulu."))
                continue
            if not holding:
                used = sponsor.active_sponsorships + planned.get(sponsor.pk, 0)
                if used >= sponsor.capacity or sponsor.status != Sponsor.Status.ACTIVE:
                    problems.append(Problem(row, headers["sponsor_nip"], f"Kuota ASN {sponsor.full_name} sudah penuh "
                                                                         f"({sponsor.capacity} pekerja) atau ASN tidak "
                                                                         "aktif."))
                    continue
                planned[sponsor.pk] = planned.get(sponsor.pk, 0) + 1
        elif scope.agency:
            problems.append(Problem(row, headers["sponsor_nip"], "Admin OPD wajib mengisi NIP Pengampu dari OPD Anda."))
            continue
        c["birth_date"] = str(c["birth_date"])
        c["action"] = "update" if current else "create"
        valid.append(c)
    return valid, problems


VALIDATORS = {ImportBatch.Kind.SPONSORS: _validate_sponsors, ImportBatch.Kind.WORKERS: _validate_workers}


def validate_rows(kind: str, file_name: str, content: bytes, scope: AdminScope) -> tuple[int, list[dict], list[Problem]]:
    table = read_table(file_name, content)
    table = [(n, v) for n, v in table if not _blank(v)]
    if not table:
        raise FileProblem("Berkas kosong: tidak ada baris judul maupun data.", code="empty_file")
    header_no, header = table[0]
    index, problems = _map_header(COLUMNS[kind], header, header_no)
    if problems:
        return 0, [], problems
    rows = table[1:]
    if not rows:
        raise FileProblem("Berkas hanya berisi baris judul; belum ada data.", code="empty_file")
    if len(rows) > settings.IMPORT_MAX_ROWS:
        raise FileProblem(f"Terlalu banyak baris ({len(rows)}); maks. {settings.IMPORT_MAX_ROWS} per berkas.",
                          code="too_many_rows")
    valid, problems = VALIDATORS[kind](rows, index, Lookups.load(scope))
    problems.sort(key=lambda p: p.row)
    return len(rows), valid, problems


# -- services --------------------------------------------------------------------------------------------------
def import_preview(*, actor, scope: AdminScope, kind: str, file_name: str, content: bytes,
                   ip: str | None = None) -> ImportBatch:
    """Validate a file and store it as a batch waiting for confirmation. Writes nothing else."""
    if kind not in COLUMNS:
        raise ApplicationError(_("Unknown import kind."), code="invalid",
                               extra={"fields": {"kind": [str(_("Choose sponsors or workers."))]}})
    with translation.override("id"):  # the report is in Indonesian, whatever the request language
        total, valid, problems = validate_rows(kind, file_name, content, scope)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            kind=kind, file_name=(file_name or "")[:200], created_by=actor, regency=scope.regency, agency=scope.agency,
            total_rows=total, valid_rows=len(valid), problems=[p.as_dict() for p in problems],
            payload=json.dumps(valid, default=str),
        )
        audit_record(actor=actor, action="import.preview", obj=batch, ip=ip,
                     extra={"kind": kind, "file": batch.file_name, "rows": total, "valid": len(valid),
                            "problems": len(problems)})
    return batch


def _apply_sponsor(row: dict, actor) -> str:
    current = Sponsor.objects.select_for_update().filter(nip=row["nip"]).first()
    if current is None:
        people.sponsor_create(nip=row["nip"], asn_type=row["asn_type"], full_name=row["full_name"],
                              agency=Agency.objects.get(pk=row["agency_id"]), home_village=Region.objects.get(
                                  pk=row["village_id"]), capacity=row["capacity"], phone=row["phone"], actor=actor)
        return "created"
    fields = ["full_name", "agency", "home_village", "capacity", "phone"]
    before = snapshot(current, ["full_name", "agency", "home_village", "capacity"])
    new = {"full_name": row["full_name"], "agency_id": row["agency_id"], "home_village_id": row["village_id"],
           "capacity": row["capacity"], "phone": row["phone"] or current.phone}
    changed = [k for k, v in new.items() if getattr(current, k) != v]
    if not changed:
        return "unchanged"
    if row["capacity"] < current.active_sponsorships:
        raise ApplicationError(f"ASN ini sudah mengampu {current.active_sponsorships} pekerja.")
    for key, value in new.items():
        setattr(current, key, value)
    if "phone" in changed:
        current.phone_hash = keyed_hash(current.phone) if current.phone else ""
        changed.append("phone_hash")
    current.save(update_fields=[f.removesuffix("_id") if f.endswith("_id") else f for f in changed] + ["updated_at"])
    audit_record(actor=actor, action="sponsor.update", obj=current, before=before,
                 after=snapshot(current, ["full_name", "agency", "home_village", "capacity"]),
                 extra={"source": "import", "fields": [f for f in changed if f in fields or f.endswith("_id")]})
    return "updated"


def _apply_worker(row: dict, actor) -> str:
    current = Worker.objects.select_for_update().filter(nik_hash=keyed_hash(row["nik"])).first()
    outcome = "unchanged"
    if current is None:
        current = people.worker_create(
            nik=row["nik"], full_name=row["full_name"], occupation=Occupation.objects.get(pk=row["occupation_id"]),
            village=Region.objects.get(pk=row["village_id"]), phone=row["phone"], welfare_decile=row["welfare_decile"],
            kpj=row["kpj"], actor=actor,
            consent={"channel": row["consent_channel"], "text_version": row["consent_version"],
                     "collected_at": timezone.make_aware(dt.datetime.fromisoformat(row["consent_date"]))})
        outcome = "created"
    else:
        wanted = {"full_name": row["full_name"], "occupation": Occupation.objects.get(pk=row["occupation_id"]),
                  "village": Region.objects.get(pk=row["village_id"]), "welfare_decile": row["welfare_decile"]}
        if row["phone"]:
            wanted["phone"] = row["phone"]
        if row["kpj"]:
            wanted["kpj"] = row["kpj"]
        changes = {k: v for k, v in wanted.items() if getattr(current, k) != v}
        if changes:
            people.worker_update(worker=current, actor=actor, **changes)
            outcome = "updated"
    if row.get("sponsor_nip"):
        sponsor = Sponsor.objects.get(nip=row["sponsor_nip"])
        holding = Sponsorship.objects.filter(worker=current, status=Sponsorship.Status.ACTIVE).first()
        if holding is None:
            sponsorship_start(sponsor=sponsor, worker=current, source=Sponsorship.Source.IMPORT, actor=actor)
            outcome = "created" if outcome == "created" else "updated"
        elif holding.sponsor_id != sponsor.pk:
            raise ApplicationError("Pekerja ini sudah diampu ASN lain.")
    return outcome


APPLIERS = {ImportBatch.Kind.SPONSORS: _apply_sponsor, ImportBatch.Kind.WORKERS: _apply_worker}


def import_confirm(*, batch: ImportBatch, actor, mode: str = ImportBatch.Mode.ALL, ip: str | None = None) -> dict:
    """Apply a previewed batch once. Returns {created, updated, unchanged, skipped, problems}."""
    if mode not in ImportBatch.Mode.values:
        raise ApplicationError(_("Unknown import mode."), code="invalid")
    with translation.override("id"):
        return _confirm(batch=batch, actor=actor, mode=mode, ip=ip)


def _confirm(*, batch, actor, mode, ip):
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != ImportBatch.Status.PREVIEWED:
            raise ApplicationError(_("This import was already applied or discarded."), code="already_done",
                                   status_code=409)
        if mode == ImportBatch.Mode.ALL and locked.problems:
            raise ApplicationError(_(
                "%(error_rows)s rows have problems: fix the file, or choose 'valid rows only'.")
                                   % {"error_rows": locked.error_rows},
                code="has_problems", status_code=409)
        rows = json.loads(locked.payload or "[]")
        counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": len({p["row"] for p in locked.problems})}
        late_problems: list[dict] = []
        apply = APPLIERS[locked.kind]
        for row in rows:
            try:
                with transaction.atomic():  # a savepoint per row
                    counts[apply(row, actor)] += 1
            except ApplicationError as exc:
                if mode == ImportBatch.Mode.ALL:
                    late_problems.append({"row": row["row"], "column": "", "problem": str(exc.message)})
                    break
                late_problems.append({"row": row["row"], "column": "", "problem": str(exc.message)})
                counts["skipped"] += 1
        if late_problems and mode == ImportBatch.Mode.ALL:
            transaction.set_rollback(True)
        else:
            locked.status = ImportBatch.Status.APPLIED
            locked.mode = mode
            locked.applied_at = timezone.now()
            locked.result = {**counts, "late_problems": late_problems}
            updated = ImportBatch.objects.filter(pk=locked.pk, status=ImportBatch.Status.PREVIEWED).update(
                status=locked.status, mode=mode, applied_at=locked.applied_at, result=locked.result)
            if not updated:  # cannot happen under the row lock; kept as the state machine's guard
                raise ApplicationError("Impor ini sudah diproses.", code="already_done", status_code=409)
            audit_record(actor=actor, action="import.apply", obj=locked, ip=ip,
                         extra={"kind": locked.kind, "mode": mode, **counts, "late_problems": len(late_problems)})
            from sponsorship.dashboard.selectors import dashboard_invalidate
            regency_id = locked.regency_id
            transaction.on_commit(lambda: dashboard_invalidate(regency_id))
    if late_problems and mode == ImportBatch.Mode.ALL:
        # Nothing was written; record what went wrong so the admin sees it in the report.
        ImportBatch.objects.filter(pk=batch.pk).update(problems=batch.problems + late_problems,
                                                       valid_rows=max(batch.valid_rows - len(late_problems), 0))
        batch.refresh_from_db()
        raise ApplicationError(_("The import was rolled back: a row failed while saving. See the report."),
                               code="rolled_back", status_code=409, extra={"problems": late_problems})
    batch.refresh_from_db()
    return batch.result


def import_discard(*, batch: ImportBatch, actor, ip: str | None = None) -> bool:
    with transaction.atomic():
        done = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEWED).update(
            status=ImportBatch.Status.DISCARDED, payload="")
        if done:
            audit_record(actor=actor, action="import.discard", obj=batch, ip=ip)
    batch.refresh_from_db()
    return bool(done)


# -- templates -------------------------------------------------------------------------------------------------
def template_csv(kind: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([c.header for c in COLUMNS[kind]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

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
