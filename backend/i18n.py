"""Bilingual texts without a gettext compile step: Indonesian first, English when the request asks.

`tr("Data tidak ditemukan.", "Not found.")` returns a lazy string that renders in the active
language (LocaleMiddleware sets it from Accept-Language). Django's and DRF's own messages keep
using their shipped gettext catalogues, which include Indonesian.
"""
from django.utils.functional import lazy
from django.utils.translation import get_language


def _pick(id_text: str, en_text: str) -> str:
    language = (get_language() or "id").lower()
    return en_text if language.startswith("en") else id_text


tr = lazy(_pick, str)


def tr_now(id_text: str, en_text: str, language: str | None = None) -> str:
    """Render immediately, optionally in a given language (push texts are rendered per recipient)."""
    if language is not None:
        return en_text if language.lower().startswith("en") else id_text
    return _pick(id_text, en_text)
