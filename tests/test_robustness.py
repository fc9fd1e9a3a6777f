"""Nothing lost: sources never change, killed builds recover, concurrent builds do not collide.

These run the real `pipeline` command in subprocesses on small sites, as users do.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

PIPELINE = [sys.executable, "-m", "pipeline.cli"]


def run_pipeline(site, *args, timeout=300, **kwargs):
    return subprocess.run([*PIPELINE, "--config", str(site.config), *args], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def snapshot(folder: Path) -> dict[str, tuple[str, float]]:
    """sha256 and mtime of every file under `folder`."""
    return {
        str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime)
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def assert_every_output_decodes(build: Path) -> int:
    """Open every built image and video fully; returns how many files were checked."""
    checked = 0
    for path in sorted((build / "images").rglob("*")):
        if not path.is_file():
            continue
        if path.suffix in (".png", ".gif", ".webp", ".avif"):
            with Image.open(path) as image:
                for index in range(getattr(image, "n_frames", 1)):
                    image.seek(index)
                    image.load()
        elif path.suffix in (".webm", ".mp4"):
            frames, _seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
            assert frames > 0, path
        checked += 1
    return checked


def rerun_tasks(site) -> set[str]:
    """Sub-tasks (one per output file) a further run executes, by doit's JSON reporter.

    Group tasks (`gif`, `thumbnails`, ...) have no action and always count as run, so only
    sub-tasks, named `<group>:<output>`, are looked at; `report:wait` and `bundle:wait`, which
    only wait for the others, have no action either.
    """
    result = run_pipeline(site, "-n", "1", "--reporter", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    tasks = json.loads(result.stdout)["tasks"]
    assert len(tasks) > 20
    return {task["name"] for task in tasks
            if ":" in task["name"] and not task["name"].endswith(":wait") and task["result"] != "up-to-date"}


def temporaries(build: Path) -> list[Path]:
    return [p for p in build.rglob(".*") if ".tmp" in p.name]


@pytest.fixture
def three_sequences(site_folder):
    site_folder.add_animation("Leg-Soleus", size=(48, 40))
    site_folder.add_animation("Arm-Biceps", size=(48, 40), alpha=True)
    site_folder.add_animation("Thigh", size=(40, 48))
    return site_folder


def test_sources_are_never_written(three_sequences):
    site = three_sequences
    sources = lambda: {**snapshot(site.pages), **{"img/" + k: v for k, v in snapshot(site.images).items()}}
    before = sources()
    assert run_pipeline(site, "-n", "1").returncode == 0
    assert sources() == before
    assert run_pipeline(site, "clean").returncode == 0
    assert sources() == before
    frame = site.images / "muscles/png/Thigh-3.png"
    frame.write_bytes(frame.read_bytes()[:100])  # a failed build from here on
    broken = sources()
    failed = run_pipeline(site, "-n", "1")
    assert failed.returncode != 0
    assert sources() == broken


def test_a_frame_deleted_after_a_build_fails_its_tasks_with_the_page_line(three_sequences):
    from test_bad_input import failed_blocks

    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    (site.images / "muscles/png/Thigh-3.png").unlink()  # the page still lists it
    # and another frame of it changes: the batch tasks get a list of changed frames, which
    # must not let them skip the one that is gone because its outputs are there
    Image.new("RGB", (40, 48), "blue").save(site.images / "muscles/png/Thigh-1.png")

    result = run_pipeline(site, "-n", "1")

    assert result.returncode != 0
    failed = failed_blocks(result.stdout + result.stderr)
    assert {task.split(":")[0] for task in failed} >= {"gif", "webp", "video", "thumbnails", "frames", "contact"}
    where = "muscles/muscle_thigh.md:"
    for task, lines in failed.items():
        if task.split(":")[0] in ("verify", "bundle"):  # their own summaries
            continue
        assert lines and all(line.startswith(where) and "missing: gallery frame 'muscles/png/Thigh-3.png'" in line
                             for line in lines), (task, lines)
    assert "DependencyError" not in result.stdout + result.stderr
    # what was made of the frame goes with it, as a fresh build has none of it; the rest stays
    made_of = [site.build / "images/muscles/png" / name for name in ("Thigh-3.png", "Thigh-3-thumb.png", "Thigh-3-thumb.webp")]
    assert [path for path in made_of if path.exists()] == []
    assert (site.build / "images/muscles/png/Thigh-2-thumb.png").is_file()
    assert (site.build / "images/muscles/png/Thigh-1-thumb.png").is_file()  # its new content made


def test_two_makers_of_one_file_fail_verify_and_the_rest_builds(three_sequences):
    # doit refuses to run anything when two tasks share a target: the plan gives each file one maker
    site = three_sequences
    (site.images / "muscles/gif").mkdir()
    Image.new("RGB", (48, 40), "red").save(site.images / "muscles/gif/Thigh.gif")  # the old animation
    Image.new("RGB", (48, 40)).save(site.images / "muscles/png/Arm-Biceps-1.jpg")
    page = site.pages / "muscles/muscle_thigh.md"
    page.write_text(page.read_text().replace("gallery:\n", "gallery:\n  - image_url: muscles/gif/Thigh.gif\n", 1))
    (site.pages / "twins.md").write_text(page.read_text().replace("muscles/gif/Thigh.gif", "muscles/png/Arm-Biceps-1.jpg"))

    result = run_pipeline(site, "-n", "1")

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Two different tasks" not in output
    assert "muscles/muscle_thigh.md:12: output-clash: 'muscles/gif/Thigh.gif' would be written for the gallery " \
           "image 'muscles/gif/Thigh.gif' and for the animation 'muscles/gif/Thigh.gif'" in output
    assert "twins.md:12: output-clash: 'muscles/png/Arm-Biceps-1-thumb.webp' would be written" in output
    with Image.open(site.build / "images/muscles/gif/Thigh.gif") as gif:
        assert gif.n_frames == 16  # the animation, not the copy of the old file
    with Image.open(site.build / "images/muscles/gif/Thigh-thumb.gif") as thumbnail:
        assert thumbnail.width == 48  # the gallery image still has its thumbnail
    assert assert_every_output_decodes(site.build) > 100


def test_a_file_goes_back_to_its_maker_when_the_clash_is_gone(three_sequences):
    from conftest import page_text

    site = three_sequences
    jpeg = site.images / "muscles/png/Arm-Biceps-1.jpg"
    Image.new("RGB", (48, 40), (255, 0, 255)).save(jpeg)  # magenta, listed before the PNG frame
    twins = site.pages / "a-twins.md"
    twins.write_text(page_text("Twins", [], ["muscles/png/Arm-Biceps-1.jpg"]))
    thumbnail = site.build / "images/muscles/png/Arm-Biceps-1-thumb.webp"

    def magenta() -> bool:
        with Image.open(thumbnail) as image:
            red, green, blue = np.asarray(image.convert("RGB")).reshape(-1, 3).mean(axis=0)
        return red > 200 and green < 60 and blue > 200

    assert run_pipeline(site, "-n", "1").returncode != 0  # the clash, reported by verify
    assert magenta()
    twins.unlink()
    jpeg.unlink()
    assert run_pipeline(site, "-n", "1").returncode == 0
    assert not magenta()  # made again from the PNG frame
    assert rerun_tasks(site) == set()


def test_files_a_clash_took_are_made_again_by_their_maker_each_way(three_sequences):
    from conftest import page_text

    site = three_sequences
    (site.images / "g").mkdir()
    Image.new("RGB", (48, 40), (0, 0, 255)).save(site.images / "g/X-1.webp")  # blue; alone in its sub-task
    Image.new("RGB", (48, 40), (255, 0, 255)).save(site.images / "g/X-1.png")  # magenta
    Image.new("RGB", (48, 40), (0, 255, 0)).save(site.images / "g/Y.gif")  # a gallery image; green
    (site.pages / "b.md").write_text(page_text("B", [], ["g/X-1.webp", "g/Y.gif"]))
    assert run_pipeline(site, "-n", "1").returncode == 0

    def colour(path: str) -> str:
        with Image.open(site.build / "images" / path) as image:
            red, green, blue = np.asarray(image.convert("RGB")).reshape(-1, 3).mean(axis=0)
        return "magenta" if red > 200 < blue else "blue" if blue > 200 else "green" if green > 200 else "other"

    assert (colour("g/X-1-thumb.webp"), colour("g/Y.gif")) == ("blue", "green")
    # a page listed first takes X-1-thumb.webp with X-1.png, and names g/Y.gif as its animation
    (site.pages / "a.md").write_text(page_text("A", ["g/Y.gif"], ["g/X-1.png"]))
    assert run_pipeline(site, "-n", "1").returncode != 0  # the clashes, reported
    assert colour("g/X-1-thumb.webp") == "magenta"
    clashing = (site.pages / "a.md").read_text()
    (site.pages / "a.md").unlink()
    assert run_pipeline(site, "-n", "1").returncode == 0
    assert (colour("g/X-1-thumb.webp"), colour("g/Y.gif")) == ("blue", "green")  # theirs again
    assert rerun_tasks(site) == set()
    # and back: the sub-tasks of a.md come back with records of files since written over
    (site.pages / "a.md").write_text(clashing)
    assert run_pipeline(site, "-n", "1").returncode != 0
    assert (colour("g/X-1-thumb.webp"), colour("g/Y.gif")) == ("magenta", "magenta")


def test_a_hand_made_animation_comes_back_when_its_frames_are_no_longer_listed(three_sequences):
    """Copied, then built from frames listed for a while, then copied again: the copy's
    record from the first time must not pass the built files for the hand-made ones."""
    from conftest import page_text, write_frames

    site = three_sequences
    hand_made = site.images / "muscles/gif"
    hand_made.mkdir(parents=True)
    red = [np.full((20, 20, 3), (255, 0, 0), np.uint8)] * 2
    Image.fromarray(red[0]).save(hand_made / "Hand.gif", save_all=True, append_images=[Image.fromarray(red[1])])
    for suffix, codec in ((".webm", "libvpx-vp9"), (".mp4", "libx264")):
        writer = imageio_ffmpeg.write_frames(str(hand_made / f"Hand{suffix}"), (20, 20), fps=8, codec=codec,
                                             pix_fmt_out="yuv420p", macro_block_size=4, ffmpeg_log_level="error")
        writer.send(None)
        for frame in red:
            writer.send(frame.tobytes())
        writer.close()
    page = site.pages / "muscles/muscle_hand.md"
    page.write_text(page_text("Hand", ["muscles/gif/Hand.gif"], []))
    built = site.build / "images/muscles/gif"

    def copied() -> bool:
        return all((built / f"Hand{s}").read_bytes() == (hand_made / f"Hand{s}").read_bytes()
                   for s in (".gif", ".webm", ".mp4"))

    assert run_pipeline(site, "-n", "1").returncode == 0
    assert copied()
    page.write_text(page_text("Hand", ["muscles/gif/Hand.gif"], write_frames(site.images, "Hand", 4, (48, 40))))
    assert run_pipeline(site, "-n", "1").returncode == 0
    with Image.open(built / "Hand.gif") as gif:
        assert gif.size == (48, 40)  # built from the frames
    page.write_text(page_text("Hand", ["muscles/gif/Hand.gif"], []))
    result = run_pipeline(site, "-n", "1")
    assert result.returncode == 0, result.stderr
    assert copied()
    assert rerun_tasks(site) == set()


def test_a_removed_page_s_files_go_while_another_page_waits_for_its_renders(three_sequences):
    from conftest import page_text

    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    manifest = (site.build / "asset-manifest.json").read_bytes()
    (site.pages / "muscles/muscle_thigh.md").unlink()
    waiting = ["muscles/png/Wait-1.png", "muscles/png/Wait-2.png"]  # not rendered yet
    (site.pages / "muscles/muscle_wait.md").write_text(page_text("Wait", ["muscles/gif/Wait.gif"], waiting))
    result = run_pipeline(site, "-n", "2")
    assert result.returncode != 0
    assert "muscles/muscle_wait.md:" in result.stdout + result.stderr
    assert "bundle: removed stale 'muscles/gif/Thigh.gif'" in result.stderr
    assert sorted(p.name for p in (site.build / "images").rglob("Thigh*")) == []
    # never an incomplete bundle: the last complete one stays as it was
    assert (site.build / "asset-manifest.json").read_bytes() == manifest
    (site.pages / "muscles/muscle_wait.md").unlink()
    (site.pages / "muscles/muscle_leg-soleus.md").unlink()
    assert run_pipeline(site, "clean").returncode == 0  # the removed page's files too
    assert [p for p in (site.build / "images").rglob("*") if p.is_file()] == []


def forget_written_files(build: Path, key: str = "_inodes") -> None:
    """Take the written-file records (`key`: their inodes, or their sizes and times) out of the
    dependency file, as a version before them left it."""
    import sqlite3

    with sqlite3.connect(build / ".doit.db") as db:
        for name, data in db.execute("SELECT task_id, task_data FROM doit").fetchall():
            record = json.loads(data)
            record.get("_values_:", {}).pop(key, None)
            db.execute("UPDATE doit SET task_data = ? WHERE task_id = ?", (json.dumps(record), name))


def test_a_clash_after_an_upgrade_still_gives_the_file_back(three_sequences):
    from conftest import page_text

    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    forget_written_files(site.build)  # built by a version before the written-file check
    assert rerun_tasks(site) == set()  # which is not a reason to rebuild
    jpeg = site.images / "muscles/png/Arm-Biceps-1.jpg"
    Image.new("RGB", (48, 40), (255, 0, 255)).save(jpeg)
    (site.pages / "a-twins.md").write_text(page_text("Twins", [], ["muscles/png/Arm-Biceps-1.jpg"]))
    assert run_pipeline(site, "-n", "1").returncode != 0  # the clash: the JPEG makes the WebP thumbnail
    (site.pages / "a-twins.md").unlink()
    jpeg.unlink()
    assert run_pipeline(site, "-n", "1").returncode == 0
    with Image.open(site.build / "images/muscles/png/Arm-Biceps-1-thumb.webp") as image:
        red, green, blue = np.asarray(image.convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert not (red > 200 and blue > 200 and green < 60)  # the PNG frame's again


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_builds_leave_nothing_half_done(three_sequences, seed):
    site = three_sequences
    delays = random.Random(seed)
    interrupted = 0
    for _ in range(3):
        build = subprocess.Popen([*PIPELINE, "--config", str(site.config), "-n", "2"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # kill while an output is being written (a temporary exists), a random moment later
        deadline = time.monotonic() + 20
        while not temporaries(site.build) and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delays.uniform(0, 0.05))
        interrupted += build.poll() is None
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    assert interrupted >= 2  # the kills really cut builds short
    finished = run_pipeline(site, "-n", "2")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert assert_every_output_decodes(site.build) > 50
    assert temporaries(site.build) == []
    assert rerun_tasks(site) == set()


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), ()):
            found.add(child)
            pending.append(child)
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's first process may never reap orphans)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_ctrl_c_ends_the_build_with_a_line_not_a_traceback(site_folder):
    for name in ("Leg-Soleus", "Arm-Biceps", "Thigh", "Neck"):
        site_folder.add_animation(name, size=(320, 240))
    process = subprocess.Popen([*PIPELINE, "--config", str(site_folder.config), "-n", "2"], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    images = site_folder.build / "images"
    deadline = time.monotonic() + 60
    # until the first GIF (the first group to run): the videos, WebP files, thumbnails and
    # copies are still to come. Waiting for the first thumbnail left too short a window on a
    # busy machine: the build could end before the signal was sent
    while not (images.is_dir() and any(images.rglob("*.gif"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the build ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err
    assert err.rstrip().endswith("pipeline: interrupted; every file written so far is whole and kept, "
                                 "and the next run goes on from there")
    assert run_pipeline(site_folder, "-n", "2").returncode == 0
    assert temporaries(site_folder.build) == []


@pytest.mark.parametrize("group", [False, True], ids=["to-the-build", "to-its-group"])
def test_ctrl_c_early_in_a_build_ends_it_with_a_line(three_sequences, group):
    """Interrupted while it reads the pages, starts the forkserver (which imports the
    encoders) or starts its workers. Sent to the build alone (a supervisor, `kill -INT`), a
    SIGINT while a worker was starting left that worker with no pid to stop it by, holding the
    forkserver the build then waited for: for ever. Sent to the group (Ctrl-C), the forkserver
    printed a traceback from its imports; earlier still, the build did from its own."""
    site = three_sequences
    for delay in (0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.8):
        shutil.rmtree(site.build, ignore_errors=True)
        process = subprocess.Popen([*PIPELINE, "--config", str(site.config), "-n", "2"], text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(delay)
        (os.killpg if group else os.kill)(process.pid, signal.SIGINT)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"interrupted {delay} s in, the build hung")
        assert "Traceback" not in out + err, (delay, err)
        assert process.returncode in (130, 0), (delay, out + err)  # 0: it was done already
        if process.returncode == 130:
            assert err.rstrip().endswith("pipeline: interrupted; every file written so far is whole and "
                                         "kept, and the next run goes on from there"), (delay, err)
    assert run_pipeline(site, "-n", "2").returncode == 0
    assert temporaries(site.build) == []


def children(pid: int) -> list[int]:
    return [child for child in descendants(pid) if parent_of(child) == pid]


def parent_of(pid: int) -> int | None:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_a_worker_killed_in_the_middle_of_a_task_ends_the_build_with_a_line_not_a_hang(site_folder):
    for name in ("Leg-Soleus", "Arm-Biceps", "Thigh", "Neck"):
        site_folder.add_animation(name, size=(320, 240))
    process = subprocess.Popen([*PIPELINE, "--config", str(site_folder.config), "-n", "2"], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers, deadline = [], time.monotonic() + 60
    while not workers and time.monotonic() < deadline:  # the forkserver's children
        time.sleep(0.05)
        forkservers = [pid for pid in children(process.pid) if "forkserver" in command_line(pid)]
        workers = [pid for server in forkservers for pid in children(server) if running(pid)]
    assert workers and process.poll() is None, "no worker seen while the build ran"
    time.sleep(0.3)  # inside its first task
    os.kill(workers[0], signal.SIGKILL)  # as the kernel's out-of-memory killer does
    out, err = process.communicate(timeout=120)  # doit alone waited for its result for ever
    assert process.returncode == 2, out + err
    printed = out + err
    assert "Traceback" not in printed
    assert re.search(r"pipeline: a worker process was killed by SIGKILL \(out of memory\?\) while it ran "
                     r"(one of )?[a-z]+:\S+", printed), printed
    assert "the build stops here: every file written so far is whole and kept" in printed
    assert run_pipeline(site_folder, "-n", "2").returncode == 0  # the next run goes on from there
    assert assert_every_output_decodes(site_folder.build) > 50
    assert temporaries(site_folder.build) == []


def test_a_file_in_place_of_the_images_folder_fails_the_build_without_a_traceback(three_sequences):
    assert run_pipeline(three_sequences, "-n", "2").returncode == 0
    images = three_sequences.build / "images"
    shutil.rmtree(images)
    images.write_text("not a folder")
    result = run_pipeline(three_sequences, "-n", "2")
    assert result.returncode != 0 and "Not a directory" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    images.unlink()
    assert run_pipeline(three_sequences, "-n", "2").returncode == 0
    assert assert_every_output_decodes(three_sequences.build) > 50


def test_a_file_in_place_of_the_contact_folder_fails_the_sheets_alone_without_a_traceback(three_sequences):
    site = three_sequences
    assert run_pipeline(site, "-n", "2").returncode == 0
    contact = site.build / "contact"
    shutil.rmtree(contact)
    contact.write_text("not a folder")
    (site.build / "images/muscles/gif/Thigh.gif").unlink()
    result = run_pipeline(site, "-n", "2")
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in said
    assert f"File exists: '{contact}'" in said  # each sheet's task, naming it
    assert (site.build / "images/muscles/gif/Thigh.gif").is_file()  # the rest still built
    contact.unlink()
    assert run_pipeline(site, "-n", "2").returncode == 0
    assert sorted(p.name for p in contact.iterdir())[:1] == ["Arm-Biceps.png"]


def first_frame_colour(path: Path) -> tuple:
    with Image.open(path) as image:
        return image.convert("RGB").getpixel((0, 0))


def test_a_frame_replaced_by_another_of_the_same_time_is_rebuilt(three_sequences):
    """doit takes a file of the same modification time as unchanged; a render copied over
    another keeping its time (`cp -p`, `touch -r`, an archive) has another size."""
    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    frame = site.images / "muscles/png/Thigh-1.png"
    old = frame.stat()
    Image.new("RGB", (40, 48), (255, 0, 0)).save(site.root / "new.png")
    assert (site.root / "new.png").stat().st_size != old.st_size
    os.utime(site.root / "new.png", ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(site.root / "new.png", frame)

    assert rerun_tasks(site) >= {"gif:images/muscles/gif/Thigh.gif", "thumbnails:images/muscles/png/Thigh-*.png"}
    assert first_frame_colour(site.build / "images/muscles/gif/Thigh.gif") == (255, 0, 0)
    assert first_frame_colour(site.build / "images/muscles/png/Thigh-1-thumb.png") == (255, 0, 0)
    assert rerun_tasks(site) == set()  # and it is then up to date, not made on every run


def test_a_frame_rewritten_in_place_with_its_size_and_time_kept_is_rebuilt(three_sequences):
    """Same size, same modification time, other pixels (a render saved over the old one,
    its time put back): the status-change time tells."""
    site = three_sequences
    frame = site.images / "muscles/png/Thigh-1.png"
    with Image.open(frame) as image:
        pixels = np.asarray(image.convert("RGBA"))
    Image.fromarray(pixels).save(frame, compress_level=0)  # stored: the size depends on the pixel count alone
    assert run_pipeline(site, "-n", "1").returncode == 0
    old = frame.stat()
    Image.fromarray(np.full_like(pixels, 255) * np.uint8([1, 0, 0, 1])).save(frame, compress_level=0)
    os.utime(frame, ns=(old.st_atime_ns, old.st_mtime_ns))
    now = frame.stat()
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (old.st_ino, old.st_size, old.st_mtime_ns)

    assert rerun_tasks(site) >= {"gif:images/muscles/gif/Thigh.gif", "thumbnails:images/muscles/png/Thigh-*.png"}
    assert first_frame_colour(site.build / "images/muscles/gif/Thigh.gif") == (255, 0, 0)
    assert first_frame_colour(site.build / "images/muscles/png/Thigh-1-thumb.png") == (255, 0, 0)
    assert rerun_tasks(site) == set()


def test_verify_notices_a_frame_damaged_in_place_with_its_size_and_time_kept(three_sequences):
    site = three_sequences
    assert run_pipeline(site, "verify").returncode == 0
    frame = site.images / "muscles/png/Thigh-2.png"
    old = frame.stat()
    data = frame.read_bytes()
    time.sleep(0.01)
    frame.write_bytes(data[:-12] + bytes(12))  # its end marker gone, its size kept
    os.utime(frame, ns=(old.st_atime_ns, old.st_mtime_ns))
    result = run_pipeline(site, "verify")
    assert result.returncode == 1
    assert "muscles/png/Thigh-2.png" in result.stdout + result.stderr and "unreadable" in result.stdout + result.stderr


def restore(build: Path, whole_seconds: bool = False) -> None:
    """Put `build` back from a copy, as a CI cache or `tar` does: the same names, sizes and
    modification times (to the second with `whole_seconds`), new inodes."""
    saved = build.with_name("saved-build")
    shutil.copytree(build, saved, symlinks=True)
    shutil.rmtree(build)
    shutil.copytree(saved, build, symlinks=True)
    shutil.rmtree(saved)
    if whole_seconds:
        for path in build.rglob("*"):
            seconds = path.stat().st_mtime_ns // 10**9
            os.utime(path, ns=(seconds * 10**9, seconds * 10**9))


@pytest.mark.parametrize("whole_seconds, upgraded", [(False, False), (True, False), (False, True)])
def test_a_restored_build_folder_is_not_made_again(three_sequences, whole_seconds, upgraded):
    """Before, every file was made again: each sub-task's files were known by their inodes.
    `upgraded`: built by a version that kept no sizes and times, then run once by this one."""
    site = three_sequences
    assert run_pipeline(site, "-n", "2").returncode == 0
    if upgraded:
        forget_written_files(site.build, "_written")
        assert rerun_tasks(site) == set()
    restore(site.build, whole_seconds)
    ran = rerun_tasks(site)
    # the bundle and report read the whole folder, by names, sizes and times: those to the
    # second count as changed
    assert ran == ({"bundle:stale", "bundle:asset-manifest.json", "report:index.html"} if whole_seconds else set())
    inodes = {}
    import sqlite3
    with sqlite3.connect(site.build / ".doit.db") as db:  # the new inodes were saved
        for name, data in db.execute("SELECT task_id, task_data FROM doit").fetchall():
            inodes[name] = json.loads(data).get("_values_:", {}).get("_inodes")
    from pipeline.tasks.uptodate import _stat_inode, inodes_digest
    gif = str(site.build / "images/muscles/gif/Thigh.gif")
    assert inodes["gif:images/muscles/gif/Thigh.gif"] == inodes_digest([gif], _stat_inode)

    Image.new("RGB", (40, 48), (255, 0, 0)).save(site.root / "other.gif")  # another file in its place
    os.replace(site.root / "other.gif", gif)
    assert "gif:images/muscles/gif/Thigh.gif" in rerun_tasks(site)


def test_a_contact_sheet_a_killed_build_wrote_is_drawn_again(three_sequences):
    """The run that wrote it was killed before saving its records: the sheet on disk is not
    the one they describe (made from frames that were put back since)."""
    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    sheet = site.build / "contact/Thigh.png"
    Image.new("RGB", (20, 20), (255, 0, 0)).save(site.root / "sheet.png")
    os.replace(site.root / "sheet.png", sheet)
    assert "contact:contact/Thigh.png" in rerun_tasks(site)
    assert first_frame_colour(sheet) != (255, 0, 0)
    assert rerun_tasks(site) == set()


def test_a_lowered_pixel_limit_fails_the_frames_over_it_as_a_fresh_build_does(three_sequences):
    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    site.write_settings("[verify]\nmax_pixels = 1000\n")  # Thigh's frames are 40x48: 1920 pixels
    result = run_pipeline(site, "-n", "1")
    assert result.returncode != 0
    assert not (site.build / "images/muscles/gif/Thigh.gif").exists()  # gone, as from a sequence that no longer reads
    assert not (site.build / "contact/Thigh.png").exists()
    assert not list((site.build / "images/muscles/png").glob("Thigh-*"))  # thumbnails and copies too
    site.write_settings("")
    assert run_pipeline(site, "-n", "1").returncode == 0
    assert (site.build / "images/muscles/gif/Thigh.gif").is_file()


def test_a_frame_damaged_inside_fails_what_reads_it_and_verify_deep_with_the_page_line(three_sequences):
    """Bytes changed inside its pixel data, its checksum left as it was: browsers refuse the
    file, and Pillow often decodes wrong pixels without a word (test_probe), which the build
    shipped. Checked before Pillow reads it: here it would have failed in its own words."""
    from test_bad_input import line_of
    from test_probe import damage_idat

    site = three_sequences
    frame = site.images / "muscles/png/Thigh-3.png"
    Image.new("RGB", (40, 48), (200, 100, 50)).save(frame)
    damage_idat(frame, 10, bytes(6), fix_checksum=False)
    page = next(site.pages.rglob("*thigh*.md"))
    where = f"{page.relative_to(site.pages).as_posix()}:{line_of(page, 'Thigh-3.png')}"
    result = run_pipeline(site, "-n", "2")
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in said
    damaged = "'muscles/png/Thigh-3.png' cannot be decoded: the file is damaged: its IDAT chunk at byte 33"
    assert f"{where}: unreadable: {damaged}" in said  # the animations and the thumbnails
    assert f"{where}: unreadable: 'muscles/png/Thigh-3.png': is damaged: its IDAT chunk at byte 33" in said  # the copy
    assert not (site.build / "images/muscles/gif/Thigh.gif").exists()
    assert not (site.build / "images/muscles/png/Thigh-3.png").exists()
    assert (site.build / "images/muscles/gif/Leg-Soleus.gif").is_file()
    deep = run_pipeline(site, "verify", "--deep")
    assert deep.returncode == 1
    assert f"{where}: unreadable: 'muscles/png/Thigh-3.png' is damaged: its IDAT chunk" in deep.stdout + deep.stderr


def test_a_bundle_and_report_a_killed_build_wrote_are_made_again(three_sequences):
    """The killed run wrote them from a page since put back, and its records were not saved:
    the bundle's check (the plan, the images folder) and the report's found nothing changed."""
    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    data, report = site.build / "_data/assets.json", site.build / "report/index.html"
    made = {path: path.read_bytes() for path in (data, report)}
    for path in made:  # what the killed run left: other files under the names
        (site.root / "left").write_bytes(path.read_bytes().replace(b"Thigh", b"KILLED"))
        os.replace(site.root / "left", path)
    ran = rerun_tasks(site)
    assert {"bundle:asset-manifest.json", "report:index.html"} <= ran
    assert data.read_bytes() == made[data] and b"KILLED" not in report.read_bytes()
    assert rerun_tasks(site) == set()


def test_a_page_that_cannot_be_read_keeps_its_files_until_it_reads_again(three_sequences):
    """A slip in its YAML: what it names is not known, and its animations were removed as
    stale, to be encoded again once it was fixed."""
    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    page = next(site.pages.rglob("*thigh*.md"))
    text = page.read_text()
    gif = site.build / "images/muscles/gif/Thigh.gif"
    inode = gif.stat().st_ino
    page.write_text(text.replace("gallery:", "gallery: [", 1))
    result = run_pipeline(site, "-n", "1")
    assert result.returncode != 0 and "bad-manifest" in result.stdout + result.stderr
    assert "bundle: nothing stale removed while" in result.stderr and gif.stat().st_ino == inode
    page.write_text(text)
    assert "gif:images/muscles/gif/Thigh.gif" not in rerun_tasks(site) and gif.stat().st_ino == inode


def test_a_sequence_that_no_longer_reads_loses_the_files_made_from_its_old_frames(three_sequences):
    """As in a fresh build: kept, they passed for current in the report and in build/images."""
    from test_bad_input import failed_blocks

    site = three_sequences
    assert run_pipeline(site, "-n", "2").returncode == 0
    Image.new("RGB", (30, 20), "red").save(site.images / "muscles/png/Thigh-2.png")  # another size
    result = run_pipeline(site, "-n", "2")
    assert result.returncode == 2
    failed = failed_blocks(result.stdout + result.stderr)
    assert {"gif:images/muscles/gif/Thigh.gif", "video:images/muscles/gif/Thigh.webm+mp4",
            "contact:contact/Thigh.png"} <= set(failed)
    gone = ["images/muscles/gif/Thigh.gif", "images/muscles/gif/Thigh.webp", "images/muscles/gif/Thigh.webm",
            "images/muscles/gif/Thigh.mp4", "contact/Thigh.png"]
    assert [name for name in gone if (site.build / name).exists()] == []
    kept = ["images/muscles/gif/Leg-Soleus.gif", "contact/Leg-Soleus.png", "images/muscles/png/Thigh-2-thumb.png"]
    assert all((site.build / name).is_file() for name in kept)  # a frame's own thumbnail is still its own
    report = (site.build / "report/index.html").read_text()
    for fmt in ("gif", "webp", "webm", "mp4"):
        assert f'<figure class="fmt missing" title="muscles/gif/Thigh.{fmt}">' in report
    assert '<figure class="fmt missing" title="muscles/gif/Leg-Soleus.gif">' not in report


def test_an_output_replaced_by_a_folder_is_not_taken_for_the_file(three_sequences):
    """A folder made in place of an output often gets the number of the file just deleted:
    the inode check must not take it for the file its sub-task wrote."""
    from pipeline.tasks.uptodate import FolderListing, _stat_inode, inodes_digest

    site = three_sequences
    assert run_pipeline(site, "-n", "1").returncode == 0
    gif = site.build / "images/muscles/gif/Thigh.gif"
    gif.unlink()
    gif.mkdir()
    as_a_file = hashlib.md5(b"%d\n" % gif.stat().st_ino).hexdigest()
    assert inodes_digest([str(gif)], FolderListing().inode) != as_a_file
    assert inodes_digest([str(gif)], _stat_inode) != as_a_file
    result = run_pipeline(site, "-n", "1", "gif")
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert (f"[Errno 21] a folder is where this file is to be written: remove it, and the next run makes "
            f"the file: '{gif}'") in result.stdout
    gif.rmdir()
    assert run_pipeline(site, "-n", "1", "gif").returncode == 0 and gif.is_file()


def test_workers_end_when_the_build_is_killed(three_sequences):
    build = subprocess.Popen([*PIPELINE, "--config", str(three_sequences.config), "-n", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    family: set[int] = set()
    deadline = time.monotonic() + 60
    while len(family) < 3 and time.monotonic() < deadline:  # the forkserver and two workers
        time.sleep(0.05)
        family = {pid for pid in descendants(build.pid) if running(pid)}
    assert len(family) >= 3, "the workers never started"

    build.kill()  # SIGKILL to the build's own process only
    build.wait()

    deadline = time.monotonic() + 15
    while any(running(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in family if running(pid)]
    assert run_pipeline(three_sequences, "-n", "2").returncode == 0  # and the next build completes
    assert not temporaries(three_sequences.build)


def test_two_builds_at_once_do_not_collide(three_sequences):
    site = three_sequences
    command = [*PIPELINE, "--config", str(site.config), "-n", "1"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.2)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, results
    assert any("another build is running" in err for _out, err in results)
    assert assert_every_output_decodes(site.build) > 50
    assert rerun_tasks(site) == set()  # the dependency database is intact


def test_parallel_build_under_forkserver(three_sequences):
    code = (
        "import multiprocessing, sys\n"
        "multiprocessing.set_start_method('forkserver', force=True)\n"
        "from pipeline.cli import main\n"
        f"sys.exit(main(['--config', {str(three_sequences.config)!r}, '-n', '2']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert assert_every_output_decodes(three_sequences.build) > 50


@pytest.mark.parametrize("blocked, task, text", [
    ("verify.json", "verify", "verify: [Errno 21] a folder is where this file is to be written: remove it"),
    ("_includes/atlas-animation.html", "bundle:_includes/atlas-animation.html", "include: [Errno 21] a folder is where this file is to be written: remove it"),
])
def test_a_folder_where_a_site_wide_output_goes_fails_that_task_with_a_line(site_folder, blocked, task, text):
    site_folder.add_animation("Leg-Soleus", 3)
    (site_folder.build / blocked / "x").mkdir(parents=True)  # a folder, not empty, in the file's place
    result = run_pipeline(site_folder, "-n", "1")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output, output
    assert re.search(rf"FAILED {re.escape(task)}\n    {re.escape(text)}", output), output
    assert (site_folder.build / "images/muscles/gif/Leg-Soleus.gif").is_file()  # the rest is built
