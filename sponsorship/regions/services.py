"""Regions and regency settings.

Import Kemendagri regions from a `kode,nama` CSV (the format of ../shared/data/regions/wilayah.csv).

All rows are read and validated before anything is written; the write is one transaction, so a
malformed row leaves the database as it was. Re-imports update names, add new codes and never
delete (a code referenced by a worker, sponsor or agency must stay).
"""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from backend.api.errors import ApplicationError
from sponsorship.core.audit import AuditAction, audit_record, snapshot
from sponsorship.regions.models import RegencyConfig, RegencyHoliday, Region

CODE_RE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$", re.ASCII)  # 0-9 only, not ١ or １


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
        if only and prefixes is not None and not (code in prefixes or code.startswith(only + ".") or code == only):
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
                new_objs.append(
                    Region(
                        code=code,
                        name=name,
                        level=level,
                        parent_id=ids[parent_code] if parent_code else None,
                        village_kind=kind,
                    )
                )
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


# --- Edits by an operator (Django admin), audited with old and new values -------------------------------------


def _raise_if(problems: dict[str, str | Promise]) -> None:
    if problems:
        raise ApplicationError(
            next(iter(problems.values())), code="invalid", extra={"fields": {k: [str(v)] for k, v in problems.items()}}
        )


REGENCY_CONFIG_FIELDS = (
    "timezone",
    "matching_radius_m",
    "decline_cooldown_days",
    "village_target",
    "max_new_member_age",
    "decile_cutoff",
    "dtsen_round_months",
    "bpjs_counted_months",
    "salary_day",
    "tpp_day",
    "thr_month",
    "thirteenth_month",
    "payday_reminders",
    "payday_shift",
    "billing_hour",
    "reminder_hour",
)
# Whole-number settings: (lowest, highest). The upper bounds only catch typing slips (an extra zero).
REGENCY_CONFIG_RANGES = {
    "matching_radius_m": (1, 100_000),  # metres
    "decline_cooldown_days": (0, 3_650),
    "village_target": (0, 100_000),  # as the dashboard's per-village target
    "max_new_member_age": (1, 100),
    "dtsen_round_months": (1, 12),
    "bpjs_counted_months": (1, 24),
    "salary_day": (1, 31),  # a day past a month's end falls on its last day
    "billing_hour": (0, 23),  # local hours in the regency's zone
    "reminder_hour": (0, 23),
}
# Settings that may be empty (None): (lowest, highest) when set.
REGENCY_CONFIG_OPTIONAL_RANGES = {
    "tpp_day": (1, 31),
    "thr_month": (1, 12),
    "thirteenth_month": (1, 12),
}


def regency_config_problems(*, values: dict) -> dict[str, str | Promise]:
    problems: dict[str, str | Promise] = {}
    if values.get("timezone") not in RegencyConfig.Zone.values:
        problems["timezone"] = gettext_lazy("Unknown time zone.")
    for name, (low, high) in REGENCY_CONFIG_RANGES.items():
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems[name] = gettext_lazy("Must be a whole number %(low)s–%(high)s.") % {
                "low": f"{low:,}".replace(",", "."),
                "high": f"{high:,}".replace(",", "."),
            }
    for name, (low, high) in REGENCY_CONFIG_OPTIONAL_RANGES.items():
        value = values.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
            problems[name] = gettext_lazy("Must be empty or a whole number %(low)s–%(high)s.") % {
                "low": low,
                "high": high,
            }
    if values.get("payday_shift") not in RegencyConfig.PaydayShift.values:
        problems["payday_shift"] = gettext_lazy("Choose next working day, previous working day or not moved.")
    if not isinstance(values.get("payday_reminders"), bool):
        problems["payday_reminders"] = gettext_lazy("Must be true or false.")
    cutoff = values.get("decile_cutoff")
    if cutoff is not None and (not isinstance(cutoff, int) or isinstance(cutoff, bool) or not 1 <= cutoff <= 10):
        problems["decile_cutoff"] = gettext_lazy("The decile cut-off must be empty or 1–10.")
    return problems


