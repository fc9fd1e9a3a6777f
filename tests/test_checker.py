"""SourceStatCache: doit's MD5 checker with one stat per source file and run, and targets
looked up in one listing of their folder."""
import os

from pipeline.tasks.checker import SourceStatCache
from pipeline.tasks.uptodate import FolderListing


def test_one_stat_per_file_and_doits_md5_rules(tmp_path, monkeypatch):
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    state = SourceStatCache().get_state(str(frame), None)  # (mtime, size, md5) as doit saves it

    calls = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: calls.append(path) or real_stat(path, *a, **k))
    checker = SourceStatCache()
    first = checker.info(str(frame))
    assert checker.info(str(frame)) is first and calls == [str(frame)]  # asked by several sub-tasks
    assert (first.st_mtime, first.st_size) == (frame.stat().st_mtime, 9)
    assert not checker.check_modified(str(frame), first, state)
    monkeypatch.undo()

    os.utime(frame, (1, 1))  # touched, same bytes: not modified
    assert not SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), state)
    frame.write_bytes(b"frame 1!!")  # same size, new bytes: the MD5 tells
    os.utime(frame, (2, 2))
    assert SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), state)


def test_targets_exist_as_one_listing_of_their_folder_says(tmp_path, monkeypatch):
    images = tmp_path / "images"
    images.mkdir()
    (images / "Leg-1-thumb.png").write_bytes(b"png")
    (images / "elsewhere").mkdir()
    (tmp_path / "outside.png").write_bytes(b"png")
    (images / "link.png").symlink_to(tmp_path / "outside.png")
    (images / "dangling.png").symlink_to(tmp_path / "gone.png")
    checker = SourceStatCache(FolderListing())

    def stat_forbidden(path, *args, **kwargs):
        raise AssertionError(f"stat of {path}")
    monkeypatch.setattr(os, "stat", stat_forbidden)
    assert checker.exists(str(images / "Leg-1-thumb.png"))
    assert not checker.exists(str(images / "Leg-2-thumb.png"))
    assert not checker.exists(str(tmp_path / "not-made-yet" / "X.gif"))
    assert checker.exists(str(images / "elsewhere"))
    monkeypatch.undo()
    # a link is what it points to, as os.path.exists says; a folder path as written too
    assert checker.exists(str(images / "link.png")) and not checker.exists(str(images / "dangling.png"))
    assert checker.exists(f"{images}/") and not checker.exists(f"{tmp_path}/missing/")
    assert checker.exists("/tmp")  # a name in the root folder
    monkeypatch.chdir(images)
    assert checker.exists("Leg-1-thumb.png") and not checker.exists("Leg-2-thumb.png")  # in the current folder


def test_without_a_listing_doit_asks_the_file_system(tmp_path):
    target = tmp_path / "X.gif"
    checker = SourceStatCache()
    assert not checker.exists(str(target))
    target.write_bytes(b"GIF89a")
    assert checker.exists(str(target))  # no listing kept: asked again, answered again
