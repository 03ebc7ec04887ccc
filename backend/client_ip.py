"""The client's IP address, the one every throttle, lockout and audit row uses.

`X-Forwarded-For` is a request header: anyone can send it. Read naively (DRF's default with NUM_PROXIES unset),
a new value per request resets every per-IP throttle; ignored behind a real proxy, every client shares the
proxy's address, so the login lockout (username + IP) becomes per-username and anyone can lock anyone out.

So the header is believed only as far as the deployment says it is written by its own proxies:

- `TRUSTED_PROXY_COUNT=N`: exactly N proxies in front (e.g. 1 for one nginx): the client is the address the
  outermost of them saw, the N-th from the right of `X-Forwarded-For`; what a client wrote further left is
  ignored.
- `TRUSTED_PROXY_CIDRS=10.0.0.0/8,...`: walk the chain from the right (REMOTE_ADDR first) past every
  address inside these networks; the first one outside is the client.
- neither: `X-Forwarded-For` is ignored, REMOTE_ADDR is the client.

`ClientIpMiddleware` (first in MIDDLEWARE) writes the result into `REMOTE_ADDR`, keeping the peer's address in
`PENGAMPU_PEER_ADDR`; DRF's `NUM_PROXIES` is 0, so its throttles key on that REMOTE_ADDR and never on the header.
The deploy check `pengampu.E001` (backend/checks.py) refuses production behind a proxy with neither setting.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

PEER_KEY = "PENGAMPU_PEER_ADDR"


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]):
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def trusted_proxy_configured() -> bool:
    return bool(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or getattr(settings, "TRUSTED_PROXY_CIDRS", []))


def client_ip_from(remote_addr: str, forwarded_for: str | None) -> str:
    """The client's address given the peer's address and the X-Forwarded-For header (see the module docstring)."""
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    cidrs = tuple(getattr(settings, "TRUSTED_PROXY_CIDRS", []) or ())
    if not forwarded_for or not (count or cidrs):
        return remote_addr
    chain = [a.strip() for a in forwarded_for.split(",") if a.strip()] + [remote_addr]
    if cidrs:
        networks = _networks(cidrs)
        last = remote_addr
        for address in reversed(chain):
            parsed = _parse(address)
            if parsed is None:  # garbage left of our proxies: the last address they vouched for is the client
                return last
            if not any(parsed in net for net in networks):
                return str(parsed)
            last = str(parsed)
        return last
    # Exactly `count` proxies: REMOTE_ADDR is the last, each appended the address it saw.
    index = max(len(chain) - 1 - count, 0)
    parsed = _parse(chain[index])
    return str(parsed) if parsed is not None else remote_addr


def client_ip(request) -> str | None:
    """The client's address for a request that went through ClientIpMiddleware (REMOTE_ADDR after it)."""
    return request.META.get("REMOTE_ADDR")


class ClientIpMiddleware:
    """First in MIDDLEWARE: REMOTE_ADDR becomes the client's address; the peer's is kept in PENGAMPU_PEER_ADDR."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        peer = meta.get("REMOTE_ADDR", "")
        meta[PEER_KEY] = peer
        meta["REMOTE_ADDR"] = client_ip_from(peer, meta.get("HTTP_X_FORWARDED_FOR"))
        return self.get_response(request)
