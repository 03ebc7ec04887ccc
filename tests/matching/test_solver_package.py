"""The solver is a plain NumPy/numba/OR-Tools package: importing it loads no Django (docs/style: layout)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import sponsorship.matching.solver

SOLVER_DIR = Path(sponsorship.matching.solver.__file__).parent
CHECK = """
import sys
assert not any(m == "django" or m.startswith("django.") for m in sys.modules)
import sponsorship.matching.solver.exact, sponsorship.matching.solver.flow, sponsorship.matching.solver.geo
import sponsorship.matching.solver.scaling, sponsorship.matching.solver.strategies
loaded = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print(loaded)
sys.exit(1 if loaded else 0)
"""


def test_importing_the_solver_loads_no_django():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_solver_sources_import_no_django():
    imports = re.compile(r"^\s*(from|import)\s+django\b", re.MULTILINE)
    assert not [p.name for p in SOLVER_DIR.glob("*.py") if imports.search(p.read_text())]
