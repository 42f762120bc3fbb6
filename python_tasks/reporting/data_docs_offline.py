"""Make a GX Data Docs site open offline: its CDN scripts, styles and fonts served from beside it.

The vendored files (``data_docs_assets/``, with their versions and licences) are copied into
``<site>/static/vendor/`` and every page's CDN address is rewritten to a relative path to them.
Running it again on a rebuilt site is harmless: addresses already rewritten are left alone.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
VENDOR_SUBDIR = Path("static") / "vendor"

# Every address the GX 1.x templates load, and the vendored file that replaces it.
CDN_TO_LOCAL: dict[str, str] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-filter-control-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-filter-control-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-filter-control-1.19.1.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper-1.12.9.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-prefers-dark-1.1.0.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0.min.js",
}

# The navbar's logo comes from GX's web bucket; the same image ships in the site's static/images.
_GX_IMAGE = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/([\w.-]+)(\?[^\"']*)?")

# Longest first: "vega@5" must not eat the start of a longer address.
_ORDERED = sorted(CDN_TO_LOCAL, key=len, reverse=True)


def remaining_cdn_links(text: str) -> list[str]:
    """CDN addresses still in a page (after rewriting: none that we know of)."""
    return [url for url in _ORDERED if url in text] + [m.group(0) for m in _GX_IMAGE.finditer(text)]


def make_offline(site_dir: Path) -> int:
    """Vendor the assets into ``site_dir`` and rewrite its pages; returns the pages changed."""
    site_dir = Path(site_dir)
    vendor = site_dir / VENDOR_SUBDIR
    shutil.copytree(ASSETS_DIR, vendor, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    changed = 0
    for page in site_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        prefix = Path(os.path.relpath(vendor, page.parent)).as_posix()
        new = text
        for url in _ORDERED:
            if url in new:
                new = new.replace(url, f"{prefix}/{CDN_TO_LOCAL[url]}")
        images = Path(os.path.relpath(site_dir / "static" / "images", page.parent)).as_posix()
        new = _GX_IMAGE.sub(lambda m, images=images: f"{images}/{m.group(1)}", new)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    log.info("Data Docs in %s made to open offline (%d pages rewritten)", site_dir, changed)
    return changed
