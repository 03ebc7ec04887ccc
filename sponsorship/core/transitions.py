"""The one way a state changes: a compare-and-swap UPDATE checked against the model's table of transitions.

Every model with a lifecycle (sponsorship, proposal, nomination, matching run, invoice, payment attempt, refund
case, import batch) declares `Status` (TextChoices) and `TRANSITIONS = {from: {to, …}}`. A change is

    transition(Invoice, invoice.pk, to=Invoice.Status.VOID, void_reason=reason)

which updates the row only while it is in a state that may move to `to`, and answers whether this call moved
it. False means another process won the race, or the row had already moved on ("already done"): callers decide
what that means for them, and nobody ever moves a row along an edge the table does not have. `from_=` narrows
the starting states further (it must be a subset of the table's sources, or the call is a programming error).
"""

from collections.abc import Iterable

from django.db.models import Model, QuerySet
from django.utils import timezone


def sources(model: type[Model], to: str) -> set[str]:
    """The states `model` may move to `to` from, as its TRANSITIONS table says."""
    table = model.TRANSITIONS  # type: ignore[attr-defined]
    found = {str(old) for old, targets in table.items() if to in targets}
    if not found:
        raise ValueError(f"{model.__name__}: no transition leads to {to!r}")
    return found


def _allowed(model: type[Model], to: str, from_: Iterable[str] | None) -> list[str]:
    allowed = sources(model, to)
    if from_ is not None:
        wanted = {str(s) for s in ([from_] if isinstance(from_, str) else from_)}
        if not wanted <= allowed:
            raise ValueError(f"{model.__name__}: {sorted(wanted - allowed)} -> {to!r} is not in TRANSITIONS")
        allowed = wanted
    return sorted(allowed)


def _stamped(model: type[Model], fields: dict) -> dict:
    if "updated_at" not in fields and any(f.name == "updated_at" for f in model._meta.concrete_fields):
        fields = {**fields, "updated_at": timezone.now()}
    return fields


def transition(model: type[Model], pk, *, to: str, from_: Iterable[str] | str | None = None, **fields) -> bool:
    """Move row `pk` to `to` (and set `fields`) if its state allows it; True when this call moved it."""
    return bool(transition_many(model._default_manager.filter(pk=pk), to=to, from_=from_, **fields))


def transition_many(queryset: QuerySet, *, to: str, from_: Iterable[str] | str | None = None, **fields) -> int:
    """The same for every row of `queryset` (e.g. expiring offers); answers how many rows moved."""
    model = queryset.model
    return queryset.filter(status__in=_allowed(model, to, from_)).update(status=to, **_stamped(model, fields))
