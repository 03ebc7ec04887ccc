"""Warm starts for the exact distance step: the previous run's duals and flow, kept per regency in a file cache.

The certified distance step (scaling.py) ends with node potentials (metres, relative to the sink) and a group ->
sponsor flow. Both are keyed here by what survives between runs - a group by its location's coordinates and
weight, a sponsor by its id, a class by its weight - and saved as one ``.npz`` per key (``solve_matching``'s
``warm_start_key``, e.g. the regency, plus radius and policy). The next run maps them onto its own groups and
sponsors: new nodes start level with their class (groups) or the sink (sponsors), flow rows whose arc or room is
gone are dropped. Correctness never depends on this state - a stale or foreign file only costs time: cost scaling
starts from any pseudoflow and potentials, and the certificate is computed afresh (docs/matching.md).

Cache directory: ``MATCHING_WARM_CACHE_DIR`` (environment), else ``<tmp>/pengampu-matching-warm``. Files hold
sponsor ids, potentials and hashed location keys - no coordinates, NIK or names.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FIELDS = ("g_key", "g_w", "p_g", "s_id", "p_s", "c_w", "p_c", "r_g", "r_s", "r_f")


@dataclass(frozen=True, eq=False)
class WarmState:
    g_key: np.ndarray  # group location: a 64-bit hash of its coordinates (location_keys), no coordinates stored
    g_w: np.ndarray  # group weight
    p_g: np.ndarray  # potentials, metres, relative to the sink
    s_id: np.ndarray  # sponsor ids (ascending)
    p_s: np.ndarray
    c_w: np.ndarray  # class weights
    p_c: np.ndarray
    r_g: np.ndarray  # flow rows: group index (into g_*), sponsor id, units
    r_s: np.ndarray
    r_f: np.ndarray


def location_keys(phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """A 64-bit hash per location (splitmix64 of the coordinates' bits); a collision only costs a worse start."""
    with np.errstate(over="ignore"):
        z = phi.astype(np.float64).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + lam.astype(np.float64).view(
            np.uint64
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))).view(np.int64)


def cache_dir() -> Path:
    return Path(os.environ.get("MATCHING_WARM_CACHE_DIR") or Path(tempfile.gettempdir()) / "pengampu-matching-warm")


def _path(key: str) -> Path:
    return cache_dir() / (re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:200] + ".npz")


def load(key: str) -> WarmState | None:
    """The saved state for ``key``, or None (missing or unreadable: a cold start)."""
    try:
        with np.load(_path(key)) as z:
            return WarmState(**{k: z[k] for k in _FIELDS})
    except (OSError, KeyError, ValueError):
        return None


def save(key: str, state: WarmState) -> None:
    """Atomically replaces the state for ``key``; a write failure only loses the next warm start."""
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **{k: getattr(state, k) for k in _FIELDS})
        os.replace(tmp, path)
    except OSError:
        pass


def map_onto(state: WarmState, *, g_key, g_w, g_class, s_id, c_w) -> dict:
    """The state in the current run's node order (scaling.scaling_polish's ``warm``)."""
    c_old = {int(w): float(p) for w, p in zip(state.c_w.tolist(), state.p_c.tolist(), strict=True)}
    p_c = np.array([c_old.get(int(w), 0.0) for w in c_w.tolist()], np.float64)
    old = {k: i for i, k in enumerate(zip(state.g_key.tolist(), state.g_w.tolist(), strict=True))}
    g_new_of_old = np.full(len(state.g_w), -1, np.int64)
    p_g = p_c[g_class].copy()
    for i, k in enumerate(zip(g_key.tolist(), g_w.tolist(), strict=True)):
        o = old.get(k)
        if o is not None:
            g_new_of_old[o] = i
            p_g[i] = state.p_g[o]
    pos = np.searchsorted(state.s_id, s_id)
    pos_c = np.minimum(pos, max(len(state.s_id) - 1, 0))
    hit = (pos < len(state.s_id)) & (state.s_id[pos_c] == s_id) if len(state.s_id) else np.zeros(len(s_id), bool)
    p_s = np.where(hit, state.p_s[pos_c] if len(state.s_id) else 0.0, 0.0)
    # flow rows: old group -> new group, sponsor id -> new sponsor index (s_id ascending)
    rows_g = g_new_of_old[state.r_g] if len(state.r_g) else np.empty(0, np.int64)
    spos = np.searchsorted(s_id, state.r_s)
    spos_c = np.minimum(spos, max(len(s_id) - 1, 0))
    rows_j = np.where((spos < len(s_id)) & (s_id[spos_c] == state.r_s), spos_c, -1) if len(s_id) else spos * 0 - 1
    return {
        "p_g": p_g,
        "p_s": p_s.astype(np.float64),
        "p_c": p_c,
        "rows_g": rows_g.astype(np.int64),
        "rows_j": rows_j.astype(np.int64),
        "rows_f": state.r_f.astype(np.int64),
        "mapped_groups": int((g_new_of_old >= 0).sum()),
        "mapped_rows": int(((rows_g >= 0) & (rows_j >= 0)).sum()),
    }