def regency_config_create(*, regency: Region, actor, ip: str | None = None, **values) -> RegencyConfig:
    config = RegencyConfig(regency=regency)  # model defaults for what is not given
    full = {**snapshot(config, REGENCY_CONFIG_FIELDS), **values}
    problems = regency_config_problems(values=full)
    if regency.level != Region.Level.REGENCY:
        problems["regency"] = gettext_lazy("Must be a regency or city.")
    elif RegencyConfig.objects.filter(regency=regency).exists():
        problems["regency"] = gettext_lazy("This regency already has settings.")
    _raise_if(problems)
    with transaction.atomic():
        for name in REGENCY_CONFIG_FIELDS:
            setattr(config, name, full[name])
        config.save(force_insert=True)
        audit_record(
            actor=actor,
            action="regency_config.create",
            obj=config,
            before=None,
            after={"regency": regency.code, **snapshot(config, REGENCY_CONFIG_FIELDS)},
            ip=ip,
        )
    return config


def regency_config_update(*, config: RegencyConfig, actor, ip: str | None = None, **changes) -> RegencyConfig:
    """Change a regency's settings; the regency itself cannot change. Read by matching and the dashboard at use."""
    unknown = set(changes) - set(REGENCY_CONFIG_FIELDS)
    if unknown:
        raise ApplicationError(gettext_lazy("Field cannot be changed.") + f" {sorted(unknown)}", code="invalid")
    with transaction.atomic():
        current = RegencyConfig.objects.select_for_update().get(pk=config.pk)
        values = {**{k: getattr(current, k) for k in REGENCY_CONFIG_FIELDS}, **changes}
        changed = [k for k in REGENCY_CONFIG_FIELDS if values[k] != getattr(current, k)]
        if not changed:
            return current
        _raise_if(regency_config_problems(values=values))
        before = snapshot(current, changed)
        for name in changed:
            setattr(current, name, values[name])
        current.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="regency_config.update",
            obj=current,
            before=before,
            after=snapshot(current, changed),
            extra={"regency": current.regency.code},
            ip=ip,
        )
    return current


def regency_config_delete(*, config: RegencyConfig, actor, ip: str | None = None) -> None:
    """The regency falls back to the default settings (matching reads an unsaved default config)."""
    with transaction.atomic():
        current = RegencyConfig.objects.select_for_update().select_related("regency").get(pk=config.pk)
        before = {"regency": current.regency.code, **snapshot(current, REGENCY_CONFIG_FIELDS)}
        pk = current.pk
        current.delete()
        audit_record(
            actor=actor,
            action="regency_config.delete",
            object_type="regions.regencyconfig",
            object_id=pk,
            before=before,
            after=None,
            ip=ip,
        )


# A region's code, level and parent come from the Kemendagri file (import_regions); by hand only what the file
# does not carry (the village centre, desa/kelurahan) and a corrected name change.
REGION_EDITABLE = ("name", "village_kind", "lat", "lon")


def region_problems(*, values: dict) -> dict[str, str | Promise]:
    problems: dict[str, str | Promise] = {}
    if not str(values.get("name") or "").strip():
        problems["name"] = gettext_lazy("Required.")
    if values.get("village_kind") and values.get("level") != Region.Level.VILLAGE:
        problems["village_kind"] = gettext_lazy("Villages only.")
    lat, lon = values.get("lat"), values.get("lon")
    if (lat is None) != (lon is None):
        problems["lat" if lat is None else "lon"] = gettext_lazy("Give latitude and longitude together.")
    if lat is not None and not -90 <= lat <= 90:
        problems["lat"] = gettext_lazy("Latitude must be -90 to 90.")
    if lon is not None and not -180 <= lon <= 180:
        problems["lon"] = gettext_lazy("Longitude must be -180 to 180.")
    return problems


def _new_region_code(code: str) -> tuple[dict[str, str | Promise], Region | None]:
    """Problems with a new region's code, and its parent (the region whose code it extends)."""
    if not CODE_RE.match(code):
        return {"code": gettext_lazy("The code must look like PP.KK.CC.XDDD.")}, None
    if Region.objects.filter(code=code).exists():
        return {"code": gettext_lazy("This code already exists.")}, None
    if Region.level_of(code) == 1:
        return {}, None
    parent = Region.objects.filter(code=code.rsplit(".", 1)[0]).first()
    if parent is None:
        return {"code": gettext_lazy("Its parent region does not exist yet.")}, None
    return {}, parent


def region_create_problems(*, values: dict) -> dict[str, str | Promise]:
    code = str(values.get("code") or "").strip()
    problems, _parent = _new_region_code(code)
    level = Region.level_of(code) if CODE_RE.match(code) else None
    return {**region_problems(values={**values, "level": level}), **problems}


