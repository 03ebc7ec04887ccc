"""Field errors of DRF and SimpleJWT are Indonesian in Indonesian answers (issue 14: 25 came back in English)."""

import inspect

import pytest
from django.utils import translation
from rest_framework import exceptions, fields, relations, serializers, validators
from rest_framework_simplejwt import exceptions as jwt_exceptions

from sponsorship.people.models import Role
from tests import factories


def _error_messages():
    """Every default error message of DRF's fields, relations and serializers, and SimpleJWT's auth errors."""
    out = {}
    for module in (fields, relations, serializers):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            for klass in cls.__mro__:
                for key, message in getattr(klass, "default_error_messages", {}).items():
                    out[f"{name}.{key}"] = message
    for name, cls in inspect.getmembers(exceptions, inspect.isclass):
        if issubclass(cls, exceptions.APIException) and cls.default_detail:
            out[name] = cls.default_detail
    out["UniqueValidator"] = validators.UniqueValidator.message
    out["InvalidToken"] = jwt_exceptions.InvalidToken.default_detail
    for text in JWT_TEXTS:  # raised inline by SimpleJWT (authentication.py, serializers.py, tokens.py)
        out[text] = text
    return {key: message for key, message in out.items() if str(message)}


JWT_TEXTS = [
    "No active account found with the given credentials",
    "Given token not valid for any token type",
    "Token contained no recognizable user identification",
    "User not found",
    "User is inactive",
    "Token is expired",
    "Token is invalid",
    "Token is blacklisted",
]


# Texts that read the same in both languages, or are never shown to a person.
SAME = {"Token", "Tokens"}


def test_every_field_error_has_indonesian():
    english, missing = {}, []
    with translation.override("en"):
        for key, message in _error_messages().items():
            english[key] = str(message)
    with translation.override("id"):
        for key in english:
            if str(translation.gettext(english[key])) == english[key] and english[key] not in SAME:
                missing.append((key, english[key]))
    assert not missing, missing


@pytest.mark.django_db
def test_an_indonesian_answer_carries_indonesian_field_errors(regency, api):
    admin = factories.make_user("admin.bahasa", Role.REGENCY_ADMIN, regency=regency)
    r = api(admin).post(
        "/api/v1/workers/",
        {"nik": ["x"], "full_name": 5, "occupation": "petani", "village": "35.02.17.1001", "lat": "abc"},
        format="json",
    )
    assert r.status_code == 400
    fields_ = r.json()["extra"]["fields"]
    assert fields_["nik"] == ["Harus berupa teks."] and fields_["lat"] == ["Harus berupa angka."]
    english = api(admin).post("/api/v1/workers/", {"nik": ["x"]}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["extra"]["fields"]["nik"] == ["Not a valid string."]
