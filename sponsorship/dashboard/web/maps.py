"""Drawing the coverage map as plain SVG on the server: no tile server, no internet, no map library.

An equirectangular projection around the points' mean latitude is exact enough at a regency's size (~50 km);
the same markup serves the dashboard page (with our own dashboard.js for clicks) and the printable report.
"""

import math
from statistics import median

RADIUS = 7  # the largest dot; dense maps (or a small report map) get smaller ones so neighbours do not overlap
MIN_RADIUS = 2.5


def _radius(xy: list[tuple[float, float]]) -> float:
    """A dot radius of 0.4 × the median distance to the nearest neighbour (n² over a regency's ≤ ~500 villages)."""
    if len(xy) < 2:
        return RADIUS
    nearest = []
    for i, (x, y) in enumerate(xy):
        nearest.append(min(math.hypot(x - u, y - v) for j, (u, v) in enumerate(xy) if j != i))
    return round(max(MIN_RADIUS, min(RADIUS, 0.4 * median(nearest))), 1)


def svg_layout(points: list[dict], *, width: int = 640, max_height: int = 640, pad: int = 18) -> dict:
    """Points with x/y in an SVG of `width` (height follows the area's shape, at most `max_height`)."""
    if not points:
        return {"width": width, "height": 200, "points": []}
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    scale_x = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * scale_x, 1e-3)
    span_y = max(max(lats) - min(lats), 1e-3)
    inner = width - 2 * pad
    k = inner / span_x
    height = int(span_y * k) + 2 * pad
    if height > max_height:
        k = (max_height - 2 * pad) / span_y
        height = max_height
    out = []
    for p in points:
        x = pad + (p["lon"] - min(lons)) * scale_x * k
        y = pad + (max(lats) - p["lat"]) * k
        out.append({**p, "x": round(x, 1), "y": round(y, 1)})
    return {"width": width, "height": height, "points": out, "r": _radius([(p["x"], p["y"]) for p in out])}
