"""What `make run` / `make test` print on a first run, read from what make would execute (`make -n`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_first_install_says_what_it_does_and_shows_pips_progress(tmp_path: Path) -> None:
    venv = tmp_path / "no-venv-yet"
    # run by `make test`, this make is a sub-make: without --no-print-directory it adds "Entering directory" lines
    done = subprocess.run(["make", "--no-print-directory", "-n", "run", f"VENV={venv}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    commands = done.stdout.splitlines()
    pip_install = [i for i, line in enumerate(commands) if "pip install" in line and ".[dev]" in line]
    announced = [i for i, line in enumerate(commands)
                 if line.startswith("echo ") and "installing userpipe and its dependencies" in line]
    assert pip_install and announced and announced[0] < pip_install[0], done.stdout
    assert "first run only" in commands[announced[0]]
    assert " -q" not in commands[pip_install[0]] and "--quiet" not in commands[pip_install[0]]
    assert commands[-1].endswith("/userpipe run")  # then the pipeline itself
