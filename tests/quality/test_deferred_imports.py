"""GX's start-up imports of scipy.stats and altair are deferred to their first use (quality.deferred_imports):
a whole check never imports them, and code that uses them still gets the real modules."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ingestion.pipeline import IngestResult
from randomuser_api import LocalApi
from tests.quality.conftest import Warehouse
from userpipe import warehouse

REAL_MODULES = "print('scipy.stats._stats_py' in sys.modules, 'altair.vegalite' in sys.modules)"
CHECK = f"""
import sys
from quality.gate import run_checks
report = run_checks("deferred-imports", expected_rows=int(sys.argv[1]), run_dbt_tests=False)
assert report.docs_index.is_file() and any(r.source == "gx" for r in report.results), report
assert not report.failures, report.failures
{REAL_MODULES}
"""
FIRST_USE = """
import importlib.util, math, sys
from quality.deferred_imports import DeferredModule, defer
defer()
from scipy import stats
import altair as alt
assert isinstance(stats, DeferredModule) and isinstance(alt, DeferredModule)
assert importlib.util.find_spec("altair") is not None  # what optional-dependency checks ask
assert not any(name.startswith("scipy.stats.") for name in sys.modules)
assert math.isclose(stats.entropy([0.5, 0.5]), math.log(2))  # the real function, imported now
assert type(sys.modules["scipy.stats"]).__name__ == "module" and "scipy.stats._stats_py" in sys.modules
assert alt.Chart is sys.modules["altair"].Chart and type(sys.modules["altair"]).__name__ == "module"
from scipy.stats import norm  # later imports get the real module
assert norm.cdf(0) == 0.5
print("ok")
"""
ALREADY_IMPORTED = """
import sys
import scipy.stats
real = sys.modules["scipy.stats"]
from quality.deferred_imports import defer
defer()
assert sys.modules["scipy.stats"] is real
print("ok")
"""


def python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


@pytest.fixture(scope="module")
def batch(module_warehouse: Warehouse, local_api: LocalApi) -> IngestResult:
    landed = module_warehouse.land(local_api.url, seed="deferred-imports", size=50)
    module_warehouse.build()
    return landed


def test_a_whole_check_with_its_data_docs_never_imports_scipy_stats_or_altair(
        module_warehouse: Warehouse, batch: IngestResult) -> None:
    env = {**os.environ, warehouse.DATABASE_URL_ENV: module_warehouse.url,
           warehouse.HOME_ENV: str(module_warehouse.home)}
    assert python(CHECK, str(batch.users_new), env=env) == "False False"
    # without the deferral, GX's import loads both (so the line above can fail)
    assert python(f"import sys, great_expectations\n{REAL_MODULES}") == "True True"


def test_a_deferred_module_is_the_real_one_at_first_use() -> None:
    assert python(FIRST_USE) == "ok"


def test_a_module_already_imported_is_left_as_it_is() -> None:
    assert python(ALREADY_IMPORTED) == "ok"
