"""The `userpipe` command line as a user meets it: every --help, usage errors, and README's command table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.core
import typer.main

from userpipe import cli

USERPIPE = str(Path(sys.executable).with_name("userpipe"))
README = Path(__file__).resolve().parents[1] / "README.md"
# typer's shell-completion options and --help are not userpipe's own
NOT_DOCUMENTED = {"--help", "--install-completion", "--show-completion"}


def userpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([USERPIPE, *args], capture_output=True, text=True, timeout=60, check=False)


def command_paths() -> dict[str, typer.core.TyperCommand | typer.core.TyperGroup]:
    """Every command and group of the CLI by its path, e.g. `userpipe kestra ingest`."""
    found: dict[str, typer.core.TyperCommand | typer.core.TyperGroup] = {}
    root = typer.main.get_command(cli.cli)
    pending: list[tuple[str, typer.core.TyperCommand | typer.core.TyperGroup]] = [("userpipe", root)]  # type: ignore[list-item]
    while pending:
        path, command = pending.pop()
        found[path] = command
        if isinstance(command, typer.core.TyperGroup):
            pending += [(f"{path} {name}", sub) for name, sub in command.commands.items()]  # type: ignore[misc]
    return found


def long_options(command: typer.core.TyperCommand | typer.core.TyperGroup) -> list[str]:
    return [opt for param in command.params for opt in param.opts
            if opt.startswith("--") and opt not in NOT_DOCUMENTED]


PATHS = command_paths()


def test_the_tree_holds_the_commands_readme_names() -> None:
    assert {"userpipe run", "userpipe ingest", "userpipe transform", "userpipe check", "userpipe status",
            "userpipe api serve", "userpipe db url", "userpipe db stop", "userpipe quickstart",
            "userpipe kestra dbt-env"} <= set(PATHS)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_help_exits_0_and_shows_flags_bare(path: str) -> None:
    done = userpipe(*path.split()[1:], "--help")

    assert done.returncode == 0, done.stderr
    assert "Usage: " in done.stdout and done.stderr == ""
    assert "<bool>" not in done.stdout  # `--once`, not `--once <bool>`
    flags = [opt for param in PATHS[path].params if getattr(param, "is_flag", False)
             for opt in param.opts if opt.startswith("--")]
    for flag in flags:
        if flag in NOT_DOCUMENTED:
            continue
        # the option's own row of the panel: `│ --once     Run one cycle...`
        [row] = [line for line in done.stdout.splitlines() if re.match(rf"\W*{re.escape(flag)}(?![\w-])", line)]
        assert not re.search(rf"{re.escape(flag)}\s+(-\w\s+)?<", row), row


@pytest.mark.parametrize(("args", "message", "hint"), [
    (["run", "--bogus"], "No such option: --bogus", "try 'userpipe run --help'"),
    (["bogus"], "No such command 'bogus'", "try 'userpipe --help'"),
    (["kestra", "ingest"], "Missing option '--run-id'", "try 'userpipe kestra ingest --help'"),
    (["status", "--cycles", "abc"], "Invalid value for '--cycles'", "try 'userpipe status --help'"),
    (["run", "--batch-size"], "Option '--batch-size' requires an argument", "try 'userpipe run --help'"),
    (["kestra", "check", "--run-id", "x", "--load-id"], "Option '--load-id' requires an argument",
     "try 'userpipe kestra check --help'"),
    (["run", "--once=yes"], "Option '--once' does not take a value", "try 'userpipe run --help'"),
])
def test_usage_errors_are_one_error_line_a_hint_and_exit_2(args: list[str], message: str, hint: str) -> None:
    done = userpipe(*args)

    assert done.returncode == 2
    error, *rest = done.stderr.splitlines()
    assert error.startswith("error: ") and message in error, done.stderr
    assert rest == [hint], done.stderr
    assert done.stdout == ""


def test_readme_says_what_the_cli_does_with_bad_input() -> None:
    section = commands_section()
    assert "one `error:` line and exit code 1" in section
    assert "exit code 2" in section and "try 'userpipe run --help'" in section


def commands_section() -> str:
    text = README.read_text()
    return text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]


def readme_rows() -> list[str]:
    """The first cell of every row of README's command table."""
    return [line.split(" | ", 1)[0] for line in commands_section().splitlines() if line.startswith("| `userpipe")]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_readme_command_table_names_every_option(path: str) -> None:
    options = long_options(PATHS[path])
    if isinstance(PATHS[path], typer.core.TyperGroup):  # a group's own options: the root's --verbose
        assert all(option in commands_section() for option in options), options
        return
    rows = [row for row in readme_rows() if re.search(rf"`{re.escape(path)}[ `]", row)]
    assert rows, f"README's command table has no row for {path}"
    missing = [option for option in options if not any(re.search(rf"{option}(?![\w-])", row) for row in rows)]
    assert not missing, f"README's row for {path} misses {missing}"


def test_a_bad_run_option_is_answered_before_dlt_or_dbt_is_imported() -> None:
    """`userpipe run` checks its options with the light modules only (ingestion.randomuser imports nothing)."""
    probe = ("import sys\nfrom userpipe import cli\nsys.argv = ['userpipe', 'run', '--once', '--nat', 'US,,GB']\n"
             "try:\n    cli.app()\nexcept SystemExit as done:\n"
             "    print(done.code, sorted({'dlt', 'dbt'} & {name.split('.')[0] for name in sys.modules}))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert "has an empty code" in done.stderr
    assert done.stdout.split("\n")[-2] == "1 []", done.stdout
