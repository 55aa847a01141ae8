"""Shared fixtures: a real PostgreSQL (tests/fixtures/database.py) and our real local API (tests/fixtures/api.py)."""

import os
import secrets
from collections.abc import Iterator

import pytest

os.environ.setdefault("USERPIPE_DASHBOARD_PORT", "0")  # `userpipe run` serves the dashboard: a free port in tests
# one grafana_reader password for the session's server, whatever USERPIPE_HOME a test has (tests/fixtures/database.py)
os.environ.setdefault("USERPIPE_DASHBOARD_READER_PASSWORD", secrets.token_urlsafe(18))

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.api"]


@pytest.fixture(scope="session", autouse=True)
def users_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's cache (saved dbt manifests, userpipe.transform) in a folder of the session's, not ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("USERPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("users-cache")))
        yield
