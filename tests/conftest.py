"""Shared fixtures: a real PostgreSQL (tests/fixtures/database.py) and our real local API (tests/fixtures/api.py)."""

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.api"]
