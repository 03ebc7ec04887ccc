from django.urls import path

from . import views

app_name = "pwa"

urlpatterns = [
    path("", views.shell, name="shell"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("icons/<str:name>", views.icon, name="icon"),
]
