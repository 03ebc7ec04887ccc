"""Deploy checks of the project's own settings (`manage.py check --deploy`); registered by sponsorship.core."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from backend.client_ip import trusted_proxy_configured


@register(Tags.security, deploy=True)
def trusted_proxy_check(app_configs=None, **kwargs):
    """Behind a proxy (its headers are trusted for HTTPS) the client IP needs a trusted-proxy setting.

    Without one every client shares the proxy's address: per-IP throttles become global and the login
    lockout (username + IP) per-username, so anyone can lock anyone out.
    """
    behind_proxy = bool(
        getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        or getattr(settings, "USE_X_FORWARDED_HOST", False)
        or getattr(settings, "USE_X_FORWARDED_PORT", False)
        or getattr(settings, "BEHIND_PROXY", False)
    )
    if behind_proxy and not trusted_proxy_configured():
        return [
            Error(
                "The service trusts a proxy header but no trusted proxy is configured.",
                hint="Set TRUSTED_PROXY_COUNT (how many proxies write X-Forwarded-For in front of the service) "
                "or TRUSTED_PROXY_CIDRS (their networks). Without it every client has the proxy's IP address.",
                id="pengampu.E001",
            )
        ]
    return []


@register(Tags.security)
def trusted_proxy_cidrs_check(app_configs=None, **kwargs):
    import ipaddress

    errors = []
    for cidr in getattr(settings, "TRUSTED_PROXY_CIDRS", []) or []:
        try:
            ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            errors.append(Error(f"TRUSTED_PROXY_CIDRS: {cidr!r} is not a network.", id="pengampu.E002"))
    return errors
