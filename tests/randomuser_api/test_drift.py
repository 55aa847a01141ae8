"""The `drift` fault switch: the first share of a page's users drifted from API 1.4's schema, the rest untouched."""

from __future__ import annotations

import pytest
import requests

from randomuser_api import Fault, FaultPlan, LocalApi
from randomuser_api.drift import DRIFTS
from randomuser_api.faults import FaultError

PARAMS = {"results": 8, "seed": "drift"}


def get(api: LocalApi) -> list[dict[str, object]]:
    users: list[dict[str, object]] = requests.get(api.url, params=PARAMS, timeout=30).json()["results"]
    return users


def test_each_drift_changes_what_it_says_for_the_share_asked_and_nothing_else(faulty_api) -> None:
    api = faulty_api()
    clean = get(api)
    api.set_faults([Fault("drift", times=-1, drift=("postcode_object", "age_text", "email_renamed",
                                                     "gender_unknown", "nat_xx"), drift_share=0.25)])
    drifted = get(api)

    for before, after in zip(clean[:2], drifted[:2], strict=True):  # ceil(8 * 0.25) = 2
        assert after["location"]["postcode"] == {"n": 5, "text": str(before["location"]["postcode"])}  # type: ignore[index]
        assert after["dob"]["age"] == "thirty"  # type: ignore[index]
        assert "email" not in after and after["e_mail"] == before["email"]
        assert (after["gender"], after["nat"]) == ("unknown", "XX")
        assert after["login"] == before["login"]  # the same user (uuid), drifted
    assert drifted[2:] == clean[2:]


def test_no_location_removes_the_object_for_every_user_by_default(faulty_api) -> None:
    api = faulty_api(FaultPlan.of("drift", times=1, drift=("no_location",)))
    drifted, clean = get(api), get(api)  # times=1: the second request is clean

    assert all("location" not in user for user in drifted)
    assert all("location" in user for user in clean)


def test_the_control_endpoint_takes_a_drift_fault(faulty_api) -> None:
    api = faulty_api()
    put = requests.put(api.control_url, json={"kind": "drift", "drift": "nat_xx", "drift_share": 0.5}, timeout=10)

    assert put.status_code == 200, put.text
    assert [user["nat"] for user in get(api)].count("XX") == 4


@pytest.mark.parametrize(("options", "message"), [
    ({"drift": ("no_such",)}, "unknown drift"),
    ({"drift_share": 0.0}, r"drift share must be in \(0, 1\]"),
    ({"drift_share": 1.5}, r"drift share must be in \(0, 1\]"),
])
def test_bad_drift_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(FaultError, match=message):
        Fault("drift", **options)  # type: ignore[arg-type]


def test_every_drift_is_documented() -> None:
    from pathlib import Path

    reference = (Path(__file__).resolve().parents[2] / "docs" / "API_REFERENCE.md").read_text()
    for name in DRIFTS:
        assert f"`{name}`" in reference


def test_serve_flags_give_a_drift_fault_and_a_bad_drift_is_one_readable_error() -> None:
    from userpipe.commands.api import parse_fault_flags
    from userpipe.errors import UserpipeError

    [fault] = parse_fault_flags(["drift"], -1, 2.0, 1, None, drift="no_location, nat_xx", drift_share=0.5)
    assert (fault.kind, fault.times, fault.drift, fault.drift_share) == ("drift", -1, ("no_location", "nat_xx"), 0.5)
    with pytest.raises(UserpipeError, match=r"--fault drift: unknown drift\(s\) \['nope'\]"):
        parse_fault_flags(["drift"], -1, 2.0, 1, None, drift="nope", drift_share=1.0)
