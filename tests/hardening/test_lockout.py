"""One sign-in lockout for every way in (issue 14, finding 5): before, /dashboard/login/ and /admin/login/ took 12
wrong passwords and then the right one; only the JWT endpoint locked out, with its own counter."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from sponsorship.core.models import AuditLog
from sponsorship.people.models import Role
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "secret-pass-123"


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 5
    cache.clear()
    yield
    cache.clear()


def jwt(username, password, **extra):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json", **extra)


def dashboard(username, password, **extra):
    return Client().post("/dashboard/login/", {"username": username, "password": password}, **extra)


def admin_login(username, password, **extra):
    return Client().post("/admin/login/", {"username": username, "password": password, "next": "/admin/"}, **extra)


def _signed_in(door, response) -> bool:
    if door is jwt:
        return response.status_code == 200
    return response.status_code == 302 and "login" not in response["Location"]


@pytest.fixture
def users(regency):
    admin = factories.make_user("admin.kab.kunci", Role.REGENCY_ADMIN, regency=regency, password=PASSWORD)
    root = get_user_model().objects.create_superuser("root.kunci", password=PASSWORD)
    return {"admin": admin, "root": root}


@pytest.mark.parametrize("door", [dashboard, admin_login], ids=["dashboard", "admin"])
def test_web_logins_lock_out_after_repeated_failures(door, users):
    name = "root.kunci"
    for _ in range(12):
        assert not _signed_in(door, door(name, "salah"))
    locked = door(name, PASSWORD)
    assert not _signed_in(door, locked)
    assert "Terlalu banyak percobaan masuk" in locked.content.decode()
    assert AuditLog.objects.filter(action="auth.login_locked").count() == 1
    # Another address for the same user is not locked (no locking a real user out from afar).
    assert _signed_in(door, door(name, PASSWORD, REMOTE_ADDR="10.9.8.7"))


@pytest.mark.parametrize(
    "first,then",
    [(dashboard, jwt), (jwt, admin_login), (admin_login, dashboard)],
    ids=["dashboard-then-jwt", "jwt-then-admin", "admin-then-dashboard"],
)
def test_one_counter_for_every_way_in(first, then, users):
    """Failures at one door count at every door: 3 + 2 spread over two doors lock both."""
    name = "root.kunci"
    for _ in range(3):
        first(name, "salah")
    for _ in range(2):
        then(name, "salah")
    for door in (first, then, jwt, dashboard, admin_login):
        assert not _signed_in(door, door(name, PASSWORD)), door.__name__
    assert jwt(name, PASSWORD).status_code == 429


def test_a_success_clears_the_counter_for_every_door(users):
    name = "admin.kab.kunci"
    for _ in range(4):
        dashboard(name, "salah")
    assert _signed_in(jwt, jwt(name, PASSWORD))
    for _ in range(4):
        admin_login(name, "salah")
    assert _signed_in(dashboard, dashboard(name, PASSWORD))


def test_dashboard_locked_answer_is_429_and_english_on_request(users):
    for _ in range(5):
        dashboard("admin.kab.kunci", "salah")
    locked = dashboard("admin.kab.kunci", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()


def test_a_password_change_ends_every_refresh_token(regency):
    """Medium finding: refresh tokens survived a password change (a leaked one kept working for 7 days)."""
    user = factories.make_user("budi.ganti", Role.SPONSOR, password=PASSWORD)
    first = jwt("budi.ganti", PASSWORD).json()["refresh"]
    second = jwt("budi.ganti", PASSWORD).json()["refresh"]
    rotated = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": second}, format="json").json()["refresh"]
    user.set_password("a-new-pass-456")
    user.save()
    for token in (first, rotated):
        answer = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": token}, format="json")
        assert answer.status_code == 401, answer.content
    fresh = jwt("budi.ganti", "a-new-pass-456").json()["refresh"]
    # A save that does not change the password ends nothing.
    user.refresh_from_db()
    user.first_name = "Budi"
    user.save()
    assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": fresh}, format="json").status_code == 200
