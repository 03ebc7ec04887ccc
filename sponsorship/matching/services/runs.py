"""Regency-wide matching runs: preview (DB rows → solver → stats), then apply (→ proposals, notifications).

Distance mode (``MatchingRun.distance``): "exact" minimises the total distance over every pair within the
radius and proves it to within ``settings.MATCHING_DISTANCE_GAP_TOLERANCE`` of the optimum (the solver's dual
certificate); "fast" stops after the restricted polish. The covered weight is the optimum's in both. The
preview's ``distance`` block says which proof, if any, stands behind the total distance.

Off the request path (docs/long-work.md): the API calls ``matching_run_request`` / ``matching_run_apply_request``;
a large regency's run is QUEUED and solved by a Celery task, a large apply runs in a task too (APPLYING), both
with progress on the run and a sweep that queues again what a dead worker left behind.

Idempotence, twice over:
- a preview is keyed by a fingerprint of everything the solver saw (the distance mode included); the same
  input returns the same run instead of a new one;
- apply moves the run preview → applied under a row lock (once), and the proposals' partial unique
  index (one open offer per sponsor and worker) keeps a second apply, or an overlapping run, from
  offering a pair twice. Applied proposals hold their worker and use up their sponsor's capacity in
  later runs, so re-running after an apply finds nothing new to propose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError
from backend.celery import delay_or
from backend.observability.metrics import MATCHING_RUN_DURATION, timed_call
from notifications.services import NotifyRequest, notify_bulk
from sponsorship.core.audit import audit_record
from sponsorship.matching import selectors as sel
from sponsorship.matching.models import MatchingRun, Proposal
from sponsorship.matching.services.proposals import TTL
from sponsorship.people.models import Sponsor, Sponsorship, Worker
from sponsorship.people.services.match_priority import flagged_worker_ids
from sponsorship.regions.models import Region


def _fingerprint(regency: Region, radius_m: int, policy: str, distance: str, options: dict, rows: sel.RunRows) -> str:
    """Everything the solver sees: the rows, the radius, the policy, the distance mode and its solver options (the
    proven-gap tolerance, and the arc limit that picks full flow or augmenting path)."""
    opts = "|".join(f"{k}={options[k]!r}" for k in sorted(options))
    h = hashlib.sha256(f"{regency.pk}|{radius_m}|{policy}|{distance}|{opts}|".encode())
    for arr in (
        rows.worker_ids,
        rows.worker_lat,
        rows.worker_lon,
        rows.worker_decile,
        rows.worker_lapsing,
        rows.sponsor_ids,
        rows.sponsor_lat,
        rows.sponsor_lon,
        rows.sponsor_free,
    ):
        h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")
    return h.hexdigest()


def _points(rows: sel.RunRows):
    # The solver is imported on first use: it loads numba, OR-Tools and SciPy (~0.8 s and their memory in every
    # web process, which never solves), not to dodge a cycle.
    from sponsorship.matching.solver.strategies import SponsorPoints, WorkerPoints

    sponsors = SponsorPoints(
        ids=rows.sponsor_ids, lat=rows.sponsor_lat, lon=rows.sponsor_lon, capacity=rows.sponsor_free
    )
    workers = WorkerPoints(
        ids=rows.worker_ids,
        lat=rows.worker_lat,
        lon=rows.worker_lon,
        decile=rows.worker_decile,
        about_to_lapse=rows.worker_lapsing,
        village_ids=rows.worker_village,
    )
    return sponsors, workers


def _solver_options(distance: str) -> dict:
    """solve_matching's keyword arguments for a distance mode (also used by bench/matching_e2e.py)."""
    exact = distance == MatchingRun.Distance.EXACT
    return {
        "exact_arc_limit": int(settings.MATCHING_EXACT_ARC_LIMIT),
        "exact_distance": exact,
        "gap_tolerance": float(settings.MATCHING_DISTANCE_GAP_TOLERANCE) if exact else 0.0,
    }


