"""The data docs' history: the last N check runs stay listed in the index, across processes.

The GX context is ephemeral (in memory), and GX's index builder deletes every page whose validation result
its store no longer holds: on its own, a new process would list (and keep) only its own runs. So each run's
validation results are also written to `<docs>_history/` in short form (outcome and metadata, without the
per-expectation results: the pages already on disk show those), and before the docs are built the store is
brought in line with that folder: runs another process recorded are added, runs it pruned are removed, and
all but the newest N runs are deleted. The index then lists exactly the kept runs, and GX deletes
the pages of the others.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier


def history_dir(docs_dir: Path) -> Path:
    return docs_dir.with_name(f"{docs_dir.name}_history")


def _file_name(key: ValidationResultIdentifier) -> str:
    """`<run time>-<key>.json`: sortable by run time, and the key readable back without opening the file."""
    packed = base64.urlsafe_b64encode(json.dumps(list(key.to_tuple())).encode()).decode().rstrip("=")
    return f"{key.run_id.run_time:%Y%m%dT%H%M%S.%fZ}-{packed}.json"


def _key_of(path: Path) -> tuple[str, ...] | None:
    packed = path.stem.partition("-")[2]
    try:
        return tuple(json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))))
    except ValueError:  # not a file of ours
        return None


def short_form(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """What the index needs of a result: its outcome, statistics and metadata, not each expectation's result."""
    return ExpectationSuiteValidationResult(
        success=result.success, results=[], suite_name=result.suite_name, suite_parameters=result.suite_parameters,
        statistics=result.statistics, meta=result.meta, batch_id=result.batch_id, id=result.id,
    )


def _validation_keys(store: Any) -> dict[tuple[str, ...], ValidationResultIdentifier]:
    return {key.to_tuple(): key for key in store.list_keys() if isinstance(key, ValidationResultIdentifier)}


def record(store: Any, docs_dir: Path, keys: Iterable[ValidationResultIdentifier]) -> None:
    """Write the short form of the results of `keys` (just validated) to the history folder."""
    folder = history_dir(docs_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for key in keys:
        (folder / _file_name(key)).write_text(store.serialize(short_form(store.get(key))))


def sync(store: Any, docs_dir: Path, keep_runs: int) -> set[tuple[str, str]]:
    """Make the store hold exactly the newest `keep_runs` runs of the history folder; delete the older files.
    Returns the runs (name, time) pruned here."""
    on_disk: dict[tuple[str, ...], Path] = {}
    for path in sorted(history_dir(docs_dir).glob("*.json")):
        found = _key_of(path)
        if found is not None:
            on_disk[found] = path
    runs = sorted({(key[-3], key[-2]) for key in on_disk}, key=lambda run: run[1], reverse=True)  # (name, time)
    kept = set(runs[:keep_runs])
    pruned = set(runs[keep_runs:])
    for key, path in list(on_disk.items()):
        if (key[-3], key[-2]) not in kept:
            path.unlink(missing_ok=True)
            del on_disk[key]
    in_store = _validation_keys(store)
    for key_tuple, identifier in in_store.items():
        if key_tuple not in on_disk:
            store.remove_key(identifier)
    for key_tuple, path in on_disk.items():
        if key_tuple not in in_store:
            try:
                result = store.deserialize(path.read_text())
            except Exception:  # pruned meanwhile by another process, or not a result: skip it
                continue
            store.set(ValidationResultIdentifier.from_tuple(key_tuple), result)
    return pruned


def remove_empty_folders(docs_dir: Path, runs: set[tuple[str, str]]) -> None:
    """The folders GX leaves behind when it deletes the pages of pruned runs."""
    for run_name, run_time in runs:
        for folder in docs_dir.glob(f"validations/*/{glob_escape(run_name)}/{glob_escape(run_time)}"):
            for empty in (folder, folder.parent):
                if empty.is_dir() and not any(empty.iterdir()):
                    empty.rmdir()


def glob_escape(part: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in part)


def forget_details(store: Any, keys: Iterable[ValidationResultIdentifier]) -> None:
    """Keep only the short form of results whose pages are written (memory stays small)."""
    for key in keys:
        store.set(key, short_form(store.get(key)))
