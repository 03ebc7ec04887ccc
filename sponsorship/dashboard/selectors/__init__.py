"""Reads behind the HR dashboard (web pages and /api/v1/admin/dashboard/...), always within an AdminScope."""

from .cache import cached, dashboard_invalidate  # noqa: F401
from .figures import agency_league, coverage_by_district, coverage_by_village, headline  # noqa: F401
from .scope import AdminScope, admin_scope, default_village_target  # noqa: F401
from .tables import TABLES, Table, build_table, table_extra  # noqa: F401
