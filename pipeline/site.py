"""A site as the pipeline sees it: its settings and the catalog of its pages, read once."""
from __future__ import annotations

from typing import NamedTuple

from .catalog import Catalog, build_catalog
from .pagecache import read_pages
from .problems import PipelineError
from .settings import Settings


PAGES_CACHE = ".pages-cache"  # in the build folder: see pagecache.py


class Site(NamedTuple):
    settings: Settings
    catalog: Catalog


def open_site(settings: Settings) -> Site:
    """Read every page under the configured pages folder into a catalog (parsing only the
    pages that changed since the last run). The build folder is not searched for pages."""
    where = settings.source.name if settings.source else "the default settings"
    for folder, key in ((settings.pages_dir, "pages"), (settings.images_dir, "images")):
        if not folder.is_dir():
            raise PipelineError(f"{folder}: folder not found ([paths] {key} in {where})")
    pages = read_pages(settings.pages_dir, settings.build_dir / PAGES_CACHE, frozenset([settings.build_dir]))
    return Site(settings, build_catalog(pages))