def _distance_block(result, distance: str, options: dict) -> dict:
    """What stands behind the total distance: ``proof`` is "full_flow" (at most exact_arc_limit pairs: one
    min-cost flow over every pair, the optimum by construction, in either mode), "certificate" (the exact
    distance step's dual certificate over every pair: ``distance_gap_bound_m`` is a proven bound on the excess
    over the optimum, 0 = optimal) or null (the fast polish: no bound known)."""
    stats = result.stats
    if result.method == "exact":
        proof, certified, gap = "full_flow", True, 0
    elif "distance_gap_bound_m" in stats:
        proof, certified, gap = "certificate", bool(stats["certified_optimal"]), int(stats["distance_gap_bound_m"])
    else:
        proof, certified, gap = None, False, None
    block = {
        "mode": distance,
        "total_distance_m": int(result.total_distance_m),
        "certified_optimal": certified,
        "distance_gap_bound_m": gap,
        "proof": proof,
    }
    if options["exact_distance"]:
        block["gap_tolerance"] = options["gap_tolerance"]
    if "distance_restricted_m" in stats:  # the fast polish's distance, before the exact step
        block["restricted_distance_m"] = int(stats["distance_restricted_m"])
    cpu = {k[4:-2]: v for k, v in stats.items() if k.startswith("cpu_") and k.endswith("_s")}
    if cpu:
        block["cpu_s"] = cpu
    return block


