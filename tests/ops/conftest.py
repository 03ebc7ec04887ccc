"""Observability fixtures: every log line of a test captured as the production JSON formatter writes it."""

import io
import json
import logging

import pytest

from backend.observability.logs import JsonFormatter, RequestIdFilter

TOKEN = "metrics-token-for-tests-0123456789abcdef"


class CapturedLogs:
    def __init__(self):
        self.stream = io.StringIO()
        self.handler: logging.Handler | None = None

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs():
    captured = CapturedLogs()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.setLevel(logging.INFO)
    captured.handler = handler
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        for logger in (root,):
            if handler in logger.handlers:
                logger.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ()
    return TOKEN


def scrape(client, token=TOKEN) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return response.content.decode()
