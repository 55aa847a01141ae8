"""Fault switches: each applies to the next N API requests, then answers are normal again."""

from __future__ import annotations

import http.client
import re
import uuid
from urllib.parse import urlsplit

import orjson
import pytest
import requests

from randomuser_api import Fault, FaultPlan, LocalApi
from randomuser_api.faults import FaultError

PARAMS = {"results": 10, "seed": "faults"}


def get(api: LocalApi, **params: object) -> requests.Response:
    return requests.get(api.url, params={**PARAMS, **params}, timeout=30)


def test_429_with_retry_after_then_ok(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("429", times=2, retry_after=7))
    for _ in range(2):
        response = get(api)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert "error" in response.json()
    ok = get(api)
    assert ok.status_code == 200 and len(ok.json()["results"]) == 10


def test_500_then_ok(faulty_api) -> None:
    api = faulty_api([Fault("500", times=1)])
    response = get(api)
    assert response.status_code == 500 and "error" in response.json()
    assert get(api).status_code == 200


def test_always_on_fault(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("500", times=-1))
    assert [get(api).status_code for _ in range(4)] == [500] * 4


def test_slow_answers_after_delay(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("slow", times=1, delay=0.6))
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(api.url, params=PARAMS, timeout=0.2)
    assert get(api).status_code == 200  # the fault was used up by the timed-out request


def test_slow_combines_with_other_faults(faulty_api) -> None:
    api = faulty_api([Fault("slow", times=1, delay=0.1), Fault("429", times=1)])
    assert get(api).status_code == 429


def test_truncated_body_is_an_incomplete_read(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("truncate"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(api, results=200)
    # raw view: the announced length is larger than what arrives before the server closes
    api.set_faults(FaultPlan.of("truncate"))
    parts = urlsplit(api.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.request("GET", parts.path + "?results=200&seed=faults")
    response = conn.getresponse()
    announced = int(response.getheader("Content-Length") or 0)
    with pytest.raises(http.client.IncompleteRead) as info:
        response.read()
    assert len(info.value.partial) < announced
    conn.close()
    assert get(api).status_code == 200


def test_malformed_json_then_ok(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("malformed", times=1))
    response = get(api)
    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)
    assert orjson.loads(get(api).content)["info"]["seed"] == "faults"


def test_invalid_values_one_per_user_in_documented_order(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("invalid", times=1))
    bad = get(api).json()["results"]
    good = get(api).json()["results"]
    assert "@" not in bad[0]["email"]
    assert bad[1]["gender"] == "unknown"
    assert bad[2]["nat"] == "XX"
    assert bad[3]["dob"]["age"] == -5
    assert bad[4]["location"]["coordinates"]["latitude"] == "200.0"
    assert bad[5]["picture"]["large"].startswith("ftp://")
    assert bad[6]["login"]["uuid"] == "not-a-uuid"
    assert bad[7:] == good[7:]  # the rest of the page is untouched
    for user in good:
        assert "@" in user["email"] and user["gender"] in ("male", "female") and user["nat"] != "XX"
        assert user["dob"]["age"] >= 0 and abs(float(user["location"]["coordinates"]["latitude"])) <= 90
        assert user["picture"]["large"].startswith("https://")
        uuid.UUID(user["login"]["uuid"])


def test_invalid_fields_subset(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("invalid", fields=("uuid",)))
    users = get(api).json()["results"]
    assert users[0]["login"]["uuid"] == "not-a-uuid"
    assert all(re.fullmatch(r"[0-9a-f-]{36}", u["login"]["uuid"]) for u in users[1:])


def test_control_endpoint_put_get_delete(local_api: LocalApi, faulty_api) -> None:
    api = faulty_api()
    put = requests.put(api.control_url, json={"faults": [{"kind": "429", "times": 1, "retry_after": 2}]},
                       timeout=10)
    assert put.status_code == 200 and put.json()["faults"][0]["remaining"] == 1
    assert get(api).status_code == 429
    state = requests.get(api.control_url, timeout=10).json()
    assert state["faults"][0]["remaining"] == 0
    assert get(api).status_code == 200
    requests.put(api.control_url, json=[{"kind": "500", "times": -1}], timeout=10)
    assert get(api).status_code == 500
    assert requests.delete(api.control_url, timeout=10).json() == {"faults": []}
    assert get(api).status_code == 200


@pytest.mark.parametrize("payload", [
    {"faults": [{"kind": "teapot"}]}, {"faults": [{"kind": "429", "times": -2}]},
    {"faults": [{"kind": "invalid", "fields": ["shoe"]}]}, {"faults": [{"times": 1}]}, "nonsense",
])
def test_control_endpoint_rejects_bad_plans(faulty_api, payload: object) -> None:
    api = faulty_api()
    response = requests.put(api.control_url, json=payload, timeout=10)
    assert response.status_code == 400 and response.json()["error"]
    assert get(api).status_code == 200


def test_set_faults_at_runtime(faulty_api) -> None:
    api = faulty_api()
    api.set_faults(FaultPlan.of("500", times=1))
    assert get(api).status_code == 500
    assert get(api).status_code == 200
    api.set_faults([Fault("429", times=-1)])
    assert get(api).status_code == 429
    api.clear_faults()
    assert get(api).status_code == 200


def test_fault_validation() -> None:
    with pytest.raises(FaultError):
        Fault("404")
    with pytest.raises(FaultError):
        Fault("slow", delay=-1)


def test_control_requests_do_not_consume_faults(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("500", times=1))
    for _ in range(3):
        requests.get(api.control_url, timeout=10)
    assert get(api).status_code == 500
