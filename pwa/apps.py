from django.apps import AppConfig


class PwaConfig(AppConfig):
    """The installable mobile web app under /app/. A client of /api/v1/ like any other: it imports no domain app."""

    name = "pwa"
    verbose_name = "Pengampu app"
