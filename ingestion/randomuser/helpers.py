"""Input validation, page planning, fetching and parsing for the randomuser source.

A batch of N users is the pages of one seed: `page_size = min(N, 5000)`, pages `first_page, first_page + 1, ...`,
the last one possibly shorter. Each page becomes one csv file of `raw.users` rows (`csvfiles.py`).
"""

from __future__ import annotations

import codecs
import io
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
import orjson
import requests
import urllib3

from ingestion.randomuser import settings
from ingestion.randomuser.limits import PAGE_BYTES_ENV, USER_BYTES_ENV
from randomuser_api.params import FIELDS as API_FIELDS
from userpipe.errors import UserpipeError, one_line


class IngestError(UserpipeError):
    """Bad input, or an API that failed or answered something that is not a randomuser page."""


@dataclass(frozen=True)
class PageRequest:
    """One `/api/` request of a batch."""

    seed: str
    page: int
    results: int
    nat: tuple[str, ...] = ()

    def params(self) -> dict[str, str]:
        params = {"results": str(self.results), "seed": self.seed, "page": str(self.page)}
        if self.nat:
            params["nat"] = ",".join(self.nat)
        return params


@dataclass(frozen=True)
class BatchPlan:
    """The pages a batch of `batch_size` users is fetched from."""

    seed: str
    first_page: int
    batch_size: int

    @property
    def page_size(self) -> int:
        return min(self.batch_size, settings.MAX_PAGE_SIZE)

    @property
    def page_count(self) -> int:
        return -(-self.batch_size // self.page_size)

    @property
    def last_page(self) -> int:
        return self.first_page + self.page_count - 1

    def requests(self, nat: tuple[str, ...] = ()) -> list[PageRequest]:
        size = self.page_size
        return [
            PageRequest(self.seed, self.first_page + i, min(size, self.batch_size - i * size), nat)
            for i in range(self.page_count)
        ]


def parse_batch_size(value: int | str) -> int:
    """`value` as a batch size in 1..100000, else IngestError."""
    bounds = f"{settings.MIN_BATCH_SIZE}..{settings.MAX_BATCH_SIZE}"
    try:
        size = int(str(value).strip())
    except ValueError:
        raise IngestError(f"batch size must be a whole number in {bounds}, got {value!r}") from None
    if not settings.MIN_BATCH_SIZE <= size <= settings.MAX_BATCH_SIZE:
        raise IngestError(f"batch size must be in {bounds}, got {size}")
    return size


def parse_nationalities(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Nationality codes (any case, comma lists, repeated options) as sorted unique upper-case codes; an empty
    code (`--nat ''`, `US,,GB`) is an error, not "all"."""
    if value is None:
        return ()
    parts = [value] if isinstance(value, str) else list(value)
    for part in parts:
        if not all(code.strip() for code in part.split(",")):
            raise IngestError(f"--nat {part!r} has an empty code; give codes like US,GB (leave --nat out for all)")
    codes = {code.strip().upper() for part in parts for code in part.split(",")}
    unknown = sorted(codes - set(settings.NATIONALITIES))
    if unknown:
        raise IngestError(
            f"unknown nationality {', '.join(unknown)}; choose from {' '.join(settings.NATIONALITIES)}"
        )
    return tuple(sorted(codes))


def parse_seed(value: str | None) -> str | None:
    """A seed as given (stripped), None when absent; it must be a non-empty URL-safe word."""
    if value is None:
        return None
    seed = value.strip()
    if not seed or not all(c.isalnum() or c in "-_." for c in seed) or len(seed) > 64:
        raise IngestError(f"seed must be 1-64 letters, digits, '-', '_' or '.', got {value!r}")
    return seed


def parse_first_page(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= settings.MAX_PAGE:
        raise IngestError(f"page must be in 1..{settings.MAX_PAGE}, got {value}")
    return value


def parse_api_url(value: str) -> str:
    """An http(s) URL with a host, else IngestError."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"API URL must be an http(s) URL like https://randomuser.me/api/, got {value!r}")
    return value.strip()


def new_seed() -> str:
    return "".join(secrets.choice(settings.SEED_ALPHABET) for _ in range(settings.SEED_LENGTH))


def plan_batch(batch_size: int, seed: str | None, first_page: int | None,
               stream: Mapping[str, Any] | None) -> BatchPlan:
    """Where a batch comes from: the given seed (page 1 unless told), else the stream remembered in dlt
    state (its next page), else a new seed. A stream that would run past page 10000 starts a new seed."""
    if seed is not None:
        plan = BatchPlan(seed, first_page or 1, batch_size)
    elif stream and stream.get("seed"):
        plan = BatchPlan(str(stream["seed"]), first_page or int(stream.get("next_page", 1)), batch_size)
    else:
        plan = BatchPlan(new_seed(), first_page or 1, batch_size)
    if plan.last_page > settings.MAX_PAGE:
        if seed is not None or first_page is not None:
            raise IngestError(f"pages {plan.first_page}..{plan.last_page} pass randomuser's last page "
                              f"{settings.MAX_PAGE}; use a lower --page")
        plan = BatchPlan(new_seed(), 1, batch_size)
    return plan


class TooLargeError(IngestError):
    """A page body or a user over its size limit (`limits.Limits`)."""


def fetch_page(session: Any, api_url: str, request: PageRequest, max_bytes: int = settings.MAX_PAGE_BYTES) -> bytes:
    """The body of one page, at most `max_bytes` (TooLargeError past it, read no further); retries live in
    `session` (dlt's retrying client). IngestError on failure."""
    where = f"{api_url} (seed {request.seed}, page {request.page})"
    try:
        # stream=True: requests leaves the body to the hook, which reads it (up to the limit)
        response = session.get(api_url, params=request.params(), stream=True,
                               hooks={"response": BodyReader(max_bytes, where)})
        response.raise_for_status()
        return bytes(response.raw.read())
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        retried = " (retried)" if status == 429 or status >= 500 else ""
        raise IngestError(f"API {where} answered HTTP {status}{retried}") from exc
    except requests.Timeout as exc:
        raise IngestError(f"API {where} timed out (retried)") from exc
    except requests.exceptions.ChunkedEncodingError as exc:
        raise IngestError(f"API {where} answered a truncated body (connection closed early; retried)") from exc
    except requests.ConnectionError as exc:
        raise IngestError(f"cannot reach API {where}: {_connection_reason(exc)}") from exc
    except requests.RequestException as exc:
        raise IngestError(f"request to API {where} failed: {_short(exc)}") from exc


# a body is read this many bytes at a time (decoded), so that reading stops within a piece of the limit
READ_PIECE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BodyReader:
    """requests response hook: read the body (decoded), at most `max_bytes` of it, and leave it as
    `response.raw` (a BytesIO whose read() returns it without a copy). A body announced (Content-Length) or
    found longer than the limit is TooLargeError, its connection closed: no more of it is read or held.
    In 1 MiB pieces a 5000-user page costs the client ~3-5 ms of CPU, as one read did (measured in turn, busy
    machine); `.content` reads 10 KB pieces through urllib3 (~5x the CPU).
    A hook runs inside the client's retried call, so a cut connection is still retried: urllib3's errors become
    the requests errors that reading `.content` raises."""

    max_bytes: int
    where: str

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > self.max_bytes and "Content-Encoding" not in response.headers:
            response.close()
            raise self._too_large(f"announces {int(announced):,} bytes")
        pieces, size = [], 0
        try:
            while piece := response.raw.read(READ_PIECE_BYTES, decode_content=True):
                size += len(piece)
                if size > self.max_bytes:
                    response.close()
                    raise self._too_large(f"was cut off after {size:,} bytes")
                pieces.append(piece)
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        response.raw = io.BytesIO(pieces[0] if len(pieces) == 1 else b"".join(pieces))
        return response

    def _too_large(self, what: str) -> TooLargeError:
        return TooLargeError(f"API {self.where} answered a page over the limit of {self.max_bytes:,} bytes "
                             f"({PAGE_BYTES_ENV}): its body {what}")


@dataclass(frozen=True)
class Page:
    """The landable content of one answer: keys, credential-free payloads and request metadata."""

    uuids: list[str]
    payloads: list[bytes]
    seed: str
    page: int
    version: str | None
    fetched_at: datetime


def parse_page(body: bytes, request: PageRequest, api_url: str, max_user_bytes: int = settings.MAX_USER_BYTES) -> Page:
    """Check that `body` is a complete randomuser page, strip the credential fields of every user and hold each
    user (its JSON as landed) to `max_user_bytes` (TooLargeError past it).

    A well-formed compact page takes the fast path (`_parse_raw`, ~2.5x cheaper); anything else, including
    every faulty answer, is parsed in full by `_parse_full`, which words the error."""
    fetched_at = datetime.now(UTC)
    where = f"{api_url} (seed {request.seed}, page {request.page})"
    page = _parse_raw(body, request, where, fetched_at) or _parse_full(body, request, where, fetched_at)
    if len(body) > max_user_bytes:  # else no user can be larger (saves the look at each)
        for position, payload in enumerate(page.payloads):
            if len(payload) > max_user_bytes:
                raise TooLargeError(f"API {where}: user {position} ({page.uuids[position]}) is {len(payload):,} "
                                    f"bytes, over the limit of {max_user_bytes:,} bytes a user "
                                    f"({USER_BYTES_ENV})")
    return page


def jsonb_key_order(key: str) -> tuple[int, bytes]:
    """PostgreSQL's order of a jsonb object's keys (shorter first, then bytewise). A user's keys are written in
    this order: jsonb keeps no other, and the server converts an object whose keys are already sorted faster."""
    encoded = key.encode()
    return len(encoded), encoded


# randomuser 1.4's user fields (the API's list), in jsonb order: a struct encodes its fields in declared order
USER_FIELDS: tuple[str, ...] = tuple(sorted(API_FIELDS, key=jsonb_key_order))
_RawOrUnset = msgspec.Raw | msgspec.UnsetType
# `login` decoded field by field; the credential fields are declared so that they can be dropped
_Login = msgspec.defstruct(
    "_Login",
    [("uuid", str), ("username", _RawOrUnset, msgspec.UNSET),
     *[(name, _RawOrUnset, msgspec.UNSET) for name in settings.CREDENTIAL_FIELDS]],
    forbid_unknown_fields=True,
    gc=False,  # holds no cycles: the 10,000 structs of a page cost the garbage collector nothing
)
# every other value is kept as the JSON text the API sent (msgspec.Raw: checked, not decoded)
_User = msgspec.defstruct(
    "_User",
    [(name, _Login if name == "login" else _RawOrUnset, msgspec.UNSET) for name in USER_FIELDS],
    forbid_unknown_fields=True,
    gc=False,
)


class _RawDocument(msgspec.Struct):
    results: list[_User]  # type: ignore[valid-type]
    info: dict[str, msgspec.Raw] = {}


_raw_document = msgspec.json.Decoder(_RawDocument)
_any_value = msgspec.json.Decoder()
_raw_encode = msgspec.json.Encoder().encode


def _parse_raw(body: bytes, request: PageRequest, where: str, fetched_at: datetime) -> Page | None:
    """The page of a compact, valid answer holding only API 1.4's user and login fields, decoded into structs
    whose values stay the exact JSON text the API sent (msgspec checks it is well-formed JSON); each user is
    re-encoded without the credential fields, its keys in jsonb order: for a compact answer the same bytes as
    the full parse gives. None (take the full parse) on anything unexpected: a line break anywhere (a row must
    stay on one csv line), malformed JSON or UTF-8, an unknown or missing field."""
    for line_break in (b"\n", b"\r"):
        at = body.find(line_break)
        if at >= 0 and body[at:].strip():
            return None
    if not is_utf8(body):  # msgspec checks JSON syntax and escapes but not the UTF-8 inside raw values
        return None
    try:
        document = _raw_document.decode(body)
    except msgspec.DecodeError:  # msgspec.ValidationError is a DecodeError
        return None
    users: list[Any] = document.results  # _User structs
    info = document.info
    if len(users) != request.results:
        return None
    uuids, payloads = [], []
    unset, credentials = msgspec.UNSET, settings.CREDENTIAL_FIELDS
    for user in users:
        login = user.login
        if login is unset or not login.uuid or not login.uuid.isprintable():
            return None
        for name in credentials:
            setattr(login, name, unset)  # an unset field is not encoded
        uuids.append(login.uuid)
        payloads.append(_raw_encode(user))
    try:
        seed = _any_value.decode(info["seed"]) if "seed" in info else None
        version = _any_value.decode(info["version"]) if "version" in info else None
    except msgspec.DecodeError:
        return None
    if not isinstance(seed, str | None) or not isinstance(version, str | None):
        return None
    return _page(uuids, payloads, seed, version, request, where, fetched_at)


def is_utf8(data: bytes, piece: int = 64 * 1024) -> bool:
    """Whether `data` is valid UTF-8, decoded `piece` bytes at a time: decoding a 5 MB page at once builds a
    10 MB string in fresh memory, ~3x slower."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), piece):
            decoder.decode(view[start:start + piece])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _page(uuids: list[str], payloads: list[bytes], seed: Any, version: Any, request: PageRequest, where: str,
          fetched_at: datetime) -> Page:
    seed, version = str(seed or request.seed), str(version) if version is not None else None
    if not seed.isprintable() or not (version or "").isprintable():
        raise IngestError(f"API {where} is not randomuser-compatible: control characters in info")
    return Page(uuids=uuids, payloads=payloads, seed=seed, page=request.page, version=version,
                fetched_at=fetched_at)


def _parse_full(body: bytes, request: PageRequest, where: str, fetched_at: datetime) -> Page:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        head = body[:40].decode("utf-8", "replace").strip().replace("\n", " ")
        raise IngestError(f"API {where} answered malformed or truncated JSON ({exc}; starts {head!r})") from None
    if not isinstance(document, dict):
        raise IngestError(f"API {where} is not randomuser-compatible: the answer is not a JSON object")
    if "error" in document and "results" not in document:
        raise IngestError(f"API {where} answered an error: {_short(document['error'])}")
    users = document.get("results")
    if not isinstance(users, list):
        raise IngestError(f"API {where} is not randomuser-compatible: no \"results\" list in the answer")
    if len(users) != request.results:
        raise IngestError(f"API {where} answered {len(users)} users, {request.results} were asked for")
    info = document.get("info")
    if not isinstance(info, dict):
        info = {}
    uuids, payloads = [], []
    dumps, credentials = orjson.dumps, settings.CREDENTIAL_FIELDS
    for position, user in enumerate(users):
        login = user.get("login") if isinstance(user, dict) else None
        uuid = login.get("uuid") if isinstance(login, dict) else None
        if not isinstance(login, dict) or not isinstance(uuid, str) or not uuid or not uuid.isprintable():
            raise IngestError(f"API {where}: user {position} has no valid login.uuid")
        for name in credentials:
            login.pop(name, None)
        uuids.append(uuid)
        payloads.append(dumps({key: user[key] for key in sorted(user, key=jsonb_key_order)}))
    return _page(uuids, payloads, info.get("seed"), info.get("version"), request, where, fetched_at)


def _connection_reason(exc: Exception) -> str:
    """'[Errno 111] Connection refused' rather than urllib3's whole retry story."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0).strip() if found else _short(exc)


def _short(value: object) -> str:
    return one_line(value, 160)

