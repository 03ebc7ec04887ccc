"""The HR admins' web dashboard (server-rendered). Session login; regency admins see the regency,
agency admins their agency; anyone else gets 403. Every figure comes from sponsorship.dashboard.selectors."""

import functools

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from backend.api.errors import ApplicationError
from sponsorship.dashboard import selectors as dashboard
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors.areas import area_figures, area_scope, is_area_admin, is_province_admin
from sponsorship.dashboard.selectors.bpjs import counted_by_bpjs
from sponsorship.dashboard.selectors.deciles import flagged_workers
from sponsorship.dashboard.services import imports
from sponsorship.dashboard.services.actions import arrears_remind, village_target_set
from sponsorship.dashboard.services.exports import FORMATS, table_export
from sponsorship.dashboard.services.imports.dtsen import dtsen_result_text
from sponsorship.people.auth.forms import LockoutAuthenticationForm
from sponsorship.people.models import PersonalDataAccess
from sponsorship.people.selectors import accesses_for, is_data_protection_officer

LOGIN_URL = "dashboard:login"


def admin_page(view):
    """Login required (redirect), then an admin scope (403 page otherwise); passes `scope` to the view."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse(LOGIN_URL)}?next={request.get_full_path()}")
        try:
            scope = dashboard.admin_scope(request.user, regency_code=request.GET.get("regency"))
        except PermissionDenied:
            if is_area_admin(request.user):  # province and national admins have their own page
                return redirect("dashboard:areas")
            return HttpResponseForbidden(render_to_string("dashboard/403.html", request=request))
        return view(request, scope, *args, **kwargs)

    return wrapper


def _ip(request):
    return request.META.get("REMOTE_ADDR")


class LoginView(auth_views.LoginView):
    """The lockout is the one of every sign-in (people/auth/lockout.py); a locked pair gets 429 and says so."""

    template_name = "dashboard/login.html"
    redirect_authenticated_user = True
    authentication_form = LockoutAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked:
            response.status_code = 429
        return response

    def get_default_redirect_url(self):
        return reverse("dashboard:index")


@require_POST
def logout_view(request):
    from django.contrib.auth import logout

    logout(request)
    return redirect(LOGIN_URL)


@admin_page
def index(request, scope):
    money = dashboard.build_table("money", scope).rows
    return render(
        request,
        "dashboard/index.html",
        {
            "scope": scope,
            "nav": "index",
            "headline": dashboard.cached(scope, "headline", {}, lambda: dashboard.headline(scope)),
            "league": dashboard.build_table("agencies", scope),
            "districts": dashboard.build_table("coverage_districts", scope),
            "money": money,
            "on_time": dashboard.table_extra("money", scope).get("on_time"),
            "arrears": dashboard.build_table("arrears", scope).rows[:5],
            "counted": dashboard.cached(scope, "counted_by_bpjs", {}, lambda: counted_by_bpjs(scope)),
            "decile_flagged": flagged_workers(scope).count(),
        },
    )


@admin_page
def coverage(request, scope):
    district = request.GET.get("district", "")
    if district:
        table = dashboard.build_table("coverage_villages", scope, {"district": district})
        name = next(
            (d["name"] for d in dashboard.build_table("coverage_districts", scope).rows if d["code"] == district),
            district,
        )
    else:
        table, name = dashboard.build_table("coverage_districts", scope), ""
    return render(
        request,
        "dashboard/coverage.html",
        {
            "scope": scope,
            "nav": "coverage",
            "table": table,
            "district": district,
            "district_name": name,
            "default_target": dashboard.default_village_target(scope.regency),
            "can_set_targets": scope.agency is None,
        },
    )


@require_POST
@admin_page
def set_village_target(request, scope, code):
    try:
        village_target_set(
            scope=scope, village_code=code, target=request.POST.get("target", ""), actor=request.user, ip=_ip(request)
        )
        messages.success(request, "Target desa disimpan.")
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect(f"{reverse('dashboard:coverage')}?district={request.POST.get('district', '')}")


@admin_page
def money(request, scope):
    return render(
        request,
        "dashboard/money.html",
        {
            "scope": scope,
            "nav": "money",
            "table": dashboard.build_table("money", scope),
            "on_time": dashboard.table_extra("money", scope).get("on_time"),
        },
    )


@admin_page
def arrears(request, scope):
    return render(
        request,
        "dashboard/arrears.html",
        {
            "scope": scope,
            "nav": "arrears",
            "table": dashboard.build_table("arrears", scope),
        },
    )


@require_POST
@admin_page
def remind(request, scope, sponsor_id):
    texts = {
        "sent": "Pengingat terkirim.",
        "no_arrears": "ASN ini tidak lagi menunggak.",
        "no_app_account": "ASN ini belum memakai aplikasi; hubungi lewat telepon/OPD. Dicatat sebagai diingatkan.",
        "already_sent_today_or_opted_out": "Pengingat hari ini sudah dikirim (atau ASN menonaktifkan pengingat).",
        "notifications_unavailable": "Layanan notifikasi belum tersedia; dicatat sebagai diingatkan.",
    }
    try:
        result = arrears_remind(scope=scope, sponsor_id=sponsor_id, actor=request.user, ip=_ip(request))
        (messages.success if result["sent"] else messages.warning)(request, texts.get(result["reason"], "Selesai."))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("dashboard:arrears")


@admin_page
def at_risk(request, scope):
    extra = dashboard.table_extra("at_risk", scope)
    return render(
        request,
        "dashboard/at_risk.html",
        {
            "scope": scope,
            "nav": "at_risk",
            "days": 30,
            "table": dashboard.build_table("at_risk", scope),
            "reasons": sorted(extra.get("reasons", {}).items()),
            "benefits": dashboard.build_table("benefits", scope),
            "benefits_total": dashboard.table_extra("benefits", scope).get("regency_total", {}),
        },
    )


@admin_page
def export(request, scope, table, fmt):
    if table not in dashboard.TABLES or fmt not in FORMATS:
        return HttpResponse("Tabel atau format tidak dikenal.", status=404)
    params = {k: v for k, v in request.GET.items() if k not in ("regency", "sep")}
    data = dashboard.build_table(table, scope, params)
    try:
        out = table_export(
            actor=request.user,
            table=data,
            fmt=fmt,
            filters=params,
            ip=_ip(request),
            sep=request.GET.get("sep", "comma"),
        )
    except ApplicationError as exc:
        return HttpResponse(str(exc.message), status=400)
    response = HttpResponse(out.content, content_type=out.content_type)
    response["Content-Disposition"] = f'attachment; filename="{out.file_name}"'
    return response


@admin_page
def personal_data_access(request, scope):
    """The regency's personal-data access log, for its data-protection officer (others: 403)."""
    if not is_data_protection_officer(request.user):
        return HttpResponseForbidden(render_to_string("dashboard/403.html", request=request))
    rows = accesses_for(request.user)
    purpose = request.GET.get("purpose", "")
    if purpose in PersonalDataAccess.Purpose.values:
        rows = rows.filter(purpose=purpose)
    return render(
        request,
        "dashboard/personal_data_access.html",
        {
            "scope": scope,
            "nav": "personal_data",
            "rows": rows[:500],
            "purposes": PersonalDataAccess.Purpose.choices,
            "purpose": purpose,
        },
    )


