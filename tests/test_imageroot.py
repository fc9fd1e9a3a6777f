"""The image root: every file looked at once, unsafe names and outside symlinks never opened."""
import os

from PIL import Image

from pipeline.imageroot import ImageRoot


def test_files_are_listed_once_without_hidden_ones_and_frames_sort_by_number(tmp_path):
    (tmp_path / "png").mkdir()
    for name in ("A-10.png", "A-9.png", "A-1.png", "B-1.png", ".A-2.png"):
        Image.new("RGB", (4, 3)).save(tmp_path / "png" / name)
    root = ImageRoot(tmp_path)
    assert root.files == {"png/A-10.png", "png/A-9.png", "png/A-1.png", "png/B-1.png"}
    assert root.frames_named("png", "A", ".png") == ["A-1.png", "A-9.png", "A-10.png"]
    (tmp_path / "png" / "A-11.png").write_bytes(b"")
    assert "png/A-11.png" not in root.files  # the listing is of the moment it was first asked for


def test_a_check_reads_the_header_once_and_says_what_is_wrong(tmp_path):
    Image.new("RGB", (4, 3)).save(tmp_path / "a.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "a.png").read_bytes()[:-12])
    root = ImageRoot(tmp_path)
    check, message = root.check("a.png")
    assert (check.exists, check.info, check.problem, message) == (True, ("PNG", 4, 3), None, "")
    (tmp_path / "a.png").unlink()
    assert root.check("a.png")[0].exists  # remembered: each file is looked at once a run
    check, message = root.check("cut.png")
    assert (check.problem, message) == ("unreadable", "'cut.png' is truncated: the PNG end marker (IEND) is missing")
    assert root.check("gone.png") == ((False, None, None), "")


def test_unsafe_names_and_symlinks_leading_out_are_not_opened(tmp_path):
    root_dir = tmp_path / "images"
    root_dir.mkdir()
    Image.new("RGB", (4, 3)).save(tmp_path / "secret.png")
    os.symlink(tmp_path / "secret.png", root_dir / "link.png")
    root = ImageRoot(root_dir)
    root.prefetch()
    check, message = root.check("link.png")
    assert (check.exists, check.info, check.problem) == (True, None, "unsafe-path")
    assert message == "'link.png' is a symlink that leads outside the image root; it is not opened"
    check, message = root.check("../secret.png")
    assert (check.exists, check.problem) == (False, "unsafe-path") and message.endswith("; it is not opened")
