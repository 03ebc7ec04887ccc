"""gunicorn settings the project ships, for production and for the benches:

    gunicorn -c backend/gunicorn.conf.py backend.wsgi

Each value can be changed by the environment (GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS,
GUNICORN_KEEPALIVE, GUNICORN_TIMEOUT, GUNICORN_ACCESS_LOG) or by a command-line flag, which wins over this file
(bench/notifications_http.py and bench/dashboard.py pass their --workers/--threads that way and print them).

Why these values (measured on 2 cores, see docs/money.md and docs/dashboard.md):
- gthread: keep-alive connections (Midtrans and the mobile app reuse them; a new TCP connection per request
  costs more than the request) and threads that wait on PostgreSQL without holding the GIL;
- workers = cores: a request is mostly Python (one process = one GIL), so one process per core uses the
  machine, more processes only add context switches and memory;
- threads 8: a webhook request spends most of its time waiting for its COMMIT to reach the disk, without the
  GIL; with more requests in flight, PostgreSQL flushes several commits at once. Measured on 2 shared cores
  (webhook bench, worker during the burst, same hour): 2 × 4 → 198/s, 2 × 8 → 340/s, with lower gunicorn
  CPU per request (2 × 16 was not measured enough to tell; each thread also holds a database connection);
- keep-alive 30 s behind the proxy (the proxy's idle timeout should be longer than this).
Persistent database connections are set in Django (DB_CONN_MAX_AGE, production default 60 s): one per thread.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 30))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # e.g. "-" (stdout); off by default: the proxy logs
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR (backend/observability/metrics.py): a dead worker's live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Import the matching solver (numpy, scipy.spatial, numba: 3-11 s on 2 shared cores) before the worker takes
    its first request. The proposals GET imports it lazily for the priority policy (sponsorship/matching/
    selectors.py, policy_for) the first time it searches candidates; done inside a request, the import held the
    GIL and the import lock for seconds, so every request on that process's 8 threads waited: the 10 s proposals
    timeout of every payday run (docs/performance.md, "The payday rush")."""
    import sponsorship.matching.solver.strategies  # noqa: F401
