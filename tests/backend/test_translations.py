"""The Indonesian catalogue (locale/id/LC_MESSAGES/django.po) is complete, consistent and compiled.

The compiled django.mo is committed, so neither a server nor a developer needs GNU gettext (msgfmt); these tests
compile the .po with babel (pure Python) and compare. After changing a translatable text: add or edit its entry in
the .po (English msgid, Indonesian msgstr), then recompile:

    .venv/bin/python -c "from tests.backend.test_translations import compile_mo; compile_mo(write=True)"
"""

import io
import re
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.utils import translation
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCES = ("backend", "sponsorship", "notifications", "pwa")  # simulators are stand-alone fakes, not translated
SKIP = {"migrations", "__pycache__", "static"}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="id")


def compile_mo(write: bool = False) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog(), use_fuzzy=False)
    if write:
        MO.write_bytes(buf.getvalue())
    return buf.getvalue()


def _files(suffix):
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob(f"*{suffix}")):
            if not SKIP.intersection(path.relative_to(ROOT).parts):
                yield path


def extracted() -> dict[tuple[str | None, str], str]:
    """(context, msgid) -> where, for every translatable text in the Python code and the Django templates."""
    found = {}

    def take(messages, where):
        for lineno, _funcname, message, _comments, context in messages:
            msgid = message[0] if isinstance(message, (tuple, list)) else message
            if msgid:
                found.setdefault((context, msgid), f"{where}:{lineno}")

    for path in _files(".py"):
        with path.open("rb") as f:
            take(_extract(f), path.relative_to(ROOT))
    for path in _files(".html"):
        python = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        take(_extract(io.BytesIO(python.encode("utf-8"))), path.relative_to(ROOT))
    return found


def _extract(fileobj):
    for lineno, funcname, message, comments, *_rest in extract_python(fileobj, KEYWORDS, [], {}):
        if isinstance(message, tuple) and KEYWORDS.get(funcname) and isinstance(KEYWORDS[funcname][0], tuple):
            context, message = message[0], message[1:] if len(message) > 2 else message[1]
        else:
            context = None
        yield lineno, funcname, message, comments, context


def test_committed_mo_is_the_compiled_po():
    assert MO.read_bytes() == compile_mo(), "django.mo is stale: recompile it (see this module's docstring)"


def test_every_message_has_an_indonesian_translation_and_none_is_fuzzy():
    missing, fuzzy = [], []
    for message in catalog():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            missing.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not missing, f"no Indonesian for: {missing}"
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy}"


def test_placeholders_are_the_same_in_both_languages():
    wrong = []
    for message in catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        wrong.extend((message.id, s) for s in strings if set(PLACEHOLDER.findall(s)) != wanted)
    assert not wrong, wrong


def test_every_text_in_the_code_is_in_the_catalogue_and_nothing_else():
    found = extracted()
    known = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog() if m.id}
    untranslated = {key: where for key, where in found.items() if key not in known}
    assert not untranslated, f"texts without an entry in {PO.relative_to(ROOT)}: {untranslated}"
    unused = known - set(found)
    assert not unused, f"entries no code uses any more (remove them): {sorted(unused, key=str)}"


def test_the_catalogue_is_what_django_uses():
    with translation.override("id"):
        assert translation.gettext("Not found.") == "Data tidak ditemukan."
    with translation.override("en"):
        assert translation.gettext("Not found.") == "Not found."
