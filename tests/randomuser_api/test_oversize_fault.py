"""The `oversize` fault switch: user 0 of a page `user_bytes` long, the rest of the page as usual, sent chunked."""

from __future__ import annotations

import orjson
import pytest
import requests

from randomuser_api import Fault, FaultPlan, build_response
from randomuser_api.faults import FaultError
from tests.fixtures.api import FaultyApiFactory
from userpipe.commands.api import parse_fault_flags
from userpipe.errors import UserpipeError


def test_one_user_of_the_page_is_the_size_asked_and_the_rest_is_the_usual_page(
        faulty_api: FaultyApiFactory) -> None:
    api = faulty_api(FaultPlan([Fault("oversize", times=1, user_bytes=300_000)]))
    params = {"results": "5", "seed": "big", "page": "3"}

    answer = requests.get(api.url, params=params, timeout=30)
    again = requests.get(api.url, params=params, timeout=30)  # the one use is taken

    assert answer.status_code == 200 and answer.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in answer.headers and "Content-Encoding" not in answer.headers
    users, usual = answer.json()["results"], orjson.loads(build_response(params))["results"]
    assert len(orjson.dumps(users[0])) == 300_000
    assert set(users[0]["name"]["first"]) == {"x"}
    assert {**users[0], "name": usual[0]["name"]} == usual[0] and users[1:] == usual[1:]
    assert again.json()["results"] == usual


def test_the_switch_is_set_by_flag_and_by_the_control_endpoint(faulty_api: FaultyApiFactory) -> None:
    [fault] = parse_fault_flags(["oversize:2"], times=-1, delay=1.0, retry_after=1, invalid_fields=None,
                                user_bytes=5000)
    assert (fault.kind, fault.times, fault.user_bytes) == ("oversize", 2, 5000)
    api = faulty_api(None)
    put = requests.put(api.control_url, json={"faults": [{"kind": "oversize", "user_bytes": 70_000}]}, timeout=10)
    assert put.status_code == 200 and put.json()["faults"][0]["user_bytes"] == 70_000
    user = requests.get(api.url, params={"results": "2", "seed": "s"}, timeout=30).json()["results"][0]
    assert len(orjson.dumps(user)) == 70_000


def test_a_bad_size_is_refused() -> None:
    with pytest.raises(FaultError, match="user_bytes must be >= 1"):
        Fault("oversize", user_bytes=0)
    with pytest.raises(UserpipeError, match="--fault oversize: user_bytes must be >= 1"):
        parse_fault_flags(["oversize"], times=1, delay=1.0, retry_after=1, invalid_fields=None, user_bytes=-3)
