"""Modules great_expectations imports at start-up but uses only inside a few expectations userpipe does not run.

`import great_expectations` imports every expectation class, and one of them (the KL divergence expectation)
imports `scipy.stats` and `altair` at module level, using them only when it runs or renders. The two cost ~0.8 s
of the ~2.3 s of CPU the import takes. `defer()` puts a stand-in for each into `sys.modules` before GX is
imported: GX binds it, and the first attribute read of it (a call of `stats.entropy`, `alt.Chart`, or any other
use) imports the real module then. Nothing is skipped, only moved to first use; a module already imported is
left as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

DEFERRED = ("scipy.stats", "altair")

_REAL = "_deferred_real_module"
_lock = threading.RLock()  # reentrant: importing one deferred module may read another


class DeferredModule(types.ModuleType):
    """Stands in `sys.modules` for module `name` until an attribute of it is read; then imports the real one
    (which takes its place in `sys.modules`) and reads the attribute there."""

    def __init__(self, name: str, spec: Any) -> None:
        super().__init__(name)
        self.__spec__ = spec  # what find_spec() answers for an imported module; `_initializing` is unset

    def __getattr__(self, attribute: str) -> Any:  # only called for what the stand-in itself lacks
        return getattr(self.real(), attribute)

    def real(self) -> types.ModuleType:
        """The real module, imported on the first call."""
        real = self.__dict__.get(_REAL)
        if real is None:
            with _lock:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                real = self.__dict__[_REAL] = importlib.import_module(self.__name__)
        return real


def defer(names: tuple[str, ...] = DEFERRED) -> None:
    """Put a DeferredModule into `sys.modules` for each of `names` not imported yet (and installed)."""
    with _lock:
        for name in names:
            if name in sys.modules:
                continue
            spec = importlib.util.find_spec(name)  # imports the parent package (scipy's is cheap, lazy itself)
            if spec is not None:
                sys.modules[name] = DeferredModule(name, spec)
