"""The gunicorn settings the project ships (backend/gunicorn.conf.py): what production and the benches start."""

import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "backend" / "gunicorn.conf.py"


def test_defaults_are_gthread_with_keepalive(monkeypatch):
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_KEEPALIVE", "GUNICORN_BIND", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(CONF))
    assert conf["worker_class"] == "gthread"
    assert conf["workers"] >= 1 and conf["threads"] >= 2 and conf["keepalive"] == 30
    assert conf["accesslog"] is None


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    monkeypatch.setenv("GUNICORN_THREADS", "3")
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    conf = runpy.run_path(str(CONF))
    assert (conf["workers"], conf["threads"], conf["bind"], conf["accesslog"]) == (5, 3, "0.0.0.0:9000", "-")


def test_workers_import_the_matching_solver_before_serving():
    """A proposals GET imports the solver lazily; done in a request it blocked the worker's threads for seconds."""
    import sys

    conf = runpy.run_path(str(CONF))
    conf["post_worker_init"](None)
    assert "sponsorship.matching.solver.strategies" in sys.modules
