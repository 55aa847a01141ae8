"""LocalApi answers over real HTTP, and the fixtures work."""

from __future__ import annotations

import requests

from randomuser_api import FaultPlan, LocalApi


def test_local_api_serves_users(local_api: LocalApi) -> None:
    response = requests.get(local_api.url, params={"results": 3, "seed": "smoke"}, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 3
    assert body["info"] == {"seed": "smoke", "results": 3, "page": 1, "version": "1.4"}


def test_faulty_api_factory(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("500", times=1))
    assert requests.get(api.url, timeout=10).status_code == 500
    assert requests.get(api.url, timeout=10).status_code == 200