def _preview(rows: sel.RunRows, result, timings: dict, distance: dict) -> dict:
    pairs = result.pairs
    covered_workers = pairs[:, 1] if len(pairs) else np.empty(0, np.int64)
    index = np.searchsorted(rows.worker_ids, covered_workers)
    district_covered = Counter(rows.worker_district[index].tolist())
    district_eligible = Counter(rows.worker_district.tolist())
    names = dict(Region.objects.filter(pk__in=list(district_eligible)).values_list("pk", "name"))
    codes = dict(Region.objects.filter(pk__in=list(district_eligible)).values_list("pk", "code"))
    per_kecamatan = [
        {"code": codes.get(d, ""), "name": names.get(d, ""), "eligible": n, "covered": district_covered.get(d, 0)}
        for d, n in sorted(district_eligible.items(), key=lambda dn: codes.get(dn[0], ""))
    ]
    eligible_per_decile = Counter(rows.worker_decile.tolist())
    used = Counter(pairs[:, 0].tolist()) if len(pairs) else Counter()
    left = rows.sponsor_free - np.fromiter(
        (used.get(int(i), 0) for i in rows.sponsor_ids), np.int64, len(rows.sponsor_ids)
    )
    return {
        "eligible_workers": len(rows.worker_ids),
        "sponsors_with_free_capacity": len(rows.sponsor_ids),
        "free_slots": int(rows.sponsor_free.sum()),
        "covered_total": int(result.covered_count),
        "covered_weight": int(result.covered_weight),
        "per_decile": {
            str(d): {"eligible": int(eligible_per_decile.get(d, 0)), "covered": int(result.per_decile.get(d, 0))}
            for d in range(11)
        },
        "per_kecamatan": per_kecamatan,
        "mean_distance_m": round(float(result.mean_distance_m), 1),
        "max_distance_m": int(result.max_distance_m),
        "total_distance_m": int(result.total_distance_m),
        "sponsors_left_with_free_capacity": int((left > 0).sum()),
        "free_slots_left": int(left.sum()),
        "method": result.method,
        "distance": distance,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def _normalise(regency: Region, radius_m, policy: str, distance) -> tuple[int, object, str | None]:
    """(radius, solver policy, distance mode or None: the default, decided by `_mode` once the rows are read)."""
    radius_m = int(radius_m or sel.regency_config(regency).matching_radius_m)
    solver_policy = sel.policy_for(policy)
    if distance and distance not in MatchingRun.Distance.values:
        raise ValueError(f"unknown distance mode {distance!r}")
    return radius_m, solver_policy, distance or None


def _mode(distance: str | None, rows: sel.RunRows) -> tuple[str, dict]:
    """The distance mode and its solver options. A request that names no mode gets MATCHING_RUN_DISTANCE, except
    that a regency with more workers to match than MATCHING_EXACT_MAX_WORKERS gets "fast": the exact step grows
    faster than the regency (4 s CPU at Ponorogo size, ~90 s at ten times it: docs/matching.md, "Ninth session")."""
    if not distance:
        distance = settings.MATCHING_RUN_DISTANCE
        if distance == MatchingRun.Distance.EXACT and len(rows.worker_ids) > settings.MATCHING_EXACT_MAX_WORKERS:
            distance = MatchingRun.Distance.FAST
    return distance, _solver_options(distance)


def _solve(
    rows: sel.RunRows, *, radius_m: int, solver_policy, distance: str, options: dict, read_s: float, regency_id: int
):
    """Solve on rows already read: (preview, pairs as little-endian int64 bytes). The exact distance step starts
    from this regency's previous duals when they still prove the optimum (solver/warm.py)."""
    from sponsorship.matching.solver.strategies import solve_matching  # on first use: see _points

    t1 = time.perf_counter()
    sponsors, workers = _points(rows)
    # the database's name too: two databases on one machine (a test run beside the service) reuse regency ids
    key = f"matching-{connection.settings_dict['NAME']}-regency-{regency_id}"
    result = solve_matching(sponsors, workers, radius_m=radius_m, policy=solver_policy, **options, warm_start_key=key)
    t2 = time.perf_counter()
    preview = _preview(rows, result, {"read": read_s, "solve": t2 - t1}, _distance_block(result, distance, options))
    return preview, np.ascontiguousarray(result.pairs, dtype="<i8").tobytes()


def _audit_preview(run: MatchingRun, actor) -> None:
    audit_record(
        actor=actor,
        action="matching_run.preview",
        obj=run,
        after={
            "radius_m": run.radius_m,
            "policy": run.policy,
            "distance": run.distance,
            "covered_total": run.preview["covered_total"],
        },
    )


def _existing(regency: Region, fingerprint: str) -> MatchingRun | None:
    # A failed run is not an answer; a queued or solving one is (the same work, still under way).
    return (
        MatchingRun.objects.filter(regency=regency, fingerprint=fingerprint)
        .exclude(status=MatchingRun.Status.FAILED)
        .defer("pairs")
        .order_by("-created_at")
        .first()
    )


@timed_call(MATCHING_RUN_DURATION, step="preview")
def matching_run_preview(
    *,
    regency: Region,
    radius_m: int | None = None,
    policy: str = sel.DEFAULT_POLICY,
    distance: str | None = None,
    actor=None,
    now=None,
) -> tuple[MatchingRun, bool]:
    """Solve on the current state of the regency, in this process. Returns (run, created); unchanged input and
    distance mode → (same run, False). ``distance``: "exact" | "fast", default ``_mode``'s.
    The API calls ``matching_run_request`` (a task solves a large regency); this is the inline path."""
    now = now or timezone.now()
    radius_m, solver_policy, distance = _normalise(regency, radius_m, policy, distance)
    t0 = time.perf_counter()
    rows = sel.run_rows(regency, now=now)
    t1 = time.perf_counter()
    distance, options = _mode(distance, rows)
    fingerprint = _fingerprint(regency, radius_m, policy, distance, options, rows)
    existing = _existing(regency, fingerprint)
    if existing is not None:
        return existing, False
    return _preview_inline(
        regency, rows, fingerprint, radius_m, policy, solver_policy, distance, options, actor, t0, t1
    )


def _preview_inline(regency, rows, fingerprint, radius_m, policy, solver_policy, distance, options, actor, t0, t1):
    preview, pairs = _solve(
        rows,
        radius_m=radius_m,
        solver_policy=solver_policy,
        distance=distance,
        options=options,
        read_s=t1 - t0,
        regency_id=regency.pk,
    )
    with transaction.atomic():
        run = MatchingRun.objects.create(
            regency=regency,
            radius_m=radius_m,
            policy=policy,
            distance=distance,
            fingerprint=fingerprint,
            preview=preview,
            pairs=pairs,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _audit_preview(run, actor)
    preview["timings_s"]["total"] = round(time.perf_counter() - t0, 3)
    MatchingRun.objects.filter(pk=run.pk).update(preview=preview)
    run.preview = preview
    return run, True


# Long work off the request path (docs/long-work.md). A regency with more eligible workers than
# MATCHING_SYNC_MAX_WORKERS is solved by the task `solve_matching_run`, and a run with more pairs than
# MATCHING_SYNC_MAX_PAIRS is applied by `apply_matching_run`; smaller ones answer in the request as before (a
# village-sized run solves in milliseconds, and the old 201/200 contract holds for them).
STALE_AFTER = dt.timedelta(minutes=5)  # a solve with no heartbeat for this long: its worker is taken for dead
HEARTBEAT_EVERY_S = 30.0
SOLVE_STEPS = 3  # read, solve, store


def sync_max_workers() -> int:
    return int(getattr(settings, "MATCHING_SYNC_MAX_WORKERS", 2000))


def sync_max_pairs() -> int:
    return int(getattr(settings, "MATCHING_SYNC_MAX_PAIRS", 2000))


def _actor(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def matching_run_request(
    *,
    regency: Region,
    radius_m: int | None = None,
    policy: str = sel.DEFAULT_POLICY,
    distance: str | None = None,
    actor=None,
    now=None,
) -> tuple[MatchingRun, str]:
    """What the API calls. Returns (run, outcome): "existing" (same input and mode: the run already made or under
    way), "created" (a small regency, solved here) or "queued" (a QUEUED run; its task solves it after commit).

    The read and the fingerprint happen here (a fraction of a second for a regency) under a per-regency advisory
    lock, so two identical requests never make two runs."""
    now = now or timezone.now()
    radius_m, solver_policy, distance = _normalise(regency, radius_m, policy, distance)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, regency.pk])
        t0 = time.perf_counter()
        rows = sel.run_rows(regency, now=now)
        t1 = time.perf_counter()
        distance, options = _mode(distance, rows)
        fingerprint = _fingerprint(regency, radius_m, policy, distance, options, rows)
        existing = _existing(regency, fingerprint)
        if existing is not None:
            return existing, "existing"
        if len(rows.worker_ids) <= sync_max_workers():
            run, _ = _preview_inline(
                regency, rows, fingerprint, radius_m, policy, solver_policy, distance, options, actor, t0, t1
            )
            return run, "created"
        run = MatchingRun.objects.create(
            regency=regency,
            radius_m=radius_m,
            policy=policy,
            distance=distance,
            status=MatchingRun.Status.QUEUED,
            fingerprint=fingerprint,
            progress={"done": 0, "total": SOLVE_STEPS, "stage": "queued"},
            heartbeat_at=timezone.now(),
            created_by=_actor(actor),
        )
        run_id = run.pk
        transaction.on_commit(lambda: _enqueue_solve(run_id))
    run.refresh_from_db()
    return run, "queued"


_LOCK_CLASS = 20_001  # pg_advisory_xact_lock(class, regency id): one matching request per regency at a time


def _enqueue_solve(run_id: int) -> None:
    from sponsorship.matching import tasks  # tasks imports this module

    # Broker down: the run stays QUEUED and the sweep queues it again.
    delay_or(tasks.solve_matching_run, run_id, what=f"the solve of matching run {run_id}")


@contextmanager
def _heartbeat(run_id: int):
    """Beat every HEARTBEAT_EVERY_S from a thread (its own connection) while the solver works."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(HEARTBEAT_EVERY_S):
                MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.SOLVING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"matching-run-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _step(run_id: int, done: int, stage: str) -> None:
    MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.SOLVING).update(
        progress={"done": done, "total": SOLVE_STEPS, "stage": stage}, heartbeat_at=timezone.now()
    )


def matching_run_solve_queued(*, run_id: int) -> str | None:
    """The task's work: solve a QUEUED run (or a SOLVING one whose worker died) and store its preview.

    Claimed by a compare-and-swap update, so a second delivery does nothing. The rows are read again: if the
    regency changed since the request, the run solves the newer state and says so (``preview.input_changed``).
    Returns the run's new status, or None when there was nothing to do."""
    now = timezone.now()
    claimed = MatchingRun.objects.filter(
        Q(status=MatchingRun.Status.QUEUED) | Q(status=MatchingRun.Status.SOLVING, heartbeat_at__lt=now - STALE_AFTER),
        pk=run_id,
    ).update(
        status=MatchingRun.Status.SOLVING,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        progress={"done": 0, "total": SOLVE_STEPS, "stage": "reading"},
    )
    if not claimed:
        return None
    run = MatchingRun.objects.select_related("regency", "created_by").defer("pairs").get(pk=run_id)
    if run.attempts > MatchingRun.MAX_ATTEMPTS:
        _solve_failed(run, "the solve was interrupted too many times")
        return MatchingRun.Status.FAILED
    try:
        with _heartbeat(run_id):
            radius_m, solver_policy, distance = _normalise(run.regency, run.radius_m, run.policy, run.distance)
            t0 = time.perf_counter()
            rows = sel.run_rows(run.regency, now=timezone.now())
            t1 = time.perf_counter()
            distance, options = _mode(distance, rows)  # the run's stored mode
            fingerprint = _fingerprint(run.regency, radius_m, run.policy, distance, options, rows)
            _step(run_id, 1, "solving")
            preview, pairs = _solve(
                rows,
                radius_m=radius_m,
                solver_policy=solver_policy,
                distance=distance,
                options=options,
                read_s=t1 - t0,
                regency_id=run.regency_id,
            )
            _step(run_id, 2, "storing")
    except Exception:
        _solve_failed(run, "internal error while solving")
        raise
    if fingerprint != run.fingerprint:
        preview["input_changed"] = True
    preview["timings_s"]["total"] = round(time.perf_counter() - t0, 3)
    with transaction.atomic():
        done = MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.SOLVING).update(
            status=MatchingRun.Status.PREVIEW,
            fingerprint=fingerprint,
            preview=preview,
            pairs=pairs,
            progress={"done": SOLVE_STEPS, "total": SOLVE_STEPS, "stage": "done"},
            heartbeat_at=timezone.now(),
            error="",
        )
        if not done:
            return None
        run.preview = preview
        _audit_preview(run, run.created_by)
    return MatchingRun.Status.PREVIEW


