import os

from django.core.asgi import get_asgi_application

# A production entry point: without DJANGO_SETTINGS_MODULE it runs production settings, which refuse to start
# without real secrets (never the dev settings with DEBUG, ALLOWED_HOSTS=* and published keys).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.production")
application = get_asgi_application()
