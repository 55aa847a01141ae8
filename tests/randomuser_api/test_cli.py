"""`userpipe api serve` flags: faults parsed, bad flags one readable line with a non-zero exit."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from userpipe.commands.api import app, parse_fault_flags
from userpipe.errors import UserpipeError


def test_fault_flags_parse() -> None:
    faults = parse_fault_flags(["429:2", "slow", "invalid"], times=-1, delay=0.5, retry_after=3,
                               invalid_fields="email,uuid")
    assert [(f.kind, f.times) for f in faults] == [("429", 2), ("slow", -1), ("invalid", -1)]
    assert faults[0].retry_after == 3 and faults[1].delay == 0.5
    assert faults[2].fields == ("email", "uuid")


@pytest.mark.parametrize("flags", [["teapot"], ["429:x"], ["429:-5"]])
def test_bad_fault_flags_are_one_line_errors(flags: list[str]) -> None:
    with pytest.raises(UserpipeError) as info:
        parse_fault_flags(flags, times=1, delay=1.0, retry_after=1, invalid_fields=None)
    assert "\n" not in str(info.value)


def test_bad_invalid_fields() -> None:
    with pytest.raises(UserpipeError, match="unknown invalid field"):
        parse_fault_flags(["invalid"], times=1, delay=1.0, retry_after=1, invalid_fields="shoe")


def test_help_lists_the_fault_flags() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--fault", "--fault-times", "--delay", "--retry-after"):
        assert flag in result.output


def test_bad_port_exits_non_zero() -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code != 0
