from django.urls import include, path

from . import auth, cohorts, life_events, sponsor_profile, views, worker_auth

urlpatterns = [
    path("auth/token/", auth.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", auth.TokenRefreshThrottledView.as_view(), name="token-refresh"),
    path("me/", views.MeView.as_view(), name="me"),
    path("worker/auth/", worker_auth.WorkerSignInView.as_view(), name="worker-auth"),
    path("regions/", views.RegionList.as_view(), name="region-list"),
    path("occupations/", views.OccupationList.as_view(), name="occupation-list"),
    path("agencies/", views.AgencyList.as_view(), name="agency-list"),
    path("sponsor/profile/", sponsor_profile.SponsorProfileView.as_view(), name="sponsor-profile"),
    path("sponsors/", views.SponsorList.as_view(), name="sponsor-list"),
    path("sponsors/<int:pk>/", views.SponsorDetail.as_view(), name="sponsor-detail"),
    path("workers/", views.WorkerListCreate.as_view(), name="worker-list"),
    path("workers/<int:pk>/", views.WorkerDetail.as_view(), name="worker-detail"),
    path(
        "admin/workers/<int:pk>/life-events/",
        life_events.AdminWorkerLifeEvent.as_view(),
        name="admin-worker-life-event",
    ),
    path(
        "admin/sponsors/<int:pk>/life-events/",
        life_events.AdminSponsorLifeEvent.as_view(),
        name="admin-sponsor-life-event",
    ),
    path("admin/cohorts/", cohorts.CohortListCreate.as_view(), name="admin-cohorts"),
    path("admin/life-events/", life_events.AdminLifeEventList.as_view(), name="admin-life-event-list"),
    path("sponsor/life-events/", life_events.SponsorOwnLifeEvent.as_view(), name="sponsor-life-event"),
    path(
        "sponsor/workers/<int:pk>/life-events/",
        life_events.SponsorWorkerLifeEvent.as_view(),
        name="sponsor-worker-life-event",
    ),
    path("worker/life-events/", life_events.WorkerOwnLifeEvent.as_view(), name="worker-life-event"),
    path("", include("sponsorship.people.api.privacy_urls")),
]
