"""The frame sizes each format holds: verify says so at the animation's line, and the limits
are the encoders' own (each is tried just inside and just outside)."""
import io

import numpy as np
import pytest
from PIL import Image

from conftest import page_text, write_frames
from pipeline.formatlimits import size_problem
from pipeline.problems import PipelineError
from pipeline.settings import AnimationSettings, WebmSettings
from pipeline.timing import timing_for
from pipeline.verify import verify_site
from pipeline.video import write_videos


@pytest.mark.parametrize("fmt, codec, width, height, fits", [
    ("gif", "av1", 65535, 1, True), ("gif", "av1", 65536, 1, False),
    ("webp", "av1", 16383, 1, True), ("webp", "av1", 1, 16384, False),
    ("mp4", "av1", 16384, 2, True), ("mp4", "av1", 16383, 2, True), ("mp4", "av1", 16385, 2, False),
    ("webm", "av1", 16384, 8704, True), ("webm", "av1", 16, 8705, False),
    ("webm", "av1", 8, 8, False), ("webm", "av1", 7, 3, False), ("webm", "av1", 9, 8, True), ("webm", "av1", 4, 64, True),
    ("webm", "vp9", 8, 8, True),
])
def test_limits(fmt, codec, width, height, fits):
    assert (size_problem(fmt, codec, width, height) is None) == fits


def test_the_messages_name_the_size_as_rendered_and_what_to_do():
    assert size_problem("webm", "av1", 7, 3) == (
        "frames of 7x3 px are too small for WebM in AV1: SVT-AV1 fails on frames of at most 8x8 px; "
        "render them larger, or set [webm] codec = \"vp9\"")
    assert size_problem("webp", "av1", 20000, 10) == (
        "frames of 20000x10 px are too large for WebP, which holds at most 16383x16383 px; render them smaller")


def video(tmp_path, width, height):
    frames = [np.full((height, width, 4), (40 * k, 90, 200, 255), np.uint8) for k in range(3)]
    target = tmp_path / "x.webm"
    write_videos(frames, [("webm", target, WebmSettings())], timing_for(3, AnimationSettings()), (255, 255, 255))
    return target


def test_svt_av1_really_fails_on_frames_of_8x8_and_not_on_9x9(tmp_path):
    # should this start to pass, SVT-AV1 was fixed: the limit can go
    with pytest.raises(PipelineError, match="ffmpeg failed"):
        video(tmp_path, 8, 8)
    assert video(tmp_path, 9, 9).stat().st_size > 0


def test_libwebp_and_gif_really_stop_there():
    strip = Image.new("RGB", (16384, 1))
    with pytest.raises(Exception):
        strip.save(io.BytesIO(), "WEBP")
    strip.crop((0, 0, 16383, 1)).save(io.BytesIO(), "WEBP")
    with pytest.raises(Exception):
        Image.new("P", (65536, 1)).save(io.BytesIO(), "GIF")
    Image.new("P", (65535, 1)).save(io.BytesIO(), "GIF")


def test_verify_names_each_format_that_cannot_hold_the_frames(site_folder):
    urls = write_frames(site_folder.images, "Tiny", 3, (8, 8))
    (site_folder.pages / "muscle_tiny.md").write_text(page_text("Tiny", ["muscles/gif/Tiny.gif"], urls))
    problems = verify_site(site_folder.site())
    assert [(p.page, p.line, p.code, p.reference) for p in problems] == [
        ("muscle_tiny.md", 6, "unencodable", "muscles/gif/Tiny.gif")]
    site_folder.write_settings('[webm]\ncodec = "vp9"\n')
    assert verify_site(site_folder.site()) == []


def test_the_encoding_task_fails_with_the_same_line_before_the_encoder_runs(site_folder, tmp_path):
    from pipeline.encode import encode_animation

    out = tmp_path / "out"
    out.mkdir()
    urls = write_frames(site_folder.images, "Tiny", 3, (8, 8))
    (site_folder.pages / "muscle_tiny.md").write_text(page_text("Tiny", ["muscles/gif/Tiny.gif"], urls))
    site = site_folder.site()
    (animation,) = site.catalog.animations
    with pytest.raises(PipelineError) as failed:
        encode_animation(animation, [("webm", out / "Tiny.webm"), ("mp4", out / "Tiny.mp4")], site.settings)
    assert str(failed.value).startswith("muscle_tiny.md:6: unencodable: frames of 8x8 px are too small for WebM in AV1")
    assert list(out.iterdir()) == []  # nothing written, not even the MP4 of the pair
    encode_animation(animation, [("gif", out / "Tiny.gif")], site.settings)  # another format is made
    assert [p.name for p in out.iterdir()] == ["Tiny.gif"]
