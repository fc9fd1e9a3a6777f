"""SourceStatCache: doit's MD5 checker with one stat per source file and run, and targets
looked up in one listing of their folder."""
import os
import time

from doit.dependency import Dependency, MD5Checker, get_file_md5
from doit.task import Task

from pipeline.tasks import checker
from pipeline.tasks.backend import BoundedSqliteDB
from pipeline.tasks.checker import SourceStatCache
from pipeline.tasks.refresh import refresh_records
from pipeline.tasks.uptodate import FolderListing


def test_one_stat_per_file_and_doits_md5_rules(tmp_path, monkeypatch):
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    state = SourceStatCache().get_state(str(frame), None)  # (mtime, size, 'md5 stamp')

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


def test_new_bytes_of_the_same_size_under_the_same_time_are_modified(tmp_path):
    """The status-change time tells what size and time cannot: a render written over another,
    keeping its time (`cp -p`, `touch -r`), in place or by a rename."""
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    before = frame.stat()
    state = SourceStatCache().get_state(str(frame), None)
    time.sleep(0.01)  # a later change time, on a file system that keeps it in jiffies too
    frame.write_bytes(b"frame 1!!")  # in place: the same inode
    os.utime(frame, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (frame.stat().st_size, frame.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), state)

    (tmp_path / "new.png").write_bytes(b"frame one")  # the old bytes back, by a rename
    os.utime(tmp_path / "new.png", ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(tmp_path / "new.png", frame)
    assert not SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), state)

    before_stamps = (state[0], state[1], state[2].split()[0])  # doit's own (mtime, size, md5)
    assert not SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), before_stamps)
    # and an older pipeline, or doit's own checker, reads the new state without a traceback
    assert MD5Checker().check_modified(str(frame), os.stat(frame), state) is False  # same time
    os.utime(frame, (1, 1))
    assert MD5Checker().check_modified(str(frame), os.stat(frame), state) is True  # made again, once
    for foreign in ([1.0, 9], None, [1.0, 9, 5], "x"):  # not this checker's: the file counts as changed
        assert SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), foreign or [])


def runs_of(tasks, db_file):
    """Each call: one doit run's statuses of `tasks`, with the pipeline's checker and
    backend, saving them as built when they had to run."""
    def run():
        manager = Dependency(BoundedSqliteDB, str(db_file), checker_cls=SourceStatCache)
        refresh_records(manager)
        statuses = []
        for task in tasks:
            statuses.append(manager.get_status(task, {t.name: t for t in tasks}).status)
            if statuses[-1] == "run":
                manager.save_success(task)
        manager.close()
        return statuses
    return run


def test_a_touched_source_is_hashed_once_a_run_and_then_no_more(tmp_path, monkeypatch):
    """Each frame is read by several sub-tasks; touched with the same bytes they are up to
    date, and doit would keep their old states, so that the frame was hashed by each of them
    on every run after."""
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    tasks = [Task(name, [(print, [])], file_dep=[str(frame)]) for name in ("gif", "webp", "thumbnails")]
    run = runs_of(tasks, tmp_path / ".doit.db")
    hashed = []
    monkeypatch.setattr(checker, "get_file_md5", lambda path: hashed.append(path) or get_file_md5(path))
    assert run() == ["run"] * 3
    assert hashed == [str(frame)]  # once, for the three states saved

    os.utime(frame, (1, 1))
    hashed.clear()
    monkeypatch.setattr(checker, "RACY_SECONDS", 0.0)
    assert run() == ["up-to-date"] * 3 and hashed == [str(frame)]
    hashed.clear()
    assert run() == ["up-to-date"] * 3 and hashed == []  # the new state was saved

    monkeypatch.setattr(checker, "RACY_SECONDS", 60.0)  # touched just now: its stamp is not trusted yet
    os.utime(frame, (2, 2))
    assert run() == ["up-to-date"] * 3 and run() == ["up-to-date"] * 3
    assert hashed == [str(frame)] * 2
    frame.write_bytes(b"frame 1!!")
    assert run() == ["run"] * 3


def test_a_source_with_a_time_in_the_future_is_hashed_once_too(tmp_path, monkeypatch):
    """An archive or another machine's clock: the racy rule goes by the change time, which the
    kernel sets; by the modification time, the file stayed 'just changed' until its time came."""
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    run = runs_of([Task("gif", [(print, [])], file_dep=[str(frame)])], tmp_path / ".doit.db")
    assert run() == ["run"]
    hour_ahead = time.time() + 3600
    os.utime(frame, (hour_ahead, hour_ahead))
    monkeypatch.setattr(checker, "RACY_SECONDS", 0.0)
    hashed = []
    monkeypatch.setattr(checker, "get_file_md5", lambda path: hashed.append(path) or get_file_md5(path))
    assert run() == ["up-to-date"] and run() == ["up-to-date"]
    assert hashed == [str(frame)]


def test_a_source_changed_while_its_sub_task_ran_makes_it_run_again(tmp_path):
    """doit records the state after the sub-task: it recorded the new frame, for outputs
    made from the old one, and never made them again."""
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    task = Task("gif", [(print, [])], file_dep=[str(frame)], targets=[str(tmp_path / "Leg.gif")])
    for first in (True, False):  # a first build (its target missing) and a rebuild
        manager = Dependency(BoundedSqliteDB, str(tmp_path / ".doit.db"), checker_cls=SourceStatCache)
        refresh_records(manager)
        assert manager.get_status(task, {task.name: task}).status == "run"
        time.sleep(0.01)
        frame.write_bytes(b"frame two" if first else b"frame 3!!")  # while it runs
        (tmp_path / "Leg.gif").write_bytes(b"GIF")
        manager.save_success(task)
        manager.close()
        manager = Dependency(BoundedSqliteDB, str(tmp_path / ".doit.db"), checker_cls=SourceStatCache)
        assert manager.get_status(task, {task.name: task}).status == "run"
        manager.close()


def test_a_source_that_cannot_be_read_is_changed_not_a_traceback(tmp_path, monkeypatch):
    frame = tmp_path / "Leg-1.png"
    frame.write_bytes(b"frame one")
    state = SourceStatCache().get_state(str(frame), None)
    os.utime(frame, (1, 1))

    def unreadable(path):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(checker, "get_file_md5", unreadable)  # chmod a-r, for a user who is not root
    assert SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), state)
    unmatched = SourceStatCache().get_state(str(frame), state)
    monkeypatch.undo()
    assert SourceStatCache().check_modified(str(frame), SourceStatCache().info(str(frame)), unmatched)
    frame.unlink()
    assert SourceStatCache().get_state(str(frame), state) == (0.0, -1, "- -")


def test_what_is_known_of_a_source_goes_once_its_readers_ran(tmp_path, monkeypatch):
    """A fresh build of 250 animations reads 4,000 frames: the build's process keeps what it
    knows of a frame only while sub-tasks that read it are to run, and the last MD5s only."""
    monkeypatch.setattr(checker, "HASHES_KEPT", 2)
    frames = []
    for k in range(3):
        frames.append(tmp_path / f"Leg-{k}.png")
        frames[-1].write_bytes(b"frame %d" % k)
    source = SourceStatCache()
    source.snapshot([str(frames[0])] * 2)  # two sub-tasks read it
    source.get_state(str(frames[0]), None)
    assert source.was_hashed(str(frames[0])) and str(frames[0]) in source._stats
    source.get_state(str(frames[0]), None)
    assert str(frames[0]) not in source._stats  # both ran
    for frame in frames[1:]:
        source.get_state(str(frame), None)
    assert [source.was_hashed(str(frame)) for frame in frames] == [False, True, True]
