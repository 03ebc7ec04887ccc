"""Who sees which matching rows (registered with people's scoping at start-up, see apps.py).

Proposals are the sponsor's own; nominations follow the nominating sponsor's agency.
"""

from django.db.models import Q

from sponsorship.people.scoping import register_scope, register_sponsor_owned

from .models import MatchingRun, Nomination, Proposal

register_sponsor_owned(Proposal)
register_sponsor_owned(Nomination)
register_scope(MatchingRun, regency_admin=lambda p, u: Q(regency_id=p.regency_id))
