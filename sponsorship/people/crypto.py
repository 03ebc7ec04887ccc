"""Personal data at rest (UU PDP): Fernet encryption plus a keyed hash for lookups and uniqueness.

An encrypted column cannot be searched or made unique, so each protected value has a sibling
`<name>_hash` column holding HMAC-SHA256(PII_HASH_KEY, value). Keys come from settings; several
encryption keys can be listed for rotation (the first one encrypts), and previous hash keys are listed in
PII_HASH_KEYS_PREVIOUS while `manage.py rotate_pii_keys` re-encrypts and re-hashes (docs/security.md).
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.PII_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.PII_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a wrong key must never be silent
        raise ImproperlyConfigured("cannot decrypt personal data: PII_ENCRYPTION_KEYS does not match") from exc


def keyed_hash(value: str) -> str:
    """The value's hash under the current key: what is written, and what a unique constraint compares."""
    key = settings.PII_HASH_KEY
    if not key:
        raise ImproperlyConfigured("PII_HASH_KEY is empty")
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def keyed_hashes(value: str) -> list[str]:
    """The value's hash under the current key, then under each previous one (PII_HASH_KEYS_PREVIOUS).

    Lookups use all of them (`nik_hash__in=keyed_hashes(nik)`), so a row still hashed with the old key is found
    while `manage.py rotate_pii_keys` re-hashes the table in batches.
    """
    current = keyed_hash(value)
    previous = [
        hmac.new(k.encode(), value.encode(), hashlib.sha256).hexdigest()
        for k in getattr(settings, "PII_HASH_KEYS_PREVIOUS", [])
        if k
    ]
    return [current, *(h for h in previous if h != current)]


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plain text. Not searchable: use the hash column."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
