"""Fault switches: deterministic failures a test turns on for the next N API requests.

A `FaultPlan` holds `Fault`s. Every `/api/` request takes one use of each active fault (times=-1: always),
so `FaultPlan([Fault("429", times=2)])` answers 429 twice, then normally. Kinds:

- `429`: status 429, `Retry-After: <retry_after>` header, JSON error body.
- `500`: status 500, JSON error body.
- `slow`: sleeps `delay` seconds, then answers (combine with others freely).
- `truncate`: full `Content-Length` announced, half the body sent, connection closed.
- `malformed`: status 200, complete response whose JSON is broken (cut and garbage appended).
- `invalid`: status 200, valid JSON, but users 0..k-1 each carry one invalid value, in `INVALID_VALUES` order
  (user 0 a malformed email, user 1 gender "unknown", ...); `fields` narrows the list.
- `oversize`: status 200, valid JSON, user 0 of the page `user_bytes` long (its `name.first` padded), sent
  chunked as it is written, never built whole in memory (`oversized_parts`).
- `drift`: status 200, valid JSON, but the first `drift_share` of the page's users drifted from the schema: every
  change of `drift` (`randomuser_api.drift.DRIFTS`: no_location, postcode_object, age_text, ...).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from randomuser_api.drift import DRIFTS, check_drift

FAULT_KINDS: tuple[str, ...] = ("429", "500", "slow", "truncate", "malformed", "invalid", "oversize")

# name -> what the invalid user gets (applied to a copy of a valid user)
INVALID_VALUES: dict[str, str] = {
    "email": 'email without "@" (first.last.example.com)',
    "gender": 'gender "unknown"',
    "nat": 'nat "XX"',
    "age": "dob.age -5",
    "latitude": 'location.coordinates.latitude "200.0"',
    "picture": 'picture.large "ftp://..."',
    "uuid": 'login.uuid "not-a-uuid"',
}

# schema drift (randomuser_api/drift.py): its own kind
FAULT_KINDS += ("drift",)


class FaultError(ValueError):
    """A fault specification that cannot be understood (bad kind, times, delay...)."""


@dataclass(frozen=True)
class Fault:
    """One switch: `kind`, applied to the next `times` API requests (-1 = every request)."""

    kind: str
    times: int = 1
    delay: float = 2.0
    retry_after: int = 1
    fields: tuple[str, ...] = tuple(INVALID_VALUES)
    user_bytes: int = 200_000_000  # the `oversize` user's JSON length
    drift: tuple[str, ...] = tuple(DRIFTS)
    drift_share: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"unknown fault kind {self.kind!r}; choose from {', '.join(FAULT_KINDS)}")
        if self.times < -1:
            raise FaultError(f"times must be -1 (always) or >= 0, got {self.times}")
        if self.delay < 0:
            raise FaultError(f"delay must be >= 0 seconds, got {self.delay}")
        if self.retry_after < 0:
            raise FaultError(f"retry_after must be >= 0 seconds, got {self.retry_after}")
        unknown = [f for f in self.fields if f not in INVALID_VALUES]
        if unknown:
            raise FaultError(f"unknown invalid field(s) {unknown}; choose from {', '.join(INVALID_VALUES)}")
        if self.user_bytes < 1:
            raise FaultError(f"user_bytes must be >= 1, got {self.user_bytes}")
        drift_problem = check_drift(self.drift, self.drift_share)
        if drift_problem:
            raise FaultError(drift_problem)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Fault:
        if not isinstance(obj, Mapping) or "kind" not in obj:
            raise FaultError('a fault is an object with at least "kind"')
        extra = set(obj) - {"kind", "times", "delay", "retry_after", "fields", "user_bytes", "drift", "drift_share"}
        if extra:
            raise FaultError(f"unknown fault keys {sorted(extra)}")
        try:
            return cls(
                kind=str(obj["kind"]),
                times=int(obj.get("times", 1)),
                delay=float(obj.get("delay", 2.0)),
                retry_after=int(obj.get("retry_after", 1)),
                fields=tuple(obj.get("fields", INVALID_VALUES)),
                user_bytes=int(obj.get("user_bytes", 200_000_000)),
                drift=_drift_names(obj.get("drift", DRIFTS)),
                drift_share=float(obj.get("drift_share", 1.0)),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FaultError):
                raise
            raise FaultError(f"bad fault value: {exc}") from exc


def _drift_names(value: Any) -> tuple[str, ...]:
    """`drift` as JSON gives it: a list of names, or one comma-separated string."""
    return tuple(n.strip() for n in value.split(",") if n.strip()) if isinstance(value, str) else tuple(value)


@dataclass
class _Active:
    fault: Fault
    remaining: int


@dataclass
class FaultPlan:
    """The faults of one server; thread-safe, consumed one use per API request."""

    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._active = [_Active(f, f.times) for f in self.faults]

    @classmethod
    def of(cls, kind: str, times: int = 1, **options: Any) -> FaultPlan:
        """A plan with one fault, e.g. `FaultPlan.of("429", times=2, retry_after=3)`."""
        return cls([Fault(kind, times, **options)])

    @classmethod
    def from_json(cls, obj: Any) -> FaultPlan:
        """`{"faults": [{"kind": "429", "times": 2}, ...]}`, a list of faults, or one fault object."""
        if isinstance(obj, Mapping) and "faults" in obj:
            obj = obj["faults"]
        if isinstance(obj, Mapping):
            obj = [obj]
        if not isinstance(obj, list):
            raise FaultError('expected {"faults": [...]}, a list of faults or one fault object')
        return cls([Fault.from_json(f) for f in obj])

    def take(self) -> list[Fault]:
        """The faults that apply to this request (one use of each taken)."""
        with self._lock:
            taken = []
            for active in self._active:
                if active.remaining != 0:
                    taken.append(active.fault)
                    if active.remaining > 0:
                        active.remaining -= 1
            return taken

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": [{**asdict(a.fault), "fields": list(a.fault.fields), "remaining": a.remaining}
                               for a in self._active]}


def coerce_plan(faults: FaultPlan | Iterable[Fault] | None) -> FaultPlan:
    if faults is None:
        return FaultPlan()
    if isinstance(faults, FaultPlan):
        return faults
    return FaultPlan(list(faults))


def invalidate(users: list[dict[str, Any]], fields: Iterable[str]) -> None:
    """Give user i the i-th invalid value of `fields` (in place); fields the request excluded are skipped."""
    for user, name in zip(users, fields, strict=False):
        if name == "email" and "email" in user:
            user["email"] = user["email"].replace("@", ".")
        elif name == "gender" and "gender" in user:
            user["gender"] = "unknown"
        elif name == "nat" and "nat" in user:
            user["nat"] = "XX"
        elif name == "age" and "dob" in user:
            user["dob"] = {**user["dob"], "age": -5}
        elif name == "latitude" and "location" in user:
            coords = {**user["location"]["coordinates"], "latitude": "200.0"}
            user["location"] = {**user["location"], "coordinates": coords}
        elif name == "picture" and "picture" in user:
            user["picture"] = {**user["picture"], "large": user["picture"]["large"].replace("https://", "ftp://")}
        elif name == "uuid" and "login" in user:
            user["login"] = {**user["login"], "uuid": "not-a-uuid"}


# --- oversize: one user of a page N bytes long, never built whole -------------------------------------------
OVERSIZE_MARK = "userpipe-oversize-mark"  # stands for the padding in the serialised page
OVERSIZE_PIECE_BYTES = 1024 * 1024  # the padding is sent this much at a time


def oversized_parts(users: list[dict[str, Any]], user_bytes: int, serialise: Callable[[], bytes]
                    ) -> tuple[bytes, int, bytes]:
    """Make user 0 about `user_bytes` long as JSON (its `name.first` padded with "x"): returns the page's bytes
    before the padding, the padding's length, and the bytes after it. `serialise()` turns the page (with the
    mark in place of the padding) into its body."""
    import orjson

    user = users[0]
    user["name"] = {**user.get("name", {}), "first": OVERSIZE_MARK}
    padding = max(0, user_bytes - (len(orjson.dumps(user)) - len(OVERSIZE_MARK)))
    head, _, tail = serialise().partition(OVERSIZE_MARK.encode())
    return head, padding, tail
