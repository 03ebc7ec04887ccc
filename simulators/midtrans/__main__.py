"""`python -m simulators.midtrans` — run the simulator as its own process.

Every option can also come from the environment: MIDTRANS_SIM_HOST, MIDTRANS_SIM_PORT,
MIDTRANS_SIM_SERVER_KEY, MIDTRANS_SIM_NOTIFICATION_URL (comma-separated), MIDTRANS_SIM_RETRY_SCALE,
MIDTRANS_SIM_STATE_FILE, MIDTRANS_SIM_NOTIFICATION_TIMEOUT.
"""

from __future__ import annotations

import argparse
import os
import sys

from .simulator import MidtransSimulator


def _env(name: str, default=None):
    return os.environ.get(f"MIDTRANS_SIM_{name}", default)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.midtrans", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8765")))
    parser.add_argument("--server-key", default=_env("SERVER_KEY", "SB-Mid-server-LOCAL"))
    parser.add_argument(
        "--notification-url",
        default=_env("NOTIFICATION_URL", ""),
        help="dashboard 'Payment Notification URL'; comma-separated for several",
    )
    parser.add_argument(
        "--retry-scale",
        type=float,
        default=float(_env("RETRY_SCALE", "1.0")),
        help="multiplies Midtrans' retry delays (2,10,30,90,210 min); 0.001 = 0.12 s ... 12.6 s",
    )
    parser.add_argument("--notification-timeout", type=float, default=float(_env("NOTIFICATION_TIMEOUT", "15")))
    parser.add_argument(
        "--state-file", default=_env("STATE_FILE"), help="JSON file that keeps transactions across restarts"
    )
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("refusing to bind outside the loopback interface", file=sys.stderr)
        return 2
    sim = MidtransSimulator(
        host=args.host,
        port=args.port,
        server_key=args.server_key,
        notification_url=args.notification_url or None,
        retry_scale=args.retry_scale,
        notification_timeout=args.notification_timeout,
        state_file=args.state_file,
    )
    sim.start()
    print(
        f"Midtrans simulator on {sim.base_url}  (Core base URL)\n"
        f"  Snap base URL   {sim.snap_base_url}\n  dashboard       {sim.base_url}/\n"
        f"  notifications → {', '.join(sim.notification_urls) or '(none configured)'}",
        flush=True,
    )
    try:
        sim._stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
