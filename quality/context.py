"""The Great Expectations project, built from code: an ephemeral context plus a file-backed data docs site.

Why ephemeral: the suites live in `quality.suite` (reviewed in git), so there is no GX config or suite JSON
to set up on a fresh machine or to drift from the code; the durable record of every run is ops.check_results.
The data docs site (HTML) is written to `$USERPIPE_HOME/gx_docs`, readable offline (`quality.docs_site`: the
CDN scripts and styles of GX's pages point at vendored copies), and lists the last `KEEP_RUNS` check runs of
any process (`quality.docs_history`), so memory and docs build time stay bounded.

great_expectations is imported here only, and only when `gx_project()` is first called.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quality.suite import INGESTION_COUNT, RAW_USERS_BATCH, SUITES, Check

KEEP_RUNS = 100  # check runs (each 3-4 suite validations) listed in the data docs

if TYPE_CHECKING:
    from great_expectations.checkpoint import Checkpoint
    from great_expectations.data_context import AbstractDataContext

DATASOURCE = "userpipe_batch"
DOCS_SITE = "userpipe_docs"

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
    keep_runs: int = KEEP_RUNS
    site: Any = None  # the docs' SiteBuilder, made once: each new one compiles GX's page templates anew (~0.7 s)
    pending_docs: list[tuple[list[Any], list[Any]]] = field(default_factory=list)  # (validated, rendered) to write

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
    from quality.deferred_imports import defer

    defer()  # scipy.stats and altair: imported on first use, not with GX (~0.8 s of its ~2.3 s)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from quality.docs_site import install_vendored_assets

    docs_dir.mkdir(parents=True, exist_ok=True)
    install_vendored_assets(docs_dir)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={DOCS_SITE: {"class_name": "SiteBuilder", **_site_config(docs_dir)}},
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


def _site_config(docs_dir: Path) -> dict[str, Any]:
    """The data docs site: pages written offline-ready by quality.docs_site, no how-to buttons."""
    return {
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "OfflineSiteBackend", "module_name": "quality.docs_site",
                          "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_how_to_buttons": False},
    }


def _expectation(gx: Any, check: Check) -> Any:
    expectation_class = getattr(gx.expectations, check.expectation)
    return expectation_class(**check.kwargs, meta={"check": check.name}, notes=check.notes)


def build_pending_docs(project: GxProject) -> None:
    """Write the docs of every validation left pending, in one build (the index once, however many wait)."""
    pending, project.pending_docs = project.pending_docs, []
    validated = [key for keys, _ in pending for key in keys]
    rendered = list({key.to_tuple(): key for _, keys in pending for key in keys}.values())  # each page once
    build_docs(project, validated, rendered)


def build_docs(project: GxProject, validated: list[Any], rendered: list[Any]) -> None:
    """Record the new validation results `validated` in the history, keep the newest `project.keep_runs` runs,
    and write the pages of `rendered` (results and their suites) plus the index."""
    from quality import docs_history

    if not rendered:  # GX would render every page of the store, overwriting kept pages with short results
        return
    store = project.context.validation_results_store
    docs_history.record(store, project.docs_dir, validated)
    pruned = docs_history.sync(store, project.docs_dir, project.keep_runs)
    if project.site is None:
        from great_expectations.render.renderer.site_builder import SiteBuilder

        project.site = SiteBuilder(data_context=project.context, site_name=DOCS_SITE,
                                   **_site_config(project.docs_dir))
    project.site.build(resource_identifiers=rendered)
    docs_history.remove_empty_folders(project.docs_dir, pruned)
    docs_history.forget_details(store, [key for key in validated if store.has_key(key)])
