"""Celery signals: the request id travels with every task a request enqueues, and every task is timed.

- before_task_publish: the publisher's current request id goes into the message headers;
- task_prerun: the worker takes it back (or the task's own id, for beat's tasks), so the task's log lines carry
  the request id of the request that caused it; the start time is noted;
- task_postrun / task_failure: duration per task and state, failures counted.

Tasks run eagerly (no broker: dev, tests) run inside the request, where the id is already set; the signals then
only time them. Connected once, from backend/celery.py.
"""

import time

from celery import signals

from .context import get_request_id, reset_request_id, reset_task_name, set_request_id, set_task_name
from .metrics import CELERY_TASK_DURATION, CELERY_TASK_FAILURES

HEADER = "pengampu_request_id"
_running: dict[str, tuple[float, object, object]] = {}


@signals.before_task_publish.connect(weak=False)
def _stamp_request_id(sender=None, headers=None, **kwargs):
    request_id = get_request_id()
    if request_id and headers is not None and not headers.get(HEADER):
        headers[HEADER] = request_id


def _header(task) -> str:
    request = getattr(task, "request", None)
    value = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    return value or ""


@signals.task_prerun.connect(weak=False)
def _task_started(task_id=None, task=None, **kwargs):
    request_id = _header(task) or get_request_id() or (task_id or "")
    _running[task_id or ""] = (time.perf_counter(), set_request_id(request_id), set_task_name(task.name))


@signals.task_postrun.connect(weak=False)
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started, request_token, task_token = _running.pop(task_id or "", (None, None, None))
    if started is not None:
        CELERY_TASK_DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)
    # Reset in the context they were set in (prerun and postrun run in the same thread and context).
    try:
        if task_token is not None:
            reset_task_name(task_token)
        if request_token is not None:
            reset_request_id(request_token)
    except ValueError:  # set in another context (should not happen): leave the values, the next prerun resets
        pass


@signals.task_failure.connect(weak=False)
def _task_failed(sender=None, **kwargs):
    CELERY_TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()
