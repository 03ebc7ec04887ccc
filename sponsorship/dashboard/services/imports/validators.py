"""Row validation: every cell of every row checked against the identifiers' rules and the regency's reference data.

The result is the rows ready to write (plain JSON-able dicts, keyed by NIP / NIK) and the problems as (row, column,
message) in Indonesian. Nothing is written here.
"""

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors import AdminScope
from sponsorship.people.crypto import keyed_hash, keyed_hashes
from sponsorship.people.identifiers import (
    IdentifierError,
    age_on,
    is_ascii_digits,
    mask_nik,
    normalize_kpj,
    parse_nik,
    parse_nip,
)
from sponsorship.people.models import Agency, Occupation, Sponsor, Sponsorship, Worker
from sponsorship.people.scoping import scope as people_scope
from sponsorship.people.services.people import CONSENT_EARLIEST
from sponsorship.regions.models import RegencyConfig

from .cells import CellError, Lookups, RowCells, date_cell, digits_cell, optional
from .dtsen import kk_cell, validate_dtsen
from .readers import SPONSOR_COLUMNS, WORKER_COLUMNS, Problem, squash

CONSENT_CHANNELS = {
    "tatapmuka": "in_person",
    "langsung": "in_person",
    "inperson": "in_person",
    "formulirkertas": "paper",
    "formulir": "paper",
    "kertas": "paper",
    "paper": "paper",
    "telepon": "phone",
    "telp": "phone",
    "phone": "phone",
    "aplikasi": "app",
    "app": "app",
}

# "Boleh Dihubungi Lewat": WA, SMS, WA+SMS (also "WhatsApp", "WA dan SMS", "WA/SMS"), squashed before the lookup.
CONTACT_CHANNEL_WORDS = {"wa": "whatsapp", "whatsapp": "whatsapp", "sms": "sms"}


# -- sponsors ------------------------------------------------------------------------------------------------
def _sponsor_nip(cells: RowCells):
    raw = digits_cell(cells.raw("nip"), "NIP")
    kinds = {"pns": ["pns"], "pppk": ["pppk"], "": ["pns", "pppk"]}.get(squash(cells.raw("asn_type")))
    if kinds is None:
        raise CellError(f"Jenis ASN '{cells.text('asn_type')}' harus PNS atau PPPK.")
    last: IdentifierError | None = None
    for kind in kinds:
        try:
            return parse_nip(raw, kind=kind)
        except IdentifierError as exc:
            last = exc
    assert last is not None  # kinds is never empty
    raise last


def _sponsor_agency(cells: RowCells, lookups: Lookups) -> Agency:
    scope = lookups.scope
    text = cells.text("agency")
    if not text and scope.agency:
        return scope.agency
    if not text:
        raise CellError("OPD wajib diisi.")
    agency = lookups.agencies.get(squash(text))
    if agency is None:
        raise CellError(
            f"OPD '{text}' tidak dikenal di {scope.regency.name}; gunakan nama OPD resmi atau singkatannya."
        )
    if scope.agency and agency.pk != scope.agency.pk:
        raise CellError(f"OPD '{text}' bukan OPD Anda ({scope.agency.name}); Anda hanya dapat mengimpor ASN OPD Anda.")
    return agency


def _capacity(cells: RowCells) -> int:
    text = cells.text("capacity")
    if text in ("", "2"):
        return 2
    if text == "3":
        return 3
    raise CellError(f"Jumlah pekerja diampu harus 2 atau 3 (tertulis '{text}').")


