"""Helpers for the randomuser_api tests: GET the local API over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from randomuser_api.server import LocalApi


class Client:
    """GET `/api/` of one LocalApi with query parameters."""

    def __init__(self, api: LocalApi) -> None:
        self.api = api
        self.session = requests.Session()

    def get(self, **params: Any) -> requests.Response:
        return self.session.get(self.api.url, params=params, timeout=30)

    def users(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get(**params)
        assert response.status_code == 200, response.text[:200]
        results: list[dict[str, Any]] = response.json()["results"]
        return results


@pytest.fixture(scope="session")
def client(local_api: LocalApi) -> Client:
    return Client(local_api)
