import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.atomic import atomic_path
from pipeline.buildlock import BuildLock, remove_stale_temporaries

HOLD = """
import sys, time
from pathlib import Path
from pipeline.buildlock import BuildLock
lock = BuildLock(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_second_build_waits_and_says_why(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "1.5"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(BlockingIOError, match=f"another build is running in {tmp_path} \\(pid {holder.pid}\\)"):
        BuildLock(tmp_path, wait=False)
    started = time.monotonic()
    waiter = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path), "0"], capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started > 0.5  # it waited for the holder to finish
    assert "another build is running" in waiter.stderr and "waiting for it to finish" in waiter.stderr
    holder.wait(timeout=30)


def test_ctrl_c_while_waiting_for_the_lock_ends_with_a_line(site_folder):
    site_folder.add_animation("Leg-Soleus", 2)
    site_folder.build.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(site_folder.build), "60"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    try:
        waiter = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(site_folder.config)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not _waits_on(waiter.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        waiter.send_signal(signal.SIGINT)
        _out, err = waiter.communicate(timeout=30)
    finally:
        holder.kill()
        holder.wait()
    assert "waiting for it to finish" in err
    assert "Traceback" not in err, err
    assert err.rstrip().endswith("pipeline: interrupted; every file written so far is whole and kept, "
                                 "and the next run goes on from there")
    assert waiter.returncode == 130


def _waits_on(pid: int) -> bool:
    """Whether process `pid` is asleep in the lock's fcntl (Linux's /proc tells)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text() in ("do_lock_file_wait", "fcntl_setlk", "locks_lock_inode_wait")
    except OSError:
        return False


def test_a_killed_holder_releases_the_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    BuildLock(tmp_path, wait=False).release()


def other_process_takes(build_dir) -> subprocess.CompletedProcess:
    """Another process tries `BuildLock(build_dir, wait=False)` and releases it at once."""
    code = "import sys\nfrom pathlib import Path\nfrom pipeline.buildlock import BuildLock\n" \
           "BuildLock(Path(sys.argv[1]), wait=False).release()"
    return subprocess.run([sys.executable, "-c", code, str(build_dir)], capture_output=True, text=True, timeout=30)


def assert_other_process_is_refused(build_dir):
    refused = other_process_takes(build_dir)
    assert refused.returncode == 1
    assert refused.stderr.rstrip().endswith(
        f"BlockingIOError: another build is running in {build_dir} (pid {os.getpid()})")


def test_the_same_process_may_take_it_again(tmp_path):
    first = BuildLock(tmp_path, wait=False)
    second = BuildLock(tmp_path, wait=False)  # record locks belong to the process: no self-deadlock
    assert_other_process_is_refused(tmp_path)
    second.release()
    assert_other_process_is_refused(tmp_path)  # `first` still holds it
    first.release()
    taken = other_process_takes(tmp_path)
    assert (taken.returncode, taken.stderr) == (0, "")


def test_the_lock_is_kept_until_the_last_holder_is_released_in_any_order(tmp_path):
    first = BuildLock(tmp_path, wait=False)
    second = BuildLock(tmp_path, wait=False)
    first.release()
    assert_other_process_is_refused(tmp_path)  # `second` still holds it
    del second  # dropped without release(), as a forgotten doit namespace would be
    assert other_process_takes(tmp_path).returncode == 0


def test_stale_temporaries_are_removed_and_outputs_and_the_user_s_files_kept(tmp_path):
    (tmp_path / "images").mkdir()
    keep = tmp_path / "images" / "a.gif"
    with atomic_path(keep) as temporary:
        temporary.write_bytes(b"GIF89a")
        stale = temporary.with_name(temporary.name)  # what a killed build would leave
    stale.write_bytes(b"half")
    # a build folder may hold the user's own files (`build = "."`): dotfiles with ".tmp" in
    # their names were deleted with the temporaries
    (tmp_path / "notes").mkdir()
    theirs = [tmp_path / ".env.tmpl", tmp_path / "notes" / ".draft.tmp.md", tmp_path / ".notes.tmp"]
    for path in theirs:
        path.write_text("mine")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert keep.exists() and not stale.exists() and all(path.exists() for path in theirs)


def test_interrupted_atomic_write_leaves_neither_target_nor_temporary(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as temporary:
        assert temporary.suffix == ".png" and temporary.parent == tmp_path
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]


