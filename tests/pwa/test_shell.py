"""The app shell, manifest, service worker and icons: served by the service, gzipped, Indonesian first, no CDN."""

import gzip
import json
import re

import pytest
from django.test import Client

from pwa.texts import TEXTS

pytestmark = pytest.mark.django_db


def test_shell_is_one_gzipped_document_in_indonesian_with_everything_inlined():
    response = Client().get("/app/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) < 40_000  # the first-load budget is 150 KB; the shell is far below it
    html = gzip.decompress(response.content).decode()
    assert '<html lang="id">' in html and "Memuat…" in html
    # No CDN: nothing loads from another host; scripts and styles are inline, the rest under /app/.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert re.findall(r'<script src=|<link rel="stylesheet"', html) == []
    texts = json.loads(re.search(r'<script id="t" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert texts["sign_in"] == "Masuk" and texts["tab_home"] == "Beranda"
    config = json.loads(re.search(r'<script id="cfg" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert config["api"] == "/api/v1/" and config["sw_url"] == "/app/sw.js" and config["lang"] == "id"


def test_browser_language_does_not_switch_the_app_but_its_own_switch_does():
    client = Client()
    english_phone = client.get("/app/", HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert '<html lang="id">' in english_phone.content.decode()
    switched = client.get("/app/?lang=en")
    assert '<html lang="en">' in switched.content.decode()
    assert switched.cookies["pengampu_app_lang"].value == "en"
    assert '<html lang="en">' in client.get("/app/").content.decode()  # the cookie keeps it
    assert '<html lang="id">' in Client().get("/app/?lang=xx").content.decode()


def test_every_app_text_has_an_indonesian_translation():
    from django.utils import translation

    with translation.override("en"):
        english = {key: str(text) for key, text in TEXTS.items()}
    with translation.override("id"):
        untranslated = [key for key, text in TEXTS.items() if str(text) == english[key]]
    same_in_both = {"welcome", "nip_label", "field_nik", "tab_status", "offline_badge"}  # names and loan words
    assert set(untranslated) <= same_in_both, untranslated


def test_manifest_makes_the_app_installable():
    response = Client().get("/app/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    body = json.loads(response.content)
    assert body["start_url"] == "/app/" and body["scope"] == "/app/" and body["display"] == "standalone"
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    assert any(i["purpose"] == "maskable" for i in body["icons"])
    for icon in body["icons"]:
        png = Client().get(icon["src"])
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        width, height = int.from_bytes(png.content[16:20], "big"), int.from_bytes(png.content[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_service_worker_is_versioned_and_scoped_to_the_app():
    response = Client().get("/app/sw.js")
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/app/"
    assert "no-cache" in response["Cache-Control"]
    assert "__VERSION__" not in body and re.search(r"var VERSION = '[0-9a-f]{16}'", body)


def test_unknown_icon_is_404():
    assert Client().get("/app/icons/evil.png").status_code == 404


WEB_CONFIG = {
    "apiKey": "AIzaSyUjiPengampuWebKey0123456789abcde",
    "projectId": "pengampu-uji",
    "messagingSenderId": "123456789012",
    "appId": "1:123456789012:web:0a1b2c3d4e5f60718293a4",
}


def _config(html: str) -> dict:
    return json.loads(re.search(r'<script id="cfg" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_with_firebase_web_config_the_shell_names_the_sdk_but_does_not_carry_it(settings):
    settings.FIREBASE_WEB_CONFIG = WEB_CONFIG
    settings.WEBPUSH_VAPID_PUBLIC_KEY = "BPengampuVapidKey"
    response = Client().get("/app/", HTTP_ACCEPT_ENCODING="gzip")
    html = gzip.decompress(response.content).decode()
    config = _config(html)
    assert config["firebase"] == WEB_CONFIG and config["vapid_public_key"] == "BPengampuVapidKey"
    assert config["firebase_sdk"] == [
        "/static/pwa/vendor/firebase/firebase-app-compat.js",
        "/static/pwa/vendor/firebase/firebase-messaging-compat.js",
    ]
    # Not in the first-load bytes: no script tag for it, none of its code (its own markers), still small.
    assert re.findall(r"<script src=", html) == []
    assert "fcmregistrations.googleapis.com" not in html and "Cannot instantiate firebase" not in html
    assert len(response.content) < 40_000
    for url in config["firebase_sdk"]:  # the files it names are served by the service (no CDN)
        served = Client().get(url)
        assert served.status_code == 200
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert b"firebase" in body and b"gstatic.com" not in body


def test_without_firebase_web_config_the_app_keeps_the_subscription_path(settings):
    settings.FIREBASE_WEB_CONFIG = {}
    config = _config(Client().get("/app/").content.decode())
    assert config["firebase"] is None and config["firebase_sdk"] == []


def test_firebase_web_config_is_checked_when_the_settings_load():
    from django.core.exceptions import ImproperlyConfigured

    from backend.settings.base import firebase_web_config

    assert firebase_web_config("") == {}
    assert firebase_web_config(json.dumps({**WEB_CONFIG, "authDomain": "x.firebaseapp.com"})) == WEB_CONFIG
    for bad in ("{not json", "[1]", json.dumps({"apiKey": "k", "projectId": "p"})):
        with pytest.raises(ImproperlyConfigured):
            firebase_web_config(bad)
