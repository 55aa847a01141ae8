"""dbt, in-process: `Transformer` runs `dbt build` / `dbt test` / `dbt source freshness` on dbt_project/.

One Transformer is meant to live as long as its caller (the cycle loop keeps one): it parses the project
once and hands the parsed manifest to every later dbtRunner call, parsing again only when a project file
changed. The parsed manifest is also saved (`$USERPIPE_HOME/dbt/saved_manifest`) under a key made of every
project file's content, the profile's variables and the dbt and Python versions: a fresh process whose
project is unchanged loads it (~0.1 s) instead of parsing (~3 s); any change re-parses (dbt's own partial
parsing then reads only what changed). A copy is kept in the user's cache folder under that key
(`$USERPIPE_CACHE_DIR`, default `$XDG_CACHE_HOME/userpipe` or `~/.cache/userpipe`), so a fresh home for the same
project and database loads it too. dbt's target and log folders live in `$USERPIPE_HOME/dbt/`, so parallel
homes never share them.
The connection comes from `warehouse.database_url()` as the USERPIPE_PG_* variables profiles.yml reads.
dbt is imported inside the methods: importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from userpipe import warehouse
from userpipe.dbt_sessions import kept_sessions
from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
SAVED_MANIFEST = "saved_manifest"
CACHE_ENV = "USERPIPE_CACHE_DIR"
SHARED_MANIFESTS = "dbt_manifests"  # the cache's folder of saved manifests, one file per key
SHARED_MANIFESTS_KEPT = 8  # the newest ones (by use); older keys are deleted
# folders of a dbt project that are dbt's output or installed packages, not its source
NOT_PROJECT_SOURCE = frozenset({"target", "logs", "dbt_packages", "dbt_modules"})

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
        self._fingerprint: str | None = None
        # how the manifest in use was had: "parsed", "saved" (this home's) or "cached" (the user's cache)
        self.manifest_source: str | None = None
        self._manifest_written: Any = None  # the manifest target/manifest.json was last written from

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
            written = manifest is self._manifest_written
            artifacts = ["--no-write-json"] if written else []
            with kept_sessions():
                outcome = dbtRunner(manifest=manifest).invoke(
                    [*command.split(), *self._common_args(), *artifacts, *args])
            if written:
                self._write_results(command, outcome.result)
            elif (self.target_dir / "manifest.json").exists():
                self._manifest_written = manifest
            seconds = time.perf_counter() - started
        nodes = _node_results(outcome.result)
        if outcome.exception is not None and not nodes:
            raise TransformError(f"dbt {command} could not run: {_one_line(str(outcome.exception))}")
        result = TransformResult(command=command, success=outcome.success, seconds=seconds, nodes=nodes)
        log.info("%s", result.summary())
        return result

    def _write_results(self, command: str, result: Any) -> None:
        """What dbt writes after a command but manifest.json (the same manifest, already written): its results,
        run_results.json (sources.json for source freshness). dbt writes the 0.8 MB manifest.json after every
        command; once per manifest is enough."""
        if not hasattr(result, "write"):
            return
        name = "sources.json" if command == "source freshness" else "run_results.json"
        try:
            result.write(str(self.target_dir / name))
        except Exception as exc:  # an artifact for people reading target/: the run's outcome stands without it
            log.info("could not write %s (%s)", name, exc)

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
        if self._manifest is not None and fingerprint == self._fingerprint:
            return self._manifest
        started = time.perf_counter()
        saved, source = self._load_saved_manifest(fingerprint)
        if saved is not None:
            self._manifest, self._fingerprint, self.manifest_source = saved, fingerprint, source
            log.info("loaded the %s dbt manifest in %.2fs", source, time.perf_counter() - started)
            return saved
        from dbt.cli.main import dbtRunner

        outcome = dbtRunner().invoke(["parse", *self._common_args()])
        if not outcome.success or outcome.result is None:
            reason = _one_line(str(outcome.exception)) if outcome.exception else "see the dbt log"
            raise TransformError(f"dbt could not parse {self.project_dir}: {reason}")
        self._manifest, self._fingerprint, self.manifest_source = outcome.result, fingerprint, "parsed"
        log.info("parsed dbt project in %.1fs", time.perf_counter() - started)
        self._save_manifest(fingerprint, outcome.result)
        return self._manifest

    @property
    def saved_manifest_path(self) -> Path:
        return self._state_root() / SAVED_MANIFEST

    def _load_saved_manifest(self, fingerprint: str) -> tuple[Any, str]:
        """The manifest saved under `fingerprint` in this home ("saved"), else in the user's cache ("cached",
        then copied into this home); None when neither holds a usable one."""
        manifest = _read_manifest(self.saved_manifest_path, fingerprint)
        if manifest is not None:
            return manifest, "saved"
        shared = shared_manifest_path(fingerprint)
        if shared is None or not _is_own_file(shared):
            return None, "cached"
        manifest = _read_manifest(shared, fingerprint)
        if manifest is not None:
            with contextlib.suppress(OSError):
                os.utime(shared)  # in use: kept when the cache is pruned
                _copy_whole(shared, self.saved_manifest_path)
        return manifest, "cached"

    def _save_manifest(self, fingerprint: str, manifest: Any) -> None:
        """Write `manifest` under `fingerprint` (whole or not at all: a temporary file, then renamed).

        Its public fields are saved, not the object: dbt 1.11's Manifest.__reduce_ex__ passes its fields by
        position and misses some (`fixtures`), so a pickled Manifest comes back with its lookups shifted. The
        private fields are caches dbt rebuilds when they are empty (as after its own msgpack, which is ~10x
        slower to load)."""
        path = self.saved_manifest_path
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as out:
                out.write(f"{fingerprint}\n".encode())
                pickle.dump({field.name: getattr(manifest, field.name) for field in dataclasses.fields(manifest)
                             if not field.name.startswith("_")}, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except Exception as exc:  # saving is an optimisation: the run goes on without it
            log.info("could not save the dbt manifest (%s)", exc)
            temporary.unlink(missing_ok=True)
            return
        _share(path, fingerprint)

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

    def _project_fingerprint(self) -> str:
        """A digest of what the manifest is made from: every project file's path and content, profiles.yml,
        the profile's variables (relation names carry the database), DBT_* settings, and the dbt and Python
        versions. The manifest is parsed again when any of them changes."""
        from importlib.metadata import version

        digest = hashlib.sha256()
        variables = sorted({*warehouse.dbt_env("postgresql://"), *(k for k in os.environ if k.startswith("DBT_"))})
        for part in (version("dbt-core"), sys.version, str(self.project_dir.resolve()),
                     *(f"{name}={os.environ.get(name, '')}" for name in variables)):
            digest.update(part.encode() + b"\0")
        for path in [self.profiles_dir / "profiles.yml", *_source_files(self.project_dir)]:
            digest.update(str(path).encode() + b"\0")
            with contextlib.suppress(FileNotFoundError):
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


def shared_manifest_path(fingerprint: str) -> Path | None:
    """Where the user's cache keeps the manifest saved under `fingerprint` (None: no cache folder known)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        base = Path(configured)
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"]) / "userpipe"
    else:
        try:
            base = Path.home() / ".cache" / "userpipe"
        except RuntimeError:  # no home folder to be found
            return None
    return base.expanduser() / SHARED_MANIFESTS / fingerprint


