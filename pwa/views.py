"""The app shell, its manifest, service worker and icons, all served by the service itself (no CDN).

The shell is one gzipped HTML document with the CSS and JS inlined: on a slow 3G link every extra request costs a
round trip, and the budget (bench/app_budget.py) is one round trip to an interactive sign-in screen. The service
worker then keeps it for offline use. Everything else the app shows comes from /api/v1/ like any other client.
"""

import functools
import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import translation
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from .texts import TEXTS

STATIC = Path(__file__).resolve().parent / "static" / "pwa"
LANG_COOKIE = "pengampu_app_lang"
LANGUAGES = ("id", "en")
ICONS = {"icon-192.png", "icon-512.png", "icon-maskable-512.png"}
THEME = "#1f6f50"
# The Firebase JS SDK (vendored, see vendor/firebase/README.md), loaded by the app only when push is switched on
# with FIREBASE_WEB_CONFIG set: never part of the first load.
FIREBASE_SDK = ("pwa/vendor/firebase/firebase-app-compat.js", "pwa/vendor/firebase/firebase-messaging-compat.js")


def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _assets_cached() -> dict:
    return _assets_now()


def _assets_now() -> dict:
    files = {name: _read(name) for name in ("app.js", "app.css", "sw.js")}
    template = (Path(__file__).resolve().parent / "templates" / "pwa" / "shell.html").read_bytes()
    digest = hashlib.sha256(template)
    for name in sorted(files):
        digest.update(files[name].encode())
    files["version"] = digest.hexdigest()[:16]
    return files


def assets() -> dict:
    """The app's files and their version (a hash of all of them: it names the service worker's cache)."""
    return _assets_now() if settings.DEBUG else _assets_cached()


def _language(request) -> str:
    """Indonesian first: the app's own switch (?lang=, then its cookie) decides, not the browser's language."""
    wanted = request.GET.get("lang") or request.COOKIES.get(LANG_COOKIE) or "id"
    return wanted if wanted in LANGUAGES else "id"


@require_GET
@gzip_page
@cache_control(no_cache=True)
def shell(request):
    files = assets()
    language = _language(request)
    with translation.override(language):
        texts = {key: str(text) for key, text in TEXTS.items()}
        config = {
            "lang": language,
            "api": "/api/v1/",
            "version": files["version"],
            "shell_cache": "pa-shell-" + files["version"],
            "sw_url": "/app/sw.js",
            "consent_version": settings.APP_CONSENT_TEXT_VERSION,
            "bpjs_phone": settings.APP_BPJS_PHONE,
            "vapid_public_key": settings.WEBPUSH_VAPID_PUBLIC_KEY,
            "firebase": settings.FIREBASE_WEB_CONFIG or None,
            "firebase_sdk": [static(name) for name in FIREBASE_SDK] if settings.FIREBASE_WEB_CONFIG else [],
        }
        response = render(
            request,
            "pwa/shell.html",
            {
                "lang": language,
                "texts": texts,
                "config": config,
                "css": files["app.css"],
                "js": files["app.js"],
                "theme": THEME,
            },
        )
    response["Content-Language"] = language
    if request.GET.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, path="/app/", samesite="Lax")
    return response


@require_GET
@gzip_page
@cache_control(max_age=3600)
def manifest(request):
    language = _language(request)
    with translation.override(language):
        body = {
            "name": "Pengampu",
            "short_name": "Pengampu",
            "description": str(TEXTS["app_description"]),
            "lang": language,
            "id": "/app/",
            "start_url": "/app/",
            "scope": "/app/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#f5f7f6",
            "theme_color": THEME,
            "categories": ["finance", "productivity"],
            "icons": [
                {"src": "/app/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
                {"src": "/app/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
                {
                    "src": "/app/icons/icon-maskable-512.png",
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
    return HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/manifest+json")


@require_GET
@gzip_page
@cache_control(no_cache=True)
def service_worker(request):
    files = assets()
    response = HttpResponse(files["sw.js"].replace("__VERSION__", files["version"]), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/app/"
    return response


@require_GET
@cache_control(max_age=7 * 24 * 3600)
def icon(request, name: str):
    if name not in ICONS:
        raise Http404
    return HttpResponse((STATIC / "icons" / name).read_bytes(), content_type="image/png")
