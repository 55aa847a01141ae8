"""Seeded drawing helpers: the few random primitives the generator needs, kept cheap."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
ALNUM = LOWER + UPPER + "1234567890"  # randomuser's salt alphabet
HEX_SEED = "abcdef1234567890"  # randomuser's default seed alphabet
_POW10 = [10**n for n in range(20)]


def rng_for(seed: str, page: int) -> random.Random:
    """The generator for one page: md5 of seed (+ page when page != 1), as randomuser derives it.

    randomuser keeps 32 bits of that md5; we keep all 128 so pages of one seed never share a stream.
    """
    key = seed if page == 1 else f"{seed}{page}"
    return random.Random(int.from_bytes(hashlib.md5(key.encode("utf-8")).digest(), "big"))


class Draw:
    """Random primitives over one `random.Random` (all integer ranges inclusive, like randomuser's `range`)."""

    __slots__ = ("_bits", "_rand", "rng")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._rand = rng.random
        self._bits = rng.getrandbits

    def between(self, low: int, high: int) -> int:
        """An int in [low, high]."""
        return low + int(self._rand() * (high - low + 1))

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self._rand() * len(items))]

    def index(self, n: int) -> int:
        return int(self._rand() * n)

    def digits(self, n: int) -> str:
        """n decimal digits, leading zeros kept."""
        return "%0*d" % (n, int(self._rand() * _POW10[n]))  # noqa: UP031 (fastest zero-padding)

    def digits_from(self, alphabet: str, n: int) -> str:
        rand = self._rand
        size = len(alphabet)
        return "".join([alphabet[int(rand() * size)] for _ in range(n)])

    def high_digit(self) -> str:
        """One digit in 2..9 (randomuser's mode 5)."""
        return "23456789"[int(self._rand() * 8)]

    def letter(self) -> str:
        return UPPER[int(self._rand() * 26)]

    def uuid4(self) -> str:
        """A version-4 UUID string from 128 drawn bits."""
        h = "%032x" % ((self._bits(128) & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC << 60) | (0x8 << 60))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def coordinate(self, limit: int) -> str:
        """A decimal degree in [-limit, limit] with 4 decimals, as a string (faker.js style)."""
        return "%.4f" % (self._rand() * 2 * limit - limit)
