#!/usr/bin/env python3
"""Budget of the installable app (issue 15) in a real browser: first load, time to interactive, repeat visit.

    /work/wt-pwa/.venv/bin/python bench/app_budget.py [--runs 5] [--port 8979]

Starts gunicorn (backend.settings.test: DEBUG off, the shipped middleware; a migrated database of its own,
BENCH_DATABASE_URL, default pengampu_app_bench) and drives the system Chromium (/usr/bin/chromium) through
Playwright on a 390×844 phone with Chrome DevTools Protocol throttling:

- network: DevTools' "Slow 3G" preset: 2,000 ms latency per request, 50,000 bytes/s down and up
  (Network.emulateNetworkConditions), and a 4× CPU slowdown (Emulation.setCPUThrottlingRate);
- first load: a fresh browser context (no cache, no service worker); bytes = encodedDataLength of every response
  the page received (what crossed the wire, compressed), time to interactive = from the navigation's start to
  the moment the sign-in form is drawn with its handlers attached (app.js sets html[data-ready]);
- repeat visit: the same context once the service worker controls the page, navigating to /app/ again.

- the same for a signed-in worker's status screen (its tokens put in localStorage): the first visit waits for
  GET /api/v1/worker/status/ over the slow link; the repeat visit shows the last-seen status from the service
  worker at once (and refreshes it in the background).

Baseline, measured in the same run under the same throttling: the HR dashboard's login page (/dashboard/login/:
server-rendered, its CSS, Chart.js and dashboard.js), first load and repeat visit (HTTP cache), interactive at
its load event. Budget: shell ≤ 150 KB compressed, interactive ≤ 3 s, repeat visit ≤ 1 s.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
CPU_SLOWDOWN = 4
PHONE = {"width": 390, "height": 844}
BUDGET = {"first_load_kb": 150, "interactive_s": 3.0, "repeat_s": 1.0}

# Set on <html data-ready> by the app; the baseline page has none, so its load event stands in.
READY_PROBE = """
new MutationObserver(() => {
  if (document.documentElement.hasAttribute('data-ready') && !window.__readyAt) window.__readyAt = performance.now();
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-ready']});
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--port", type=int, default=8979)
    return p.parse_args()


def start_server(port: int) -> subprocess.Popen:
    from _setup import BENCH_DB

    db = os.environ.get("BENCH_DATABASE_URL", BENCH_DB.rsplit("/", 1)[0] + "/pengampu_app_bench")
    os.environ["BENCH_DATABASE_URL"] = db
    import _setup

    _setup.BENCH_DB = db
    _setup.django_setup("backend.settings.test")
    env = {**os.environ, "DATABASE_URL": db, "DJANGO_SETTINGS_MODULE": "backend.settings.test"}
    cmd = [sys.executable, "-m", "gunicorn", "backend.wsgi:application", "-w", "2", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import requests

    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return server
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def throttle(context, page):
    cdp = context.new_cdp_session(page)
    bytes_seen: list[int] = []
    cdp.on("Network.loadingFinished", lambda e: bytes_seen.append(int(e.get("encodedDataLength", 0))))
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    return bytes_seen


def worker_tokens() -> dict:
    """A worker with this month paid (the services a billing run and a settlement use), signed in."""
    import datetime as dt

    from django.utils import timezone

    from sponsorship.billing.gateways.base import TransactionStatus
    from sponsorship.billing.models import Invoice, PaymentAttempt
    from sponsorship.billing.services.billing import billing_run
    from sponsorship.billing.services.settlement import payment_settle
    from sponsorship.core.periods import local_today, month_start
    from sponsorship.people.models import Sponsorship, Worker
    from sponsorship.people.services.worker_auth import issue_worker_tokens
    from tests import factories

    worker = Worker.objects.filter(full_name="Pekerja Bench App").first()
    if worker is None:
        factories.restore_reference_rows()
        factories.load_ponorogo()
        sponsor = factories.make_sponsor(full_name="ASN Bench App")
        worker = factories.make_worker(full_name="Pekerja Bench App")
        factories.sponsor_worker(sponsor, worker)
        Sponsorship.objects.filter(worker=worker).update(started_at=timezone.now() - dt.timedelta(days=60))
        billing_run(period=month_start(local_today()), notify=False)
        for invoice in Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.ISSUED):
            attempt = PaymentAttempt.objects.create(
                invoice=invoice, order_id=f"{invoice.number}-B", amount_idr=invoice.amount_idr, status="pending"
            )
            payment_settle(
                attempt=attempt,
                status=TransactionStatus(
                    order_id=attempt.order_id,
                    transaction_id=f"b-{invoice.pk}",
                    transaction_status="settlement",
                    status_code="200",
                    gross_amount_idr=invoice.amount_idr,
                    fraud_status="accept",
                ),
            )
    return issue_worker_tokens(worker)


def signed_in_script(tokens: dict) -> str:
    return (
        f"if (!localStorage.getItem('pa.access')) {{ localStorage.setItem('pa.access', '{tokens['access']}');"
        f" localStorage.setItem('pa.refresh', '{tokens['refresh']}'); localStorage.setItem('pa.role', 'worker'); }}"
    )


def visit(page, url: str, app: bool) -> float:
    """Seconds from the navigation's start to interactive."""
    page.goto(url, wait_until="load", timeout=120_000)
    if app:
        page.wait_for_function("window.__readyAt !== undefined", timeout=120_000)
        return page.evaluate("window.__readyAt") / 1000
    return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000


def measure(browser, url: str, app: bool, tokens: dict | None = None, screen: str = "signin") -> dict:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="id-ID")
    context.add_init_script(READY_PROBE)
    if tokens:
        context.add_init_script(signed_in_script(tokens))
    page = context.new_page()
    bytes_seen = throttle(context, page)
    first = visit(page, url, app)
    if app:
        assert page.get_attribute("html", "data-ready") == screen, page.get_attribute("html", "data-ready")
    page.wait_for_load_state("networkidle", timeout=120_000)
    first_bytes = sum(bytes_seen)
    if app:  # the repeat visit is the service worker's: wait until it controls the page
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=120_000)
    bytes_seen.clear()
    repeat = visit(page, url, app)
    repeat_bytes = sum(bytes_seen)
    if app:
        assert page.get_attribute("html", "data-ready") == screen, page.get_attribute("html", "data-ready")
    context.close()
    return {"first_s": first, "first_bytes": first_bytes, "repeat_s": repeat, "repeat_bytes": repeat_bytes}


