"""manage.py rotate_pii_keys: re-encrypts and re-hashes in batches while the old keys stay readable; resumable."""

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection

from backend.api.errors import ApplicationError
from sponsorship.people.crypto import keyed_hash
from sponsorship.people.models import Sponsor, Worker
from sponsorship.people.services.key_rotation import pii_keys_rotate
from sponsorship.people.services.people import worker_find_by_nik
from tests import factories

pytestmark = pytest.mark.django_db

OLD_ENC, NEW_ENC = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


def _under(key: str, token: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
        return True
    except InvalidToken:
        return False


def test_rotation_in_batches_keeps_every_lookup_working_and_resumes(regency, settings):
    settings.PII_ENCRYPTION_KEYS, settings.PII_HASH_KEY, settings.PII_HASH_KEYS_PREVIOUS = [OLD_ENC], "old-hash", []
    workers = [factories.make_worker(phone=f"08123456{i:04d}") for i in range(5)]
    sponsor = factories.make_sponsor()
    Sponsor.objects.filter(pk=sponsor.pk).update(phone="", phone_hash="erased:x")  # no clear value: hash kept
    niks = [w.nik for w in workers]

    # 1. The new keys first, the old ones still readable.
    settings.PII_ENCRYPTION_KEYS = [NEW_ENC, OLD_ENC]
    settings.PII_HASH_KEY, settings.PII_HASH_KEYS_PREVIOUS = "new-hash", ["old-hash"]
    assert worker_find_by_nik(niks[0]).pk == workers[0].pk  # found under the previous hash key
    with pytest.raises(ApplicationError) as exc:  # the same person cannot be registered twice meanwhile
        factories.make_worker(nik=niks[1])
    assert exc.value.status_code == 409

    # 2. A run killed after its first batch of two rows...
    class Killed(Exception):
        pass

    def kill_after_first_batch(table):
        if table.label == "people.Worker":
            raise Killed

    with pytest.raises(Killed):
        pii_keys_rotate(batch_size=2, only="people.Worker", progress=kill_after_first_batch)
    rotated = [w for w in workers if _under(NEW_ENC, _raw("sponsorship_worker", "nik", w.pk))]
    assert len(rotated) == 2
    # ...is started again: the two done rows are left alone, the rest rotated; lookups worked throughout.
    report = pii_keys_rotate(batch_size=2)
    by_table = {t.label: t for t in report.tables}
    assert by_table["people.Worker"].rotated == 3
    assert pii_keys_rotate(batch_size=2).rotated == 0  # idempotent
    for worker, nik in zip(workers, niks, strict=True):
        assert _under(NEW_ENC, _raw("sponsorship_worker", "nik", worker.pk))
        assert not _under(OLD_ENC, _raw("sponsorship_worker", "phone", worker.pk))
        row = Worker.objects.get(pk=worker.pk)
        assert row.nik_hash == keyed_hash(nik) and row.phone_hash == keyed_hash(row.phone)

    # 3. The old keys are dropped: everything still reads and is found.
    settings.PII_ENCRYPTION_KEYS, settings.PII_HASH_KEYS_PREVIOUS = [NEW_ENC], []
    assert [worker_find_by_nik(n).pk for n in niks] == [w.pk for w in workers]
    assert Sponsor.objects.get(pk=sponsor.pk).phone_hash == "erased:x"


def test_the_command_dry_run_and_resume_arguments(regency, settings):
    settings.PII_ENCRYPTION_KEYS, settings.PII_HASH_KEY = [OLD_ENC], "old-hash"
    worker = factories.make_worker()
    settings.PII_ENCRYPTION_KEYS = [NEW_ENC, OLD_ENC]
    settings.PII_HASH_KEY, settings.PII_HASH_KEYS_PREVIOUS = "new-hash", ["old-hash"]
    out = io.StringIO()
    call_command("rotate_pii_keys", "--dry-run", "--only", "people.Worker", stdout=out)
    assert "would rotate 1 rows" in out.getvalue()
    assert _under(OLD_ENC, _raw("sponsorship_worker", "nik", worker.pk))  # nothing written
    out = io.StringIO()
    call_command("rotate_pii_keys", "--start-after", f"people.Worker:{worker.pk}", stdout=out)
    assert _under(OLD_ENC, _raw("sponsorship_worker", "nik", worker.pk))  # skipped as already done
    call_command("rotate_pii_keys", stdout=io.StringIO())
    assert _under(NEW_ENC, _raw("sponsorship_worker", "nik", worker.pk))
