# syntax=docker/dockerfile:1
# Pengampu's production image (docs/deploy.md): gunicorn by default; the same image runs the Celery worker, beat and
# the one-shot migration with another command (compose.yaml).

# ---- build: the locked dependencies into a virtualenv, static files collected ----------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
# Every package pinned with its hashes (.ci/lock): pip refuses anything else.
COPY requirements/production.lock /tmp/production.lock
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/production.lock
WORKDIR /app
COPY manage.py pyproject.toml ./
COPY backend backend
COPY sponsorship sponsorship
COPY notifications notifications
COPY simulators simulators
COPY pwa pwa
COPY locale locale
COPY deploy deploy
# Static files once, at build (WhiteNoise serves them, compressed); no database and no secret needed.
RUN DJANGO_SETTINGS_MODULE=backend.settings.build /opt/venv/bin/python manage.py collectstatic --noinput \
    && /opt/venv/bin/python -m compileall -q backend sponsorship notifications pwa
# The matching solver's numba kernels, compiled once into the image (next to their sources, owned by the app user
# below), so the first matching run of a fresh container does not compile them (deploy/warm_solver.py).
RUN /opt/venv/bin/python deploy/warm_solver.py

# ---- runtime: the virtualenv and the code, as a user without privileges -------------------------------------------
FROM python:3.11-slim AS runtime
ARG UID=10001
RUN groupadd --system --gid ${UID} pengampu \
    && useradd --system --uid ${UID} --gid pengampu --home-dir /app --shell /usr/sbin/nologin pengampu \
    && mkdir -p /app/var/remittance /app/var/beat /run/pengampu/metrics \
    && chown -R pengampu:pengampu /app /run/pengampu
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=pengampu:pengampu /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=backend.settings.production \
    GUNICORN_BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/run/pengampu/metrics \
    REMITTANCE_DIR=/app/var/remittance
USER pengampu
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["gunicorn", "-c", "backend/gunicorn.conf.py", "backend.wsgi"]
