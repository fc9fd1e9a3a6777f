import subprocess

import imageio_ffmpeg
import pytest

from conftest import turntable_frames
from pipeline.mediainfo import container_seconds, media_info
from pipeline.problems import PipelineError
from pipeline.avif import write_avif
from pipeline.settings import AvifSettings, Mp4Settings, WebmSettings
from pipeline.timing import Timing
from pipeline.video import write_videos

WHITE = (255, 255, 255)


@pytest.mark.parametrize("webm", [WebmSettings(), WebmSettings(codec="vp9", crf=32, speed=4)])
def test_a_video_is_described_as_decoding_it_counts(tmp_path, webm):
    """Frames and running time from the headers and packets, as a full decode gives them:
    7.5 fps and a bounce (B-frames in the MP4 put its last timestamp before the end)."""
    timing = Timing((0, 1, 2, 3, 4, 5, 4, 3, 2, 1), 7.5, 0)
    write_videos(turntable_frames(6, (66, 40)), [("webm", tmp_path / "x.webm", webm),
                                                 ("mp4", tmp_path / "x.mp4", Mp4Settings())], timing, WHITE)
    for suffix, mime in (("webm", "video/webm"), ("mp4", "video/mp4")):
        info = media_info(tmp_path / f"x.{suffix}")
        frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / f"x.{suffix}"))  # decodes
        assert (info.mime, info.width, info.height, info.frames) == (mime, 66, 40, 10)
        assert info.frames == frames and abs(info.duration - seconds) < 0.01  # what decoding finds
        assert info.duration == 1.333  # to the millisecond, from the header: ffmpeg prints 1.33


def test_the_running_time_is_read_wherever_the_mp4_keeps_its_header(tmp_path):
    """+faststart puts the movie header first; a plain ffmpeg MP4 has it after the media."""
    timing = Timing(tuple(range(5)), 3.0, 0)
    write_videos(turntable_frames(5, (32, 24)), [("mp4", tmp_path / "first.mp4", Mp4Settings())], timing, WHITE)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "first.mp4"),
                    "-c", "copy", str(tmp_path / "last.mp4")], check=True, stdin=subprocess.DEVNULL)
    data = (tmp_path / "last.mp4").read_bytes()
    assert data.index(b"moov") > data.index(b"mdat")
    assert container_seconds(tmp_path / "first.mp4") == pytest.approx(5 / 3, abs=1e-3)
    assert media_info(tmp_path / "last.mp4").duration == media_info(tmp_path / "first.mp4").duration == 1.667


def test_a_file_without_a_container_header_has_no_container_time(tmp_path):
    (tmp_path / "x.webm").write_bytes(b"\x1a\x45\xdf\xa3\x80")  # an EBML header and nothing after it
    (tmp_path / "y.mp4").write_bytes(b"\x00\x00\x00\x08ftyp" + b"\xff" * 12)  # no moov
    assert container_seconds(tmp_path / "x.webm") is None and container_seconds(tmp_path / "y.mp4") is None


def test_a_file_that_is_no_video_names_itself(tmp_path):
    fake = tmp_path / "x.mp4"
    fake.write_bytes(b"not a video at all")
    with pytest.raises(PipelineError, match=r"x\.mp4: ffmpeg cannot read it \(\d+\): .*Invalid data found"):
        media_info(fake)


def test_a_video_after_an_audio_stream_is_the_one_described(tmp_path):
    timing = Timing(tuple(range(8)), 8.0, 0)
    write_videos(turntable_frames(8, (32, 24)), [("mp4", tmp_path / "x.mp4", Mp4Settings())], timing, WHITE)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=d=1",
                    "-i", str(tmp_path / "x.mp4"), "-map", "0:a", "-map", "1:v", "-c:v", "copy",
                    str(tmp_path / "y.mp4")], check=True, stdin=subprocess.DEVNULL)
    info = media_info(tmp_path / "y.mp4")
    assert (info.width, info.height, info.frames) == (32, 24, 8)


def test_an_animated_avif_has_its_running_time(tmp_path):
    """Pillow gives an AVIF frame's duration only once the frame is decoded."""
    timing = Timing((0, 1, 2, 3, 2, 1), 12.0, 0)  # frames of 83 and 84 ms: each one counts
    write_avif(turntable_frames(4, (32, 24)), tmp_path / "x.avif", AvifSettings(), timing, WHITE)
    info = media_info(tmp_path / "x.avif")
    assert sum(timing.durations()) == 500
    assert (info.mime, info.width, info.height, info.frames, info.duration) == ("image/avif", 32, 24, 6, 0.5)


def test_a_photo_is_described_at_the_size_browsers_show_it(tmp_path):
    from test_frames import save_turned_jpeg

    save_turned_jpeg(tmp_path / "photo.jpg")
    info = media_info(tmp_path / "photo.jpg")
    assert (info.width, info.height) == (48, 80)


def test_a_camera_s_multi_picture_jpeg_is_described_as_its_photo(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter
    photo, preview = Image.new("RGB", (64, 32), "red"), Image.new("RGB", (64, 32), "blue")
    photo.save(tmp_path / "photo.jpg", "MPO", save_all=True, append_images=[preview], exif=exif)
    info = media_info(tmp_path / "photo.jpg")
    assert (info.width, info.height, info.frames, info.duration) == (32, 64, 1, None)
