"""One ingestion batch: randomuser API -> dlt -> `raw.users` (insert-only on uuid: append of the users not yet landed).

`ingest()` validates its input before touching anything, runs the dlt pipeline (working dir under
`$USERPIPE_HOME/dlt`, one batch at a time), and on any failure drops dlt's pending packages and takes back
what a half-done load committed; what a killed batch left is taken back at the next start (`recovery`).
dlt's log and our warnings go to `$USERPIPE_HOME/logs/ingest.log` (`logs`): a failure is its one error line.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion import logs, recovery
from ingestion.randomuser import settings
from ingestion.randomuser.fetching import TimeLimit, remove_orphan_page_folders
from ingestion.randomuser.helpers import (
    IngestError,
    parse_api_url,
    parse_batch_size,
    parse_first_page,
    parse_nationalities,
    parse_seed,
    plan_batch,
)
from ingestion.randomuser.limits import Limits
from ingestion.randomuser.source import randomuser_source
from userpipe import warehouse
from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

# dlt settings for the run: files stay uncompressed (COPY reads them as they are) and are removed once loaded
DLT_CONFIG: dict[str, Any] = {
    "runtime.dlthub_telemetry": False,
    "data_writer.disable_compression": True,
    "normalize.data_writer.disable_compression": True,
    "load.delete_completed_jobs": True,  # no copies of the users left in dlt's working dir
    "load.truncate_staging_dataset": True,  # nor in raw_staging
}


@dataclass(frozen=True)
class IngestResult:
    """What one batch did; `users_new` counts the rows the load actually inserted."""

    users_fetched: int
    users_landed: int
    users_new: int
    seconds: float
    seed: str
    first_page: int
    last_page: int
    load_id: str | None  # None when the batch held no user new to raw.users (dlt had nothing to load)
    api_url: str
    nat: tuple[str, ...] = ()

    @property
    def reproduce_args(self) -> str:
        """The `userpipe ingest` arguments that fetch the same users again."""
        nat = f" --nat {','.join(self.nat)}" if self.nat else ""
        return f"--batch-size {self.users_fetched} --seed {self.seed} --page {self.first_page}{nat}"


def ingest(
    batch_size: int | str,
    seed: str | None = None,
    nat: str | Sequence[str] | None = None,
    api_url: str | None = None,
    database_url: str | None = None,
    page: int | None = None,
    time_limit: float | str | None = settings.BATCH_TIME_LIMIT_SECONDS,
) -> IngestResult:
    """Fetch `batch_size` users and land them in `raw.users`; IngestError (one line) on bad input or failure.

    Without `seed` the batch continues the stream remembered in dlt state (a new seed the first time) and moves
    it on; with `seed` it is a one-off: the next batch without a seed continues the stream as if it had not run.
    Without `api_url` a local API is started in-process. `time_limit`: seconds from the call within which every
    page must be fetched, retries included (None: no limit beyond the retries'); past it the batch fails.
    """
    size = parse_batch_size(batch_size)
    nats = parse_nationalities(nat)
    given_seed = parse_seed(seed)
    first_page = parse_first_page(page)
    url = parse_api_url(api_url) if api_url else None
    limit = _time_limit(time_limit)
    sizes = Limits.from_env()
    started = time.perf_counter()
    target = database_url or warehouse.database_url()
    try:
        pipeline = _pipeline(target)
    except Exception as exc:  # dlt writes its working dir here: a full disk is the usual cause
        raise _one_line_error(exc, warehouse.home() / "dlt") from exc
    with dlt.config.values(DLT_CONFIG), recovery.working_dir_lock(Path(pipeline.pipelines_dir)), \
            logs.batch_log(warehouse.home() / "logs") as log_file, _local_api_unless(url) as endpoint:
        loading: list[str] = []
        dataset_existed = True
        try:
            _recover(pipeline)
            pipeline.sync_destination()
            dataset_existed = _dataset_exists(pipeline)
            plan = plan_batch(size, given_seed, first_page, _stream_state(pipeline))
            log.info("fetching %s users from %s: seed %s, pages %s..%s",
                     size, endpoint, plan.seed, plan.first_page, plan.last_page)
            # run()'s steps without its second sync with the destination (done just above)
            source = randomuser_source(endpoint, plan, nats, moves_stream=given_seed is None, time_limit=limit,
                                       sizes=sizes)
            extract_info = pipeline.extract(source, loader_file_format="csv")
            pipeline.normalize()
            loading = recovery.mark_loading(pipeline)  # taken back at the next start should this process die
            load_info = pipeline.load()
            recovery.unmark(pipeline, loading)
        except Exception as exc:
            left = _take_back(pipeline, exc, loading, drop_dataset=not dataset_existed)
            raise _one_line_error(exc, Path(pipeline.pipelines_dir), left, log_file) from exc
    load_id = str(load_info.loads_ids[-1]) if load_info is not None and load_info.loads_ids else None
    _prune_loaded_packages(pipeline, settings.LOADED_PACKAGES_KEPT)
    landed = _landed_rows(extract_info, load_id) if load_id else 0
    return IngestResult(
        users_fetched=size,
        users_landed=landed,
        # a completed load committed every row of its files (a duplicate uuid fails the load, which is undone)
        users_new=landed,
        seconds=round(time.perf_counter() - started, 3),
        seed=plan.seed,
        first_page=plan.first_page,
        last_page=plan.last_page,
        load_id=load_id,
        api_url=endpoint,
        nat=nats,
    )


def _time_limit(seconds: float | str | None) -> TimeLimit | None:
    """The batch's time limit, starting now; IngestError unless a positive number of seconds."""
    if seconds is None:
        return None
    try:
        value = float(str(seconds).strip())
    except ValueError:
        raise IngestError(f"time limit must be a number of seconds, got {seconds!r}") from None
    if not 0 < value < float("inf"):
        raise IngestError(f"time limit must be more than 0 seconds, got {seconds!r}")
    return TimeLimit.starting_now(value)


def _prune_loaded_packages(pipeline: dlt.Pipeline, keep: int) -> None:
    """Delete all but the newest `keep` loaded packages from dlt's working dir (their metadata, ~60 KB each,
    would otherwise pile up at one a minute); their record stays in the destination's `_dlt_loads`."""
    loaded = sorted(pipeline.list_completed_load_packages(), key=float)
    if len(loaded) <= keep:
        return
    storage = pipeline._get_load_storage()  # dlt has no public call to delete a loaded package
    try:
        for load_id in loaded[: len(loaded) - keep]:
            storage.delete_loaded_package(load_id)
    except OSError as exc:  # housekeeping: the batch itself has landed
        log.warning("could not delete old dlt load packages: %s", exc)


def _pipeline(database_url: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=settings.PIPELINE_NAME,
        pipelines_dir=str(warehouse.home() / "dlt"),
        destination=dlt.destinations.postgres(credentials=_credentials(database_url)),
        dataset_name=settings.DATASET_NAME,
    )


def _credentials(database_url: str) -> Any:
    """dlt's PostgresCredentials for `database_url`; a URL without password (the embedded server's, whose
    password libpq reads from the `passfile=` it names) gets an empty one, which dlt would otherwise report as
    missing."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = PostgresCredentials()
    credentials.parse_native_representation(database_url)
    if credentials.password is None:
        credentials.password = ""
    return credentials


@contextlib.contextmanager
def _local_api_unless(api_url: str | None) -> Iterator[str]:
    """`api_url`, or the URL of a LocalApi served for the duration of the batch by `settings.FETCH_WORKERS`
    forked processes sharing its listening socket: generating users is CPU work that would otherwise hold
    this process's GIL (and run one page at a time) while the pages are parsed and loaded."""
    if api_url:
        yield api_url
        return
    from randomuser_api import LocalApi, build_response

    build_response({"results": "1"})  # loads the generator's data (once per process), inherited by the servers
    api = LocalApi(compress=False)  # binds the socket; the forked processes serve it (gzip would only cost CPU here)
    context = multiprocessing.get_context("fork")
    servers = [context.Process(target=_serve_local_api, args=(api, os.getpid()), daemon=True)
               for _ in range(max(1, settings.FETCH_WORKERS))]
    try:
        for server in servers:
            server.start()
        yield api.url
    finally:
        for server in servers:
            if server.pid is not None:
                server.terminate()
        for server in servers:
            if server.pid is not None:
                server.join()
        api.stop()


def _serve_local_api(api: Any, parent: int) -> None:
    """A forked LocalApi server: Ctrl-C is left to the parent, which terminates it; it also ends by itself
    once the parent is gone (killed), so it never outlives the batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    api.start()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _stream_state(pipeline: dlt.Pipeline) -> dict[str, Any] | None:
    sources: dict[str, Any] = pipeline.state.get("sources", {})
    stream = sources.get(settings.SOURCE_NAME, {}).get(settings.STREAM_STATE_KEY)
    return stream if isinstance(stream, dict) else None


def _drop_pending(pipeline: dlt.Pipeline, why: str) -> None:
    if pipeline.has_pending_data:
        packages = [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]
        log.warning("dropping dlt packages %s: %s", why, ", ".join(packages))
        pipeline.abort_packages()  # deletes them and restores dlt's local state and schema


def _dataset_exists(pipeline: dlt.Pipeline) -> bool:
    with pipeline.sql_client() as sql:
        return bool(sql.has_dataset())


def _recover(pipeline: dlt.Pipeline) -> None:
    """Take back what batches that did not complete left (the caller holds the working dir's lock): rows of
    their loads, dlt's pending packages, page folders."""
    recovery.undo_incomplete_loads(pipeline)
    _drop_pending(pipeline, "left by an earlier run")
    remove_orphan_page_folders(Path(pipeline.pipelines_dir))  # all but a running batch's (none: we hold the lock)


def _take_back(pipeline: dlt.Pipeline, exc: BaseException, loading: list[str], drop_dataset: bool) -> str | None:
    """Undo a failed batch: its pending packages, and the rows a half-done load committed (the dataset when this
    load created it). None when nothing is left; else what is left, marked to be taken back at the next start."""
    try:
        _drop_pending(pipeline, "of the failed batch")
    except Exception as cleanup:  # e.g. a full disk: the next start drops them
        log.warning("could not drop dlt's pending packages: %s", cleanup)
    if not loading:
        return None
    if isinstance(exc, PipelineStepFailed) and exc.step == "load" and drop_dataset:
        with contextlib.suppress(Exception), pipeline.sql_client() as sql:
            sql.drop_dataset()
    try:
        for load_id in loading:
            recovery.undo_load(pipeline, load_id)
    except Exception as undo:  # the database is gone or full: retried at the next start
        log.warning("could not undo the load %s: %s", ", ".join(loading), undo)
        return (f"rows the load {', '.join(loading)} committed are left, unseen downstream, "
                "and taken back at the next ingest")
    recovery.unmark(pipeline, loading)
    return None


def _one_line_error(exc: BaseException, working_dir: Path, left: str | None = None,
                    log_file: Path | None = None) -> UserpipeError:
    """The most specific one-line error inside dlt's wrapping; `left`: what the failed batch left; `log_file`:
    where dlt's account of a failed step is (named in the line)."""
    landed = f"nothing landed but {left}" if left else "nothing landed"
    disk = recovery.disk_full(exc, working_dir)
    if disk:
        return IngestError(f"{disk} is full: the batch failed, {landed}; free space and run it again")
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, UserpipeError):
            return cause
        cause = cause.__cause__ or cause.__context__
    step = exc.step if isinstance(exc, PipelineStepFailed) else "ingest"
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    lines = [line.strip() for line in str(root).splitlines() if line.strip()]
    reason = lines[0] if lines else type(root).__name__
    details = f" (dlt's log: {log_file})" if log_file is not None else ""
    return IngestError(f"dlt {step} step failed, {landed}: {type(root).__name__}: {reason}{details}")


def _landed_rows(extract_info: Any, load_id: str) -> int:
    """Rows dlt extracted into the load package for `users` (read from dlt's extract metrics)."""
    return sum(
        int(metrics["table_metrics"][settings.TABLE_NAME].items_count)
        for metrics in extract_info.metrics.get(load_id, [])
        if settings.TABLE_NAME in metrics["table_metrics"]
    )
