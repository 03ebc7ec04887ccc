"""The one transition helper and the tables it reads."""

import pytest
from django.apps import apps

from sponsorship.billing.models import Invoice
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.transitions import sources, transition, transition_many
from sponsorship.matching.models import Proposal
from sponsorship.people.models import Sponsorship
from tests import factories


def _lifecycle_models():
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "status"), None)
        if field is not None and field.choices and model._meta.app_label != "notifications":
            yield model


@pytest.mark.parametrize("model", list(_lifecycle_models()), ids=lambda m: m._meta.label)
def test_every_lifecycle_has_a_complete_table(model):
    """Each domain model with a status declares where every state may go, and only to its own states."""
    assert hasattr(model, "TRANSITIONS"), f"{model._meta.label} has a status but no TRANSITIONS table"
    states = {value for value, _ in model._meta.get_field("status").choices}
    assert set(map(str, model.TRANSITIONS)) == states
    for targets in model.TRANSITIONS.values():
        assert set(map(str, targets)) <= states


def test_sources_follow_the_table_and_unknown_targets_are_errors():
    assert sources(Invoice, Invoice.Status.VOID) == {"issued"}
    with pytest.raises(ValueError):
        sources(Sponsorship, Sponsorship.Status.ACTIVE)  # nothing leads back to active


@pytest.mark.django_db
def test_transition_is_a_compare_and_swap(regency):
    sponsor = factories.make_sponsor()
    worker = factories.make_worker()
    sponsorship = factories.sponsor_worker(sponsor, worker)
    moved = transition(
        Sponsorship,
        sponsorship.pk,
        to=Sponsorship.Status.ENDED,
        ended_at=sponsorship.started_at,
        end_reason=Sponsorship.EndReason.WORKER_REQUEST,
    )
    assert moved is True
    again = transition(
        Sponsorship,
        sponsorship.pk,
        to=Sponsorship.Status.ENDED,
        ended_at=sponsorship.started_at,
        end_reason=Sponsorship.EndReason.WORKER_REQUEST,
    )
    assert again is False  # already done: the caller learns it did not win
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.ENDED


def test_a_narrower_start_must_be_an_edge_of_the_table():
    with pytest.raises(ValueError):
        transition_many(Proposal.objects.none(), to=Proposal.Status.ACCEPTED, from_=Proposal.Status.EXPIRED)


@pytest.mark.django_db
def test_audit_actions_are_an_enumeration():
    with pytest.raises(ValueError):
        audit_record(actor=None, action="sponsor.updte")
    row = audit_record(
        actor=None,
        action=AuditAction.SPONSOR_UPDATE,
        object_type="people.sponsor",
        object_id=1,
        before={"phone": "***"},
        after={"phone": "***1"},
    )
    assert row.action == "sponsor.update"


def test_every_audited_action_in_the_code_is_in_the_enumeration():
    """Every literal an `action=` argument can take anywhere in the apps is one AuditAction knows (a typo fails
    here, not in production)."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "sponsorship"
    found = set()
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found |= {
                            c.value
                            for c in ast.walk(keyword.value)
                            if isinstance(c, ast.Constant)
                            and isinstance(c.value, str)
                            and re.fullmatch(r"[a-z_]+\.[a-z_]+", c.value)
                        }
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "").endswith("_ACTION") for t in node.targets):
                if isinstance(node.value, ast.Constant):
                    found.add(node.value.value)
    assert "export.report" in found and "sponsorship.start" in found  # the scan sees conditional and plain ones
    assert found - set(AuditAction.values) == set()