def _solve_failed(run: MatchingRun, error: str) -> None:
    MatchingRun.objects.filter(pk=run.pk, status=MatchingRun.Status.SOLVING).update(
        status=MatchingRun.Status.FAILED, error=error, heartbeat_at=timezone.now()
    )


def matching_run_apply_request(*, run: MatchingRun, actor=None) -> MatchingRun:
    """What the API calls to apply. A run with at most MATCHING_SYNC_MAX_PAIRS pairs is applied here; a larger one
    becomes APPLYING and the task `apply_matching_run` applies it after commit. Idempotent: an applied or applying
    run answers as it is. A run still queued, solving or failed is a 409."""
    with transaction.atomic():
        locked = MatchingRun.objects.select_for_update().get(pk=run.pk)
        if locked.status in (MatchingRun.Status.APPLIED, MatchingRun.Status.APPLYING):
            return locked
        _check_appliable(locked)
        inline = len(locked.pairs) // 24 <= sync_max_pairs()
        if not inline:
            MatchingRun.objects.filter(pk=locked.pk, status=MatchingRun.Status.PREVIEW).update(
                status=MatchingRun.Status.APPLYING,
                applied_by=_actor(actor),
                heartbeat_at=timezone.now(),
                progress={"done": 0, "total": 1, "stage": "queued"},
            )
            run_id, actor_id = locked.pk, getattr(_actor(actor), "pk", None)
            transaction.on_commit(lambda: _enqueue_apply(run_id, actor_id))
    if inline:
        return matching_run_apply(run=locked, actor=actor)
    locked.refresh_from_db()
    return locked


