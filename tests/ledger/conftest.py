"""The ledger tests use the money fixtures: the real Midtrans simulator over HTTP, sponsors with workers."""

from tests.billing.conftest import family, gateway_settings, http, reference_rows, sim  # noqa: F401
