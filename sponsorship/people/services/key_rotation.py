"""Rotating the personal-data keys: re-encrypt every encrypted column with the first PII_ENCRYPTION_KEYS key and
re-hash every `<name>_hash` sibling with PII_HASH_KEY, in batches, while the old keys stay readable.

The procedure (docs/security.md):
1. Deploy with PII_ENCRYPTION_KEYS=new,old (MultiFernet: the first encrypts, all decrypt) and
   PII_HASH_KEY=new, PII_HASH_KEYS_PREVIOUS=old (lookups try every hash: people.crypto.keyed_hashes).
2. `manage.py rotate_pii_keys` walks each table with encrypted columns by primary key in batches, one
   transaction per batch (rows locked, skipping none): it rewrites the ciphertext and the hashes of the rows not
   yet under the new keys. Resumable and idempotent: a row already under the new keys is left alone, so a run
   that stopped (killed, deploy) is simply started again; `--start-after` skips what is known to be done.
3. When a run reports 0 rows left, drop the old keys from the settings.

Discovery is generic: every model with an EncryptedTextField, and, for a field X, the sibling X_hash when the
model has one. Rows whose clear value is empty (an erased person: hash `erased:…`) keep their hash.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from sponsorship.core.audit import audit_record
from sponsorship.people.crypto import EncryptedTextField, keyed_hash


@dataclass
class TableRotation:
    label: str
    scanned: int = 0
    rotated: int = 0
    last_pk: object = None


@dataclass
class RotationReport:
    tables: list[TableRotation] = field(default_factory=list)

    @property
    def rotated(self) -> int:
        return sum(t.rotated for t in self.tables)


def encrypted_models() -> list[tuple[type[models.Model], list[str], dict[str, str]]]:
    """[(model, encrypted field names, {clear field: hash field})] for every model holding encrypted columns."""
    out = []
    for model in apps.get_models():
        encrypted = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not encrypted:
            continue
        names = {f.name for f in model._meta.concrete_fields}
        hashes = {name: f"{name}_hash" for name in encrypted if f"{name}_hash" in names}
        out.append((model, encrypted, hashes))
    return sorted(out, key=lambda item: item[0]._meta.label)


def _current_fernet() -> Fernet:
    return Fernet(settings.PII_ENCRYPTION_KEYS[0].encode())


def _needs_rotation(raw: dict, clear: dict, encrypted: list[str], hashes: dict[str, str], current: Fernet) -> bool:
    for name in encrypted:
        token = raw[name]
        if token:
            try:
                current.decrypt(token.encode())
            except InvalidToken:
                return True
    return any(clear[name] and clear[hash_field] != keyed_hash(clear[name]) for name, hash_field in hashes.items())


def pii_keys_rotate(
    *,
    batch_size: int = 500,
    start_after: dict[str, object] | None = None,
    only: str | None = None,
    dry_run: bool = False,
    actor=None,
    progress: Callable[[TableRotation], None] | None = None,
) -> RotationReport:
    report = RotationReport()
    current = _current_fernet()
    for model, encrypted, hashes in encrypted_models():
        label = model._meta.label
        if only and label != only:
            continue
        table = TableRotation(label=label, last_pk=(start_after or {}).get(label))
        report.tables.append(table)
        pk_field = model._meta.pk
        assert pk_field is not None
        pk_name, quote = pk_field.attname, connection.ops.quote_name
        columns = {f.name: str(f.column) for f in model._meta.concrete_fields}
        raw_columns = ", ".join(quote(columns[n]) for n in encrypted)
        pk_column, db_table = quote(str(pk_field.column)), quote(model._meta.db_table)
        while True:
            with transaction.atomic():
                qs = model._base_manager.select_for_update().order_by(pk_name)
                if table.last_pk is not None:
                    qs = qs.filter(**{f"{pk_name}__gt": table.last_pk})
                rows = list(qs[:batch_size])
                if not rows:
                    break
                pks = [getattr(r, pk_name) for r in rows]
                # The stored ciphertext (the model attribute holds the decrypted text).
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {pk_column}, {raw_columns} FROM {db_table} WHERE {pk_column} = ANY(%s)",  # noqa: S608
                        [pks],
                    )
                    raw = {r[0]: dict(zip(encrypted, r[1:], strict=True)) for r in cursor.fetchall()}
                changed = []
                for row in rows:
                    clear = {n: getattr(row, n) for n in [*encrypted, *hashes.values()]}
                    if _needs_rotation(raw[getattr(row, pk_name)], clear, encrypted, hashes, current):
                        for name, hash_field in hashes.items():
                            if clear[name]:
                                setattr(row, hash_field, keyed_hash(clear[name]))
                        changed.append(row)
                if changed and not dry_run:
                    # Saving re-encrypts every encrypted field with the first key (EncryptedTextField).
                    model._base_manager.bulk_update(changed, [*encrypted, *hashes.values()])
                table.scanned += len(rows)
                table.rotated += len(changed)
                table.last_pk = pks[-1]
            if progress is not None:
                progress(table)
    if not dry_run and report.rotated:
        audit_record(
            actor=actor,
            action="pii_keys.rotate",
            object_type="pii_keys",
            object_id="",
            extra={t.label: {"scanned": t.scanned, "rotated": t.rotated} for t in report.tables},
        )
    return report
