"""The `drift` fault: pages whose users drifted from API 1.4's schema, as an upstream change would send them.

`DRIFTS` names each change; `apply_drift(users, changes, share)` gives the first `share` of a page's users
(rounded up; 1.0 = all) every change of `changes`, in place. Valid JSON, status 200: what a pipeline must
notice by itself (the quarantine rules of dbt_project/macros/quarantine_rules.sql name each one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

# name -> what a drifted user gets
DRIFTS: dict[str, str] = {
    "no_location": "no `location` object at all",
    "postcode_object": 'location.postcode an object ({"n": 5, "text": "<the postcode>"})',
    "age_text": 'dob.age the text "thirty"',
    "email_renamed": "`email` renamed to `e_mail`",
    "gender_unknown": 'gender "unknown"',
    "nat_xx": 'nat "XX"',
}


def check_drift(changes: Iterable[str], share: float) -> str | None:
    """Why `changes` / `share` cannot be applied, or None when they can."""
    unknown = [c for c in changes if c not in DRIFTS]
    if unknown:
        return f"unknown drift(s) {unknown}; choose from {', '.join(DRIFTS)}"
    if not 0 < share <= 1:
        return f"drift share must be in (0, 1], got {share}"
    return None


def apply_drift(users: list[dict[str, Any]], changes: Iterable[str], share: float = 1.0) -> None:
    """Apply every change of `changes` to the first ceil(share * len(users)) users (in place); a change whose
    field the request excluded (`inc`/`exc`) is skipped for that user."""
    names = tuple(changes)
    for user in users[: math.ceil(share * len(users))]:
        for name in names:
            _drift(user, name)


def _drift(user: dict[str, Any], name: str) -> None:
    location = user.get("location")
    if name == "no_location":
        user.pop("location", None)
    elif name == "postcode_object" and isinstance(location, dict):
        user["location"] = {**location, "postcode": {"n": 5, "text": str(location.get("postcode"))}}
    elif name == "age_text" and "dob" in user:
        user["dob"] = {**user["dob"], "age": "thirty"}
    elif name == "email_renamed" and "email" in user:
        user["e_mail"] = user.pop("email")
    elif name == "gender_unknown" and "gender" in user:
        user["gender"] = "unknown"
    elif name == "nat_xx" and "nat" in user:
        user["nat"] = "XX"