def _validate_sponsors(rows, index, lookups: Lookups) -> tuple[list[dict], list[Problem]]:
    scope = lookups.scope
    headers = {c.key: c.header for c in SPONSOR_COLUMNS}
    parsed_nips: dict[str, int] = {}
    problems: list[Problem] = []
    candidates = []
    for row_no, values in rows:
        cells = RowCells(row_no, values, index, headers)
        info = cells.parse("nip", _sponsor_nip, cells)
        name = cells.full_name(max_length=Sponsor._meta.get_field("full_name").max_length)
        agency = cells.parse("agency", _sponsor_agency, cells, lookups)
        village = cells.village(lookups)
        phone = cells.phone()
        capacity = cells.parse("capacity", _capacity, cells)
        if info is not None:
            cells.once_in_file("nip", info.nip, parsed_nips, f"NIP {info.nip}")
        if cells.problems:
            problems.extend(cells.problems)
            continue
        assert village is not None  # a missing village is a problem of the row
        candidates.append(
            {
                "row": row_no,
                "nip": info.nip,
                "asn_type": info.kind,
                "full_name": name,
                "agency_id": agency.pk,
                "village_id": village.pk,
                "phone": phone,
                "capacity": capacity,
            }
        )
    # Existing sponsors: the same NIP updates, unless it belongs elsewhere.
    existing = {
        s.nip: s for s in Sponsor.objects.filter(nip__in=[c["nip"] for c in candidates]).select_related("agency")
    }
    valid = []
    for c in candidates:
        current = existing.get(c["nip"])
        if current is not None:
            if current.agency.regency_id != scope.regency.pk:
                problems.append(Problem(c["row"], headers["nip"], "NIP ini terdaftar di kabupaten/kota lain."))
                continue
            if scope.agency and current.agency_id != scope.agency.pk:
                problems.append(
                    Problem(
                        c["row"],
                        headers["nip"],
                        "NIP ini terdaftar di OPD lain; minta admin kabupaten untuk memindahkannya.",
                    )
                )
                continue
            if c["capacity"] < current.active_sponsorships:
                problems.append(
                    Problem(
                        c["row"],
                        headers["capacity"],
                        f"ASN ini sudah mengampu "
                        f"{current.active_sponsorships} pekerja; jumlah tidak boleh lebih kecil.",
                    )
                )
                continue
        c["action"] = "update" if current else "create"
        valid.append(c)
    return valid, problems


# -- workers -------------------------------------------------------------------------------------------------
def _worker_nik(cells: RowCells, today: dt.date):
    return parse_nik(digits_cell(cells.raw("nik"), "NIK"), today=today)


def _worker_occupation(cells: RowCells, occupations: dict[str, Occupation]) -> Occupation:
    text = cells.text("occupation")
    if not text:
        raise CellError("Pekerjaan wajib diisi (gunakan 'Lainnya' bila tidak ada yang cocok).")
    found = occupations.get(squash(text))
    if found is None:
        matches = [o for k, o in occupations.items() if squash(text) in k]
        if len({m.pk for m in matches}) == 1:
            return matches[0]
        raise CellError(f"Pekerjaan '{text}' tidak dikenal; lihat daftar pekerjaan di lembar Petunjuk.")
    return found


def _decile(cells: RowCells) -> int | None:
    text = cells.text("decile")
    if not text:
        return None
    if not is_ascii_digits(text) or not 1 <= int(text) <= 10:
        raise CellError(f"Desil harus angka 1–10 (tertulis '{text}').")
    return int(text)


def _consent_channel(cells: RowCells) -> str:
    text = squash(cells.raw("consent_channel"))
    if not text:
        return ""
    if text not in CONSENT_CHANNELS:
        raise CellError(
            f"Cara persetujuan '{cells.text('consent_channel')}' harus Tatap muka, Formulir kertas, atau Telepon."
        )
    return CONSENT_CHANNELS[text]


def _contact_channels(cells: RowCells) -> list[str]:
    text = cells.text("contact_channels").lower()
    words = [w for w in text.replace("+", " ").replace("/", " ").replace(",", " ").split() if w not in ("dan", "&")]
    if any(squash(w) not in CONTACT_CHANNEL_WORDS for w in words):
        raise CellError(f"Boleh dihubungi lewat '{cells.text('contact_channels')}' harus WA, SMS, atau WA+SMS.")
    wanted = {CONTACT_CHANNEL_WORDS[squash(w)] for w in words}
    return [ch for ch in ("whatsapp", "sms") if ch in wanted]


def _consent_date(cells: RowCells, today: dt.date) -> dt.date | None:
    day = date_cell(cells.raw("consent_date"))
    if day and day > today:
        raise CellError("Tanggal persetujuan tidak boleh di masa depan.")
    if day and day < CONSENT_EARLIEST:
        raise CellError(f"Tanggal persetujuan tidak boleh sebelum {CONSENT_EARLIEST:%d/%m/%Y}.")
    return day


