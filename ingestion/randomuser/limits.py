"""Size limits of what the API may send: bytes per page body (enforced while the body is read) and per user (when
the page is parsed). Past either, the batch fails in one line and nothing of it lands.

Defaults in `settings` (64 KiB a user, 64 MiB a page); `USERPIPE_MAX_USER_BYTES` and `USERPIPE_MAX_PAGE_BYTES`
(whole numbers of bytes) change them. The stream path holds its frames to the same limits.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ingestion.randomuser import settings
from userpipe.errors import UserpipeError

USER_BYTES_ENV = "USERPIPE_MAX_USER_BYTES"
PAGE_BYTES_ENV = "USERPIPE_MAX_PAGE_BYTES"


class LimitError(UserpipeError):
    """A limit set to something that is not a positive whole number of bytes."""


@dataclass(frozen=True)
class Limits:
    """Bytes a user (its JSON as landed: the API's text, compact, without credentials) and a page body (as
    decoded) may hold."""

    user_bytes: int = settings.MAX_USER_BYTES
    page_bytes: int = settings.MAX_PAGE_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The limits set in the environment, the defaults for those not set; LimitError on a bad value."""
        env = os.environ if environ is None else environ
        return cls(_bytes(env, USER_BYTES_ENV, settings.MAX_USER_BYTES),
                   _bytes(env, PAGE_BYTES_ENV, settings.MAX_PAGE_BYTES))


def _bytes(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip().replace("_", "")
    if not text:
        return default
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise LimitError(f"{name} must be a whole number of bytes above 0 (default {default}), "
                         f"got {env[name]!r}")
    return int(text)
