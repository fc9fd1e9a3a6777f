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
