"""dbt, in-process: `Transformer` runs `dbt build` / `dbt test` / `dbt source freshness` on dbt_project/.

One Transformer is meant to live as long as its caller (the cycle loop keeps one): it parses the project
once and hands the parsed manifest to every later dbtRunner call, parsing again only when a project file
changed. dbt's target and log folders live in `$USERPIPE_HOME/dbt/`, so parallel homes never share them.
The connection comes from `warehouse.database_url()` as the USERPIPE_PG_* variables profiles.yml reads.
dbt is imported inside the methods: importing this module costs nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from userpipe import warehouse
from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
PROJECT_FILE_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".md", ".csv"})

# dbt keeps global state (flags, adapters, event manager): one invocation at a time per process.
_DBT_LOCK = threading.Lock()


class TransformError(UserpipeError):
    """dbt failed; the message is one line, `result` (when dbt got as far as running nodes) has the details."""

    def __init__(self, message: str, result: TransformResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class NodeResult:
    """What dbt did with one node (model, test, hook, source freshness check)."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    seconds: float
    message: str | None = None
    failures: int | None = None
    tags: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class TransformResult:
    """The outcome of one dbt command: overall success, wall time, and every node's status."""

    command: str
    success: bool
    seconds: float
    nodes: tuple[NodeResult, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> tuple[NodeResult, ...]:
        return tuple(node for node in self.nodes if node.failed)

    @property
    def tests(self) -> tuple[NodeResult, ...]:
        return tuple(node for node in self.nodes if node.resource_type == "test")

    @property
    def warnings(self) -> tuple[NodeResult, ...]:
        return tuple(node for node in self.nodes if node.status == "warn")

    def count(self, status: str) -> int:
        return sum(1 for node in self.nodes if node.status == status)

    def summary(self) -> str:
        """One line, e.g. `dbt build ok in 2.1s: 9 success, 27 pass, 1 warn`."""
        statuses: dict[str, int] = {}
        for node in self.nodes:
            statuses[node.status] = statuses.get(node.status, 0) + 1
        counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        outcome = "ok" if self.success else "FAILED"
        return f"dbt {self.command} {outcome} in {self.seconds:.1f}s: {counts or 'nothing selected'}"


class Transformer:
    """Runs dbt commands on dbt_project/ in this process, reusing one parsed manifest across calls."""

    def __init__(
        self,
        database_url: str | None = None,
        project_dir: Path = PROJECT_DIR,
        profiles_dir: Path = PROFILES_DIR,
        state_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.project_dir = project_dir
        self.profiles_dir = profiles_dir
        self.state_dir = state_dir
        self.threads = threads
        self._manifest: Any = None
        self._fingerprint: tuple[object, ...] | None = None

    def build(
        self,
        select: Sequence[str] = (),
        exclude: Sequence[str] = (),
        full_refresh: bool = False,
        raise_on_failure: bool = True,
    ) -> TransformResult:
        """`dbt build` (models, then their tests); TransformError on any failed node unless told not to."""
        args = self._selection(select, exclude)
        if full_refresh:
            args.append("--full-refresh")
        result = _selected(self._invoke("build", args), select, exclude)
        if raise_on_failure and not result.success:
            raise TransformError(_failure_line(result, self.log_dir), result)
        return result

    def test(self, select: Sequence[str] = (), exclude: Sequence[str] = ()) -> TransformResult:
        """`dbt test`: failing tests are reported in the result, not raised; TransformError if dbt cannot run
        or a selection matches nothing."""
        return _selected(self._invoke("test", self._selection(select, exclude)), select, exclude)

    def source_freshness(self) -> TransformResult:
        """`dbt source freshness`: a stale source is a `warn`/`error` node status, not an exception."""
        return self._invoke("source freshness", [])

    def parse(self) -> None:
        """Parse the project now (otherwise the first command does it)."""
        self._use_database()
        with _DBT_LOCK:
            self._manifest_for_run()

    @property
    def target_dir(self) -> Path:
        return self._state_root() / "target"

    @property
    def log_dir(self) -> Path:
        return self._state_root() / "logs"

    def _invoke(self, command: str, args: list[str]) -> TransformResult:
        self._use_database()
        from dbt.cli.main import dbtRunner

        with _DBT_LOCK:
            manifest = self._manifest_for_run()
            started = time.perf_counter()
            log.info("dbt %s %s", command, " ".join(args))
            outcome = dbtRunner(manifest=manifest).invoke([*command.split(), *self._common_args(), *args])
            seconds = time.perf_counter() - started
        nodes = _node_results(outcome.result)
        if outcome.exception is not None and not nodes:
            raise TransformError(f"dbt {command} could not run: {_one_line(str(outcome.exception))}")
        result = TransformResult(command=command, success=outcome.success, seconds=seconds, nodes=nodes)
        log.info("%s", result.summary())
        return result

    def _use_database(self) -> None:
        """Point profiles.yml at the database in use (USERPIPE_PG_*); one-line error if it is down or empty."""
        url = self.database_url or warehouse.database_url()
        with warehouse.connect(url) as conn:
            landed = conn.execute("select to_regclass('raw.users') is not null").fetchone()
        if not landed or not landed[0]:
            raise TransformError(f"no raw.users in {warehouse.redact(url)} yet: land users first (userpipe ingest)")
        os.environ.update(warehouse.dbt_env(url))
        if self.threads:
            os.environ["USERPIPE_DBT_THREADS"] = str(self.threads)

    def _manifest_for_run(self) -> Any:
        fingerprint = self._project_fingerprint()
        if self._manifest is None or fingerprint != self._fingerprint:
            from dbt.cli.main import dbtRunner

            started = time.perf_counter()
            outcome = dbtRunner().invoke(["parse", *self._common_args()])
            if not outcome.success or outcome.result is None:
                reason = _one_line(str(outcome.exception)) if outcome.exception else "see the dbt log"
                raise TransformError(f"dbt could not parse {self.project_dir}: {reason}")
            self._manifest, self._fingerprint = outcome.result, fingerprint
            log.info("parsed dbt project in %.1fs", time.perf_counter() - started)
        return self._manifest

    def _common_args(self) -> list[str]:
        return [
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.profiles_dir),
            "--target-path", str(self.target_dir),
            "--log-path", str(self.log_dir),
            "--log-level", "none",
            "--no-use-colors",
        ]

    def _state_root(self) -> Path:
        return self.state_dir or warehouse.home() / "dbt"

    def _selection(self, select: Sequence[str], exclude: Sequence[str]) -> list[str]:
        args: list[str] = []
        if select:
            # a criterion that matches no node (a typo) fails the command instead of being a warning
            args += ["--select", *select, "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}']
        if exclude:
            args += ["--exclude", *exclude]
        return args

    def _project_fingerprint(self) -> tuple[object, ...]:
        """The profile's variables (relation names carry the database) and the project files' count and newest
        mtime: the manifest is parsed again when one of them changes."""
        files = [self.profiles_dir / "profiles.yml", self.project_dir / "dbt_project.yml"]
        for folder in ("models", "macros", "tests"):
            files += [p for p in (self.project_dir / folder).rglob("*") if p.suffix in PROJECT_FILE_SUFFIXES]
        mtimes = [p.stat().st_mtime_ns for p in files if p.exists()]
        profile = tuple(os.environ.get(name, "") for name in sorted(warehouse.dbt_env("postgresql://")))
        return profile, len(mtimes), max(mtimes, default=0)


def _node_results(result: Any) -> tuple[NodeResult, ...]:
    nodes = []
    for item in getattr(result, "results", None) or ():
        node = getattr(item, "node", None)
        failures = getattr(item, "failures", None)
        message = getattr(item, "message", None)
        if not message and getattr(item, "age", None) is not None:  # a source freshness check
            message = f"newest row is {item.age:.0f}s old"
        nodes.append(
            NodeResult(
                unique_id=str(getattr(node, "unique_id", "") or getattr(item, "unique_id", "")),
                name=str(getattr(node, "name", "") or ""),
                resource_type=_text(getattr(node, "resource_type", "")),
                status=_text(item.status),
                seconds=float(getattr(item, "execution_time", 0.0) or 0.0),
                message=_one_line(str(message)) if message else None,
                failures=int(failures) if failures is not None else None,
                tags=tuple(str(tag) for tag in getattr(node, "tags", None) or ()),
            )
        )
    return tuple(nodes)


def _selected(result: TransformResult, select: Sequence[str], exclude: Sequence[str]) -> TransformResult:
    """`result`, or TransformError when a selection left dbt nothing to run (e.g. --select x --exclude x)."""
    if (select or exclude) and not result.nodes:
        chosen = " ".join([*(f"--select {s}" for s in select), *(f"--exclude {e}" for e in exclude)])
        raise TransformError(f"dbt {result.command}: {chosen} leaves no node to run")
    return result


def _failure_line(result: TransformResult, log_dir: Path) -> str:
    failed = result.failures
    if not failed:
        return f"dbt {result.command} failed (see {log_dir / 'dbt.log'})"
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"dbt {result.command} failed at {first.resource_type} {first.name}: {first.message}{more}"


def _text(value: Any) -> str:
    """An enum's value (dbt's statuses and node types), or the text itself."""
    return str(getattr(value, "value", value) or "")


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
