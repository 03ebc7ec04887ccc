"""Who sees which dashboard rows (registered with people's scoping at start-up, see apps.py).

Import batches and village targets belong to the regency/agency admins who own them.
"""

from django.db.models import Q

from sponsorship.people.scoping import register_scope

from .models import ImportBatch, VillageTarget

register_scope(
    ImportBatch,
    regency_admin=lambda p, u: Q(regency_id=p.regency_id),
    agency_admin=lambda p, u: Q(agency_id=p.agency_id),
)
register_scope(
    VillageTarget,
    regency_admin=lambda p, u: Q(village__parent__parent_id=p.regency_id),
    agency_admin=lambda p, u: Q(village__parent__parent__agencies__id=p.agency_id),
)
