import os
import time

import pytest

from pipeline import assetcache

OLD = time.time() - 60  # modified long enough ago to be kept


def describe_counting(calls):
    def describe(file):
        calls.append(file.name)
        return {"bytes": file.stat().st_size, "text": file.read_text()}
    return describe


def write(folder, name, text, when=OLD):
    path = folder / name
    temporary = folder / f".{name}.tmp"
    temporary.write_text(text)
    os.utime(temporary, (when, when))
    os.replace(temporary, path)  # as the pipeline writes its outputs: a new file under the name


def run(folder, cache, calls, paths=None, depends_on=("code 1",)):
    paths = sorted(p.name for p in folder.iterdir()) if paths is None else paths
    return dict(assetcache.described(describe_counting(calls), folder, paths, cache, list(depends_on)))


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    """Files written by a test were all just changed (renaming sets their status-change
    time): only the tests of the rule itself keep its two seconds."""
    monkeypatch.setattr(assetcache, "RACY_SECONDS", 0.0)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.png", "b.gif", "c.mp4"):
        write(folder, name, name * 3)
    return folder


def test_files_as_they_were_are_not_described_again(images, tmp_path):
    cache, calls = tmp_path / ".assets-cache", []
    first = run(images, cache, calls)
    assert calls == ["a.png", "b.gif", "c.mp4"]
    calls.clear()
    assert run(images, cache, calls) == first
    assert calls == []


def test_a_rewritten_added_or_removed_file_is_described_again_or_dropped(images, tmp_path):
    cache, calls = tmp_path / ".assets-cache", []
    run(images, cache, calls)
    write(images, "b.gif", "another picture")  # same name, new content (and a new inode)
    write(images, "ab.webp", "new")
    (images / "c.mp4").unlink()
    calls.clear()
    entries = run(images, cache, calls)
    assert calls == ["ab.webp", "b.gif"]
    assert entries["b.gif"] == {"bytes": 15, "text": "another picture"}
    assert sorted(entries) == ["a.png", "ab.webp", "b.gif"]


def test_a_file_modified_within_the_racy_window_is_not_kept(images, tmp_path):
    """Two changes within the file system's time resolution cannot be told apart. The window
    is 0 here: a modification time later than the cache's own is inside it however slow the
    test runs, while the status-change time (now) is not."""
    cache, calls = tmp_path / ".assets-cache", []
    write(images, "b.gif", "fresh", when=time.time() + 60)
    run(images, cache, calls)
    calls.clear()
    run(images, cache, calls)
    assert calls == ["b.gif"]


def test_a_file_replaced_with_an_old_modification_time_is_not_kept_at_once(tmp_path, monkeypatch):
    """`cp -p` or rsync keep the modification time; the status-change time is the new one."""
    monkeypatch.setattr(assetcache, "RACY_SECONDS", 3600.0)
    folder = tmp_path / "copied"
    folder.mkdir()
    write(folder, "a.png", "kept from two hours ago", when=time.time() - 7200)
    cache, calls = tmp_path / ".assets-cache", []
    run(folder, cache, calls)
    calls.clear()
    run(folder, cache, calls)
    assert calls == ["a.png"]  # its status-change time is of just now


def test_many_files_keep_their_order_and_entries(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    names = [f"f{n:02d}.png" for n in range(30)]
    for name in names:
        write(folder, name, name)
    cache, calls = tmp_path / ".assets-cache", []
    first = list(assetcache.described(describe_counting(calls), folder, names, cache, []))
    assert [path for path, _ in first] == names
    assert [entry["text"] for _, entry in first] == names
    write(folder, "f17.png", "new")
    calls.clear()
    second = list(assetcache.described(describe_counting(calls), folder, names, cache, []))
    assert calls == ["f17.png"]
    assert [entry["text"] for _, entry in second] == names[:17] + ["new"] + names[18:]


def test_other_code_or_versions_describe_everything_again(images, tmp_path):
    cache, calls = tmp_path / ".assets-cache", []
    run(images, cache, calls, depends_on=["code 1", "Pillow 12"])
    calls.clear()
    run(images, cache, calls, depends_on=["code 1", "Pillow 13"])
    assert calls == ["a.png", "b.gif", "c.mp4"]


def test_a_cache_for_another_folder_or_damaged_is_not_used(images, tmp_path):
    cache, calls = tmp_path / ".assets-cache", []
    run(images, cache, calls)
    other = tmp_path / "other"
    images.rename(other)
    calls.clear()
    run(other, cache, calls)
    assert calls == ["a.png", "b.gif", "c.mp4"]
    lines = cache.read_text().splitlines()
    cache.write_text("\n".join([lines[0], lines[1], "{not json", lines[3]]) + "\n")
    calls.clear()
    run(other, cache, calls)
    assert calls == ["b.gif", "c.mp4"]  # kept up to the damage, described from there on
    calls.clear()
    run(other, cache, calls)
    assert calls == []  # and written whole again


def test_a_failure_midway_keeps_the_old_cache_and_leaves_no_temporary(images, tmp_path):
    cache, calls = tmp_path / ".assets-cache", []
    run(images, cache, calls)
    before = cache.read_bytes()
    write(images, "b.gif", "changed")

    def failing(file):
        raise OSError(5, "Input/output error")
    with pytest.raises(OSError):
        list(assetcache.described(failing, images, sorted(p.name for p in images.iterdir()), cache, ["code 1"]))
    assert cache.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".assets-cache", "images"]


def test_a_full_disk_while_the_caller_writes_is_its_error_alone(images, tmp_path, monkeypatch):
    """The bundle stops reading when its own write fails (a full disk): closing the cache then
    failed too, as "Exception ignored in <generator>" and a traceback."""
    cache = tmp_path / ".assets-cache"
    real_open = open

    class FullDisk:
        def __init__(self, file):
            self.file = file

        def write(self, text):
            return self.file.write(text)

        def flush(self):
            self.file.flush()

        def close(self):
            self.file.close()
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(assetcache, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), raising=False)
    entries = assetcache.described(describe_counting([]), images, ["a.png", "b.gif", "c.mp4"], cache, ["code 1"])
    next(entries)
    entries.close()  # the caller stopped: no second error
    assert not cache.exists() and [p.name for p in tmp_path.iterdir()] == ["images"]