def region_create(
    *, code: str, name: str, actor, village_kind: str = "", lat=None, lon=None, ip: str | None = None
) -> Region:
    """One region by hand (the file is the usual way): its level follows from the code, its parent must exist."""
    code = (code or "").strip()
    values = {"code": code, "name": name, "village_kind": village_kind, "lat": lat, "lon": lon}
    _raise_if(region_create_problems(values=values))
    _problems, parent = _new_region_code(code)
    with transaction.atomic():
        region = Region.objects.create(
            code=code,
            name=name.strip(),
            level=Region.level_of(code),
            parent=parent,
            village_kind=village_kind,
            lat=lat,
            lon=lon,
        )
        audit_record(
            actor=actor,
            action="region.create",
            obj=region,
            before=None,
            after=snapshot(region, ("code", "level", "parent", *REGION_EDITABLE)),
            ip=ip,
        )
    return region


def region_update(*, region: Region, actor, ip: str | None = None, **changes) -> Region:
    unknown = set(changes) - set(REGION_EDITABLE)
    if unknown:
        raise ApplicationError(gettext_lazy("Field cannot be changed.") + f" {sorted(unknown)}", code="invalid")
    with transaction.atomic():
        current = Region.objects.select_for_update().get(pk=region.pk)
        values = {**{k: getattr(current, k) for k in REGION_EDITABLE}, **changes, "level": current.level}
        changed = [k for k in REGION_EDITABLE if values[k] != getattr(current, k)]
        if not changed:
            return current
        _raise_if(region_problems(values=values))
        before = snapshot(current, changed)
        for name in changed:
            setattr(current, name, values[name])
        current.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action="region.update",
            obj=current,
            before=before,
            after=snapshot(current, changed),
            extra={"code": current.code},
            ip=ip,
        )
    return current


def regency_settings_save(*, regency: Region, actor, ip: str | None = None, **values) -> RegencyConfig:
    """A regency admin's edit of their own regency's settings: updates the row, or creates it on first save."""
    config = RegencyConfig.objects.filter(regency=regency).first()
    if config is None:
        unknown = set(values) - set(REGENCY_CONFIG_FIELDS)
        if unknown:
            raise ApplicationError(gettext_lazy("Field cannot be changed.") + f" {sorted(unknown)}", code="invalid")
        return regency_config_create(regency=regency, actor=actor, ip=ip, **values)
    return regency_config_update(config=config, actor=actor, ip=ip, **values)


# ---- the regency's holiday calendar (regions/workdays.py) ------------------------------------------------------
def parse_holiday_lines(text: str) -> list[tuple[dt.date, str]]:
    """One holiday a line, "YYYY-MM-DD name" (the settings page's text box); a 400 naming the first bad line."""
    out: list[tuple[dt.date, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        day, _sep, name = line.partition(" ")
        try:
            out.append((dt.date.fromisoformat(day), name.strip()[:120]))
        except ValueError:
            raise ApplicationError(
                gettext_lazy("Line %(line)s: write the date as YYYY-MM-DD, then the name.") % {"line": number},
                code="invalid",
                extra={"fields": {"holidays": [f"{number}"]}},
            ) from None
    return out


def regency_holidays_set(*, regency: Region, holidays: list[tuple[dt.date, str]], actor, ip: str | None = None) -> int:
    """Replace the regency's holiday calendar (paydays on these days move; payroll deadlines come earlier)."""
    if len(holidays) > 400:
        raise ApplicationError(gettext_lazy("At most 400 holidays."), code="invalid")
    if any(not 2000 <= day.year <= 2100 for day, _name in holidays):
        raise ApplicationError(
            gettext_lazy("Holiday dates must be between the years 2000 and 2100."),
            code="invalid",
            extra={
                "fields": {"holidays": [str(gettext_lazy("Holiday dates must be between the years 2000 and 2100."))]}
            },
        )
    wanted = dict(holidays)
    with transaction.atomic():
        before = sorted(
            d.isoformat() for d in RegencyHoliday.objects.filter(regency=regency).values_list("date", flat=True)
        )
        RegencyHoliday.objects.filter(regency=regency).delete()
        RegencyHoliday.objects.bulk_create(
            [RegencyHoliday(regency=regency, date=day, name=name) for day, name in sorted(wanted.items())]
        )
        audit_record(
            actor=actor,
            action=AuditAction.REGENCY_HOLIDAYS_SET,
            obj=regency,
            before={"holidays": before},
            after={"holidays": sorted(d.isoformat() for d in wanted)},
            ip=ip,
        )
    return len(wanted)
