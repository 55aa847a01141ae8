"""Page folders: a running batch's is never removed by another batch's cleanup; a killed batch's is."""

from __future__ import annotations

from pathlib import Path

from ingestion.randomuser import settings
from ingestion.randomuser.fetching import page_folder, remove_orphan_page_folders


def test_a_held_page_folder_stays_and_an_orphan_goes(tmp_path: Path) -> None:
    orphan = tmp_path / f"{settings.PAGE_FOLDER_PREFIX}killed"
    orphan.mkdir()
    (orphan / "page-1.csv").write_text("uuid\n")
    with page_folder(tmp_path) as held:
        assert held.name.startswith(settings.PAGE_FOLDER_PREFIX)
        (held / "page-1.csv").write_text("uuid\n")
        assert remove_orphan_page_folders(tmp_path) == [orphan]
        assert held.is_dir() and not orphan.exists()
    assert not held.exists()
    assert list(tmp_path.iterdir()) == []