def _read_manifest(path: Path, fingerprint: str) -> Any:
    """The manifest in `path` when it was saved under `fingerprint` (by _save_manifest), else None."""
    try:
        with path.open("rb") as saved:
            if saved.readline().decode().strip() != fingerprint:
                return None
            fields = pickle.load(saved)  # written by _save_manifest, in our home or our own cache folder
        from dbt.contracts.graph.manifest import Manifest

        manifest = Manifest(**fields)
        manifest.build_flat_graph()
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: parse instead
        log.info("saved dbt manifest %s not usable (%s): parsing", path, exc)
        return None
    return manifest


def _is_own_file(path: Path) -> bool:
    """True when `path` and its folder belong to this user and nobody else may write them (a pickle runs code
    when loaded: only our own files are read)."""
    try:
        for stat in (path.stat(), path.parent.stat()):
            if stat.st_uid != os.getuid() or stat.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def _share(saved: Path, fingerprint: str) -> None:
    """Copy the manifest saved in a home to the user's cache under its key; keep the newest few keys there."""
    shared = shared_manifest_path(fingerprint)
    if shared is None:
        return
    try:
        shared.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _copy_whole(saved, shared)
        kept = sorted(shared.parent.iterdir(), key=lambda path: path.stat().st_mtime, reverse=True)
        for old in kept[SHARED_MANIFESTS_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # the cache is an optimisation too
        log.info("could not keep the dbt manifest in %s (%s)", shared.parent, exc)


def _copy_whole(source: Path, target: Path) -> None:
    """Copy `source` to `target` whole or not at all (a temporary file, then renamed)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _source_files(project_dir: Path) -> list[Path]:
    """Every file of the dbt project but dbt's output, installed packages and hidden files, in a fixed order."""
    found = []
    for folder, folders, files in os.walk(project_dir):
        skipped = NOT_PROJECT_SOURCE if Path(folder) == project_dir else frozenset()
        folders[:] = sorted(f for f in folders if f not in skipped and not f.startswith("."))
        found += [Path(folder) / name for name in sorted(files) if not name.startswith(".")]
    return found


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
