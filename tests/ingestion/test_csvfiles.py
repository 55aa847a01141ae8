"""The csv files handed to dlt: one row per line, quoted as PostgreSQL's COPY (FORMAT CSV) reads them, joined."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from ingestion.randomuser.csvfiles import COLUMNS, LoadFiles, keep_rows, page_csv
from ingestion.randomuser.helpers import Page

FETCHED_AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def page(*uuids: str, version: str | None = "1.4") -> Page:
    payloads = [f'{{"name":"{u}, \\"the\\" user","login":{{"uuid":"{u}"}}}}'.encode() for u in uuids]
    return Page(list(uuids), payloads, seed='se"ed', page=3, version=version, fetched_at=FETCHED_AT)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_page_csv_quotes_every_text_field_and_keeps_one_row_per_line(tmp_path: Path) -> None:
    path = tmp_path / "page.csv"
    path.write_bytes(page_csv(page("a", "b", version=None), "17.5"))

    lines = path.read_bytes().splitlines()
    rows = read(path)

    assert len(lines) == 3 and tuple(lines[0].decode().split(",")) == COLUMNS
    assert [r["uuid"] for r in rows] == ["a", "b"]
    assert rows[0]["payload"] == '{"name":"a, \\"the\\" user","login":{"uuid":"a"}}'
    assert (rows[0]["request_seed"], rows[0]["request_page"], rows[0]["_dlt_load_id"]) == ('se"ed', "3", "17.5")
    assert rows[0]["fetched_at"] == "2026-01-02T03:04:05.678901+00:00"
    assert b',,"17.5",' in lines[1]  # no version: the empty unquoted field COPY reads as NULL
    assert len({r["_dlt_id"] for r in rows}) == 2


def test_keep_rows_drops_rows_by_position(tmp_path: Path) -> None:
    path = tmp_path / "page.csv"
    path.write_bytes(page_csv(page("a", "b", "c"), "1"))

    assert keep_rows(path, [True, False, True]) == 2
    assert [r["uuid"] for r in read(path)] == ["a", "c"]


def test_load_files_join_pages_under_one_header(tmp_path: Path) -> None:
    files = LoadFiles(tmp_path, pages_per_file=2)
    paths = []
    for number, uuids in enumerate([("a", "b"), ("c",), ("d",)]):
        paths.append(tmp_path / f"page-{number}.csv")
        paths[-1].write_bytes(page_csv(page(*uuids), "1"))

    assert files.add(paths[0], 2) is None
    first = files.add(paths[1], 1)
    assert files.add(paths[2], 1) is None
    second = files.flush()

    assert first is not None and second is not None
    assert [r["uuid"] for r in read(first[0])] == ["a", "b", "c"] and first[1] == 3
    assert [r["uuid"] for r in read(second[0])] == ["d"] and second[1] == 1
    assert files.flush() is None
    assert not any(p.exists() for p in paths)


def test_a_page_left_without_rows_is_skipped(tmp_path: Path) -> None:
    files = LoadFiles(tmp_path, pages_per_file=1)
    path = tmp_path / "page.csv"
    path.write_bytes(page_csv(page("a"), "1"))

    assert files.add(path, 0) is None
    assert not path.exists()
