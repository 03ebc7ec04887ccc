"""Run the fake Twilio SMS API in the foreground: `python -m simulators.sms --port 8768` (inbox at /)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import FakeTwilio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.sms", description=__doc__)
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--account-sid", default="AC" + "0" * 31 + "1")
    parser.add_argument("--auth-token", default="dev-twilio-auth-token")
    parser.add_argument("--max-concurrent", type=int, default=100)
    parser.add_argument("--no-callbacks", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fake = FakeTwilio(
        port=args.port,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        max_concurrent=args.max_concurrent,
        auto_callbacks=not args.no_callbacks,
    ).start()
    info = {"base_url": fake.base_url, "account_sid": fake.account_sid, "inbox": fake.base_url + "/"}
    print(json.dumps(info) if args.json else f"fake Twilio SMS API on {fake.base_url} (inbox: /)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
