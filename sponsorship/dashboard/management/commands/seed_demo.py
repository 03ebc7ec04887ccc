"""Make a believable demo regency: regions, agencies (real OPD names), ASN, workers, logins for every role."""

import datetime as dt
import math
import random
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from notifications.contact import contact_consent_set
from sponsorship.billing.services.payroll import consent_create
from sponsorship.dashboard.demo.names import AGENCIES, FEMALE_FIRST, MALE_FIRST, OCCUPATION_WEIGHTS, SURNAMES
from sponsorship.people.crypto import keyed_hash
from sponsorship.people.identifiers import mask_phone
from sponsorship.people.models import Agency, Occupation, Profile, Role, Sponsor, Sponsorship, Worker
from sponsorship.people.services.people import sponsor_create, worker_create
from sponsorship.people.services.sponsorships import sponsorship_start
from sponsorship.people.services.worker_contact import worker_contact_consent_set
from sponsorship.regions.models import RegencyConfig, Region
from sponsorship.regions.services import import_regions

BUILTIN_REGIONS = Path(__file__).resolve().parents[2] / "demo" / "ponorogo_regions.csv"
DEMO_PASSWORD = "demo-pengampu"  # noqa: S105 - the documented password of the local demo accounts
KNOWN_CENTRES = {"35.02": (-7.8681, 111.4622)}  # Ponorogo alun-alun
KM_LAT = 1 / 110.574


def km_lon(lat):
    return 1 / (111.320 * math.cos(math.radians(lat)))