def _check_appliable(run: MatchingRun) -> None:
    if run.status in (MatchingRun.Status.QUEUED, MatchingRun.Status.SOLVING):
        raise ConflictError(
            _("This run is still being computed. Apply it when its preview is ready."), code="not_ready"
        )
    if run.status == MatchingRun.Status.FAILED:
        raise ConflictError(_("This run failed. Start a new run."), code="run_failed")


def _enqueue_apply(run_id: int, actor_id: int | None) -> None:
    from sponsorship.matching import tasks  # tasks imports this module

    # Broker down: the run stays APPLYING and the sweep queues it again.
    delay_or(tasks.apply_matching_run, run_id, actor_id, what=f"the apply of matching run {run_id}")


def matching_run_apply_queued(*, run_id: int, actor_id: int | None = None) -> MatchingRun | None:
    """The task's work: apply an APPLYING run. None when another worker holds it (its row lock) or it is done.
    The apply is one transaction: a worker that dies leaves the run APPLYING with nothing written."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with transaction.atomic():
        locked = (
            MatchingRun.objects.select_for_update(skip_locked=True)
            .filter(pk=run_id, status=MatchingRun.Status.APPLYING)
            .first()
        )
        if locked is None:
            return None
        return matching_run_apply(run=locked, actor=actor)


def matching_run_sweep(*, now=None) -> int:
    """Queue again the runs whose task was lost: QUEUED or SOLVING with a stale heartbeat (lost message, dead
    worker) and APPLYING for over a minute that no worker holds (its row is not locked). Returns how many."""
    now = now or timezone.now()
    lost = list(
        MatchingRun.objects.filter(
            status__in=[MatchingRun.Status.QUEUED, MatchingRun.Status.SOLVING], heartbeat_at__lt=now - STALE_AFTER
        ).values_list("pk", flat=True)
    )
    for run_id in lost:
        _enqueue_solve(run_id)
    with transaction.atomic():
        orphans = list(
            MatchingRun.objects.select_for_update(skip_locked=True)
            .filter(status=MatchingRun.Status.APPLYING, heartbeat_at__lt=now - dt.timedelta(minutes=1))
            .values_list("pk", "applied_by_id")
        )
    for run_id, actor_id in orphans:
        _enqueue_apply(run_id, actor_id)
    return len(lost) + len(orphans)


_PROPOSAL_COLUMNS = (
    "sponsor_id",
    "worker_id",
    "status",
    "source",
    "run_id",
    "distance_m",
    "same_village",
    "priority",
    "created_at",
    "expires_at",
    "decline_reason",
)


def _insert_proposals(rows: list[tuple]) -> None:
    """Insert many proposals, skipping pairs that already have an open offer (the partial unique index).

    COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING — about 20x faster than
    bulk_create for a regency's ~20,000 rows.
    """
    if not rows:
        return
    table = connection.ops.quote_name(Proposal._meta.db_table)
    cols = ", ".join(_PROPOSAL_COLUMNS)
    with connection.cursor() as cur:
        # Asynchronous commit for this one transaction: a crash right after it can only lose the whole
        # apply (the run then stays in preview and is applied again), never leave half of it.
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(
            "CREATE TEMP TABLE _new_proposals (sponsor_id bigint, worker_id bigint, status text, source text, "
            "run_id bigint, distance_m integer, same_village boolean, priority integer, "
            "created_at timestamptz, expires_at timestamptz, decline_reason text) ON COMMIT DROP"
        )
        with cur.cursor.copy(f"COPY _new_proposals ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _new_proposals ORDER BY sponsor_id, worker_id "  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
            f"ON CONFLICT DO NOTHING"
        )
        cur.execute("DROP TABLE _new_proposals")


def run_pairs(run: MatchingRun) -> np.ndarray:
    return np.frombuffer(bytes(run.pairs), dtype="<i8").reshape(-1, 3)


def _sql(qs) -> tuple[str, tuple]:
    sql, params = qs.order_by().query.sql_with_params()  # no model ordering inside a subquery
    return sql, tuple(params)


def _priority_sql(policy) -> tuple[str, tuple]:
    """The policy's weight table as SQL over worker w (decile) and lapsing flag column `lapsing`."""
    table = (policy.unknown_decile_weight, *policy.decile_weights)
    cases = " ".join("WHEN %s THEN %s" for _ in table)
    params = tuple(x for d, wgt in enumerate(table) for x in (d, int(wgt)))
    return (
        f"(CASE COALESCE(w.welfare_decile, 0) {cases} ELSE 0 END + CASE WHEN lapsing THEN %s ELSE 0 END)"
    ), params + (int(policy.lapse_boost),)


