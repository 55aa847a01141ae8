"""Where a batch's diagnostics go: dlt's log (its job failures, with tracebacks), our own warnings and whatever
else is written to stderr while the batch runs are appended to `$USERPIPE_HOME/logs/ingest.log`, so that a
failure reaches the terminal as its one `error:` line alone. With INFO logging on (`userpipe -v`) they are shown
on stderr as well, as before.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

LOG_FILE = "ingest.log"
MAX_LOG_BYTES = 10 * 1024 * 1024  # past this the file is moved to ingest.log.1 (one old file kept)
# the loggers of a batch: dlt's own (it does not propagate; it writes to a handler of its own) and ours
LOGGER_NAMES = ("dlt", "ingestion")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _QuietFileHandler(logging.FileHandler):
    """A file handler that drops a record it cannot write (e.g. a full disk) instead of printing the logging
    module's own traceback to stderr."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


class _StderrToLog:
    """Stands in for sys.stderr: text goes to the log's stream (dropped when it cannot be written)."""

    def __init__(self, handler: logging.FileHandler | None) -> None:
        self._handler = handler
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if self._handler is not None:
            with self._lock, contextlib.suppress(Exception):
                self._handler.stream.write(text)
        return len(text)

    def flush(self) -> None:
        if self._handler is not None:
            with self._lock, contextlib.suppress(Exception):
                self._handler.stream.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def batch_log(folder: Path) -> Iterator[Path | None]:
    """Route the batch's diagnostics to `folder/ingest.log` (created if need be) for the duration; yields the
    file's path, or None when it cannot be written (then they are dropped, unless shown with -v)."""
    verbose = logging.getLogger().isEnabledFor(logging.INFO)
    handler = _open(folder / LOG_FILE)
    loggers = [logging.getLogger(name) for name in LOGGER_NAMES]
    saved = [(logger, logger.handlers[:], logger.propagate) for logger in loggers]
    stderr = sys.stderr
    try:
        for logger in loggers:
            if logger.name == "dlt":  # dlt logs through its first handler only: make it ours
                for old in logger.handlers[:]:
                    logger.removeHandler(old)
                if verbose:
                    logger.addHandler(logging.StreamHandler(stderr))
            if handler is not None:
                logger.addHandler(handler)
            logger.propagate = logger.propagate and verbose
        if not verbose:
            sys.stderr = _StderrToLog(handler)
        yield Path(handler.baseFilename) if handler is not None else None
    finally:
        sys.stderr = stderr
        for logger, handlers, propagate in saved:
            for current in logger.handlers[:]:
                logger.removeHandler(current)
            for old in handlers:
                logger.addHandler(old)
            logger.propagate = propagate
        if handler is not None:
            handler.close()


def _open(path: Path) -> _QuietFileHandler | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_name(path.name + ".1"))
        handler = _QuietFileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler
