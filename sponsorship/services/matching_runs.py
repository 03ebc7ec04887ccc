"""Regency-wide matching runs: preview (DB rows → solver → stats), then apply (→ proposals, notifications).

Idempotence, twice over:
- a preview is keyed by a fingerprint of everything the solver saw; the same input returns the same
  run instead of a new one;
- apply moves the run preview → applied under a row lock (once), and the proposals' partial unique
  index (one open offer per sponsor and worker) keeps a second apply, or an overlapping run, from
  offering a pair twice. Applied proposals hold their worker and use up their sponsor's capacity in
  later runs, so re-running after an apply finds nothing new to propose.
"""
from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict

import numpy as np
from django.db import transaction
from django.utils import timezone

from sponsorship.models import MatchingRun, Proposal, Region
from sponsorship.selectors import matching as sel
from sponsorship.services.audit import audit_record
from sponsorship.services.proposals import TTL
from sponsorship.services.rematch import _notify_module, notify_proposals


def _fingerprint(regency: Region, radius_m: int, policy: str, rows: sel.RunRows) -> str:
    h = hashlib.sha256(f"{regency.pk}|{radius_m}|{policy}|".encode())
    for arr in (rows.worker_ids, rows.worker_lat, rows.worker_lon, rows.worker_decile, rows.worker_lapsing,
                rows.sponsor_ids, rows.sponsor_lat, rows.sponsor_lon, rows.sponsor_free):
        h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")
    return h.hexdigest()


def _points(rows: sel.RunRows):
    from sponsorship.services.matching_solver import SponsorPoints, WorkerPoints

    sponsors = SponsorPoints(ids=rows.sponsor_ids, lat=rows.sponsor_lat, lon=rows.sponsor_lon,
                             capacity=rows.sponsor_free)
    workers = WorkerPoints(ids=rows.worker_ids, lat=rows.worker_lat, lon=rows.worker_lon,
                           decile=rows.worker_decile, about_to_lapse=rows.worker_lapsing,
                           village_ids=rows.worker_village)
    return sponsors, workers


