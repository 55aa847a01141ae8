"""The csv files of `raw.users` rows that dlt imports into its load package and loads with PostgreSQL COPY.

One row per line (every text field is quoted, payloads are single-line JSON, keys and info fields are checked
to hold no control characters), in the order of the page's users, so rows can be dropped by position.
Columns follow `COLUMNS`; `_dlt_load_id` is the load package's id and `_dlt_id` comes from dlt's id generator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ingestion.randomuser.helpers import Page

COLUMNS: tuple[str, ...] = (
    "uuid", "payload", "fetched_at", "request_seed", "request_page", "api_version", "_dlt_load_id", "_dlt_id",
)
HEADER = (",".join(COLUMNS) + "\n").encode()


def quoted(value: str | None) -> bytes:
    """A csv text field; None is the empty unquoted field, which dlt's COPY reads as NULL."""
    if value is None:
        return b""
    return b'"' + value.encode().replace(b'"', b'""') + b'"'


def page_csv(page: Page, load_id: str) -> bytes:
    """The csv file (header included) of every user of `page`."""
    from dlt.common.normalizers.utils import generate_dlt_ids

    middle = b",".join([
        page.fetched_at.isoformat().encode(), quoted(page.seed), str(page.page).encode(), quoted(page.version),
        quoted(load_id),
    ])
    lines = [HEADER]
    for uuid, payload, dlt_id in zip(page.uuids, page.payloads, generate_dlt_ids(len(page.uuids)), strict=True):
        lines.append(b"".join([quoted(uuid), b',"', payload.replace(b'"', b'""'), b'",', middle, b",",
                               dlt_id.encode(), b"\n"]))
    return b"".join(lines)


def keep_rows(path: Path, keep: Sequence[bool]) -> int:
    """Rewrite the csv at `path` with only the rows whose flag in `keep` (one per row, in order) is true."""
    header, *rows = path.read_bytes().splitlines(keepends=True)
    if len(rows) != len(keep):
        raise ValueError(f"{path} has {len(rows)} rows, {len(keep)} flags given")
    kept = [row for row, wanted in zip(rows, keep, strict=True) if wanted]
    path.write_bytes(header + b"".join(kept))
    return len(kept)


class LoadFiles:
    """Joins page files into fewer load files (`pages_per_file` pages each): dlt spends time per file, while
    a couple of files are enough to COPY in parallel."""

    def __init__(self, folder: Path, pages_per_file: int) -> None:
        self.folder = folder
        self.pages_per_file = max(1, pages_per_file)
        self._path: Path | None = None
        self._pages = 0
        self._rows = 0
        self._count = 0

    def add(self, page_path: Path, rows: int) -> tuple[Path, int] | None:
        """Append a page (its header only if it starts a file); a completed load file is returned."""
        if rows:
            if self._path is None:
                self._count += 1
                self._path = self.folder / f"load-{self._count}.csv"
                page_path.rename(self._path)
            else:
                with page_path.open("rb") as page:
                    start = len(page.readline())  # after the header
                    if not _append_in_kernel(page.fileno(), start, self._path):
                        page.seek(start)
                        with self._path.open("ab") as target:
                            target.write(page.read())
                page_path.unlink()
            self._rows += rows
        else:
            page_path.unlink()
        self._pages += 1
        return self.flush() if self._pages >= self.pages_per_file else None

    def flush(self) -> tuple[Path, int] | None:
        """The load file being filled, if it holds rows; the next page starts a new one."""
        done = (self._path, self._rows) if self._path is not None else None
        self._path, self._pages, self._rows = None, 0, 0
        return done


def _append_in_kernel(source: int, start: int, target: Path) -> bool:
    """Append the bytes of file descriptor `source` from `start` on to `target` without copying them through
    Python (copy_file_range); False, `target` unchanged, where the system cannot."""
    if not hasattr(os, "copy_file_range"):
        return False
    size = os.fstat(source).st_size
    fd = os.open(target, os.O_WRONLY)
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        offset = start
        try:
            while offset < size:
                copied = os.copy_file_range(source, fd, size - offset, offset)
                if copied <= 0:
                    raise OSError("copy_file_range copied nothing")
                offset += copied
        except OSError:
            os.ftruncate(fd, end)
            return False
    finally:
        os.close(fd)
    return True
