"""`userpipe ingest`: bad input is one readable line and exit code 1, with raw untouched; success prints the seed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from randomuser_api import LocalApi
from tests.fixtures.cli import run_cli
from tests.ingestion.conftest import Answer, FakeApi, raw_snapshot, scalar
from userpipe import warehouse

USERPIPE = str(Path(sys.executable).with_name("userpipe"))


@pytest.fixture(scope="module")
def untouched_database(make_database: Callable[[], str]) -> str:
    """One database for all bad-input cases: none of them may write anything to it."""
    return make_database()


@pytest.fixture
def bad_input_env(untouched_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv(warehouse.DATABASE_URL_ENV, untouched_database)
    monkeypatch.setenv(warehouse.HOME_ENV, str(tmp_path / "userpipe-home"))
    monkeypatch.setenv("SOURCES__RANDOMUSER__MAX_ATTEMPTS", "1")  # the unreachable URL fails at once
    return untouched_database


@pytest.mark.parametrize(("args", "message"), [
    (["--batch-size", "0"], "batch size must be in 1..100000, got 0"),
    (["--batch-size", "-1"], "batch size must be in 1..100000, got -1"),
    (["--batch-size", "100001"], "batch size must be in 1..100000, got 100001"),
    (["--batch-size", "abc"], "batch size must be a whole number in 1..100000, got 'abc'"),
    (["-n", "5", "--nat", "XX"], "unknown nationality XX; choose from AU BR CA"),
    (["-n", "5", "--nat", "us,gb,zz"], "unknown nationality ZZ"),
    (["-n", "5", "--nat", "fr", "--nat", "Atlantis"], "unknown nationality ATLANTIS"),
    (["-n", "5", "--nat", "US,,GB"], "--nat 'US,,GB' has an empty code; give codes like US,GB"),
    (["-n", "5", "--nat", ""], "--nat '' has an empty code"),
    (["-n", "5", "--nat", "fr", "--nat", "gb,"], "--nat 'gb,' has an empty code"),
    (["-n", "5", "--api-url", "ftp://example.com/api/"], "API URL must be an http(s) URL"),
    (["-n", "5", "--api-url", "http://127.0.0.1:1/api/"], "cannot reach API http://127.0.0.1:1/api/"),
    (["-n", "5", "--page", "x"], "page must be a whole number"),
    (["-n", "5", "--seed", "a b"], "seed must be 1-64 letters"),
    (["-n", "5", "--time-limit", "0"], "time limit must be more than 0 seconds, got '0'"),
    (["-n", "5", "--time-limit", "soon"], "time limit must be a number of seconds, got 'soon'"),
])
def test_bad_input_is_one_line_and_exit_code_1(
        bad_input_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        args: list[str], message: str) -> None:
    code, _, err = run_cli(["ingest", *args], capsys, monkeypatch)

    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert raw_snapshot(bad_input_env) == {"tables": []}


def test_a_foreign_url_through_the_script(database_url: str, fake_api: Callable[[Answer], FakeApi]) -> None:
    api = fake_api(lambda params: (200, "text/html", b"<html>not an API</html>"))

    done = subprocess.run([USERPIPE, "ingest", "-n", "3", "--api-url", api.url],
                          capture_output=True, text=True, check=False, timeout=120)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: API {api.url} (seed ") and "malformed or truncated JSON" in done.stderr
    assert raw_snapshot(database_url) == {"tables": []}


def test_ingest_prints_what_it_did_and_how_to_reproduce_it(database_url: str, local_api: LocalApi) -> None:
    done = subprocess.run([USERPIPE, "ingest", "--batch-size", "25", "--nat", "fr", "--api-url", local_api.url],
                          capture_output=True, text=True, check=True, timeout=120)

    assert "25 users fetched, 25 landed, 25 new in raw.users" in done.stdout
    seed = done.stdout.split("seed ", 1)[1].split(",", 1)[0]
    reproduce = f"reproduce: userpipe ingest --batch-size 25 --seed {seed} --page 1 --nat FR --api-url {local_api.url}"
    assert reproduce in done.stdout.splitlines()
    assert scalar(database_url, "select count(*) from raw.users where request_seed = %s", (seed,)) == 25


def test_the_reproduce_line_leaves_out_our_in_process_api(database_url: str) -> None:
    done = subprocess.run([USERPIPE, "ingest", "--batch-size", "3", "--seed", "here"],
                          capture_output=True, text=True, check=True, timeout=120)

    assert "reproduce: userpipe ingest --batch-size 3 --seed here --page 1" in done.stdout.splitlines()


def test_ingest_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["ingest", "--help"], capsys, monkeypatch)

    assert code == 0
    assert "--batch-size" in out and "--seed" in out and "--nat" in out and "--api-url" in out
