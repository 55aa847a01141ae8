"""Build `upstream.json`: the lists our API takes from randomuser.me's own published data (API 1.4).

Run once, commit the output:
`.venv/bin/python -m randomuser_api.data.build_upstream --git-dir <Randomuser.me-Node clone>/.git`
(a clone of github.com/RandomAPI/Randomuser.me-Node, MIT License, Copyright (c) 2017 RandomAPI; read at
tag v1.4). randomuser reads each list with `contents.split('\\n').slice(0, -1)`: the last line is dropped,
so a file without a final newline loses its last entry (the time-zone list loses `+12:00`), and entries
keep their trailing spaces. We read them the same way. Taken from there: the common password and time-zone
lists, the LEGO lists (`lego` parameter), the Ukrainian lists (Latin transliteration, as randomuser sends
them), and the lists whose entries carry trailing spaces (BR and RS streets, DK cities, US last names).
Everything else stays as `build_data.py` makes it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

OUT = Path(__file__).with_name("upstream.json")
TAG = "v1.4"
ROOT = "api/1.4/data"
NAT_KEYS = {"male_first": "male_first", "female_first": "female_first", "last": "last",
            "cities": "cities", "states": "states", "streets": "street"}
# nationality -> our list names taken from randomuser's files (all of them for LEGO and UA).
TAKEN: dict[str, tuple[str, ...]] = {
    "LEGO": tuple(NAT_KEYS),
    "UA": tuple(NAT_KEYS),
    "BR": ("streets",),
    "DK": ("cities",),
    "RS": ("streets",),
    "US": ("last",),
}


def read_list(git_dir: Path, path: str) -> list[str]:
    """One list file as randomuser loads it: split on newlines, last piece dropped."""
    text = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{TAG}:{ROOT}/{path}"],
                          check=True, capture_output=True, text=True, encoding="utf-8").stdout
    return text.split("\n")[:-1]


def build(git_dir: Path) -> dict[str, object]:
    nats = {nat: {ours: read_list(git_dir, f"{nat}/lists/{NAT_KEYS[ours]}.txt") for ours in keys}
            for nat, keys in TAKEN.items()}
    timezones = [json.loads(line) for line in read_list(git_dir, "common/lists/timezones.txt")]
    return {
        "source": f"github.com/RandomAPI/Randomuser.me-Node {TAG} ({ROOT}); MIT License, "
                  "Copyright (c) 2017 RandomAPI",
        "nationalities": nats,
        "common": {
            "passwords": read_list(git_dir, "common/lists/passwords.txt"),
            "timezones": [[t["offset"], t["description"]] for t in timezones],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", type=Path, required=True, help="a Randomuser.me-Node git directory")
    doc = build(parser.parse_args().git_dir)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n", "utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