def _worker_candidates(rows, index, lookups: Lookups, today: dt.date) -> tuple[list[dict], list[Problem]]:
    headers = {c.key: c.header for c in WORKER_COLUMNS}
    occupations: dict[str, Occupation] = {}
    for o in Occupation.objects.all():
        for key in (o.code, o.name, o.name_en):
            if key:
                occupations.setdefault(squash(key), o)
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    candidates = []
    for row_no, values in rows:
        cells = RowCells(row_no, values, index, headers)
        info = cells.parse("nik", _worker_nik, cells, today)
        name = cells.full_name(max_length=Worker._meta.get_field("full_name").max_length)
        occupation = cells.parse("occupation", _worker_occupation, cells, occupations)
        village = cells.village(lookups)
        phone = cells.phone()
        contact_channels = cells.parse("contact_channels", _contact_channels, cells)
        decile = cells.parse("decile", _decile, cells)
        kpj = cells.parse("kpj", optional, normalize_kpj, cells.text("kpj"))
        channel = cells.parse("consent_channel", _consent_channel, cells)
        consent_date = cells.parse("consent_date", _consent_date, cells, today)
        version = cells.text("consent_version")[:20]
        sponsor_nip = cells.parse("sponsor_nip", digits_cell, cells.raw("sponsor_nip"), "NIP")
        kk = cells.parse("kk", kk_cell, cells)
        if info is not None:
            cells.once_in_file("nik", info.nik, seen, f"NIK {mask_nik(info.nik)}")
        if cells.problems:
            problems.extend(cells.problems)
            continue
        assert village is not None  # a missing village is a problem of the row
        candidates.append(
            {
                "row": row_no,
                "nik": info.nik,
                "nik_hash": keyed_hash(info.nik),
                "birth_date": info.birth_date,
                "full_name": name,
                "occupation_id": occupation.pk,
                "village_id": village.pk,
                "phone": phone,
                "contact_channels": contact_channels or [],
                "welfare_decile": decile,
                "kpj": kpj,
                "consent_channel": channel,
                "consent_date": consent_date.isoformat() if consent_date else None,
                "consent_version": version,
                "sponsor_nip": sponsor_nip or "",
                "kk": kk or "",
            }
        )
    return candidates, problems


def _regency_id_of(worker: Worker) -> int | None:
    district = worker.village.parent
    assert district is not None  # a village sits in a district
    return district.parent_id


