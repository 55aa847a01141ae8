"""HTTP answers of `/api/` as randomuser.me (express 4 + compression + cors) sends them.

- Paths: `/api`, `/api/` and `/api/<version>` (trailing slash or not, any case: `/API/`) for the versions
  randomuser serves, 1.0 .. 1.4; anything else is a 404 whose body is the text `Not Found` (express' `sendStatus(404)`).
- Content types with express' `; charset=utf-8`: json `application/json`, xml `text/xml`, yaml
  `text/x-yaml`, csv `text/csv`. `Cache-Control: no-cache` on every API answer.
- `callback=foo` (json and pretty only): JSONP `foo(<body>);`.
- `dl` / `download`: a file download, `Content-Disposition: attachment; filename="download.<ext>"`,
  `application/octet-stream` (express' `res.download` of an extension-less temporary file).
- gzip (or deflate) when the client accepts it and the body is at least 1 KiB and not a download, as the
  `compression` middleware does; `Vary: Accept-Encoding` on compressible answers.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from randomuser_api.formats import EXTENSIONS
from randomuser_api.params import VERSION_NATS, ApiRequest

_API_PATH = re.compile(r"/api(?:/(?P<version>[^/]+))?/?", re.IGNORECASE)  # express routes ignore case
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
    "yaml": "text/x-yaml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
TEXT_PLAIN = "text/plain; charset=utf-8"
DOWNLOAD_TYPE = "application/octet-stream"
COMPRESS_THRESHOLD = 1024  # compression's default `threshold`
GZIP_LEVEL = 1  # the bytes differ from zlib's default level 6, the encoding does not; level 1 keeps us fast


@dataclass
class Reply:
    """Status, headers (in order) and body of one answer."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def api_version(path: str) -> str | None:
    """The API version a path asks for (`/api/` -> 1.4), or None when randomuser would answer 404."""
    match = _API_PATH.fullmatch(path)
    if match is None:
        return None
    version = match.group("version") or "1.4"
    return version if version in VERSION_NATS else None


def not_found() -> Reply:
    """express' `sendStatus(404)`: sent before randomuser sets `Cache-Control`, so without it."""
    return Reply(404, b"Not Found", [("Content-Type", TEXT_PLAIN), ("Vary", "Accept-Encoding")])


def with_callback(req: ApiRequest, body: bytes) -> bytes:
    """JSONP: `callback(body);` when a callback is asked and the body is JSON."""
    if req.callback is None or EXTENSIONS[req.format] != "json":
        return body
    return req.callback.encode("utf-8") + b"(" + body + b");"


def _encoding(accept_encoding: str | None) -> str | None:
    """gzip or deflate if the client accepts one (gzip preferred, as `compression` negotiates)."""
    if not accept_encoding:
        return None
    accepted = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        accepted[name.strip().lower()] = quality
    for name in ("gzip", "deflate"):
        if accepted.get(name, accepted.get("*", 0.0)) > 0:
            return name
    return None


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    else:
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 15)
    return packer.compress(body) + packer.flush()


def api_reply(req: ApiRequest, body: bytes, accept_encoding: str | None = None) -> Reply:
    """The 200 answer for a serialised body (after `with_callback` and any body fault)."""
    ext = EXTENSIONS[req.format]
    if req.download:
        headers = [("Content-Disposition", f'attachment; filename="download.{ext}"'),
                   ("Content-Type", DOWNLOAD_TYPE), ("Cache-Control", "no-cache")]
        return Reply(200, body, headers)
    headers = [("Content-Type", CONTENT_TYPES[ext]), ("Cache-Control", "no-cache"),
               ("Vary", "Accept-Encoding")]
    encoding = _encoding(accept_encoding) if len(body) >= COMPRESS_THRESHOLD else None
    if encoding is not None:
        body = compress(body, encoding)
        headers.append(("Content-Encoding", encoding))
    return Reply(200, body, headers)
