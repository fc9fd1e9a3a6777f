import math

import numpy as np
from PIL import Image, ImageSequence

from conftest import draw_frame
from pipeline.avif import write_avif
from pipeline.frames import composite
from pipeline.settings import AvifSettings
from pipeline.ssim import ssim
from pipeline.timing import Timing

WHITE = (255, 255, 255)


def test_alpha_sequence_keeps_alpha_frames_and_delays(tmp_path):
    frames = [np.asarray(draw_frame(96, 64, 2 * math.pi * k / 4, background=(0, 0, 0, 0))) for k in range(4)]
    target = tmp_path / "x.avif"
    write_avif(frames, target, AvifSettings(), Timing((0, 1, 2, 3, 2, 1), 8.0, 0), WHITE)
    with Image.open(target) as image:
        shown = [(np.asarray(f.convert("RGBA")), f.info["duration"]) for f in ImageSequence.Iterator(image)]
    assert [d for _, d in shown] == [125] * 6
    for index, (frame, _) in zip((0, 1, 2, 3, 2, 1), shown):
        source = frames[index]
        clear = frame[source[..., 3] == 0][:, 3]
        assert (clear <= 8).mean() > 0.98 and clear.max() < 64  # the page shows through (lossy alpha)
        assert ssim(composite(frame, WHITE), composite(source, WHITE)) > 0.93
    assert [p.name for p in tmp_path.iterdir()] == ["x.avif"]


def test_the_same_frames_give_the_same_bytes_a_second_later(tmp_path):
    """libavif stamps the time of writing in the movie, track and media headers."""
    import time

    frames = [np.asarray(draw_frame(32, 32, k)) for k in range(3)]
    timing = Timing((0, 1, 2), 8.0, 0)
    write_avif(frames, tmp_path / "a.avif", AvifSettings(), timing, WHITE)
    time.sleep(1.1)
    write_avif(frames, tmp_path / "b.avif", AvifSettings(), timing, WHITE)
    assert (tmp_path / "a.avif").read_bytes() == (tmp_path / "b.avif").read_bytes()
    with Image.open(tmp_path / "b.avif") as image:
        assert image.n_frames == 3
        image.seek(2)
        image.load()  # still a valid sequence
