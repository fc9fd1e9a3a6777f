
import re

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from conftest import turntable_frames
from pipeline.frames import composite
from pipeline.problems import PipelineError
from pipeline.settings import Mp4Settings, WebmSettings
from pipeline.ssim import ssim
from pipeline.timing import Timing
from pipeline.mediainfo import video_codecs
from pipeline.video import write_mp4, write_videos, write_webm

WHITE = (255, 255, 255)
# kind -> (writer, settings, codec ffmpeg reads back, file suffix)
WRITERS = {
    "webm": (write_webm, WebmSettings(), "av1", "webm"),
    "webm-vp9": (write_webm, WebmSettings(codec="vp9", crf=32, speed=0), "vp9", "webm"),
    "mp4": (write_mp4, Mp4Settings(), "h264", "mp4"),
}
KINDS = list(WRITERS)


def turntable(count=8, size=(96, 64), alpha=False):
    return turntable_frames(count, size, alpha=alpha)


def decoded(path):
    """(metadata, RGB frames) as imageio reads them, through its ffmpeg plugin."""
    return iio.immeta(path, plugin="FFMPEG"), list(iio.imread(path, index=None, plugin="FFMPEG"))


@pytest.mark.parametrize("kind", KINDS)
def test_opaque_sequence_plays_every_frame_at_its_rate(tmp_path, kind):
    write, settings, codec, fmt = WRITERS[kind]
    frames = turntable()
    target = tmp_path / f"x.{fmt}"
    write(frames, target, settings, Timing(tuple(range(8)), 8.0, 0), WHITE)
    meta, shown = decoded(target)
    assert meta["codec"] == codec and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 8.0 and meta["size"] == (96, 64)
    assert len(shown) == 8
    assert min(ssim(f, s[..., :3]) for f, s in zip(shown, frames)) > 0.95
    assert [p.name for p in tmp_path.iterdir()] == [f"x.{fmt}"]


@pytest.mark.parametrize("tune, psy", [("ssim", "psy=0"), ("none", "psy=1")])
def test_the_x264_tune_setting_reaches_the_encoder(tmp_path, tune, psy):
    """x264 writes its options into the stream: tuned for SSIM, its psychovisual
    optimizations are off and its adaptive quantization is mode 2."""
    target = tmp_path / "x.mp4"
    write_mp4(turntable(count=2), target, Mp4Settings(tune=tune), Timing((0, 1), 8.0, 0), WHITE)
    options = re.search(rb"options: ([^\x00]*)", target.read_bytes()).group(1).decode()
    assert psy in options.split() and ("aq=2:" in options) == (tune == "ssim")


@pytest.mark.parametrize("kind", KINDS)
def test_transparent_background_becomes_the_matte_and_odd_sizes_are_padded(tmp_path, kind):
    write, settings, _, fmt = WRITERS[kind]
    frames = turntable(size=(75, 51), alpha=True)
    write(frames, tmp_path / f"x.{fmt}", settings, Timing(tuple(range(8)), 8.0, 0), WHITE)
    meta, shown = decoded(tmp_path / f"x.{fmt}")
    assert meta["size"] == (76, 52)  # padded to even, not scaled
    for source, frame in zip(frames, shown):
        assert frame[:4, :4].min() >= 250 and frame[-1, -1].min() >= 250  # white, padding too
        assert ssim(frame[:51, :75], composite(source, WHITE)) > 0.95


def test_bounce_adds_the_frames_back(tmp_path):
    frames = turntable(count=5)
    write_webm(frames, tmp_path / "x.webm", WebmSettings(), Timing((0, 1, 2, 3, 4, 3, 2, 1), 8.0, 0), WHITE)
    _, shown = decoded(tmp_path / "x.webm")
    assert len(shown) == 8
    assert np.abs(shown[5].astype(int) - frames[3][..., :3]).mean() < 4


