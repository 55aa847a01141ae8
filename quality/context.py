"""The Great Expectations project, built from code: an ephemeral context plus a file-backed data docs site.

Why ephemeral: the suites live in `quality.suite` (reviewed in git), so there is no GX config or suite JSON
to set up on a fresh machine or to drift from the code; the durable record of every run is ops.check_results.
The data docs site (HTML) is written to `$USERPIPE_HOME/gx_docs`: it renders the suites and the validation
results this process still holds (the last `KEEP_VALIDATIONS` runs), so a long-lived orchestrator keeps memory
and docs build time bounded.

great_expectations is imported here only, and only when `gx_project()` is first called.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quality.suite import INGESTION_COUNT, RAW_USERS_BATCH, SUITES, Check

if TYPE_CHECKING:
    from great_expectations.checkpoint import Checkpoint
    from great_expectations.data_context import AbstractDataContext

DATASOURCE = "userpipe_batch"
DOCS_SITE = "userpipe_docs"
KEEP_VALIDATIONS = 40  # validation results kept in memory and in the docs (about 10 cycles of 4 suites)

# The data asset (a DataFrame from quality.batch) each suite validates.
SUITE_ASSETS = {
    "incoming_users_batch": "incoming_users_batch",
    RAW_USERS_BATCH: "raw_users_batch",
    INGESTION_COUNT: "raw_users_batch",
    "warehouse_catalog": "warehouse_catalog",
}

_lock = threading.Lock()
_projects: dict[Path, GxProject] = {}


@dataclass
class GxProject:
    """The context and one checkpoint per suite (each suite reads its own DataFrame)."""

    context: AbstractDataContext
    checkpoints: dict[str, Checkpoint]
    docs_dir: Path
    lock: threading.Lock = field(default_factory=threading.Lock)  # a GX context serves one run at a time

    @property
    def docs_index(self) -> Path:
        return self.docs_dir / "index.html"


def gx_project(docs_dir: Path) -> GxProject:
    """The process-wide GX project writing docs to `docs_dir`, built on first use."""
    docs_dir = docs_dir.resolve()
    with _lock:
        if docs_dir not in _projects:
            _projects[docs_dir] = _build(docs_dir)
        return _projects[docs_dir]


def _build(docs_dir: Path) -> GxProject:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no phoning home
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    docs_dir.mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_how_to_buttons": False},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    datasource = context.data_sources.add_pandas(DATASOURCE)
    batch_definitions = {
        asset_name: datasource.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("batch")
        for asset_name in sorted(set(SUITE_ASSETS.values()))
    }
    validations = {}
    for suite_name, checks in SUITES.items():
        suite = context.suites.add(
            gx.ExpectationSuite(name=suite_name, expectations=[_expectation(gx, c) for c in checks])
        )
        validations[suite_name] = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch_definitions[SUITE_ASSETS[suite_name]], suite=suite)
        )
    checkpoints = {
        name: context.checkpoints.add(
            gx.Checkpoint(name=name, validation_definitions=[validations[name]], result_format="SUMMARY")
        )
        for name in SUITES
    }
    return GxProject(context=context, checkpoints=checkpoints, docs_dir=docs_dir)


def _expectation(gx: Any, check: Check) -> Any:
    expectation_class = getattr(gx.expectations, check.expectation)
    return expectation_class(**check.kwargs, meta={"check": check.name}, notes=check.notes)


def trim_validations(project: GxProject, keep: int = KEEP_VALIDATIONS) -> None:
    """Forget all but the newest `keep` validation results (the docs index drops the forgotten ones)."""
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

    store = project.context.validation_results_store
    keys = sorted((k for k in store.list_keys() if isinstance(k, ValidationResultIdentifier)),
                  key=lambda key: str(key.run_id.run_time))
    for key in keys[:-keep] if keep else keys:
        store.remove_key(key)