def _validate_workers(rows, index, lookups: Lookups) -> tuple[list[dict], list[Problem]]:
    scope = lookups.scope
    headers = {c.key: c.header for c in WORKER_COLUMNS}
    config = RegencyConfig.objects.filter(regency=scope.regency).first()
    max_age = config.max_new_member_age if config else 65
    today = timezone.localdate()
    candidates, problems = _worker_candidates(rows, index, lookups, today)
    # Every hash of each NIK (current key, then previous ones while rotate_pii_keys runs).
    hashes = {c["nik_hash"]: keyed_hashes(c["nik"]) for c in candidates}
    every_hash = [h for hs in hashes.values() for h in hs]
    found = {w.nik_hash: w for w in Worker.objects.filter(nik_hash__in=every_hash).select_related("village__parent")}
    existing = {key: next((found[h] for h in hs if h in found), None) for key, hs in hashes.items()}
    active = {
        s.worker_id: s
        for s in Sponsorship.objects.filter(
            status=Sponsorship.Status.ACTIVE, worker__nik_hash__in=every_hash
        ).select_related("sponsor")
    }
    sponsors = {
        s.nip: s
        for s in Sponsor.objects.filter(
            nip__in=[c["sponsor_nip"] for c in candidates if c["sponsor_nip"]]
        ).select_related("agency")
    }
    # An agency admin is told nothing about a worker outside their scope (issue 14): such a NIK reads exactly as a
    # new one (the same checks, "create"); at confirm the row goes to the regency admin as a nomination.
    hidden: set[int] = set()
    if scope.agency is not None:
        known = {w.pk for w in existing.values() if w is not None}
        hidden = known - set(people_scope(Worker.objects.filter(pk__in=known), scope.user).values_list("pk", flat=True))
    planned: dict[int, int] = {}  # sponsor -> new sponsorships this file would add
    valid = []
    for c in candidates:
        current = existing.get(c.pop("nik_hash"))
        if current is not None and current.pk in hidden:
            current = None
        row = c["row"]
        if current is not None and _regency_id_of(current) != scope.regency.pk:
            problems.append(Problem(row, headers["nik"], "NIK ini terdaftar sebagai pekerja di kabupaten/kota lain."))
            continue
        if c["contact_channels"] and not c["phone"] and not (current is not None and current.phone_hash):
            problems.append(
                Problem(row, headers["phone"], "No. HP wajib diisi jika pekerja boleh dihubungi lewat WA/SMS.")
            )
            continue
        if current is None:
            missing = [
                (k, m)
                for k, m in (
                    ("consent_channel", "Cara persetujuan"),
                    ("consent_date", "Tanggal persetujuan"),
                    ("consent_version", "Versi teks persetujuan"),
                )
                if not c[k]
            ]
            for key, label in missing:
                problems.append(
                    Problem(
                        row,
                        headers[key],
                        f"{label} wajib diisi untuk pekerja baru (bukti persetujuan pekerja, UU PDP).",
                    )
                )
            age = age_on(c["birth_date"], today)
            if age >= max_age:
                problems.append(
                    Problem(
                        row,
                        headers["nik"],
                        f"Usia menurut NIK {age} tahun; peserta baru harus di bawah {max_age} tahun.",
                    )
                )
            if missing or age >= max_age:
                continue
        sponsor = None
        if c["sponsor_nip"]:
            sponsor = sponsors.get(c["sponsor_nip"])
            if sponsor is None or sponsor.agency.regency_id != scope.regency.pk:
                problems.append(
                    Problem(
                        row,
                        headers["sponsor_nip"],
                        f"ASN dengan NIP {c['sponsor_nip']} belum terdaftar; impor data ASN terlebih dahulu.",
                    )
                )
                continue
            if scope.agency and sponsor.agency_id != scope.agency.pk:
                problems.append(Problem(row, headers["sponsor_nip"], "ASN pengampu bukan dari OPD Anda."))
                continue
            holding = active.get(current.pk) if current else None
            if holding and holding.sponsor_id != sponsor.pk:
                problems.append(
                    Problem(
                        row,
                        headers["sponsor_nip"],
                        "Pekerja ini sudah diampu ASN lain; akhiri pengampuan lama terlebih dahulu.",
                    )
                )
                continue
            if not holding:
                used = sponsor.active_sponsorships + planned.get(sponsor.pk, 0)
                if used >= sponsor.capacity or sponsor.status != Sponsor.Status.ACTIVE:
                    problems.append(
                        Problem(
                            row,
                            headers["sponsor_nip"],
                            f"Kuota ASN {sponsor.full_name} sudah penuh "
                            f"({sponsor.capacity} pekerja) atau ASN tidak "
                            "aktif.",
                        )
                    )
                    continue
                planned[sponsor.pk] = planned.get(sponsor.pk, 0) + 1
        elif scope.agency:
            problems.append(Problem(row, headers["sponsor_nip"], "Admin OPD wajib mengisi NIP Pengampu dari OPD Anda."))
            continue
        c["birth_date"] = str(c["birth_date"])
        c["action"] = "update" if current else "create"
        valid.append(c)
    return valid, problems


_VALIDATORS: dict[str, Callable[..., tuple[list[dict], list[Problem]]]] = {
    ImportBatch.Kind.SPONSORS: _validate_sponsors,
    ImportBatch.Kind.WORKERS: _validate_workers,
    ImportBatch.Kind.DTSEN: validate_dtsen,
}


def validate_rows(
    kind: str, rows: list[tuple[int, list]], index: dict[str, int], scope: AdminScope
) -> tuple[list[dict], list[Problem]]:
    """The rows ready to write and the problems, sorted by row."""
    valid, problems = _VALIDATORS[kind](rows, index, Lookups.load(scope))
    problems.sort(key=lambda p: p.row)
    return valid, problems
