"""The page cache: the same pages as parsing, parsed again only when a file changed."""
import os
import time

import pytest

from conftest import page_text
from pipeline import manifests, pagecache

OLD = time.time() - 3600  # an hour ago: well outside the racy window


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    """Pages written by a test were all just changed (their status-change time is now, whatever
    their modification time): only the tests of the rule itself keep its two seconds."""
    monkeypatch.setattr(pagecache, "RACY_SECONDS", 0.0)


def write_page(path, title, *, mtime=OLD):
    """A page as an editor saves one: a new file renamed over the old (a new inode), with
    the given modification time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(page_text(title, ["muscles/gif/X.gif"], [f"muscles/png/X-{k}.png" for k in (1, 2)]))
    os.utime(temporary, (mtime, mtime))
    os.replace(temporary, path)


def test_cached_pages_equal_parsed_pages_problems_included(tmp_path):
    pages, cache = tmp_path / "pages", tmp_path / "build" / ".pages-cache"
    write_page(pages / "a.md", "Alpha")
    write_page(pages / "sub" / "b.md", "Beta")
    (pages / "broken.md").write_text("---\ngallery: [unclosed\n---\n")
    (pages / "plain.md").write_text("no front matter\n")
    os.utime(pages / "broken.md", (OLD, OLD))
    expected = manifests.read_pages(pages)
    assert any(p.problems for p in expected)
    first = pagecache.read_pages(pages, cache)
    assert cache.is_file()
    assert first == expected and pagecache.read_pages(pages, cache) == expected


def count_parses(monkeypatch) -> list:
    parsed = []
    real = manifests.parse_page
    monkeypatch.setattr(manifests, "parse_page", lambda data, name: parsed.append(name) or real(data, name))
    return parsed


def test_a_kept_page_is_not_parsed_again_and_a_changed_one_is(tmp_path, monkeypatch):
    pages, cache = tmp_path / "pages", tmp_path / ".pages-cache"
    write_page(pages / "a.md", "Alpha")
    write_page(pages / "b.md", "Bravo")
    parsed = count_parses(monkeypatch)
    pagecache.read_pages(pages, cache)
    assert sorted(parsed) == ["a.md", "b.md"]
    parsed.clear()
    assert [p.title for p in pagecache.read_pages(pages, cache)] == ["Alpha", "Bravo"]
    assert parsed == []  # both from the cache
    # other bytes, same size and modification time (a copy with `cp -p`): the status-change
    # time still differs, so it is parsed again
    write_page(pages / "a.md", "Omega")
    assert [p.title for p in pagecache.read_pages(pages, cache)] == ["Omega", "Bravo"]
    assert parsed == ["a.md"]
    (pages / "b.md").unlink()
    assert [p.title for p in pagecache.read_pages(pages, cache)] == ["Omega"]


def test_one_cache_file_shared_by_two_pages_folders_gives_each_its_own_pages(tmp_path, monkeypatch):
    cache = tmp_path / ".pages-cache"
    for folder in ("one", "two"):
        write_page(tmp_path / folder / "a.md", folder)
    pagecache.read_pages(tmp_path / "one", cache)
    assert [p.title for p in pagecache.read_pages(tmp_path / "two", cache)] == ["two"]


def test_a_page_modified_within_the_racy_window_is_never_kept(tmp_path, monkeypatch):
    """The window is 0 here: a modification time later than now is inside it however slow the
    test runs, while the status-change time (now) is not."""
    pages, cache = tmp_path / "pages", tmp_path / ".pages-cache"
    write_page(pages / "a.md", "Alpha", mtime=time.time() + 60)
    parsed = count_parses(monkeypatch)
    assert [p.title for p in pagecache.read_pages(pages, cache)] == ["Alpha"]
    assert [p.title for p in pagecache.read_pages(pages, cache)] == ["Alpha"]
    assert parsed == ["a.md", "a.md"]  # unchanged, and still parsed again


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path):
    pages, cache = tmp_path / "pages", tmp_path / ".pages-cache"
    write_page(pages / "a.md", "Alpha")
    for junk in (b"", b"not marshal data", __import__("marshal").dumps(((0, "other python", "x"), {"a.md": 1}))):
        cache.write_bytes(junk)
        assert [p.title for p in pagecache.read_pages(pages, cache)] == ["Alpha"]


def test_a_page_replaced_with_an_old_modification_time_is_not_kept_at_once(tmp_path, monkeypatch):
    """`cp -p`, rsync or an unpacked archive keep the modification time; the status-change
    time is the new one."""
    monkeypatch.setattr(pagecache, "RACY_SECONDS", 3600.0)
    pages, cache = tmp_path / "pages", tmp_path / ".pages-cache"
    write_page(pages / "a.md", "Alpha", mtime=time.time() - 7200)
    parsed = count_parses(monkeypatch)
    pagecache.read_pages(pages, cache)
    pagecache.read_pages(pages, cache)
    assert parsed == ["a.md", "a.md"]
