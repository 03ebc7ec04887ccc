from django.urls import include, path

from . import auth, views

urlpatterns = [
    path("auth/token/", auth.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", auth.TokenRefreshThrottledView.as_view(), name="token-refresh"),
    path("me/", views.MeView.as_view(), name="me"),
    path("regions/", views.RegionList.as_view(), name="region-list"),
    path("occupations/", views.OccupationList.as_view(), name="occupation-list"),
    path("agencies/", views.AgencyList.as_view(), name="agency-list"),
    path("sponsors/", views.SponsorList.as_view(), name="sponsor-list"),
    path("sponsors/<int:pk>/", views.SponsorDetail.as_view(), name="sponsor-detail"),
    path("workers/", views.WorkerListCreate.as_view(), name="worker-list"),
    path("workers/<int:pk>/", views.WorkerDetail.as_view(), name="worker-detail"),
    # One include per area; each area owns its routes.
    path("", include("sponsorship.api.billing_urls")),
    path("", include("sponsorship.api.matching_urls")),
    path("", include("sponsorship.api.admin_dashboard_urls")),
    path("", include("notifications.api.urls")),
    path("", include("sponsorship.api.privacy_urls")),
]
