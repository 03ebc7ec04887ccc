"""Regency-wide matching runs through the API and the DB: optimality on small instances, idempotence."""

import datetime as dt
import itertools
import random

import numpy as np
import pytest

from sponsorship.matching.models import MatchingRun, Proposal
from sponsorship.matching.selectors import haversine_m, priority_of
from sponsorship.matching.services.runs import (
    matching_run_apply,
    matching_run_preview,
    run_pairs,
)
from sponsorship.people.models import Role, Sponsorship
from sponsorship.people.services.sponsorships import sponsorship_end
from sponsorship.regions.models import Region
from tests import factories
from tests.matching.conftest import FAR, HOME, MID, NEAR, OUT, worker

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/admin/matching-runs/"


def brute_force(sponsors, workers, radius_m):
    """sponsors: [(id, lat, lon, free)], workers: [(id, lat, lon, weight)] -> (weight, distance)."""
    best = (0, 0.0)
    options = [[None] + list(sponsors) for _ in workers]
    for choice in itertools.product(*options):
        used, weight, dist, ok = {}, 0, 0.0, True
        for w, s in zip(workers, choice, strict=True):
            if s is None:
                continue
            d = float(haversine_m(s[1], s[2], w[1], w[2]))
            used[s[0]] = used.get(s[0], 0) + 1
            if d > radius_m or used[s[0]] > s[3]:
                ok = False
                break
            weight += w[3]
            dist += d
        if ok and (weight > best[0] or (weight == best[0] and dist < best[1])):
            best = (weight, dist)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_run_is_optimal_on_small_instances(town, agency, regency_admin, seed):
    rng = random.Random(seed)
    villages = [HOME, NEAR, MID, FAR, OUT]
    sponsors = []
    for _ in range(3):
        s = factories.make_sponsor(agency=agency, village_code=rng.choice(villages), capacity=2)
        if rng.random() < 0.4:
            factories.sponsor_worker(s, worker(OUT, decile=5, full_name="Lama Diampu"))
        sponsors.append(s)
    ws = [worker(rng.choice(villages), decile=rng.randint(1, 10), full_name=f"Pekerja {i}") for i in range(6)]
    run, created = matching_run_preview(regency=town, radius_m=3000, actor=regency_admin)
    assert created
    centre = {v.pk: (v.lat, v.lon) for v in Region.objects.filter(code__in=villages)}
    s_in = [
        (s.pk, *centre[s.home_village_id], s.capacity - s.__class__.objects.get(pk=s.pk).active_sponsorships)
        for s in sponsors
    ]
    w_in = [(w.pk, *centre[w.village_id], priority_of(w.welfare_decile, False)) for w in ws]
    weight, distance = brute_force(s_in, w_in, 3000)
    assert run.preview["covered_weight"] == weight
    assert run.preview["total_distance_m"] == pytest.approx(distance, abs=len(ws) * 2 + 0.01 * distance)
    pairs = run_pairs(run)
    assert len(pairs) == run.preview["covered_total"]


