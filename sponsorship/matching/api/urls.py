from django.urls import path

from . import views as v

urlpatterns = [
    path("sponsor/proposals/", v.ProposalList.as_view(), name="proposal-list"),
    path("sponsor/proposals/<int:pk>/accept/", v.ProposalAccept.as_view(), name="proposal-accept"),
    path("sponsor/proposals/<int:pk>/decline/", v.ProposalDecline.as_view(), name="proposal-decline"),
    path("sponsor/nominations/", v.SponsorNominations.as_view(), name="sponsor-nominations"),
    path("sponsor/leave-request/", v.SponsorLeaveRequest.as_view(), name="sponsor-leave-request"),
    path("admin/nominations/", v.AdminNominationList.as_view(), name="admin-nomination-list"),
    path("admin/nominations/<int:pk>/verify/", v.AdminNominationVerify.as_view(), name="admin-nomination-verify"),
    path("admin/nominations/<int:pk>/reject/", v.AdminNominationReject.as_view(), name="admin-nomination-reject"),
    path("admin/matching-runs/", v.MatchingRunListCreate.as_view(), name="matching-run-list"),
    path("admin/matching-runs/<int:pk>/", v.MatchingRunDetail.as_view(), name="matching-run-detail"),
    path("admin/matching-runs/<int:pk>/apply/", v.MatchingRunApply.as_view(), name="matching-run-apply"),
    path("admin/sponsors/<int:pk>/leave/", v.AdminSponsorLeave.as_view(), name="admin-sponsor-leave"),
]