def _apply_pairs_sql(*, run: MatchingRun, pairs: np.ndarray, now, cooldown_days: int, policy) -> dict:
    """Insert the run's still-valid pairs in SQL and return the skipped counts.

    The pairs go in by COPY; one statement then checks them against the database *now*, the same rules
    as the preview's read (``sel.run_rows``): the worker is still eligible and not held by an open run or
    re-match offer; the pair was not declined within the cooldown; the sponsor (active, with room) still
    has free slots = capacity - active sponsorships - open holding offers, given out in worker-id order.
    Skips nothing twice and reads nothing into Python.
    """
    held = Exists(
        Proposal.objects.filter(
            worker=OuterRef("pk"), status=Proposal.Status.OFFERED, source__in=sel.RESERVING_SOURCES, expires_at__gt=now
        )
    )
    in_run = RawSQL("SELECT worker_id FROM _run_pairs", ())  # check only the run's workers
    elig_sql, elig_p = _sql(sel.eligible_workers(run.regency, now=now).filter(pk__in=in_run).exclude(held).values("pk"))
    lapsing_sql, lapsing_p = _sql(
        Sponsorship.objects.filter(
            status=Sponsorship.Status.ENDED, ended_at__gte=now - dt.timedelta(days=sel.RECENTLY_UNSPONSORED_DAYS)
        )
        .values("worker_id")
        .union(flagged_worker_ids(timezone.localdate(now)), all=True)
    )
    room_sql, room_p = _sql(sel.sponsors_with_room(run.regency).values("pk"))
    prio_sql, prio_p = _priority_sql(policy)
    q = connection.ops.quote_name
    prop, worker, sponsor = (q(m._meta.db_table) for m in (Proposal, Worker, Sponsor))
    reserving = [str(x) for x in sel.RESERVING_SOURCES]
    with connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")  # a crash loses the whole apply, never half of it
        # The planner's row estimates for the temp table are rough and push the cost over jit_above_cost:
        # LLVM compilation then takes seconds for a statement that runs in a fraction of one.
        cur.execute("SET LOCAL jit = off")
        cur.execute(
            "CREATE TEMP TABLE _run_pairs (sponsor_id bigint, worker_id bigint, distance_m integer) ON COMMIT DROP"
        )
        with cur.cursor.copy("COPY _run_pairs (sponsor_id, worker_id, distance_m) FROM STDIN") as copy:
            copy.write(_copy_text(pairs))
        cur.execute(
            f"""
            CREATE TEMP TABLE _run_checked ON COMMIT DROP AS
            WITH p AS MATERIALIZED (
                SELECT p.sponsor_id, p.worker_id, p.distance_m,
                       p.worker_id IN ({elig_sql}) AS worker_ok,
                       EXISTS (SELECT 1 FROM {prop} d WHERE d.sponsor_id = p.sponsor_id
                               AND d.worker_id = p.worker_id AND d.status = %s AND d.decided_at >= %s) AS declined
                FROM _run_pairs p),
            room AS (
                SELECT s.id, s.capacity - s.active_sponsorships
                       - (SELECT count(*) FROM {prop} r WHERE r.sponsor_id = s.id AND r.status = %s
                          AND r.source = ANY(%s) AND r.expires_at > %s) AS free
                FROM {sponsor} s
                WHERE s.id IN (SELECT DISTINCT sponsor_id FROM _run_pairs) AND s.id IN ({room_sql}))
            SELECT p.*, COALESCE(room.free, 0) AS free,
                   row_number() OVER (PARTITION BY p.sponsor_id, p.worker_ok AND NOT p.declined
                                      ORDER BY p.worker_id) AS rank
            FROM p LEFT JOIN room ON room.id = p.sponsor_id""",  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
            elig_p
            + (
                Proposal.Status.DECLINED.value,
                now - dt.timedelta(days=cooldown_days),
                Proposal.Status.OFFERED.value,
                reserving,
                now,
            )
            + room_p,
        )
        cols = ", ".join(_PROPOSAL_COLUMNS)
        cur.execute(
            f"""
            INSERT INTO {prop} ({cols})
            SELECT c.sponsor_id, c.worker_id, %s, %s, %s, c.distance_m, w.village_id = s.home_village_id,
                   {prio_sql}, %s, %s, ''
            FROM _run_checked c
            JOIN {worker} w ON w.id = c.worker_id
            JOIN {sponsor} s ON s.id = c.sponsor_id
            CROSS JOIN LATERAL (SELECT c.worker_id IN ({lapsing_sql}) AS lapsing) l
            WHERE c.worker_ok AND NOT c.declined AND c.rank <= c.free
            ORDER BY c.sponsor_id, c.worker_id
            ON CONFLICT DO NOTHING""",  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
            (Proposal.Status.OFFERED.value, Proposal.Source.MATCHING_RUN.value, run.pk)
            + prio_p
            + (now, now + TTL[Proposal.Source.MATCHING_RUN])
            + lapsing_p,
        )
        cur.execute("""SELECT count(*) FILTER (WHERE NOT worker_ok),
                              count(*) FILTER (WHERE worker_ok AND declined),
                              count(*) FILTER (WHERE worker_ok AND NOT declined AND rank > free)
                       FROM _run_checked""")
        unavailable, declined, full = cur.fetchone()
        cur.execute("DROP TABLE _run_pairs, _run_checked")
    skipped = {"worker_unavailable": unavailable, "sponsor_full": full, "declined": declined}
    return {k: int(v) for k, v in skipped.items() if v}


