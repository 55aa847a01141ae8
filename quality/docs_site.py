"""The data docs site, offline: GX's pages with their CDN scripts and styles pointed at vendored copies.

Great Expectations' page templates load jquery, bootstrap, bootstrap-table, font-awesome... from CDNs, so
without a network the index shows no list. `OfflineSiteBackend`, the site's store backend, rewrites every page
as it is written: each CDN URL becomes the relative path of the same file in `static/vendor/` (copied from
`quality/static/vendor/`, see its README), a CDN without a vendored copy (vega, charts we never render) loses
its tag, GX's logo comes from its own `static/images/`, and every reference to `static/` gets the page's true
depth.

great_expectations is imported by `quality.context` before this module is loaded.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from great_expectations.data_context.store import TupleFilesystemStoreBackend

VENDOR_SOURCE = Path(__file__).parent / "static" / "vendor"
VENDOR_FOLDER = "static/vendor"  # inside the docs site

# CDN URL in GX 1.24's templates -> file under static/vendor/ (None: the tag is dropped)
CDN_FILES: dict[str, str | None] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": None,
    "https://cdn.jsdelivr.net/npm/vega-lite@5": None,
    "https://cdn.jsdelivr.net/npm/vega-embed@6": None,
}
GX_IMAGES_CDN = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"

_TAG = re.compile(r'<(script|link)\b[^>]*?\b(?:src|href)="(https?://[^"]+)"[^>]*>(</script>)?', re.IGNORECASE)
_CHECKS = re.compile(r'\s(?:integrity|crossorigin)="[^"]*"')  # SRI needs CORS, which file:// pages cannot do
# a reference to the site's own static/ folder (GX's templates get the depth of a validation page wrong by one)
_STATIC = re.compile(r'\b((?:src|href)=")(?:\./|(?:\.\./)+)static/')


def offline_html(page: str, to_root: str) -> str:
    """`page` with its CDN scripts and styles replaced by the vendored files, `to_root` being the relative path
    from the page to the site's root ("" for index.html, "../" one folder down...)."""

    def local(match: re.Match[str]) -> str:
        url = match.group(2)
        if url not in CDN_FILES:
            return match.group(0)
        target = CDN_FILES[url]
        if target is None:
            return ""
        return _CHECKS.sub("", match.group(0).replace(url, f"{to_root}{VENDOR_FOLDER}/{target}"))

    page = _TAG.sub(local, page).replace(GX_IMAGES_CDN, f"{to_root}static/images/")
    return _STATIC.sub(lambda match: f"{match.group(1)}{to_root}static/", page)


def install_vendored_assets(site: Path) -> None:
    """Copy the vendored files into the site's `static/vendor/` (once per site and process is enough)."""
    shutil.copytree(VENDOR_SOURCE, site / VENDOR_FOLDER, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("README.md"))


class OfflineSiteBackend(TupleFilesystemStoreBackend):
    """The site's file store: HTML pages are written with `offline_html`; everything else as GX gives it."""

    def _set(self, key: Any, value: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            path = PurePosixPath(self._convert_key_to_filepath(key if isinstance(key, tuple) else key.to_tuple()))
            if path.suffix == ".html":
                value = offline_html(value, "../" * (len(path.parts) - 1))
        return super()._set(key, value, **kwargs)
