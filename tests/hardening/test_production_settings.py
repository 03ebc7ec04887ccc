"""Production entry points and keys (issue 14, finding 8): a missing DJANGO_SETTINGS_MODULE never means dev, and
production refuses every key published with the source. Each check runs in a fresh interpreter (settings are read
once per process)."""

import os
import subprocess
import sys

import pytest

from backend.settings import published
from tests.hardening.test_security import PROD_ENV, ROOT, _manage


def _python(code: str, env: dict):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PROD_ENV and not k.startswith(("PII_", "SECRET", "DJANGO_SETTINGS_MODULE", "DEBUG"))
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


WITHOUT_MODULE = {k: v for k, v in PROD_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}
PRINT_SETTINGS = (
    "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG, settings.ALLOWED_HOSTS)"
)


@pytest.mark.parametrize("module", ["backend.wsgi", "backend.asgi", "backend.celery"])
def test_entry_points_default_to_production_settings(module):
    result = _python(f"import {module}; {PRINT_SETTINGS}", WITHOUT_MODULE)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[:2] == ["backend.settings.production", "False"], result.stdout


@pytest.mark.parametrize("module", ["backend.wsgi", "backend.asgi"])
def test_entry_points_without_any_setting_refuse_to_start(module):
    """No environment at all: production settings refuse (no DATABASE_URL / SECRET_KEY), never dev with DEBUG."""
    result = _python(f"import {module}", {"DATABASE_URL": PROD_ENV["DATABASE_URL"]})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_manage_py_keeps_defaulting_to_dev():
    result = _python(
        "import os, runpy, sys; sys.argv=['manage.py', 'shell', '-c', "
        "'from django.conf import settings; print(settings.SETTINGS_MODULE)']; "
        "runpy.run_path('manage.py', run_name='__main__')",
        {"DATABASE_URL": PROD_ENV["DATABASE_URL"]},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "backend.settings.dev" in result.stdout


@pytest.mark.parametrize(
    "name,value",
    [
        ("SECRET_KEY", published.DEV_SECRET_KEY),
        ("SECRET_KEY", published.TEST_SECRET_KEY),
        ("SECRET_KEY", "django-insecure-" + "x" * 50),
        ("PII_ENCRYPTION_KEYS", published.DEV_PII_ENCRYPTION_KEY),
        ("PII_ENCRYPTION_KEYS", PROD_ENV["PII_ENCRYPTION_KEYS"] + "," + published.TEST_PII_ENCRYPTION_KEY),
        ("PII_HASH_KEY", published.DEV_PII_HASH_KEY),
        ("PII_HASH_KEY", published.TEST_PII_HASH_KEY),
    ],
    # Stable ids: one value holds a key generated at import, which differs between pytest-xdist workers.
    ids=["secret-dev", "secret-test", "secret-insecure", "pii-dev", "pii-fresh-then-test", "hash-dev", "hash-test"],
)
def test_production_refuses_published_keys(name, value):
    result = _manage("check", env={**PROD_ENV, name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "published" in result.stderr and name in result.stderr


def test_production_refuses_a_pii_key_equal_to_the_secret_key():
    result = _manage("check", env={**PROD_ENV, "PII_HASH_KEY": PROD_ENV["SECRET_KEY"]})
    assert result.returncode != 0 and "PII_HASH_KEY" in result.stderr


def test_a_jwt_signed_with_the_published_dev_key_is_refused_in_production():
    """The published dev SECRET_KEY signs a superuser's token; the production app (with its own key) answers 401."""
    code = (
        "import django, jwt, time; django.setup();"
        "from django.conf import settings;"
        "from django.test import Client;"
        f"token = jwt.encode({{'token_type': 'access', 'exp': int(time.time()) + 600, 'iat': int(time.time()),"
        f" 'jti': 'x', 'user_id': 1}}, {published.DEV_SECRET_KEY!r}, algorithm='HS256');"
        "r = Client().get('/api/v1/me/', HTTP_AUTHORIZATION='Bearer ' + token, secure=True,"
        " HTTP_HOST='pengampu.ponorogokab.go.id');"
        "print('STATUS', r.status_code)"
    )
    result = _python("import backend.wsgi; " + code, WITHOUT_MODULE)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "STATUS 401" in result.stdout


def test_production_behind_a_proxy_refuses_to_start_without_a_trusted_proxy_setting():
    """Issue 14: behind the HTTPS proxy without TRUSTED_PROXY_* every client shares the proxy's address (per-IP
    throttles global, the lockout per username): production refuses to start instead of running like that."""
    env = {k: v for k, v in PROD_ENV.items() if not k.startswith("TRUSTED_PROXY")}
    refused = _manage("check", env=env)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "TRUSTED_PROXY_COUNT" in refused.stderr
    # A service that terminates TLS itself believes no proxy header and needs no such setting.
    direct = _manage("check", env={**env, "BEHIND_PROXY": "false"})
    assert direct.returncode == 0, direct.stderr[-2000:]