def _copy_text(pairs: np.ndarray) -> bytes:
    """COPY text for (sponsor, worker, distance) rows, built by NumPy (no per-row Python)."""
    if len(pairs) == 0:
        return b""
    buf = io.StringIO()
    np.savetxt(buf, np.asarray(pairs, dtype=np.int64), fmt="%d", delimiter="\t")
    return buf.getvalue().encode()


def _apply_pairs_python(*, run: MatchingRun, pairs: np.ndarray, now, cooldown_days: int, policy) -> dict:
    """Same checks as ``_apply_pairs_sql`` in Python, for a policy whose weights come from a Python function
    (``weight_fn``) that the SQL cannot express."""
    regency = run.regency
    rows = sel.run_rows(regency, now=now)  # the state now, not at preview time
    room = dict(zip(rows.sponsor_ids.tolist(), rows.sponsor_free.tolist(), strict=True))
    worker_at = {int(w): i for i, w in enumerate(rows.worker_ids)}
    sponsor_village = dict(zip(rows.sponsor_ids.tolist(), rows.sponsor_village.tolist(), strict=True))
    declined = set(
        Proposal.objects.filter(
            status=Proposal.Status.DECLINED,
            sponsor__agency__regency=regency,
            decided_at__gte=now - dt.timedelta(days=cooldown_days),
        ).values_list("sponsor_id", "worker_id")
    )
    weights = policy.weights(_points(rows)[1]) if len(rows.worker_ids) else np.empty(0, np.int64)
    expires = now + TTL[Proposal.Source.MATCHING_RUN]
    rows_out: list[tuple] = []
    skipped: Counter[str] = Counter()
    for s_id, w_id, dist in pairs.tolist():
        i = worker_at.get(w_id)
        if i is None:
            skipped["worker_unavailable"] += 1
            continue
        if (s_id, w_id) in declined:
            skipped["declined"] += 1
            continue
        if room.get(s_id, 0) <= 0:
            skipped["sponsor_full"] += 1
            continue
        room[s_id] -= 1
        rows_out.append(
            (
                s_id,
                w_id,
                Proposal.Status.OFFERED.value,
                Proposal.Source.MATCHING_RUN.value,
                run.pk,
                int(dist),
                bool(sponsor_village.get(s_id) == rows.worker_village[i]),
                int(weights[i]),
                now,
                expires,
                "",
            )
        )
    # An on-demand offer of the same pair may already be open: the unique index keeps that one.
    _insert_proposals(rows_out)
    return dict(skipped)