def test_mp4_has_no_audio_and_starts_with_its_index(tmp_path):
    write_mp4(turntable(count=3), tmp_path / "x.mp4", Mp4Settings(), Timing((0, 1, 2), 8.0, 0), WHITE)
    data = (tmp_path / "x.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while downloading
    assert b"soun" not in data  # no audio track handler


def test_ffmpeg_failure_fails_with_its_message_and_writes_nothing(tmp_path):
    with pytest.raises(PipelineError, match="x.mp4: ffmpeg failed"):
        write_mp4(turntable(count=2), tmp_path / "x.mp4", Mp4Settings(preset="no-such-preset"),
                  Timing((0, 1), 8.0, 0), WHITE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("webm", [WebmSettings(), WebmSettings(codec="vp9", crf=32, speed=4)])
def test_webm_and_mp4_from_one_ffmpeg_are_the_files_each_makes_alone(tmp_path, webm):
    frames, timing = turntable(5, size=(63, 41), alpha=True), Timing((0, 1, 2, 3, 4, 3, 2, 1), 8.0, 0)
    write_webm(frames, tmp_path / "alone.webm", webm, timing, WHITE)
    write_mp4(frames, tmp_path / "alone.mp4", Mp4Settings(), timing, WHITE)
    write_videos(frames, [("webm", tmp_path / "both.webm", webm), ("mp4", tmp_path / "both.mp4", Mp4Settings())],
                 timing, WHITE)
    for fmt in ("webm", "mp4"):
        assert (tmp_path / f"both.{fmt}").read_bytes() == (tmp_path / f"alone.{fmt}").read_bytes()
    assert len(decoded(tmp_path / "both.mp4")[1]) == 8


def test_one_encoder_failing_writes_neither_file(tmp_path):
    outputs = [("webm", tmp_path / "x.webm", WebmSettings()),
               ("mp4", tmp_path / "x.mp4", Mp4Settings(preset="no-such-preset"))]
    with pytest.raises(PipelineError, match="x.webm, x.mp4: ffmpeg failed") as error:
        write_videos(turntable(count=2, size=(16, 16)), outputs, Timing((0, 1), 8.0, 0), WHITE)
    assert list(tmp_path.iterdir()) == []
    assert "no-such-preset" in str(error.value)
    assert "Svt" not in str(error.value)  # SVT-AV1 warns about frames this small: not the error
    assert "SVT-AV1 takes tune=2" not in str(error.value)  # x264 failed: no hint about AV1


@pytest.mark.parametrize("kind", KINDS)
def test_same_frames_give_the_same_bytes(tmp_path, kind):
    """The bundle zip must be byte-identical across rebuilds, so each video must be too."""
    write, settings, _codec, fmt = WRITERS[kind]
    frames = turntable(4)
    for name in ("a", "b"):
        write(frames, tmp_path / f"{name}.{fmt}", settings, Timing(tuple(range(4)), 8.0, 0), WHITE)
    assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()


def test_an_ffmpeg_without_svt_av1_2_says_what_to_do(tmp_path, monkeypatch):
    """Debian 12's ffmpeg has SVT-AV1 1.4, which refuses tune=2: its refusal, without SVT's
    banner, and the way out."""
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\ncat >/dev/null\n"
                    "echo 'Svt[info]: SVT [version]:\tSVT-AV1 Encoder Lib v1.4.1' >&2\n"
                    "echo 'Svt[error]: Instance 1: Invalid tune flag [0 - 1], your input: 2' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(fake))
    with pytest.raises(PipelineError) as error:
        write_webm(turntable(count=2), tmp_path / "x.webm", WebmSettings(), Timing((0, 1), 8.0, 0), WHITE)
    message = str(error.value)
    assert message.startswith("x.webm: ffmpeg failed (1): Svt[error]: Instance 1: Invalid tune flag")
    assert "Svt[info]" not in message
    assert message.endswith('or set [webm] codec = "vp9"')
    assert not (tmp_path / "x.webm").exists()


@pytest.mark.parametrize("kind, codecs", [("webm", r"av01\.0\.0\dM\.08"), ("webm-vp9", r"vp9"),
                                          ("mp4", r"avc1\.64[0-9A-F]{4}")])
def test_headers_give_the_codecs_a_source_type_names(tmp_path, kind, codecs):
    """8-bit 4:2:0 AV1 main profile at a low level, VP9, and H.264 High profile."""
    write, settings, _, fmt = WRITERS[kind]
    write(turntable(4), tmp_path / f"x.{fmt}", settings, Timing(tuple(range(4)), 8.0, 0), WHITE)
    assert re.fullmatch(codecs, video_codecs(tmp_path / f"x.{fmt}"))
