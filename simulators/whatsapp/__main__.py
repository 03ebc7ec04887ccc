"""Run the fake WhatsApp Cloud API in the foreground: `python -m simulators.whatsapp --port 8767`.

Its inbox is at http://127.0.0.1:<port>/ (the dev stack's worker sign-in codes show up there); receipts and
inbound messages go to --webhook-url, signed with --app-secret.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import FakeWhatsApp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.whatsapp", description=__doc__)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--access-token", default="dev-whatsapp-token")
    parser.add_argument("--app-secret", default="dev-whatsapp-app-secret")
    parser.add_argument("--phone-number-id", default="100000000000001")
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--mps", type=float, default=80.0, help="messages per second before 130429")
    parser.add_argument("--no-receipts", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fake = FakeWhatsApp(
        port=args.port,
        access_token=args.access_token,
        app_secret=args.app_secret,
        phone_number_id=args.phone_number_id,
        webhook_url=args.webhook_url or None,
        mps=args.mps,
        auto_receipts=not args.no_receipts,
    ).start()
    info = {"base_url": fake.base_url, "phone_number_id": fake.phone_number_id, "inbox": fake.base_url + "/"}
    print(json.dumps(info) if args.json else f"fake WhatsApp Cloud API on {fake.base_url} (inbox: /)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
