"""dbt's artifacts in the Transformer's target folder: run_results.json after every command, manifest.json once
per manifest (dbt would write the same 0.8 MB manifest after every command)."""

from __future__ import annotations

import json
from pathlib import Path

from userpipe.transform import PROFILES_DIR, Transformer


def test_run_results_follow_every_command_and_the_manifest_is_written_once(
        probe_project: Path, dbt_database: str, tmp_path: Path) -> None:
    transformer = Transformer(database_url=dbt_database, project_dir=probe_project, profiles_dir=PROFILES_DIR,
                              state_dir=tmp_path / "state")
    target = transformer.target_dir
    assert transformer.build().success
    manifest = (target / "manifest.json").stat()
    first = json.loads((target / "run_results.json").read_text())
    assert first["args"]["which"] == "build" and len(first["results"]) == 2

    assert transformer.build(select=["sees_session"]).success
    latest = json.loads((target / "run_results.json").read_text())
    assert latest["args"]["which"] == "build"
    assert [result["unique_id"] for result in latest["results"]] == ["model.probe.sees_session"]
    assert latest["metadata"]["invocation_id"] != first["metadata"]["invocation_id"]
    assert (target / "manifest.json").stat().st_mtime_ns == manifest.st_mtime_ns  # not written again

    (probe_project / "models" / "new_model.sql").write_text("select 1 as probe\n")  # a new manifest: written
    assert transformer.build(select=["new_model"]).success
    assert "model.probe.new_model" in json.loads((target / "manifest.json").read_text())["nodes"]
