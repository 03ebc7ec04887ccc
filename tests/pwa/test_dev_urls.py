"""Every service URL `python3 dev.py start` prints answers, and the app is among them (issue 15's "Done when")."""

import re
from pathlib import Path

import pytest
from django.test import Client

DEV = Path(__file__).resolve().parents[2] / "dev.py"


@pytest.mark.django_db
def test_printed_urls_include_the_app_and_all_answer():
    paths = re.findall(r"http://\{host\}:\{port\}(/[^\s)]*)", DEV.read_text())
    assert "/app/" in paths, paths
    for path in paths:
        response = Client().get(path)
        assert response.status_code in (200, 302), (path, response.status_code)
