"""Matching fixtures: a small map where distances are known (0.01° latitude ≈ 1.11 km)."""

import datetime as dt

import pytest

from sponsorship.regions.models import Region
from tests import factories

HOME = "35.02.17.1001"  # Paju, town
NEAR = "35.02.17.1002"  # 1.1 km north
MID = "35.02.17.1003"  # 2.2 km north
FAR = "35.02.17.1004"  # 3.3 km north
OUT = "35.02.17.1005"  # 6.7 km north: outside the default 5 km radius
LAT0, LON0 = -7.87, 111.46


@pytest.fixture
def town(regency):
    """Park every village far away, then place five on a line going north from HOME."""
    Region.objects.filter(level=Region.Level.VILLAGE).update(lat=-8.6, lon=112.6)
    for code, km in ((HOME, 0), (NEAR, 1.11), (MID, 2.22), (FAR, 3.34), (OUT, 6.67)):
        Region.objects.filter(code=code).update(lat=LAT0 + km / 111.195, lon=LON0)
    return regency


def worker(village=HOME, decile=3, **extra):
    return factories.make_worker(village_code=village, decile=decile, **extra)


def old_nik(village=HOME):
    return factories.make_nik(village, birth=dt.date(1955, 1, 2))
