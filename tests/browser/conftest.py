"""Headless Chromium through Playwright's Python package, using the system's Chromium (no browser download).

Without /usr/bin/chromium (or the playwright package) the tests are skipped with the reason, except under
CI=true, where they fail: CI must install `chromium` (apt) and `playwright` (pip).
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    """Module-scoped, not session-scoped: Playwright's sync API keeps an event loop running in this thread
    while it is open, and later tests (firebase-admin closes its app with asyncio.run) fail under a running loop."""
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI=true: {reason}")
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
    # are still synchronous and safe here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# live_server needs real commits, so these tests flush the database when they end, which also empties the
# reference rows that data migrations wrote (occupations, premium rates, holidays): put them back before each
# browser test and after the module, so later tests still find them.
def _restore_reference():
    # The data migrations' loaders, not a snapshot: a snapshot taken after an earlier transactional test's flush
    # would be empty (the browser tests then failed with Occupation.DoesNotExist in a full run).
    from tests.factories import restore_reference_rows

    restore_reference_rows()


@pytest.fixture(scope="module", autouse=True)
def _reference_data(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _restore_reference()
    yield
    with django_db_blocker.unblock():
        _restore_reference()


@pytest.fixture(autouse=True)
def _reference_rows_present(_reference_data, django_db_blocker):
    with django_db_blocker.unblock():
        _restore_reference()
