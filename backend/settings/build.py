"""Image build only (Dockerfile): `collectstatic` with the base settings, no database, no secret.

This module never serves a request: the container runs backend.settings.production, which takes every secret
from the environment and refuses a placeholder like the one below.
"""

from .base import *  # noqa: F401,F403
from .base import env

SECRET_KEY = "image-build-only-collectstatic-never-serves-a-request"  # noqa: S105 (not a secret: build step only)
STATIC_ROOT = env.str("STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405  (tests/ops collect into a temp dir)
