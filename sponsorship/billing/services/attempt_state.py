"""The payment attempt's state machine: the one transition helper (PaymentAttempt.TRANSITIONS says what may
follow what)."""
from django.utils import timezone

from sponsorship.billing.models import PaymentAttempt


def attempt_transition(attempt: PaymentAttempt, new: str, **fields) -> bool:
    """Compare-and-swap: move only from a state that allows `new`. False = another process won / not allowed."""
    allowed_from = [old for old, targets in PaymentAttempt.TRANSITIONS.items() if new in targets]
    changed = PaymentAttempt.objects.filter(pk=attempt.pk, status__in=allowed_from).update(
        status=new, updated_at=timezone.now(), **fields)
    return bool(changed)
