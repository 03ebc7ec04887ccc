"""Import Kemendagri regions from a `kode,nama` CSV (the format of ../shared/data/regions/wilayah.csv).

All rows are read and validated before anything is written; the write is one transaction, so a
malformed row leaves the database as it was. Re-imports update names, add new codes and never
delete (a code referenced by a worker, sponsor or agency must stay).
"""
import csv
import io
import re
from dataclasses import dataclass, field

from django.db import transaction

from sponsorship.regions.models import Region

CODE_RE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


class RegionFileError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:10]))
        self.problems = problems


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    by_level: dict = field(default_factory=dict)


def _read_rows(handle, only: str | None) -> list[tuple[int, str, str]]:
    reader = csv.reader(handle)
    problems: list[str] = []
    rows: list[tuple[int, str, str]] = []
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:2]] != ["kode", "nama"]:
        raise RegionFileError(["baris 1: header harus 'kode,nama' / line 1: the header must be 'kode,nama'"])
    prefixes = None
    if only:
        parts = only.split(".")
        prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    seen: set[str] = set()
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2:
            problems.append(f"baris {line_no}: harus 2 kolom (kode,nama), ada {len(row)}")
            continue
        code, name = row[0].strip(), row[1].strip()
        if not CODE_RE.match(code):
            problems.append(f"baris {line_no}: kode '{code}' tidak berformat PP.KK.CC.XDDD")
            continue
        if not name:
            problems.append(f"baris {line_no}: nama kosong untuk kode {code}")
            continue
        if code in seen:
            problems.append(f"baris {line_no}: kode {code} muncul dua kali")
            continue
        seen.add(code)
        if prefixes is not None and not (code in prefixes or code.startswith(only + ".") or code == only):
            continue
        rows.append((line_no, code, name))
    if problems:
        raise RegionFileError(problems)
    return rows


def import_regions(source, *, only: str | None = None, batch_size: int = 5000) -> ImportReport:
    """`source` is a path or a text stream."""
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            rows = _read_rows(handle, only)
    else:
        rows = _read_rows(source if not isinstance(source, io.BufferedIOBase) else io.TextIOWrapper(source), only)

    report = ImportReport(read=len(rows))
    by_level: dict[int, list[tuple[int, str, str]]] = {}
    for row in rows:
        by_level.setdefault(Region.level_of(row[1]), []).append(row)

    with transaction.atomic():
        existing = {code: (pk, name) for pk, code, name in Region.objects.values_list("id", "code", "name")}
        file_codes = {code for _, code, _ in rows}
        missing_parents = []
        for line_no, code, _ in rows:
            parent = code.rsplit(".", 1)[0] if "." in code else None
            if parent and parent not in file_codes and parent not in existing:
                missing_parents.append(f"baris {line_no}: induk {parent} dari kode {code} tidak ada")
        if missing_parents:
            raise RegionFileError(missing_parents)

        ids = {code: pk for code, (pk, _) in existing.items()}
        for level in sorted(by_level):
            new_objs, changed = [], []
            for _, code, name in by_level[level]:
                parent_code = code.rsplit(".", 1)[0] if "." in code else None
                if code in existing:
                    pk, old_name = existing[code]
                    if old_name != name:
                        changed.append(Region(id=pk, name=name))
                    else:
                        report.unchanged += 1
                    continue
                kind = ""
                if level == Region.Level.VILLAGE:
                    kind = Region.VillageKind.KELURAHAN if code.split(".")[3][0] == "1" else Region.VillageKind.DESA
                new_objs.append(Region(code=code, name=name, level=level,
                                       parent_id=ids[parent_code] if parent_code else None, village_kind=kind))
            created = Region.objects.bulk_create(new_objs, batch_size=batch_size)
            if created and created[0].pk is None:  # backends that do not return ids
                ids.update(dict(Region.objects.filter(level=level).values_list("code", "id")))
            else:
                ids.update({obj.code: obj.pk for obj in created})
            if changed:
                Region.objects.bulk_update(changed, ["name"], batch_size=batch_size)
            report.created += len(created)
            report.updated += len(changed)
            report.by_level[int(level)] = len(by_level[level])
    return report
