"""The Celery app. Redis is the broker in production; without one, tasks run eagerly in-process."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.dev")

app = Celery("pengampu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
