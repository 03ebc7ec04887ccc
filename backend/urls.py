from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from backend.health import healthz
from backend.observability.metrics import metrics_view
from sponsorship.billing.api.self_pay_views import self_pay_page

# One include per app; each app owns its routes.
api_v1 = [
    path("", include("sponsorship.people.api.urls")),
    path("", include("sponsorship.billing.api.urls")),
    path("", include("sponsorship.matching.api.urls")),
    path("", include("sponsorship.dashboard.api.urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("dashboard/", include("sponsorship.dashboard.web.urls")),
    path("app/", include("pwa.urls")),
    # A worker's self-pay link (no account; docs/bridge-fund.md).
    path("bayar/<str:token>/", self_pay_page, name="self-pay"),
]
