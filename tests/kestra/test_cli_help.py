"""`userpipe kestra --help` lists every registered subcommand, in flow order, each with a one-line description."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import typer

from userpipe.commands import kestra

REPO = Path(__file__).resolve().parents[2]
FLOW_FILE = REPO / "kestra" / "main_demo_synthetic_users_realtime.yml"
USERPIPE = Path(sys.executable).parent / "userpipe"
COMMAND_ROW = re.compile(r"│ (\S+) +(\S.*?) *│")


def registered() -> dict[str, str]:
    """Subcommand name -> the first line of its help, in registration order."""
    group = typer.main.get_group(kestra.app)
    with click.Context(group) as ctx:
        commands = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: (command.help or "").strip().splitlines()[0] for name, command in commands.items() if command}


def commands_panel(columns: int) -> list[str]:
    """The rows of the Commands box of `userpipe kestra --help` at a terminal `columns` wide."""
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb"}
    result = subprocess.run([str(USERPIPE), "kestra", "--help"], capture_output=True, text=True, env=env,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "─ Commands ─" in line)
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("╰"))
    return lines[start + 1:end]


def test_help_lists_each_registered_subcommand_once_with_its_one_line_description() -> None:
    expected = registered()
    assert list(expected) == ["ingest", "dbt-env", "check", "record-failure"]
    for columns in (80, 120):
        rows = commands_panel(columns)
        listed = [COMMAND_ROW.fullmatch(row) for row in rows]
        assert all(listed), f"a description wraps at {columns} columns: {rows}"
        assert {m.group(1): m.group(2) for m in listed if m} == expected
        assert [m.group(1) for m in listed if m] == list(expected)


def test_the_subcommands_are_registered_in_the_order_the_flow_runs_them() -> None:
    used = re.findall(r"userpipe kestra ([a-z-]+)", FLOW_FILE.read_text())
    in_flow_order = list(dict.fromkeys(used))
    assert in_flow_order == list(registered())
