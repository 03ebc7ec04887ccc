"""The one way to write an audit row. Call inside the transaction of the change it records."""
from sponsorship.core.models import AuditLog


def audit_record(*, actor, action: str, obj=None, object_type: str = "", object_id="", before=None, after=None,
                 extra=None, ip: str | None = None) -> AuditLog:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action, object_type=object_type, object_id=str(object_id),
        before=before, after=after, extra=extra or {}, ip=ip,
    )


def snapshot(obj, fields) -> dict:
    """Plain JSON-able values of `fields`, for before/after. Personal data should be masked by the caller."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "pk"):
            value = value.pk
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    return out
