"""The container files (issue 20.1), checked where no Docker daemon runs: the Dockerfile's stages, user,
healthcheck and lock file; compose.yaml's services, its one beat, healthchecks and secrets only from the
environment; .env.example naming every secret production requires. `.ci/run` builds the image when a Docker
daemon answers and runs `docker compose config` when the plugin exists."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backend.settings.published import is_published

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "beat")


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split per FROM."""
    text = (ROOT / "Dockerfile").read_text()
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    stages: list[list[str]] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_dockerfile_is_multi_stage_slim_and_runs_as_a_user_without_privileges():
    stages = _stages()
    assert len(stages) >= 2
    assert all(stage[0].split()[1] == "python:3.11-slim" for stage in stages)
    final = stages[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the final stage must switch to a non-root user"
    assert re.search(r"useradd .*--uid", " ".join(final))
    healthchecks = [line for line in final if line.upper().startswith("HEALTHCHECK ")]
    assert len(healthchecks) == 1 and "deploy/healthcheck.py" in healthchecks[0]
    assert "/healthz" in (ROOT / "deploy" / "healthcheck.py").read_text()
    cmd = [line for line in final if line.upper().startswith("CMD ")][-1]
    assert "gunicorn" in cmd and "backend.wsgi" in cmd


def test_dockerfile_installs_from_the_lock_file_with_hashes_and_collects_static_files():
    build = " ".join(_stages()[0])
    assert "COPY requirements/production.lock" in build
    assert re.search(r"pip install --require-hashes .*-r /tmp/production.lock", build)
    assert "collectstatic --noinput" in build and "backend.settings.build" in build
    lock = (ROOT / "requirements" / "production.lock").read_text()
    pins = re.findall(r"^([a-z0-9][a-z0-9._-]*)==", lock, flags=re.M)
    assert {"django", "gunicorn", "celery", "prometheus-client", "sentry-sdk"} <= set(pins)
    assert lock.count("--hash=sha256:") >= len(pins)


def test_every_copied_path_exists_and_dockerignore_keeps_secrets_and_tests_out():
    for stage in _stages():
        for line in stage:
            if line.upper().startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    if not source.startswith("--"):
                        assert (ROOT / source).exists(), f"Dockerfile copies a missing {source}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "tests", "var"} <= set(ignored)


def test_the_build_settings_collect_static_files_without_a_database_or_secret(tmp_path):
    """The Dockerfile's collectstatic step, run here: the base settings, no DATABASE_URL, no key."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SECRET", "PII_", "DJANGO_SETTINGS"))
    }
    env.update({"DJANGO_SETTINGS_MODULE": "backend.settings.build", "STATIC_ROOT": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "admin").is_dir() and any(tmp_path.rglob("*.gz")), "compressed static files expected"


def test_the_build_compiles_the_solver_kernels_into_the_image(tmp_path):
    """The Dockerfile's warm-up step, run here with its own numba cache and no database or settings: it solves
    down every path and a second run finds the kernels cached."""
    assert any("deploy/warm_solver.py" in line for line in _stages()[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_SETTINGS"))}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    env["MATCHING_WARM_CACHE_DIR"] = str(tmp_path / "warm")

    def run() -> float:
        out = subprocess.run(
            [sys.executable, "deploy/warm_solver.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return float(re.search(r"cached in ([0-9.]+) s", out.stdout).group(1))

    first = run()
    assert any((tmp_path / "numba").rglob("*.nbc")), "compiled kernels expected in the cache"
    assert run() < first  # loaded, not compiled again


def test_compose_has_the_services_and_exactly_one_beat():
    services = _compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "migrate"} <= set(services)
    beats = [name for name, s in services.items() if "beat" in " ".join(map(str, s.get("command") or []))]
    assert beats == ["beat"], f"beat runs in {beats}"
    assert services["beat"]["deploy"]["replicas"] == 1
    worker = " ".join(services["worker"]["command"])
    assert " -B" not in worker and "--beat" not in worker
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert "migrate" in " ".join(services["migrate"]["command"]) and services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_compose_healthchecks_and_volumes():
    compose = _compose()
    services = compose["services"]
    for name in ("web", "worker", "beat", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert any(v.startswith("metrics:") for v in services[name]["volumes"])


SECRETISH = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|DSN", re.I)


def test_compose_writes_no_secret_inline():
    for name, service in _compose()["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for key, value in environment.items():
            value = str(value)
            if SECRETISH.search(key):
                assert value.startswith("${"), f"{name}.{key} is written inline"
            for url_password in re.findall(r"://[^:/@]+:([^@]+)@", value):
                assert url_password.startswith("${"), f"{name}.{key} has an inline password"


def test_env_example_names_every_secret_and_production_refuses_its_placeholders():
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    required = {"SECRET_KEY", "PII_HASH_KEY", "PII_ENCRYPTION_KEYS", "POSTGRES_PASSWORD", "METRICS_TOKEN"}
    required |= {"MIDTRANS_ORDER_PREFIX", "TRUSTED_PROXY_COUNT", "ALLOWED_HOSTS", "MIDTRANS_SERVER_KEY"}
    assert required <= set(example)
    for key in ("SECRET_KEY", "PII_HASH_KEY", "PII_ENCRYPTION_KEYS", "METRICS_TOKEN"):
        assert is_published(example[key]), f"{key} in .env.example must be a placeholder production refuses"
    compose_vars = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "compose.yaml").read_text()))
    assert compose_vars - {"PENGAMPU_IMAGE", "WEB_PORT", "CELERY_CONCURRENCY"} <= set(example)


@pytest.mark.skipif(not (ROOT / ".ci" / "run").exists(), reason="no CI script")
def test_ci_builds_the_image_or_validates_compose():
    script = (ROOT / ".ci" / "run").read_text()
    assert "docker info" in script and "docker build" in script and "compose" in script