@timed_call(MATCHING_RUN_DURATION, step="apply")
def matching_run_apply(*, run: MatchingRun, actor=None, now=None, notify: bool = True) -> MatchingRun:
    """Create the run's proposals (source matching_run). Pairs that went stale since the preview (worker
    taken, sponsor full, declined pair in cooldown) are skipped. Applying twice creates nothing new."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = MatchingRun.objects.select_for_update().select_related("regency").get(pk=run.pk)
        if locked.status == MatchingRun.Status.APPLIED:
            return locked
        _check_appliable(locked)
        pairs = run_pairs(locked)
        config = sel.regency_config(locked.regency)
        policy = sel.policy_for(locked.policy)
        kw = {
            "run": locked,
            "pairs": pairs,
            "now": now,
            "cooldown_days": config.decline_cooldown_days,
            "policy": policy,
        }
        if policy.weight_fn is None:
            skipped = _apply_pairs_sql(**kw)
        else:
            skipped = _apply_pairs_python(**kw)
        created = Proposal.objects.filter(run=locked).count()
        MatchingRun.objects.filter(
            pk=locked.pk, status__in=[MatchingRun.Status.PREVIEW, MatchingRun.Status.APPLYING]
        ).update(
            status=MatchingRun.Status.APPLIED,
            applied_at=now,
            proposals_created=created,
            applied_by=_actor(actor) or locked.applied_by,
            progress={"done": 1, "total": 1, "stage": "done"},
            heartbeat_at=timezone.now(),
            preview={**locked.preview, "apply": {"created": created, "skipped": skipped}},
        )
        audit_record(
            actor=actor,
            action="matching_run.apply",
            obj=locked,
            before={"status": "preview"},
            after={"status": "applied", "proposals_created": created, "skipped": skipped},
        )
        if notify:
            transaction.on_commit(lambda: _enqueue_run_notifications(locked.pk))
    locked.refresh_from_db()
    return locked


def _enqueue_run_notifications(run_id: int) -> None:
    from sponsorship.matching import tasks  # tasks imports this module

    # broker down: the run is applied; write its outbox rows here (the outbox sweep sends them)
    delay_or(
        tasks.notify_matching_run,
        run_id,
        what=f"the notifications of matching run {run_id}; writing them now",
        fallback=lambda: matching_run_notify(run_id=run_id),
    )


def matching_run_notify(*, run_id: int) -> int:
    """One push per sponsor with new proposals from the run, written by one ``notify_bulk`` call (a handful
    of statements whatever the number of sponsors). Runs in the Celery task ``notify_matching_run``,
    enqueued when the apply commits (eager in dev/tests). Idempotent: the dedupe key is the sponsor's first
    proposal id in the run (the key ``notify_proposals`` uses), so a retried or repeated task writes nothing
    twice. Returns the number of notification rows created."""
    by_sponsor: dict[int, list[int]] = defaultdict(list)
    first_worker: dict[int, str] = {}
    rows = (
        Proposal.objects.filter(run_id=run_id, status=Proposal.Status.OFFERED, sponsor__user__isnull=False)
        .order_by("pk")
        .values_list("pk", "sponsor_id", "sponsor__user_id", "sponsor__full_name", "worker__full_name")
    )
    users: dict[int, tuple[int, str]] = {}
    for pk, sponsor_id, user_id, sponsor_name, worker_name in rows:
        by_sponsor[sponsor_id].append(pk)
        users[sponsor_id] = (user_id, sponsor_name or "")
        first_worker.setdefault(sponsor_id, worker_name or "")
    requests = []
    for sponsor_id, ids in by_sponsor.items():
        user_id, sponsor_name = users[sponsor_id]
        requests.append(
            NotifyRequest(
                user_id=user_id,
                kind="matching_proposal",
                dedupe_key=f"proposal:{ids[0]}",
                context={
                    "sponsor_name": sponsor_name.split(" ")[0],
                    "workers": len(ids),
                    "worker_name": first_worker[sponsor_id],
                },
                data={"screen": "proposals", "proposal_id": str(ids[0])},
            )
        )
    if not requests:
        return 0
    with transaction.atomic():
        return len(notify_bulk(requests))
