"""Encoder version strings: what they contain, and ffmpeg's kept per binary."""
import json
import os

import imageio_ffmpeg
import PIL
import pytest
from PIL import features

from pipeline import versions


def test_pillow_formats_name_pillow_and_the_library_inside(tmp_path):
    assert versions.encoder("gif", tmp_path) == f"gif {versions.CODE['gif']}, Pillow {PIL.__version__}"
    assert versions.encoder("webp", tmp_path).endswith(f"Pillow {PIL.__version__} libwebp {features.version('webp')}")
    assert versions.encoder("thumbnails", tmp_path).startswith(f"thumbnails {versions.CODE['thumbnails']}, ")


def test_a_code_bump_changes_the_string(tmp_path, monkeypatch):
    before = versions.encoder("contact", tmp_path)
    monkeypatch.setitem(versions.CODE, "contact", versions.CODE["contact"] + 1)
    assert versions.encoder("contact", tmp_path) != before


def test_ffmpeg_is_asked_once_per_binary(tmp_path, monkeypatch):
    real = imageio_ffmpeg.get_ffmpeg_version()
    assert versions.encoder("webm", tmp_path).endswith(f"ffmpeg {real}")
    kept = json.loads((tmp_path / versions.FFMPEG_CACHE).read_text())
    assert kept["version"] == real and kept["exe"] == imageio_ffmpeg.get_ffmpeg_exe()

    def must_not_run():
        raise AssertionError("ffmpeg asked again")
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_version", must_not_run)
    assert versions.ffmpeg_version(tmp_path) == real  # from the cache

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_version", lambda: "n99")
    kept["binary"][2] += 1  # the binary was replaced since
    (tmp_path / versions.FFMPEG_CACHE).write_text(json.dumps(kept))
    assert versions.ffmpeg_version(tmp_path) == "n99"
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", imageio_ffmpeg.get_ffmpeg_exe())  # chosen otherwise now
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_version", lambda: "n100")
    assert versions.ffmpeg_version(tmp_path) == "n100"
    monkeypatch.setenv("PATH", "/elsewhere:" + os.environ["PATH"])  # another system ffmpeg?
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_version", lambda: "n101")
    assert versions.ffmpeg_version(tmp_path) == "n101"


@pytest.mark.parametrize("junk", ["", "{", '{"choice": 1}', "[]"])
def test_a_damaged_cache_is_asked_again(tmp_path, junk):
    (tmp_path / versions.FFMPEG_CACHE).write_text(junk)
    assert versions.ffmpeg_version(tmp_path) == imageio_ffmpeg.get_ffmpeg_version()