class Command(BaseCommand):
    help = "Seed a demo regency (idempotent: does nothing when demo data exists, unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--regions", help="A kode,nama CSV like shared/data/regions/wilayah.csv")
        parser.add_argument("--regency", default="35.02", help="Regency code to populate (default 35.02 Ponorogo)")
        parser.add_argument("--sponsors", type=int, default=120)
        parser.add_argument("--workers", type=int, default=360)
        parser.add_argument(
            "--sponsored-share", type=float, default=0.4, help="Share of workers that already have a sponsor"
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="Skip quietly when sponsors already exist")
        parser.add_argument("--force", action="store_true", help="Add more demo data even when some exists")

    def handle(self, *args, **opts):
        if Sponsor.objects.exists() and not opts["force"]:
            if opts["if_empty"]:
                self.stdout.write("Demo data already present; nothing to do.")
                self._print_logins()
                return
            raise CommandError("Data already exists; use --force to add more or --if-empty to skip.")
        rng = random.Random(opts["seed"])
        path = opts["regions"] or BUILTIN_REGIONS
        report = import_regions(path, only=opts["regency"])
        self.stdout.write(f"Regions: {report.created} created, {report.unchanged} unchanged")
        regency = Region.objects.filter(code=opts["regency"], level=Region.Level.REGENCY).first()
        if regency is None:
            raise CommandError(f"Regency {opts['regency']} is not in {path}")
        with transaction.atomic():
            self._seed(rng, regency, opts)
        self._print_logins()

    # -- building blocks -------------------------------------------------------------------------
    def _place_villages(self, rng, regency):
        centre = KNOWN_CENTRES.get(regency.code, (-7.5 - rng.random(), 110.5 + rng.random() * 2))
        districts = list(Region.objects.filter(parent=regency).order_by("code"))
        short = regency.name.replace("Kabupaten ", "").replace("Kota ", "")
        town = next((d for d in districts if d.name == short), None) or max(
            districts, key=lambda d: d.children.filter(village_kind=Region.VillageKind.KELURAHAN).count()
        )
        others = [d for d in districts if d != town]
        placed = {town.pk: centre}
        for i, district in enumerate(others):  # districts on a spiral 6–26 km around the town
            angle = i * 2.399963  # golden angle
            radius_km = 6 + 20 * math.sqrt((i + 1) / max(len(others), 1))
            placed[district.pk] = (
                centre[0] + radius_km * math.sin(angle) * KM_LAT,
                centre[1] + radius_km * math.cos(angle) * km_lon(centre[0]),
            )
        villages = []
        for district in districts:
            d_lat, d_lon = placed[district.pk]
            spread = 1.5 if district == town else 3.5
            district.lat, district.lon = d_lat, d_lon
            district.save(update_fields=["lat", "lon"])
            for village in district.children.all():
                village.lat = d_lat + rng.uniform(-spread, spread) * KM_LAT
                village.lon = d_lon + rng.uniform(-spread, spread) * km_lon(d_lat)
                village.save(update_fields=["lat", "lon"])
                villages.append(village)
        return town, villages

    def _name(self, rng, sex):
        first = rng.choice(MALE_FIRST if sex == "M" else FEMALE_FIRST)
        return f"{first} {rng.choice(SURNAMES)}"

    def _nip(self, rng, serials):
        birth = dt.date(rng.randint(1966, 1998), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice("12")
        if rng.random() < 0.75:
            start = f"{rng.randint(birth.year + 22, min(birth.year + 35, 2024))}{rng.randint(1, 12):02d}"
            kind = "pns"
        else:
            start = f"{rng.randint(max(birth.year + 22, 2019), 2025)}{rng.randint(1, 99):02d}"
            kind = "pppk"
        serials[0] += 1
        return f"{birth:%Y%m%d}{start}{sex}{serials[0] % 999 + 1:03d}", kind, sex

    def _nik(self, rng, village, sex, serials):
        birth = dt.date(rng.randint(1962, 2004), rng.randint(1, 12), rng.randint(1, 28))
        day = birth.day + (40 if sex == "F" else 0)
        serials[1] += 1
        return f"{village.code[:8].replace('.', '')}{day:02d}{birth:%m%y}{serials[1] % 9999 + 1:04d}"

    def _jitter(self, rng, village, km):
        return (village.lat + rng.uniform(-km, km) * KM_LAT, village.lon + rng.uniform(-km, km) * km_lon(village.lat))

    def _seed(self, rng, regency, opts):
        RegencyConfig.objects.get_or_create(regency=regency)
        town, villages = self._place_villages(rng, regency)
        town_villages = [v for v in villages if v.parent_id == town.pk]
        agencies = [
            Agency.objects.get_or_create(regency=regency, name=name, defaults={"short_name": short})[0]
            for name, short in AGENCIES
        ]
        occupations = {o.code: o for o in Occupation.objects.all()}
        occ_codes, occ_weights = zip(*OCCUPATION_WEIGHTS, strict=True)
        serials = [rng.randint(0, 500), rng.randint(0, 5000)]
        today = timezone.localdate()

        sponsors = []
        for _ in range(opts["sponsors"]):
            village = rng.choice(town_villages) if rng.random() < 0.5 else rng.choice(villages)
            nip, kind, sex_digit = self._nip(rng, serials)
            precise = self._jitter(rng, village, 0.6) if rng.random() < 0.6 else (None, None)
            sponsors.append(
                sponsor_create(
                    nip=nip,
                    asn_type=kind,
                    full_name=self._name(rng, "M" if sex_digit == "1" else "F"),
                    agency=rng.choices(
                        agencies,
                        weights=[8 if a.short_name in ("Dindikbud", "Dinkes", "RSUD") else 1 for a in agencies],
                    )[0],
                    home_village=village,
                    capacity=3 if rng.random() < 0.3 else 2,
                    phone=f"08{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}",
                    lat=precise[0],
                    lon=precise[1],
                    contact_consent=rng.random() < 0.8,
                    today=today,
                )
            )

        workers = []
        for _ in range(opts["workers"]):
            village = rng.choice(villages)
            sex = rng.choice("MF")
            precise = self._jitter(rng, village, 0.8) if rng.random() < 0.3 else (None, None)
            workers.append(
                worker_create(
                    nik=self._nik(rng, village, sex, serials),
                    full_name=self._name(rng, sex),
                    occupation=occupations[rng.choices(occ_codes, weights=occ_weights)[0]],
                    village=village,
                    phone=f"08{rng.randint(11, 99)}{rng.randint(1_000_000, 99_999_999)}" if rng.random() < 0.85 else "",
                    lat=precise[0],
                    lon=precise[1],
                    welfare_decile=rng.choices(range(1, 11), weights=[14, 14, 13, 12, 11, 10, 9, 7, 6, 4])[0]
                    if rng.random() < 0.85
                    else None,
                    current_payer=Worker.Payer.REGENCY_BUDGET if rng.random() < 0.05 else Worker.Payer.NONE,
                    consent={"channel": rng.choice(["in_person", "paper"]), "text_version": "2026.1"},
                    today=today,
                )
            )

        # Logins for every role, bound to believable records.
        User = get_user_model()
        superuser = User.objects.filter(username="admin").first() or User.objects.create_superuser(
            "admin", "admin@pengampu.test", DEMO_PASSWORD
        )
        regency_admin = self._user("admin.kabupaten", Role.REGENCY_ADMIN, regency=regency)
        self._user("admin.opd", Role.AGENCY_ADMIN, agency=agencies[7])  # Dinas Pendidikan dan Kebudayaan

        demo_sponsor = sponsors[0]
        Sponsor.objects.filter(pk=demo_sponsor.pk).update(capacity=3, agency=agencies[7])
        demo_sponsor.refresh_from_db()
        demo_sponsor.user = self._user("asn.demo", Role.SPONSOR)
        demo_sponsor.save(update_fields=["user"])

        # Existing pledges: a share of workers already sponsored by someone nearby.
        free_workers = [w for w in workers if w.current_payer == Worker.Payer.NONE]
        rng.shuffle(free_workers)
        target = int(len(workers) * opts["sponsored_share"])
        first_worker = free_workers.pop()
        sponsorship_start(
            sponsor=demo_sponsor,
            worker=first_worker,
            source=Sponsorship.Source.IMPORT,
            actor=superuser,
            started_at=timezone.now() - dt.timedelta(days=75),
        )
        first_worker.user = self._user("pekerja.demo", Role.WORKER)
        first_worker.phone = first_worker.phone or "+6281200000001"
        first_worker.phone_hash = keyed_hash(first_worker.phone)
        first_worker.save(update_fields=["user", "phone", "phone_hash"])
        # Consent to WhatsApp, collected in person with the roster (reminders reach the fake WhatsApp's inbox).
        contact_consent_set(user=first_worker.user, channel="whatsapp", granted=True, source="in_person")
        # A few workers without the app agreed in person, with the roster, to WhatsApp reminders: recording it gives
        # them a login user, so the clock reminders and a self-pay link reach the fake WhatsApp without a sign-in.
        for w in [w for w in workers if w.phone and w.user_id is None][:5]:
            worker_contact_consent_set(worker=w, channels=["whatsapp"], source="in_person", actor=superuser)
        by_village = {}
        for w in free_workers:
            by_village.setdefault(w.village_id, []).append(w)
        made = 1
        for sponsor in sponsors[1:]:
            for _ in range(sponsor.capacity):
                if made >= target:
                    break
                pool = by_village.get(sponsor.home_village_id) or next((p for p in by_village.values() if p), None)
                if not pool:
                    break
                sponsorship_start(
                    sponsor=sponsor,
                    worker=pool.pop(),
                    source=Sponsorship.Source.IMPORT,
                    actor=superuser,
                    started_at=timezone.now() - dt.timedelta(days=rng.randint(30, 400)),
                )
                made += 1
        on_payroll = self._payroll_consents(rng, sponsors[1:], agencies[7], today)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {regency.name}: {len(villages)} villages, {len(agencies)} agencies, {len(sponsors)} ASN, "
                f"{len(workers)} workers, {made} sponsorships, {on_payroll} on payroll deduction"
            )
        )
        self._regency_admin = regency_admin

    def _payroll_consents(self, rng, sponsors, agency, today, share=0.5, at_most=12) -> int:
        """Some ASN of the admin.opd's agency pay by salary or TPP deduction (docs/payroll.md): consents
        confirmed in the app, from the first payroll month still open (`manage.py payroll_demo_cycle` runs one
        month of the rail on them). The demo sponsor keeps paying through the gateway."""
        with_workers = set(
            Sponsorship.objects.filter(
                sponsor__in=[s for s in sponsors if s.agency_id == agency.pk], status=Sponsorship.Status.ACTIVE
            ).values_list("sponsor_id", flat=True)
        )
        chosen = [s for s in sponsors if s.pk in with_workers and rng.random() < share][:at_most]
        for i, sponsor in enumerate(chosen):
            consent_create(
                sponsor=sponsor,
                kind="salary" if i % 3 else "tpp",
                actor=sponsor.user,
                consent_text_version="2026.1",
                confirmed=True,
                golongan=rng.choice(["II/c", "III/a", "III/b", "III/c", "IV/a"]),
                account_number=f"0{rng.randint(10**9, 10**10 - 1)}",
                today=today,
            )
        return len(chosen)

    def _user(self, username, role, agency=None, regency=None):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        Profile.objects.update_or_create(user=user, defaults={"role": role, "agency": agency, "regency": regency})
        return user

    def _print_logins(self):
        self.stdout.write(
            f"\nDemo logins (password for all: {DEMO_PASSWORD}):\n"
            "  admin            superuser (Django admin: /admin/)\n"
            "  admin.kabupaten  regency admin (whole regency)\n"
            "  admin.opd        agency admin (Dinas Pendidikan dan Kebudayaan)\n"
            "  asn.demo         ASN sponsor (mobile API)\n"
            "  pekerja.demo     informal worker (mobile API)\n"
        )
        worker = Worker.objects.filter(user__username="pekerja.demo").first()
        if worker is not None:  # synthetic data: the worker app's own sign-in (POST /api/v1/worker/auth/)
            self.stdout.write(
                f"  worker sign-in:  NIK {worker.nik}, birth date {worker.birth_date:%Y-%m-%d} "
                f"(the one-time code arrives on the fake WhatsApp inbox for {mask_phone(worker.phone)})\n"
            )
