"""Test data builders that go through the real services (so tests exercise validation and audit)."""

import datetime as dt
import itertools
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from sponsorship.people.models import Agency, Occupation, Profile, Role, Sponsor, Sponsorship
from sponsorship.people.services.people import sponsor_create, worker_create
from sponsorship.people.services.sponsorships import sponsorship_start
from sponsorship.regions.models import RegencyConfig, Region
from sponsorship.regions.services import import_regions

# A slice of the Kemendagri region file (Aceh Selatan's first district, Ponorogo and Trenggalek in full), so
# tests need nothing outside the repository. The product reads the whole national file (import_regions).
REGION_FILE = Path(__file__).resolve().parent / "fixtures" / "regions_sample.csv"
BUILTIN_REGIONS = Path(__file__).resolve().parents[1] / "sponsorship" / "dashboard" / "demo" / "ponorogo_regions.csv"


class LiveApps:
    """The data migrations' loaders look models up by their historical label ("sponsorship"); in a running
    process the models live in the domain apps, so find them by name."""

    def get_model(self, app_label, model_name):
        from django.apps import apps

        for config in apps.get_app_configs():
            try:
                return config.get_model(model_name)
            except LookupError:
                continue
        raise LookupError(model_name)


def restore_reference_rows():
    """Transactional tests flush the database when they end, data-migration rows included (occupations, premium
    rates, holidays): put them back (idempotent; a no-op when they are present)."""
    import importlib

    from sponsorship.billing.models import PremiumRate
    from sponsorship.people.models import Occupation

    if not Occupation.objects.exists():
        importlib.import_module("sponsorship.core.migrations.0002_occupations").load(LiveApps(), None)
    if not PremiumRate.objects.exists():
        importlib.import_module("sponsorship.core.migrations.0004_billing_rates").load(LiveApps(), None)


_seq = itertools.count(1)


def load_ponorogo() -> Region:
    """Ponorogo (35.02) from the built-in demo file, with simple village centres for distance tests."""
    if not Region.objects.filter(code="35.02").exists():
        import_regions(BUILTIN_REGIONS, only="35.02")
        for i, village in enumerate(Region.objects.filter(level=Region.Level.VILLAGE).order_by("code")):
            Region.objects.filter(pk=village.pk).update(lat=-7.87 + (i % 20) * 0.01, lon=111.46 + (i // 20) * 0.01)
    regency = Region.objects.get(code="35.02")
    RegencyConfig.objects.get_or_create(regency=regency)
    return regency


def village(code="35.02.17.1001") -> Region:
    return Region.objects.get(code=code)


def make_nik(village_code="35.02.17.1001", sex="M", birth=dt.date(1985, 3, 14)) -> str:
    n = next(_seq)
    day = birth.day + (40 if sex == "F" else 0)
    return f"{village_code[:8].replace('.', '')}{day:02d}{birth:%m%y}{n % 9999 + 1:04d}"


def make_nip(birth=dt.date(1985, 3, 14), sex="1") -> str:
    n = next(_seq)
    return f"{birth:%Y%m%d}201003{sex}{n % 999 + 1:03d}"


def make_user(username=None, role=None, agency=None, regency=None, password="secret-pass-123"):
    User = get_user_model()
    user = User.objects.create_user(username or f"user{next(_seq)}", password=password)
    if role:
        Profile.objects.create(user=user, role=role, agency=agency, regency=regency)
    return user


def make_agency(regency=None, name=None) -> Agency:
    regency = regency or load_ponorogo()
    return Agency.objects.create(regency=regency, name=name or f"Dinas Uji {next(_seq)}")


def make_sponsor(
    *, agency=None, village_code="35.02.17.1001", capacity=2, user=True, lat=None, lon=None, **extra
) -> Sponsor:
    agency = agency or make_agency()
    user_obj = make_user(role=Role.SPONSOR) if user is True else (user or None)
    return sponsor_create(
        nip=make_nip(),
        asn_type="pns",
        full_name=extra.pop("full_name", "Budi Santoso"),
        agency=agency,
        home_village=village_code,
        capacity=capacity,
        user=user_obj,
        phone="081234567890",
        lat=lat,
        lon=lon,
        **extra,
    )


def make_worker(*, village_code="35.02.17.1001", occupation="petani", decile=3, sex="M", user=False, **extra):
    worker = worker_create(
        nik=extra.pop("nik", None) or make_nik(village_code, sex),
        full_name=extra.pop("full_name", "Slamet Riyadi"),
        occupation=Occupation.objects.get(code=occupation),
        village=village_code,
        phone=extra.pop("phone", "0812-3456-7890"),
        welfare_decile=decile,
        consent={"channel": "in_person", "text_version": "2026.1"},
        **extra,
    )
    if user:
        worker.user = make_user(role=Role.WORKER)
        worker.save(update_fields=["user"])
    return worker


def sponsor_worker(sponsor, worker, source=Sponsorship.Source.ADMIN):
    return sponsorship_start(sponsor=sponsor, worker=worker, source=source)


def paid_months(worker, invoice, *offsets, current: dt.date) -> None:
    """Coverage months paid for `worker` at the given month offsets from `current`, hung on `invoice` (the reminder
    and coverage scans read only the months)."""
    from sponsorship.billing.models import CoverageMonth
    from sponsorship.core.periods import add_months

    for offset in offsets:
        CoverageMonth.objects.create(
            worker=worker,
            month=add_months(current, offset),
            sponsor=None,
            invoice=invoice,
            jkk_idr=10_000,
            jkm_idr=6_800,
            amount_idr=16_800,
            paid_at=timezone.now(),
        )
