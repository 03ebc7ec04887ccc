"""The request id (and task name) of the work in hand: set by the middleware for a request, by a Celery signal
for a task; read by the log filter and carried into the tasks a request enqueues."""

import re
import uuid
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("pengampu_request_id", default="")
_task_name: ContextVar[str] = ContextVar("pengampu_task_name", default="")

# A proxy's or client's id is kept only when it is short and plain (no spaces, quotes or control characters that
# could forge a log line or a header); anything else is replaced by a fresh id.
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    if value and _VALID.fullmatch(value):
        return value
    return None


def get_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str):
    """Set the current id; returns the token to `reset_request_id` with."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def get_task_name() -> str:
    return _task_name.get()


def set_task_name(value: str):
    return _task_name.set(value)


def reset_task_name(token) -> None:
    _task_name.reset(token)
