"""Error tracking: Sentry, on only when SENTRY_DSN is set; personal data never leaves with an event.

`send_default_pii=False` keeps Sentry from attaching users' addresses, cookies and request bodies; `scrub`
(before_send and before_breadcrumb) replaces what still looks like a NIK (16 digits), an Indonesian phone number
or an e-mail address in any string of the event, exception messages and local variables included.
"""

import re
from typing import Any

NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
PHONE = re.compile(r"(?<![\w+])(?:\+?62|0)[\s.-]?8\d(?:[\s.-]?\d){6,11}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
FILTERED = "[Filtered]"


def scrub_text(text: str) -> str:
    return EMAIL.sub(FILTERED, PHONE.sub(FILTERED, NIK.sub(FILTERED, text)))


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def scrub(event: Any, hint: Any = None) -> Any:
    """before_send / before_breadcrumb: the event with personal-data patterns replaced."""
    return _scrub(event)


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> bool:
    """Start the SDK (Django, Celery and logging integrations) when a DSN is given; False when it is not."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=True,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,
        before_breadcrumb=scrub,
    )
    return True
