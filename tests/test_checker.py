"""SourceStatCache: doit's MD5 checker with one stat per source file and run."""
import os

from pipeline.tasks.checker import SourceStatCache


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
