"""Shared fixtures: a real PostgreSQL (tests/fixtures/database.py) and our real local API (tests/fixtures/api.py)."""

import os

os.environ.setdefault("USERPIPE_DASHBOARD_PORT", "0")  # `userpipe run` serves the dashboard: a free port in tests

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.api"]
