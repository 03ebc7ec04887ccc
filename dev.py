#!/usr/bin/env python3
"""The two commands of the README, using nothing but Python 3.11 and pip.

    python3 dev.py start   # set up, migrate, seed demo data, start the Midtrans simulator and the web service
    python3 dev.py test    # set up and run the test suite (pytest); extra arguments go to pytest

Both create `.venv/` on first use and install the project's dependencies from pyproject.toml.
"""
import os
import signal
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


def ensure_venv():
    if not PY.exists():
        sh(sys.executable, "-m", "venv", VENV)
    pyproject = ROOT / "pyproject.toml"
    if not STAMP.exists() or STAMP.stat().st_mtime < pyproject.stat().st_mtime:
        sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        sh(PY, "-m", "pip", "install", "--quiet", ".[test]")
        STAMP.touch()


def start(args):
    ensure_venv()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "backend.settings.dev")}
    (ROOT / "var").mkdir(exist_ok=True)
    host, port, sim_port = "127.0.0.1", env.get("PORT", "8000"), env.get("MIDTRANS_SIM_PORT", "8765")
    env.setdefault("MIDTRANS_API_BASE_URL", f"http://{host}:{sim_port}")
    env.setdefault("MIDTRANS_SERVER_KEY", "SB-Mid-server-LOCALDEMO")
    env.setdefault("MIDTRANS_CLIENT_KEY", "SB-Mid-client-LOCALDEMO")
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    sh(PY, "manage.py", "migrate", "--noinput", env=env)
    sh(PY, "manage.py", "seed_demo", "--if-empty", env=env)
    sh(PY, "manage.py", "seed_dashboard_demo", "--if-empty", env=env)  # dashboard: a year of billing history
    children = []

    def stop(signum, frame):  # `kill <pid>` (a supervisor, a CI job) stops everything like Ctrl+C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if (ROOT / "simulators" / "midtrans").is_dir():
        children.append(subprocess.Popen([
            str(PY), "-m", "simulators.midtrans", "--host", host, "--port", sim_port,
            "--server-key", env["MIDTRANS_SERVER_KEY"],
            "--notification-url", f"{env['PUBLIC_BASE_URL']}/api/v1/payments/midtrans/notification/",
            "--state-file", str(ROOT / "var" / "midtrans-sim.json")], cwd=ROOT, env=env))
    if (ROOT / "notifications" / "management" / "commands" / "run_scheduler.py").exists():
        children.append(subprocess.Popen([str(PY), "manage.py", "run_scheduler"], cwd=ROOT, env=env))
    print(f"""
Pengampu is starting:
  Web API docs (offline):  http://{host}:{port}/api/docs/
  Django admin:            http://{host}:{port}/admin/
  HR dashboard:            http://{host}:{port}/dashboard/
  Health:                  http://{host}:{port}/healthz
  Midtrans simulator:      http://{host}:{sim_port}/  (pay demo invoices: see README, "Pay a demo invoice")
  Scheduler:               manage.py run_scheduler (billing, reminders, outbox); pushes print here
Logins (password demo-pengampu): admin, admin.kabupaten, admin.opd, asn.demo, pekerja.demo
Press Ctrl+C to stop.
""", flush=True)
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
    started = time.monotonic()
    result = subprocess.run([str(PY), "-m", "pytest", *args], cwd=ROOT, env=env)
    print(f"test run took {time.monotonic() - started:.0f} s", flush=True)
    return result.returncode


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