def _batches(scope):
    qs = ImportBatch.objects.filter(regency=scope.regency).select_related("created_by")
    return qs.filter(agency=scope.agency) if scope.agency else qs


@admin_page
def import_list(request, scope):
    if request.method == "POST":
        upload = request.FILES.get("file")
        kind = request.POST.get("kind", "")
        if upload is None:
            messages.error(request, "Pilih berkas XLSX atau CSV terlebih dahulu.")
        else:
            try:
                batch = imports.import_preview(
                    actor=request.user,
                    scope=scope,
                    kind=kind,
                    file_name=upload.name,
                    content=imports.upload_content(upload),
                    ip=_ip(request),
                )
                return redirect("dashboard:import-detail", pk=batch.pk)
            except ApplicationError as exc:
                messages.error(request, str(exc.message))
    return render(
        request,
        "dashboard/imports.html",
        {
            "scope": scope,
            "nav": "imports",
            "batches": _batches(scope)[:20],
            "kinds": ImportBatch.Kind.choices,
        },
    )


@admin_page
def import_detail(request, scope, pk):
    batch = get_object_or_404(_batches(scope), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "discard":
                imports.import_discard(batch=batch, actor=request.user, ip=_ip(request))
                messages.info(request, "Impor dibatalkan; tidak ada data yang diubah.")
            else:
                done = imports.import_confirm_request(
                    batch=batch, actor=request.user, mode=action or "all", ip=_ip(request)
                )
                done.refresh_from_db()
                result = done.result
                if done.status == ImportBatch.Status.APPLIED and batch.kind == ImportBatch.Kind.DTSEN:
                    messages.success(request, dtsen_result_text(result))
                elif done.status == ImportBatch.Status.APPLIED:
                    messages.success(
                        request,
                        f"Impor selesai: {result['created']} baru, {result['updated']} diperbarui, "
                        f"{result['unchanged']} tetap, {result['skipped']} dilewati.",
                    )
                elif done.status == ImportBatch.Status.APPLYING:
                    messages.info(request, "Impor sedang diproses; halaman ini menampilkan kemajuannya.")
                else:
                    messages.error(
                        request, "Impor dibatalkan seluruhnya: ada baris yang gagal disimpan. Lihat laporan."
                    )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        return redirect("dashboard:import-detail", pk=batch.pk)
    return render(
        request,
        "dashboard/import_detail.html",
        {
            "scope": scope,
            "nav": "imports",
            "batch": batch,
            "progress": imports.import_progress(batch),
            "problems": batch.problems[:500],
            "more_problems": max(len(batch.problems) - 500, 0),
        },
    )


@admin_page
def import_template(request, scope, kind, fmt):
    from sponsorship.dashboard.api.imports import template_response

    if kind not in ImportBatch.Kind.values or fmt not in FORMATS:
        return HttpResponse("Templat tidak dikenal.", status=404)
    return template_response(kind, fmt)


@admin_page
def reach(request, scope):
    from sponsorship.dashboard.selectors.reach import reach_summary

    return render(request, "dashboard/reach.html", {"scope": scope, "nav": "reach", "reach": reach_summary(scope)})


def areas(request):
    """Province and national admins (and superusers): per regency or per province aggregates, no personal data."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse(LOGIN_URL)}?next={request.get_full_path()}")
    try:
        area = area_scope(request.user, province_code=request.GET.get("province"))
    except PermissionDenied:
        return HttpResponseForbidden(render_to_string("dashboard/403.html", request=request))
    figures = area_figures(area)
    return render(
        request,
        "dashboard/areas.html",
        {
            "area": area,
            "figures": figures,
            "drill_down": figures["unit"] == "province",
            # a national admin looking at one province may go back to the list of provinces
            "can_go_up": area.province is not None and not is_province_admin(request.user),
        },
    )
