"""A faithful local Midtrans (Snap + Core API + HTTP notifications) for demos and tests.

    from simulators.midtrans import MidtransSimulator
    with MidtransSimulator(server_key="SB-Mid-server-TEST", notification_url=url, retry_scale=0.0) as sim:
        ...  # point midtransclient at sim.base_url (Core) and sim.snap_base_url (Snap)

See docs/midtrans-simulator.md.
"""

from .simulator import MidtransSimulator
from .state import signature

__all__ = ["MidtransSimulator", "signature"]
