"""Observability: request ids, structured logs, Prometheus metrics and error tracking (docs/ops/observability.md).

- `context`: the request id of the request or Celery task being handled (a context variable).
- `logs`: the log filter that stamps every record with it, the JSON formatter, and LOGGING for the settings.
- `middleware`: reads or makes the request id, answers with it, and times every request per route.
- `metrics`: the metric definitions, the protected `/metrics` view, and the scrape-time database gauges
  that each app contributes through its own `metrics` module.
- `celery`: the signals that carry the request id into tasks and time them.
- `sentry`: the error-tracking hook, on only when SENTRY_DSN is set, with personal data scrubbed.
"""
