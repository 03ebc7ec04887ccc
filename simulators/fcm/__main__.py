"""Run the fake FCM in the foreground: `python -m simulators.fcm --port 8766`.

Prints the settings to point the provider at it. Control endpoints for manual
testing: GET /__fake/stats, POST /__fake/reset,
POST /__fake/token-errors {"token": "...", "code": "UNREGISTERED"}.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .credentials import write_service_account
from .server import FakeFCM


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.fcm", description=__doc__)
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    parser.add_argument("--project-id", default="pengampu-test")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every send")
    parser.add_argument("--json", action="store_true", help="print one JSON line, for scripts")
    args = parser.parse_args(argv)

    # Install the SIGTERM handler before announcing ourselves: a caller may terminate us right after reading
    # the first line, and the default action would skip the cleanup below (the service-account file stays).
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fake = FakeFCM(port=args.port, project_id=args.project_id, latency_seconds=args.latency_ms / 1000)
    fake.start()
    sa_path = write_service_account(fake.service_account)
    info = {
        "base_url": fake.base_url,
        "token_uri": fake.token_uri,
        "fcm_url_template": fake.fcm_url_template,
        "service_account_file": sa_path,
        "project_id": args.project_id,
    }
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print(f"Fake FCM listening on {fake.base_url} (project {args.project_id})")
        print(f"Service-account JSON: {sa_path}")
        print("Point the provider at it with:")
        print("  PUSH_PROVIDER=fcm")
        print(f"  FCM_SERVICE_ACCOUNT={sa_path}")
        print(f"  FCM_BASE_URL={fake.base_url}")
        print("Ctrl-C to stop.", flush=True)

    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        os.unlink(sa_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