def test_a_write_that_fails_names_the_file_being_written(tmp_path):
    import errno

    target = tmp_path / "Leg-Soleus-1-thumb.png"
    with pytest.raises(OSError) as error:
        with atomic_path(target):
            raise OSError(errno.ENOSPC, "No space left on device")  # as a full disk's write() does
    assert str(error.value) == f"[Errno 28] No space left on device: '{target}'"
    assert list(tmp_path.iterdir()) == []


def test_a_name_near_the_file_system_s_limit_is_still_written(tmp_path):
    target = tmp_path / ("L" * 240 + "-thumb.webp")  # 251 bytes: the temporary's name is cut to fit
    with atomic_path(target) as temporary:
        assert len(temporary.name.encode()) <= 255 and temporary.suffix == ".webp"
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]
    named = tmp_path / ("é" * 120 + ".png")  # 244 bytes of UTF-8: cut between characters, not inside one
    with atomic_path(named) as temporary:
        temporary.write_bytes(b"whole")
        left_behind = temporary.with_name(temporary.name)  # what a killed build would leave
    assert named.read_bytes() == b"whole"
    left_behind.write_bytes(b"half")
    assert remove_stale_temporaries(tmp_path) == [left_behind]


def test_a_name_over_the_file_system_s_limit_is_refused_before_anything_is_made(tmp_path):
    target = tmp_path / "deep" / ("L" * 250 + "-thumb.png")  # 260 bytes
    with pytest.raises(OSError) as raised:
        with atomic_path(target):
            raise AssertionError("nothing is to be made for a name that cannot be written")
    assert raised.value.errno == errno.ENAMETOOLONG and raised.value.filename == str(target)
    assert raised.value.strerror == (f"the name '{target.name}' is 260 bytes long, over the 255 a file "
                                     "name may have; shorten the name it is made from")
    assert not (tmp_path / "deep").exists()


def test_an_atomic_write_reaches_the_disk_before_its_rename_and_the_rename_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def replace(source, target):
        events.append(("replace", str(source)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_path(tmp_path / "out.webp") as temporary:
        temporary.write_bytes(b"whole")  # written and closed by another writer, as Pillow does
    assert events == [("fsync", str(temporary)), ("replace", str(temporary)), ("fsync", str(tmp_path))]


def test_a_file_system_that_cannot_fsync_does_not_fail_the_write(tmp_path, monkeypatch):
    import errno

    def refuse(descriptor):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", refuse)
    with atomic_path(tmp_path / "out.png") as temporary:
        temporary.write_bytes(b"whole")
    assert (tmp_path / "out.png").read_bytes() == b"whole" and list(tmp_path.iterdir()) == [tmp_path / "out.png"]

    def fail(descriptor):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)  # a real failure of the file's data still fails it
    with pytest.raises(OSError, match="Input/output error"):
        with atomic_path(tmp_path / "other.png") as temporary:
            temporary.write_bytes(b"whole")
    assert not (tmp_path / "other.png").exists() and list(tmp_path.iterdir()) == [tmp_path / "out.png"]


def test_a_symlink_in_place_of_the_lock_file_is_refused_not_written_through(tmp_path):
    from pipeline.problems import PipelineError

    page = tmp_path / "pages" / "a.md"
    page.parent.mkdir()
    page.write_text("---\ntitle: a\n---\n")
    build = tmp_path / "build"
    build.mkdir()
    (build / ".pipeline.lock").symlink_to(page)
    with pytest.raises(PipelineError, match=r"\.pipeline\.lock is a symbolic link \(to .*a\.md\); the build's "
                                            r"lock file must be a plain file: delete the link"):
        BuildLock(build)
    assert page.read_text() == "---\ntitle: a\n---\n"  # not truncated, no pid written into it


def test_a_full_disk_does_not_keep_a_build_from_taking_the_lock(tmp_path, monkeypatch):
    """The pid written into the lock file only tells a second build who holds it: a run with
    nothing to write must not stop on a full disk (it was a traceback, exit 1)."""
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "pwrite", full)
    lock = BuildLock(tmp_path)
    lock.release()


def test_a_temporary_that_cannot_be_made_is_named_by_its_target(tmp_path, monkeypatch):
    import tempfile

    def no_inode(*args, prefix, suffix, dir):
        raise OSError(errno.ENOSPC, "No space left on device", os.path.join(dir, f"{prefix}x1y2z3{suffix}"))
    monkeypatch.setattr(tempfile, "mkstemp", no_inode)
    target = tmp_path / "muscles" / "Leg.gif"
    with pytest.raises(OSError) as error:
        with atomic_path(target):
            pass
    assert error.value.filename == str(target)
