"""Parsed pages kept between runs: a run in which no page changed parses no YAML.

Reading 300 pages' front matter is a tenth of a second, the largest single cost of a run
that has nothing to do. Each parsed page is kept with its file's size, inode, modification and
status-change times, in `<build>/.pages-cache`; a page whose file differs in any is parsed
again (a copy that keeps the modification time still gets a new status-change time). A page
modified or replaced (by its modification or status-change time) less than two seconds before
it was read is never kept, since a second change within the file system's time resolution
could not be told apart (git's "racily clean" rule).

The file holds `marshal` data: plain tuples of strings and numbers, no code. One written for
another pages folder, by another Python or PyYAML, or by other source code of the parser
(manifests.py) or of this module is ignored: a change to the parsing rules never meets
pages parsed by the old ones.
"""
from __future__ import annotations

import hashlib
import marshal
import stat
import sys
import time
from pathlib import Path

from . import manifests
from .atomic import write_bytes_atomic
from .manifests import GalleryEntry, ImageEntry, Page
from .problems import Problem

RACY_SECONDS = 2.0


def read_pages(pages_dir: Path, cache_file: Path, skip: frozenset[Path] = frozenset()) -> tuple[Page, ...]:
    """`manifests.read_pages(pages_dir)` (leaving out the folders in `skip`), reusing the pages in `cache_file` whose file is as
    it was, and saving the cache again when any page was parsed."""
    header = _header(pages_dir)
    kept = _load(cache_file, header)
    fresh: dict[str, tuple] = {}
    pages = []
    changed = False
    now = time.time()
    for file in manifests.find_page_files(pages_dir, skip):
        name = file.relative_to(pages_dir).as_posix()
        try:
            info = file.stat()
        except OSError:  # a broken symlink, say: read_page tells what is wrong, every run
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            page = manifests.read_page(file, pages_dir)
        else:
            stamp = (info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
            entry = kept.get(name)
            if entry is not None and entry[0] == stamp:
                page = _page(entry[1])
            else:
                changed = True
                page = manifests.read_page(file, pages_dir)
            if now - max(info.st_mtime_ns, info.st_ctime_ns) / 1e9 >= RACY_SECONDS:
                fresh[name] = (stamp, None if page is None else _plain(page))
            else:
                changed = True  # not kept this time: the next run parses it again
        if page is not None:
            pages.append(page)
    if changed or fresh.keys() != kept.keys():
        _save(cache_file, header, fresh)
    return tuple(pages)


def _header(pages_dir: Path) -> tuple:
    """What the kept pages are valid for: this folder, this Python and PyYAML, and this
    source of the parser and of the cache (a digest of the files: no version to forget)."""
    code = hashlib.sha1()
    for module in (manifests.__file__, __file__):
        code.update(Path(module).read_bytes())
    return (str(pages_dir), sys.version, manifests.PARSER, code.hexdigest())


def _load(cache_file: Path, header: tuple) -> dict:
    try:
        kept_header, entries = marshal.loads(cache_file.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return entries if kept_header == header and isinstance(entries, dict) else {}


def _save(cache_file: Path, header: tuple, entries: dict) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cache_file, marshal.dumps((header, entries)))
    except OSError:
        pass  # a read-only build folder only costs parsing again next time


def _plain(page: Page) -> tuple:
    return (page.path, page.title, tuple(map(tuple, page.images)), tuple(map(tuple, page.gallery)),
            page.gallery_line, tuple(map(tuple, page.problems)), page.published)


def _page(plain: tuple | None) -> Page | None:
    if plain is None:
        return None
    path, title, images, gallery, gallery_line, problems, published = plain
    return Page(path, title, tuple(ImageEntry(*i) for i in images), tuple(GalleryEntry(*g) for g in gallery),
                gallery_line, tuple(Problem(*p) for p in problems), published)
