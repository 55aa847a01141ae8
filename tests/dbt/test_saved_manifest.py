"""The saved dbt manifest: a fresh process with an unchanged project loads it instead of parsing; any change to
a project file (content, not mtime) makes the next one parse again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.pipeline import ingest
from randomuser_api import LocalApi
from userpipe import warehouse
from userpipe.transform import (
    CACHE_ENV,
    PROJECT_DIR,
    SHARED_MANIFESTS_KEPT,
    Transformer,
    shared_manifest_path,
)

FRESH_PROCESS = """
import sys
from pathlib import Path
from userpipe.transform import Transformer
transformer = Transformer(project_dir=Path(sys.argv[1]), state_dir=Path(sys.argv[2]))
result = transformer.build()
print(transformer.manifest_source, result.success, len(result.nodes))
"""


@pytest.fixture
def project(dbt_database: str, local_api: LocalApi, tmp_path: Path) -> Path:
    """A copy of dbt_project/ this test may edit, over a database with users landed."""
    ingest(5, seed="saved-manifest", api_url=local_api.url, database_url=dbt_database)
    copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    return copy


def fresh(project: Path, state: Path) -> Transformer:
    transformer = Transformer(project_dir=project, state_dir=state)
    transformer.parse()
    return transformer


def test_a_fresh_process_loads_the_saved_manifest_and_a_changed_file_is_parsed_again(
        project: Path, dbt_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    state = tmp_path / "dbt-state"
    first = fresh(project, state)
    assert first.manifest_source == "parsed" and first.saved_manifest_path.is_file()
    nodes = set(first._manifest.nodes)

    env = {**os.environ, warehouse.DATABASE_URL_ENV: dbt_database}
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(project), str(state)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    source, success, ran = done.stdout.split()
    # a build on the saved manifest runs what one on the parsed manifest runs
    assert (source, success) == ("saved", "True") and int(ran) == len(first.build().nodes) > 10

    # a new model: the next process must see it
    (project / "models" / "marts" / "probe_model.sql").write_text("select 1 as probe\n")
    added = fresh(project, state)
    assert added.manifest_source == "parsed" and "model.userpipe.probe_model" in added._manifest.nodes
    assert fresh(project, state).manifest_source == "saved"

    # the same size and mtime, another content: still parsed again (the key is the content)
    model = project / "models" / "marts" / "probe_model.sql"
    stat = model.stat()
    model.write_text("select 2 as probe\n")
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = fresh(project, state)
    assert changed.manifest_source == "parsed"
    assert "select 2" in changed._manifest.nodes["model.userpipe.probe_model"].raw_code

    model.unlink()  # removed: the project is as at first, so the user's cache has its manifest, without the model
    removed = fresh(project, state)
    assert removed.manifest_source == "cached" and set(removed._manifest.nodes) == nodes


def test_a_truncated_saved_manifest_is_parsed_over(project: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    state = tmp_path / "dbt-state"
    saved = fresh(project, state).saved_manifest_path
    whole = saved.read_bytes()
    saved.write_bytes(whole[:2000])  # the right key, a broken body: the user's cache still has it whole
    again = fresh(project, state)
    assert again.manifest_source == "cached" and saved.read_bytes() == whole
    saved.write_bytes(whole[:2000])
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))  # and none in the cache: parsed
    again = fresh(project, state)
    assert again.manifest_source == "parsed" and len(again._manifest.nodes) > 10
    assert fresh(project, state).manifest_source == "saved"


def test_a_fresh_home_loads_the_manifest_another_home_parsed_from_the_users_cache(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    first = fresh(project, tmp_path / "home-a" / "dbt")
    assert first.manifest_source == "parsed"
    second = fresh(project, tmp_path / "home-b" / "dbt")
    assert second.manifest_source == "cached" and second.saved_manifest_path.is_file()
    assert set(second._manifest.nodes) == set(first._manifest.nodes)
    assert fresh(project, tmp_path / "home-b" / "dbt").manifest_source == "saved"  # copied into that home
    # what a cached manifest builds is what the parsed one builds
    assert sorted(n.unique_id for n in second.build().nodes) == sorted(n.unique_id for n in first.build().nodes)


def test_a_cached_manifest_others_may_write_is_not_loaded(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    first = fresh(project, tmp_path / "home-a" / "dbt")
    cached = shared_manifest_path(first._project_fingerprint())
    assert cached is not None and cached.is_file()
    cached.chmod(0o666)  # a pickle runs code when loaded: a file anyone may write is never read
    assert fresh(project, tmp_path / "home-b" / "dbt").manifest_source == "parsed"


def test_the_users_cache_keeps_only_the_newest_manifests(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "dbt_manifests"
    folder.mkdir(parents=True)
    for number in range(SHARED_MANIFESTS_KEPT + 2):  # older keys, e.g. of earlier project versions
        old = folder / f"old-{number}"
        old.write_text("old\n")
        os.utime(old, (1_000_000 + number, 1_000_000 + number))
    first = fresh(project, tmp_path / "home-a" / "dbt")
    kept = sorted(path.name for path in folder.iterdir())
    assert len(kept) == SHARED_MANIFESTS_KEPT and first._project_fingerprint() in kept
    assert "old-0" not in kept and f"old-{SHARED_MANIFESTS_KEPT + 1}" in kept
