"""Run the Kestra flow's tasks on this machine, as Kestra's script tasks would, without a Kestra server.

- `render` understands only what the flow uses: `{{ dotted.path }}` lookups (inputs, vars, envs, execution,
  outputs), with `['key']` subscripts. Anything else (filters, functions, operators, `{% %}` tags, unknown
  names) fails loudly, so a new expression in the flow cannot silently pass these tests.
- `run_task` merges the flow's `pluginDefaults` into the task, renders it, writes its `inputFiles` (a
  `kestra://` value is copied from the internal storage), and runs `set -e` (Kestra's default `failFast`),
  `beforeCommands` then `commands` in a fresh working directory with `/bin/sh`, the task's `env` added. For
  DbtCLI it rewrites `dbt` lines as the plugin in the pinned image does (`dbt_command`) and, as that plugin,
  stores `<projectDir>/target/run_results.json` and `manifest.json` as the task's `outputFiles`.
- Kestra outputs and metrics are the `::{...}::` lines on stdout (what the `kestra` package prints).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
LOOKUP = re.compile(rf"{NAME}(?:\.{NAME}|\['[^'\]]+'\])*")
LOOKUP_PART = re.compile(rf"\.?({NAME})|\['([^'\]]+)'\]")
STORAGE_SCHEME = "kestra://"
KESTRA_LINE = re.compile(r"^::(\{.*\})::$")
DBT_TASK = "io.kestra.plugin.dbt.cli.DbtCLI"


class UnknownExpression(ValueError):
    """A Pebble expression this renderer does not understand, or a name it cannot resolve."""


def render(text: str, context: dict[str, Any]) -> str:
    """`text` with every `{{ a.b['c'] }}` replaced from `context`; UnknownExpression for anything else."""
    if "{%" in text or "{#" in text:
        raise UnknownExpression(f"Pebble tags are not supported here: {text!r}")

    def substitute(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if not LOOKUP.fullmatch(expression):
            raise UnknownExpression(f"unsupported Pebble expression {{{{ {expression} }}}}")
        value: Any = context
        for lookup in LOOKUP_PART.finditer(expression):
            part = lookup.group(1) or lookup.group(2)
            if not isinstance(value, dict) or part not in value:
                raise UnknownExpression(f"unknown name in {{{{ {expression} }}}}")
            value = value[part]
        if isinstance(value, dict | list):
            raise UnknownExpression(f"{{{{ {expression} }}}} is not a scalar")
        return str(value)

    rendered = EXPRESSION.sub(substitute, text)
    if "{{" in rendered or "}}" in rendered:
        raise UnknownExpression(f"unbalanced expression in {text!r}")
    return rendered


def render_tree(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {key: render_tree(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_tree(item, context) for item in value]
    return value


def with_defaults(flow: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """The task with the flow's pluginDefaults for its type filled in (task values win)."""
    merged = dict(task)
    for default in flow.get("pluginDefaults", []):
        if default["type"] == task["type"]:
            for key, value in default["values"].items():
                merged.setdefault(key, value)
    return merged


# The dbt plugin the pinned image `kestra/kestra:v1.0` carries: plugin-dbt 1.0.0 (the only 1.0.x release; 1.1.0,
# built against Kestra 1.0.0 too, rewrites commands the same way). Its DbtCLI.run appends ` --log-format json`
# (the default `logFormat`) to every command starting with `dbt`, even one that has a --log-format, and nothing
# else: `projectDir` only tells it where to read target/run_results.json. Adding `--project-dir <projectDir>`
# (when absent) and `--log-path logs` came later (1.1.2 and 1.3.0, both for Kestra 1.1+).
DBT_PLUGIN_VERSION = "1.0.0"


def dbt_command(command: str) -> str:
    """A `dbt ...` line as plugin-dbt 1.0.0's DbtCLI runs it."""
    return f"{command} --log-format json" if command.startswith("dbt") else command


@dataclass
class TaskRun:
    task_id: str
    script: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class InternalStorage:
    """Kestra's internal storage, as a folder: files put there are named by `kestra://` URIs."""

    root: Path

    def put(self, path: Path) -> str:
        stored = self.root / uuid.uuid4().hex / path.name
        stored.parent.mkdir(parents=True)
        shutil.copyfile(path, stored)
        return STORAGE_SCHEME + stored.relative_to(self.root).as_posix()

    def get(self, uri: str) -> Path:
        if not uri.startswith(STORAGE_SCHEME):
            raise ValueError(f"not an internal storage URI: {uri!r}")
        return self.root / uri.removeprefix(STORAGE_SCHEME)


def write_input_files(files: dict[str, str], workdir: Path, storage: InternalStorage) -> None:
    """`inputFiles` as Kestra writes them: a `kestra://` value is a stored file's content, any other the text."""
    for name, value in files.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if value.startswith(STORAGE_SCHEME):
            shutil.copyfile(storage.get(value), target)
        else:
            target.write_text(value)


def dbt_output_files(rendered: dict[str, Any], workdir: Path, storage: InternalStorage) -> dict[str, str]:
    """What plugin-dbt 1.0.0's DbtCLI keeps of a run: `target/run_results.json` and `target/manifest.json` of
    the project folder (`projectDir`, else the working directory), stored, by file name."""
    target = workdir / rendered.get("projectDir", ".") / "target"
    return {name: storage.put(target / name) for name in ("run_results.json", "manifest.json")
            if (target / name).is_file()}


def run_task(flow: dict[str, Any], task: dict[str, Any], context: dict[str, Any], workdir: Path,
             base_env: dict[str, str], timeout: float = 300, storage: InternalStorage | None = None) -> TaskRun:
    """Render and run one task; its outputs are added to `context['outputs'][task id]` (`vars`, and
    `outputFiles` for DbtCLI). `storage` defaults to a folder beside `workdir`."""
    storage = storage or InternalStorage(workdir.parent / "kestra-storage")
    rendered = render_tree(with_defaults(flow, task), context)
    workdir.mkdir(parents=True, exist_ok=True)
    write_input_files(rendered.get("inputFiles", {}), workdir, storage)
    commands = ["set -e", *rendered.get("beforeCommands", [])]
    if rendered["type"] == DBT_TASK:
        commands += [dbt_command(c) for c in rendered["commands"]]
    else:
        commands += list(rendered["commands"])
    script = "\n".join(commands)
    env = {**base_env, **{k: str(v) for k, v in rendered.get("env", {}).items()}, "WORKING_DIR": str(workdir)}
    result = subprocess.run(["/bin/sh", "-c", script], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    run = TaskRun(task["id"], script, result.returncode, result.stdout, result.stderr)
    for line in result.stdout.splitlines():
        match = KESTRA_LINE.match(line.strip())
        if match:
            message = json.loads(match.group(1))
            run.outputs.update(message.get("outputs", {}))
            run.metrics += message.get("metrics", [])
    outputs: dict[str, Any] = {"vars": run.outputs}
    if rendered["type"] == DBT_TASK:
        outputs["outputFiles"] = dbt_output_files(rendered, workdir, storage)
    context.setdefault("outputs", {})[task["id"]] = outputs
    return run


def base_environment(venv_bin: Path, home: Path) -> dict[str, str]:
    """This process's environment with the venv first on PATH (the image has userpipe and dbt on PATH), minus
    USERPIPE_DATABASE_URL: the database must come from the flow's own `env`."""
    env = {k: v for k, v in os.environ.items() if k != "USERPIPE_DATABASE_URL"}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["USERPIPE_HOME"] = str(home)
    return env