def _preview(rows: sel.RunRows, result, timings: dict) -> dict:
    pairs = result.pairs
    covered_workers = pairs[:, 1] if len(pairs) else np.empty(0, np.int64)
    index = np.searchsorted(rows.worker_ids, covered_workers)
    district_covered = Counter(rows.worker_district[index].tolist())
    district_eligible = Counter(rows.worker_district.tolist())
    names = dict(Region.objects.filter(pk__in=list(district_eligible)).values_list("pk", "name"))
    codes = dict(Region.objects.filter(pk__in=list(district_eligible)).values_list("pk", "code"))
    per_kecamatan = sorted(
        ({"code": codes.get(d, ""), "name": names.get(d, ""), "eligible": n, "covered": district_covered.get(d, 0)}
         for d, n in district_eligible.items()), key=lambda x: x["code"])
    eligible_per_decile = Counter(rows.worker_decile.tolist())
    used = Counter(pairs[:, 0].tolist()) if len(pairs) else Counter()
    left = rows.sponsor_free - np.fromiter((used.get(int(i), 0) for i in rows.sponsor_ids), np.int64,
                                           len(rows.sponsor_ids))
    return {
        "eligible_workers": int(len(rows.worker_ids)),
        "sponsors_with_free_capacity": int(len(rows.sponsor_ids)),
        "free_slots": int(rows.sponsor_free.sum()),
        "covered_total": int(result.covered_count),
        "covered_weight": int(result.covered_weight),
        "per_decile": {str(d): {"eligible": int(eligible_per_decile.get(d, 0)),
                                "covered": int(result.per_decile.get(d, 0))} for d in range(0, 11)},
        "per_kecamatan": per_kecamatan,
        "mean_distance_m": round(float(result.mean_distance_m), 1),
        "max_distance_m": int(result.max_distance_m),
        "total_distance_m": int(result.total_distance_m),
        "sponsors_left_with_free_capacity": int((left > 0).sum()),
        "free_slots_left": int(left.sum()),
        "method": result.method,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def matching_run_preview(*, regency: Region, radius_m: int | None = None, policy: str = sel.DEFAULT_POLICY,
                         actor=None, now=None) -> tuple[MatchingRun, bool]:
    """Solve on the current state of the regency. Returns (run, created); unchanged input → (same run, False)."""
    now = now or timezone.now()
    radius_m = int(radius_m or sel.regency_config(regency).matching_radius_m)
    solver_policy = sel.policy_for(policy)
    t0 = time.perf_counter()
    rows = sel.run_rows(regency, now=now)
    t1 = time.perf_counter()
    fingerprint = _fingerprint(regency, radius_m, policy, rows)
    existing = MatchingRun.objects.filter(regency=regency, fingerprint=fingerprint).defer("pairs").first()
    if existing is not None:
        return existing, False
    from sponsorship.services.matching_solver import solve_matching

    sponsors, workers = _points(rows)
    result = solve_matching(sponsors, workers, radius_m=radius_m, policy=solver_policy)
    t2 = time.perf_counter()
    preview = _preview(rows, result, {"read": t1 - t0, "solve": t2 - t1})
    pairs = np.ascontiguousarray(result.pairs, dtype="<i8")
    with transaction.atomic():
        run = MatchingRun.objects.create(regency=regency, radius_m=radius_m, policy=policy, fingerprint=fingerprint,
                                         preview=preview, pairs=pairs.tobytes(),
                                         created_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit_record(actor=actor, action="matching_run.preview", obj=run,
                     after={"radius_m": radius_m, "policy": policy, "covered_total": preview["covered_total"]})
    preview["timings_s"]["total"] = round(time.perf_counter() - t0, 3)
    MatchingRun.objects.filter(pk=run.pk).update(preview=preview)
    run.preview = preview
    return run, True


def run_pairs(run: MatchingRun) -> np.ndarray:
    return np.frombuffer(bytes(run.pairs), dtype="<i8").reshape(-1, 3)


def matching_run_apply(*, run: MatchingRun, actor=None, now=None, notify: bool = True) -> MatchingRun:
    """Create the run's proposals (source matching_run). Pairs that went stale since the preview (worker
    taken, sponsor full, declined pair in cooldown) are skipped. Applying twice creates nothing new."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = MatchingRun.objects.select_for_update().select_related("regency").get(pk=run.pk)
        if locked.status == MatchingRun.Status.APPLIED:
            return locked
        pairs = run_pairs(locked)
        regency = locked.regency
        config = sel.regency_config(regency)
        rows = sel.run_rows(regency, now=now)  # the state now, not at preview time
        room = dict(zip(rows.sponsor_ids.tolist(), rows.sponsor_free.tolist()))
        worker_at = {int(w): i for i, w in enumerate(rows.worker_ids)}
        sponsor_village = dict(zip(rows.sponsor_ids.tolist(), rows.sponsor_village.tolist()))
        declined = set(Proposal.objects.filter(
            status=Proposal.Status.DECLINED, sponsor__agency__regency=regency,
            decided_at__gte=now - timezone.timedelta(days=config.decline_cooldown_days),
        ).values_list("sponsor_id", "worker_id"))
        policy = sel.policy_for(locked.policy)
        weights = policy.weights(_points(rows)[1]) if len(rows.worker_ids) else np.empty(0, np.int64)
        expires = now + TTL[Proposal.Source.MATCHING_RUN]
        objs, skipped = [], Counter()
        for s_id, w_id, dist in pairs.tolist():
            i = worker_at.get(w_id)
            if i is None:
                skipped["worker_unavailable"] += 1
                continue
            if room.get(s_id, 0) <= 0:
                skipped["sponsor_full"] += 1
                continue
            if (s_id, w_id) in declined:
                skipped["declined"] += 1
                continue
            room[s_id] -= 1
            objs.append(Proposal(sponsor_id=s_id, worker_id=w_id, source=Proposal.Source.MATCHING_RUN, run=locked,
                                 distance_m=int(dist), same_village=sponsor_village.get(s_id) == rows.worker_village[i],
                                 priority=int(weights[i]), expires_at=expires))
        # An on-demand offer of the same pair may already be open: the unique index keeps that one.
        Proposal.objects.bulk_create(objs, ignore_conflicts=True, batch_size=5000)
        created = Proposal.objects.filter(run=locked).count()
        MatchingRun.objects.filter(pk=locked.pk, status=MatchingRun.Status.PREVIEW).update(
            status=MatchingRun.Status.APPLIED, applied_at=now, proposals_created=created,
            applied_by=actor if getattr(actor, "is_authenticated", False) else None,
            preview={**locked.preview, "apply": {"created": created, "skipped": dict(skipped)}})
        audit_record(actor=actor, action="matching_run.apply", obj=locked, before={"status": "preview"},
                     after={"status": "applied", "proposals_created": created, "skipped": dict(skipped)})
        if notify:
            transaction.on_commit(lambda: matching_run_notify(run_id=locked.pk))
    locked.refresh_from_db()
    return locked


def matching_run_notify(*, run_id: int) -> int:
    """One push per sponsor with new proposals (dedupe key: the sponsor's first proposal id, so a retry
    sends nothing twice). Without the notifications app (not merged yet) this is a no-op."""
    if _notify_module() is None:
        return 0
    by_sponsor = defaultdict(list)
    for pk, sponsor_id in Proposal.objects.filter(run_id=run_id, status=Proposal.Status.OFFERED).values_list(
            "pk", "sponsor_id"):
        by_sponsor[sponsor_id].append(pk)
    sent = 0
    for sponsor_id, ids in by_sponsor.items():
        sent += bool(notify_proposals(sponsor_id=sponsor_id, proposal_ids=ids))
    return sent