def test_preview_then_apply_through_the_api(api, town, agency, regency_admin):
    a = factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    b = factories.make_sponsor(agency=agency, village_code=FAR, capacity=3)
    factories.sponsor_worker(b, worker(OUT))  # b has 2 free slots
    for v, d in ((HOME, 1), (HOME, 4), (NEAR, 2), (FAR, 1), (FAR, 9), (MID, 3)):
        worker(v, decile=d)
    far_away = worker(OUT, decile=1)
    Region.objects.filter(code=OUT).update(lat=-7.5)  # 41 km: nobody can reach it
    response = api(regency_admin).post(RUNS, {"radius_m": 5000, "policy": "lowest_decile_first"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    preview = body["preview"]
    assert body["status"] == "preview"
    assert preview["eligible_workers"] == 7
    assert preview["free_slots"] == 4
    assert preview["covered_total"] == 4
    assert preview["per_decile"]["1"] == {"eligible": 3, "covered": 2}
    assert preview["sponsors_left_with_free_capacity"] == 0
    assert sum(k["covered"] for k in preview["per_kecamatan"]) == 4
    assert preview["max_distance_m"] <= 5000 and preview["mean_distance_m"] >= 0
    assert Proposal.objects.count() == 0  # a preview proposes nothing

    applied = api(regency_admin).post(f"{RUNS}{body['id']}/apply/")
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    assert applied.json()["proposals_created"] == 4
    assert Proposal.objects.filter(source="matching_run", status="offered").count() == 4
    assert not Proposal.objects.filter(worker=far_away).exists()
    assert Proposal.objects.filter(sponsor=a).count() == 2 and Proposal.objects.filter(sponsor=b).count() == 2
    # The sponsor sees the run's offers as their proposals and can accept one.
    listed = api(a.user).get("/api/v1/sponsor/proposals/").json()["results"]
    assert {p["id"] for p in listed} == set(Proposal.objects.filter(sponsor=a).values_list("pk", flat=True))
    assert api(a.user).post(f"/api/v1/sponsor/proposals/{listed[0]['id']}/accept/").status_code == 201


def test_idempotent_preview_and_apply(api, town, agency, regency_admin):
    factories.make_sponsor(agency=agency, village_code=HOME, capacity=3)
    for v in (HOME, NEAR, MID, FAR):
        worker(v)
    client = api(regency_admin)
    first = client.post(RUNS, {"radius_m": 5000}, format="json")
    same = client.post(RUNS, {"radius_m": 5000}, format="json")
    assert first.status_code == 201 and same.status_code == 200
    assert first.json()["id"] == same.json()["id"]
    run_id = first.json()["id"]
    assert client.post(f"{RUNS}{run_id}/apply/").json()["proposals_created"] == 3
    assert client.post(f"{RUNS}{run_id}/apply/").json()["proposals_created"] == 3
    assert Proposal.objects.count() == 3
    # Re-running after the apply: the offers hold their workers and the sponsor's capacity.
    again = client.post(RUNS, {"radius_m": 5000}, format="json").json()
    assert again["preview"]["covered_total"] == 0
    client.post(f"{RUNS}{again['id']}/apply/")
    assert Proposal.objects.count() == 3
    assert MatchingRun.objects.count() == 2


def test_apply_skips_pairs_that_went_stale(town, agency, regency_admin):
    factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    w1, w2 = worker(HOME), worker(NEAR)
    run, _ = matching_run_preview(regency=town, actor=regency_admin)
    assert run.preview["covered_total"] == 2
    factories.sponsor_worker(factories.make_sponsor(agency=agency), w1)  # taken after the preview
    run = matching_run_apply(run=run, actor=regency_admin)
    assert run.proposals_created == 1
    assert run.preview["apply"]["skipped"] == {"worker_unavailable": 1}
    assert list(Proposal.objects.values_list("worker_id", flat=True)) == [w2.pk]


def test_existing_sponsorships_respected(town, agency, regency_admin):
    s = factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    factories.sponsor_worker(s, worker(HOME))
    factories.sponsor_worker(s, worker(HOME))
    worker(NEAR)
    run, _ = matching_run_preview(regency=town, actor=regency_admin)
    assert run.preview["covered_total"] == 0 and run.preview["free_slots"] == 0
    assert Sponsorship.objects.filter(status="active").count() == 2


def test_only_regency_admins_run(api, town, agency_admin, sponsor, regency, regency_admin):
    assert api(agency_admin).post(RUNS, {}, format="json").status_code == 403
    assert api(sponsor.user).post(RUNS, {}, format="json").status_code == 403
    bad = api(regency_admin).post(RUNS, {"radius_m": "x", "policy": "nope"}, format="json")
    assert bad.status_code == 400 and set(bad.json()["extra"]["fields"]) == {"radius_m", "policy"}


def test_other_regency_admin_cannot_see_run(api, town, regency_admin):
    run, _ = matching_run_preview(regency=town, actor=regency_admin)
    other_regency = Region.objects.create(code="35.03", name="Trenggalek", level=Region.Level.REGENCY)
    outsider = factories.make_user("admin.trenggalek", Role.REGENCY_ADMIN, regency=other_regency)
    assert api(outsider).get(f"{RUNS}{run.pk}/").status_code == 404
    assert api(outsider).post(f"{RUNS}{run.pk}/apply/").status_code == 404
    assert api(regency_admin).get(f"{RUNS}{run.pk}/").status_code == 200


def test_empty_regency(town, regency_admin):
    run, _ = matching_run_preview(regency=town, actor=regency_admin)
    assert run.preview["covered_total"] == 0 and len(run_pairs(run)) == 0
    assert np.isfinite(run.preview["mean_distance_m"])


def test_apply_checks_room_declines_and_fields_in_the_database(town, agency, regency_admin):
    """The apply re-checks everything against the database now: sponsor room (given out in worker-id
    order), declined pairs in cooldown; and writes priority and same_village like the preview's rules."""
    s = factories.make_sponsor(agency=agency, village_code=HOME, capacity=3)
    lapsed = worker(HOME, decile=2)
    old = factories.make_sponsor(agency=agency, village_code=FAR)
    sponsorship_end(sponsorship=factories.sponsor_worker(old, lapsed), reason="other")
    old.__class__.objects.filter(pk=old.pk).update(status="left")  # leaves no room elsewhere
    w_near, w_mid = worker(NEAR, decile=1), worker(MID, decile=10)
    run, _ = matching_run_preview(regency=town, actor=regency_admin)
    assert run.preview["covered_total"] == 3
    # after the preview: the sponsor takes one worker elsewhere (room 3 -> 2) and declined w_mid before
    factories.sponsor_worker(s, worker(OUT))
    Proposal.objects.create(
        sponsor=s,
        worker=w_mid,
        status="declined",
        source="on_demand",
        distance_m=2200,
        expires_at=dt.datetime.now(dt.UTC),
        decided_at=dt.datetime.now(dt.UTC),
    )
    run = matching_run_apply(run=run, actor=regency_admin)
    assert run.preview["apply"]["skipped"] == {"declined": 1}
    got = {p.worker_id: p for p in Proposal.objects.filter(run=run)}
    assert set(got) == {lapsed.pk, w_near.pk}
    assert got[lapsed.pk].priority == priority_of(2, True) and got[lapsed.pk].same_village
    assert got[w_near.pk].priority == priority_of(1, False) and not got[w_near.pk].same_village
    # a second sponsorship fills the sponsor: the next apply of a fresh run finds no room
    s.refresh_from_db()
    assert s.active_sponsorships == 1


def test_apply_notifies_each_sponsor_once_through_the_task(
    town, agency, regency_admin, django_capture_on_commit_callbacks
):
    """Apply enqueues one Celery task on commit (eager in tests); it writes one notification per sponsor with
    new proposals by notify_bulk, and running the task again writes nothing (dedupe key)."""
    from notifications.models import Notification
    from sponsorship.matching import tasks

    a = factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    b = factories.make_sponsor(agency=agency, village_code=FAR, capacity=2)
    for v in (HOME, NEAR, FAR):
        worker(v)
    run, _ = matching_run_preview(regency=town, actor=regency_admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = matching_run_apply(run=run, actor=regency_admin)
    assert run.proposals_created == 3
    assert len(callbacks) >= 1
    rows = Notification.objects.filter(kind="matching_proposal")
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted([a.user_id, b.user_id])
    first = {s: min(Proposal.objects.filter(sponsor_id=s).values_list("pk", flat=True)) for s in (a.pk, b.pk)}
    assert set(rows.values_list("dedupe_key", flat=True)) == {f"proposal:{pk}" for pk in first.values()}
    assert tasks.notify_matching_run.delay(run.pk).get() == 0  # a retry or a second delivery: nothing new
    assert rows.count() == 2


# --- distance mode (exact | fast) -----------------------------------------------------------------------------


def _spread_instance(agency, n_sponsors=10, n_workers=24, seed=7):
    """Sponsors and workers at precise points scattered within ~2 km of HOME (each its own location)."""
    from tests.matching.conftest import LAT0, LON0

    rng = random.Random(seed)
    for _ in range(n_sponsors):
        factories.make_sponsor(
            agency=agency,
            village_code=HOME,
            capacity=rng.choice((2, 3)),
            lat=LAT0 + rng.uniform(-0.015, 0.015),
            lon=LON0 + rng.uniform(-0.015, 0.015),
        )
    for i in range(n_workers):
        worker(
            HOME,
            decile=rng.randint(1, 10),
            full_name=f"Pekerja {i}",
            lat=LAT0 + rng.uniform(-0.02, 0.02),
            lon=LON0 + rng.uniform(-0.02, 0.02),
        )


def test_distance_mode_round_trips(api, town, agency, regency_admin, settings):
    factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    for v in (HOME, NEAR, MID):
        worker(v)
    client = api(regency_admin)
    fast = client.post(RUNS, {"distance": "fast"}, format="json")
    assert fast.status_code == 201, fast.json()
    assert fast.json()["distance"] == "fast"
    block = fast.json()["preview"]["distance"]
    # a few pairs: one min-cost flow over every pair, the optimum in either mode
    assert block == {
        "mode": "fast",
        "total_distance_m": fast.json()["preview"]["total_distance_m"],
        "certified_optimal": True,
        "distance_gap_bound_m": 0,
        "proof": "full_flow",
    }
    assert client.get(f"{RUNS}{fast.json()['id']}/").json()["distance"] == "fast"
    assert MatchingRun.objects.get(pk=fast.json()["id"]).distance == "fast"
    default = client.post(RUNS, {}, format="json").json()  # the default is exact: another run
    assert default["distance"] == "exact" and default["preview"]["distance"]["mode"] == "exact"
    assert default["preview"]["distance"]["gap_tolerance"] == 0.005
    assert default["id"] != fast.json()["id"]
    assert client.post(RUNS, {"distance": "exact"}, format="json").json()["id"] == default["id"]  # same run
    settings.MATCHING_RUN_DISTANCE = "fast"
    assert client.post(RUNS, {}, format="json").json()["id"] == fast.json()["id"]  # the setting's default, now fast
    listed = {r["id"]: r["distance"] for r in client.get(RUNS).json()}
    assert listed == {fast.json()["id"]: "fast", default["id"]: "exact"}


def test_default_mode_is_fast_above_the_exact_size_limit(api, town, agency, regency_admin, settings):
    """The default "exact" gives way to "fast" for a regency with more workers to match than
    MATCHING_EXACT_MAX_WORKERS (the exact step grows faster than the regency); a request naming "exact" gets it."""
    factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    for v in (HOME, NEAR, MID):
        worker(v)
    client = api(regency_admin)
    assert settings.MATCHING_RUN_DISTANCE == "exact"
    settings.MATCHING_EXACT_MAX_WORKERS = 3
    assert client.post(RUNS, {}, format="json").json()["distance"] == "exact"  # 3 workers: within the limit
    settings.MATCHING_EXACT_MAX_WORKERS = 2
    default = client.post(RUNS, {}, format="json").json()
    assert default["distance"] == "fast" and default["preview"]["distance"]["mode"] == "fast"
    asked = client.post(RUNS, {"distance": "exact"}, format="json").json()
    assert asked["distance"] == "exact" and asked["id"] != default["id"]


def test_invalid_distance_mode_is_a_bilingual_400(api, town, regency_admin):
    client = api(regency_admin)
    bad = client.post(RUNS, {"distance": "slow"}, format="json")
    assert bad.status_code == 400
    body = bad.json()
    assert set(body["extra"]["fields"]) == {"distance"}
    assert body["message"].startswith("Data yang dikirim tidak valid")
    assert body["extra"]["fields"]["distance"] == [
        'Mode jarak "slow" tidak dikenal. Pilih "exact" (jarak optimal, terbukti) atau "fast" (cepat).'
    ]
    english = client.post(RUNS, {"distance": "slow"}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["extra"]["fields"]["distance"] == [
        'Unknown distance mode "slow". Choose "exact" (optimal distance, proven) or "fast".'
    ]
    assert not english["message"].startswith("Data")
    assert MatchingRun.objects.count() == 0


def test_idempotent_per_distance_mode(api, town, agency, regency_admin, settings):
    factories.make_sponsor(agency=agency, village_code=HOME, capacity=3)
    for v in (HOME, NEAR, MID, FAR):
        worker(v)
    client = api(regency_admin)
    calls = [
        client.post(RUNS, {"radius_m": 5000, "distance": mode}, format="json")
        for mode in ("exact", "exact", "fast", "fast")
    ]
    assert [c.status_code for c in calls] == [201, 200, 201, 200]
    ids = [c.json()["id"] for c in calls]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    fingerprints = dict(MatchingRun.objects.values_list("distance", "fingerprint"))
    assert fingerprints["exact"] != fingerprints["fast"]
    # another proven-gap tolerance is another computation, so another exact run; fast is unaffected
    settings.MATCHING_DISTANCE_GAP_TOLERANCE = 0.0
    assert client.post(RUNS, {"radius_m": 5000, "distance": "exact"}, format="json").status_code == 201
    assert client.post(RUNS, {"radius_m": 5000, "distance": "fast"}, format="json").status_code == 200
    assert MatchingRun.objects.count() == 3
    # another arc limit may switch full flow <-> augmenting path: another run
    settings.MATCHING_EXACT_ARC_LIMIT = 0
    assert client.post(RUNS, {"radius_m": 5000, "distance": "fast"}, format="json").status_code == 201
    assert MatchingRun.objects.count() == 4


def test_exact_distance_is_certified_and_no_longer_than_fast(town, agency, regency_admin, settings):
    """Above the arc limit (lowered to 0 here) the run takes the augmenting path: "fast" stops at the
    restricted polish, "exact" proves its total distance; both cover the same weight, exact is never longer
    and equals the full min-cost flow's optimum on the same input."""
    from sponsorship.matching.selectors import policy_for, run_rows
    from sponsorship.matching.services.runs import _points
    from sponsorship.matching.solver.strategies import solve_matching

    _spread_instance(agency)
    settings.MATCHING_EXACT_ARC_LIMIT = 0
    settings.MATCHING_DISTANCE_GAP_TOLERANCE = 0.0  # run to the optimum: certified whatever the phase schedule
    fast, _ = matching_run_preview(regency=town, radius_m=3000, distance="fast", actor=regency_admin)
    exact, _ = matching_run_preview(regency=town, radius_m=3000, distance="exact", actor=regency_admin)
    assert fast.preview["method"] == exact.preview["method"] == "augmenting"
    f, e = fast.preview["distance"], exact.preview["distance"]
    assert f["proof"] is None and f["certified_optimal"] is False and f["distance_gap_bound_m"] is None
    assert e["proof"] == "certificate" and e["certified_optimal"] is True and e["distance_gap_bound_m"] == 0
    assert e["mode"] == "exact" and e["gap_tolerance"] == 0.0 and "exact_polish" in e["cpu_s"]
    assert e["restricted_distance_m"] >= e["total_distance_m"]
    assert exact.preview["covered_weight"] == fast.preview["covered_weight"]
    assert e["total_distance_m"] == exact.preview["total_distance_m"] <= f["total_distance_m"]
    sponsors, workers = _points(run_rows(town))
    reference = solve_matching(
        sponsors, workers, radius_m=3000, policy=policy_for("lowest_decile_first"), exact_arc_limit=10**9
    )
    assert reference.method == "exact"
    assert (reference.covered_weight, reference.total_distance_m) == (
        exact.preview["covered_weight"],
        e["total_distance_m"],
    )
    assert len(run_pairs(exact)) == exact.preview["covered_total"]


def test_admin_shows_the_distance_certificate_line():
    from django.contrib import admin

    line = admin.site._registry[MatchingRun].distance_line
    block = {"mode": "exact", "total_distance_m": 4404554, "certified_optimal": True, "distance_gap_bound_m": 0}
    assert line(MatchingRun(preview={"distance": block})) == "Jarak total 4.404.554 m, terbukti optimal"
    block.update(certified_optimal=False, distance_gap_bound_m=12345)
    assert line(MatchingRun(preview={"distance": block})) == (
        "Jarak total 4.404.554 m, paling banyak 12.345 m di atas optimum"
    )
    block.update(mode="fast", distance_gap_bound_m=None)
    assert line(MatchingRun(preview={"distance": block})) == "Jarak total 4.404.554 m (cepat, tanpa bukti optimal)"
    assert line(MatchingRun(preview={})) == "-"
    assert str(MatchingRun.Distance.EXACT.label) == "Jarak optimal (terbukti ≤0,5%)"
