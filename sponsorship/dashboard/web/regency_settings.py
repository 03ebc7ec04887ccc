"""The regency settings page (/dashboard/settings/): a regency admin edits their regency's zone, payday, targets
and schedule hours; the same service as the API and the Django admin checks and audits every change."""

from django.contrib import messages
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError
from sponsorship.dashboard.selectors.regency_settings import regency_settings
from sponsorship.regions.models import RegencyConfig
from sponsorship.regions.services import (
    REGENCY_CONFIG_FIELDS,
    REGENCY_CONFIG_OPTIONAL_RANGES,
    parse_holiday_lines,
    regency_holidays_set,
    regency_settings_save,
)

from .views import _ip, admin_page

NULLABLE = {*REGENCY_CONFIG_OPTIONAL_RANGES, "decile_cutoff"}
LABELS = {
    "timezone": "Zona waktu",
    "matching_radius_m": "Radius pencocokan (meter)",
    "decline_cooldown_days": "Jeda setelah usulan ditolak (hari)",
    "village_target": "Target pekerja terlindungi per desa",
    "max_new_member_age": "Usia maksimal peserta baru",
    "decile_cutoff": "Batas desil DTSEN (kosong: tanpa batas)",
    "dtsen_round_months": "Jarak putaran DTSEN (bulan)",
    "bpjs_counted_months": "Bulan iuran agar dihitung BPJS",
    "salary_day": "Tanggal gajian ASN",
    "tpp_day": "Tanggal TPP cair (kosong: tanpa pengingat TPP)",
    "thr_month": "Bulan THR cair (kosong: tidak ada)",
    "thirteenth_month": "Bulan gaji ke-13 cair (kosong: tidak ada)",
    "payday_reminders": "Kirim pengingat hari gajian",
    "payday_shift": "Gajian jatuh di hari libur dibayar",
    "billing_hour": "Jam penagihan harian (waktu setempat)",
    "reminder_hour": "Jam pengingat hari gajian (waktu setempat)",
}


def _parse(post) -> tuple[dict, dict]:
    values, problems = {}, {}
    for name in REGENCY_CONFIG_FIELDS:
        if name == "payday_reminders":
            values[name] = post.get(name) == "on"
            continue
        raw = (post.get(name) or "").strip()
        if name in ("timezone", "payday_shift"):
            values[name] = raw
        elif raw == "" and name in NULLABLE:
            values[name] = None
        else:
            try:
                values[name] = int(raw)
            except ValueError:
                problems[name] = "Harus angka bulat."
    return values, problems


@admin_page
def regency_settings_page(request, scope):
    if scope.agency is not None:  # an agency admin may see the dashboard, not change the regency
        return HttpResponseForbidden(render_to_string("dashboard/403.html", request=request))
    errors: dict = {}
    if request.method == "POST" and request.POST.get("form") == "holidays":
        try:
            count = regency_holidays_set(
                regency=scope.regency,
                holidays=parse_holiday_lines(request.POST.get("holidays", "")),
                actor=request.user,
                ip=_ip(request),
            )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Holiday calendar saved: %(count)s days.") % {"count": count})
        return redirect(reverse("dashboard:regency-settings"))
    if request.method == "POST":
        values, errors = _parse(request.POST)
        if not errors:
            try:
                regency_settings_save(regency=scope.regency, actor=request.user, ip=_ip(request), **values)
            except ApplicationError as exc:
                errors = {k: v[0] for k, v in exc.extra.get("fields", {}).items()} or {"": str(exc.message)}
            else:
                messages.success(request, "Pengaturan kabupaten disimpan.")
                return redirect(reverse("dashboard:regency-settings"))
        messages.error(request, "Pengaturan belum disimpan: periksa isian yang ditandai.")
    data = regency_settings(scope.regency)
    current = {**data["settings"], **(dict(request.POST.items()) if errors else {})}
    fields = [
        {"name": n, "label": LABELS[n], "value": current.get(n), "error": errors.get(n)} for n in REGENCY_CONFIG_FIELDS
    ]
    return render(
        request,
        "dashboard/regency_settings.html",
        {
            "scope": scope,
            "nav": "settings",
            "fields": fields,
            "zones": RegencyConfig.Zone.choices,
            "shifts": RegencyConfig.PaydayShift.choices,
            "schedule": data["schedule"],
            "rates": data["rates"],
            "general_error": errors.get(""),
            "holidays_text": "\n".join(f"{h['date']:%Y-%m-%d} {h['name']}".strip() for h in data["holidays"]),
        },
    )