def precache_bytes(base: str) -> int:
    """What the service worker fetches for itself on install (not seen by the page's DevTools session)."""
    import requests

    total = 0
    for path in ("/app/", "/app/manifest.webmanifest", "/app/icons/icon-192.png", "/app/icons/icon-512.png"):
        response = requests.get(base + path, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
        total += len(response.raw.read())
    return total


def main():
    args = parse_args()
    from playwright.sync_api import sync_playwright

    server = start_server(args.port)
    base = f"http://127.0.0.1:{args.port}"
    tokens = worker_tokens()
    results: dict[str, list[dict]] = {"app": [], "baseline": [], "status": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            for run in range(args.runs):
                results["app"].append(measure(browser, f"{base}/app/", app=True))
                results["baseline"].append(measure(browser, f"{base}/dashboard/login/", app=False))
                results["status"].append(measure(browser, f"{base}/app/", app=True, tokens=tokens, screen="status"))
                print(f"run {run + 1}: " + "  ".join(f"{k} {v[-1]}" for k, v in results.items()), flush=True)
            browser.close()
        extra = precache_bytes(base)
    finally:
        server.terminate()
        server.wait(timeout=20)

    def med(kind, key):
        return statistics.median(r[key] for r in results[kind])

    app_kb, base_kb = med("app", "first_bytes") / 1000, med("baseline", "first_bytes") / 1000
    rows = [
        ("first load, compressed KB (page)", app_kb, base_kb, BUDGET["first_load_kb"]),
        ("time to interactive, s", med("app", "first_s"), med("baseline", "first_s"), BUDGET["interactive_s"]),
        ("repeat visit, s", med("app", "repeat_s"), med("baseline", "repeat_s"), BUDGET["repeat_s"]),
        (
            "repeat visit, KB over the network",
            med("app", "repeat_bytes") / 1000,
            med("baseline", "repeat_bytes") / 1000,
            None,
        ),
    ]
    print(
        f"\nSlow 3G ({SLOW_3G['latency']} ms, {SLOW_3G['downloadThroughput'] // 1000} KB/s), "
        f"CPU {CPU_SLOWDOWN}× slower, 390×844, Chromium headless; medians of {args.runs} runs"
    )
    print(f"{'':36} {'app /app/':>11} {'baseline':>11} {'app/base':>9} {'budget':>8}  ok")
    failed = False
    for name, app, baseline, budget in rows:
        ratio = app / baseline if baseline else float("nan")
        ok = "" if budget is None else ("yes" if app <= budget else "NO")
        failed |= ok == "NO"
        print(f"{name:36} {app:11.2f} {baseline:11.2f} {ratio:9.2f} {budget if budget is not None else '':>8}  {ok}")
    print(
        f"signed-in worker status screen: first visit {med('status', 'first_s'):.2f} s "
        f"({med('status', 'first_bytes') / 1000:.1f} KB), repeat visit {med('status', 'repeat_s'):.2f} s "
        f"({med('status', 'repeat_bytes') / 1000:.1f} KB over the network)"
    )
    print(
        f"service worker precache (its own requests, compressed): {extra / 1000:.1f} KB; "
        f"page + precache: {app_kb + extra / 1000:.1f} KB"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
