"""The background-work page: my jobs (exports, remittance), the scope's imports and matching runs, with progress."""

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import ImportBatch, Job
from sponsorship.dashboard.selectors import TABLES
from sponsorship.dashboard.services import imports, jobs
from sponsorship.matching.models import MatchingRun

from .views import admin_page


@admin_page
def job_list(request, scope):
    if request.method == "POST":  # "prepare in the background" next to a table's download links
        params = {
            "table": request.POST.get("table", ""),
            "format": request.POST.get("format", "xlsx"),
            "sep": request.POST.get("sep", "comma"),
        }
        try:
            job, created = jobs.job_request(actor=request.user, scope=scope, kind=Job.Kind.EXPORT, params=params)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            if created:
                messages.info(request, _("The file is being prepared; this page shows its progress."))
        return redirect("dashboard:jobs")
    batches = ImportBatch.objects.filter(regency=scope.regency)
    if scope.agency:
        batches = batches.filter(agency=scope.agency)
    runs = (
        MatchingRun.objects.filter(regency=scope.regency).defer("pairs", "preview")[:20] if scope.agency is None else []
    )
    my_jobs = list(Job.objects.filter(requested_by=request.user)[:50])
    recent_batches = list(batches[:20])
    busy = any(j.status in Job.ACTIVE for j in my_jobs) or any(
        b.status == ImportBatch.Status.APPLYING for b in recent_batches
    )
    busy = busy or any(
        r.status in (MatchingRun.Status.QUEUED, MatchingRun.Status.SOLVING, MatchingRun.Status.APPLYING) for r in runs
    )
    return render(
        request,
        "dashboard/jobs.html",
        {
            "scope": scope,
            "nav": "jobs",
            "jobs": my_jobs,
            "batches": [(b, imports.import_progress(b)) for b in recent_batches],
            "runs": runs,
            "tables": [(name, spec.title) for name, spec in TABLES.items()],
            "refresh": busy,  # reload every few seconds while something runs
        },
    )


@admin_page
def job_download(request, scope, pk):
    job = get_object_or_404(Job.objects.filter(requested_by=request.user), pk=pk)  # the requester's only
    if job.status != Job.Status.DONE or not job.file:
        return HttpResponse(_("The file is not ready yet."), status=409)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=job.content_type)
