"""Log records stamped with the request id; one JSON object per line in production, plain text in development.

Only the standard record fields are written (time, level, logger, message, request id, task, exception): an
`extra=` dict is not copied into the JSON, so nothing reaches the log that the message text does not already
show. Messages themselves never carry NIK, phone or location (the project's rule; tests/ops scans for it).
"""

import datetime as dt
import json
import logging

from .context import get_request_id, get_task_name


class RequestIdFilter(logging.Filter):
    """Put the current request id (or "-") on every record, for both formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = get_request_id() or "-"
        if not getattr(record, "task_name", None):
            record.task_name = get_task_name()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or get_request_id() or None,
            "process": record.process,
        }
        task = getattr(record, "task_name", None)
        if task:
            out["task"] = task
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, log_format: str, level: str) -> dict:
    """LOGGING for the settings: `json` (production's default) or `text` (development's)."""
    if log_format not in ("json", "text"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured('LOG_FORMAT must be "json" or "text"')
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "backend.observability.logs.RequestIdFilter"}},
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {"()": "backend.observability.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
