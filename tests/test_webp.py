
import numpy as np
from PIL import Image, ImageSequence

from conftest import turntable_frames
from pipeline.frames import composite
from pipeline.settings import WebpSettings
from pipeline.ssim import ssim
from pipeline.timing import Timing
from pipeline.webp import write_webp

WHITE = (255, 255, 255)


def turntable(count=6, size=(128, 96), alpha=False):
    return turntable_frames(count, size, alpha=alpha)


def decoded(path):
    with Image.open(path) as image:
        info = dict(image.info)
        frames = [(np.asarray(f.convert("RGBA")), f.info["duration"]) for f in ImageSequence.Iterator(image)]
    return frames, info


def test_opaque_sequence_decodes_with_its_frames_delays_and_loop(tmp_path):
    frames = turntable()
    target = tmp_path / "x.webp"
    write_webp(frames, target, WebpSettings(), Timing(tuple(range(6)), 8.0, 0), WHITE)
    shown, info = decoded(target)
    assert [d for _, d in shown] == [125] * 6
    assert info["loop"] == 0
    for source, (frame, _) in zip(frames, shown):
        assert (frame[..., 3] == 255).all()
        assert ssim(frame[..., :3], source[..., :3]) > 0.95
    assert [p.name for p in tmp_path.iterdir()] == ["x.webp"]


def test_alpha_is_kept(tmp_path):
    frames = turntable(alpha=True)
    write_webp(frames, tmp_path / "x.webp", WebpSettings(), Timing(tuple(range(6)), 8.0, 0), WHITE)
    shown, _ = decoded(tmp_path / "x.webp")
    for source, (frame, _) in zip(frames, shown):
        assert (frame[source[..., 3] == 0][:, 3] == 0).all()  # the page shows through
        assert (frame[source[..., 3] == 255][:, 3] == 255).all()
        assert ssim(composite(frame, WHITE), composite(source, WHITE)) > 0.95


def test_bounce_loop_and_fps(tmp_path):
    frames = turntable(count=4)
    order = (0, 1, 2, 3, 2, 1)
    write_webp(frames, tmp_path / "x.webp", WebpSettings(), Timing(order, 10.0, 2), WHITE)
    shown, info = decoded(tmp_path / "x.webp")
    assert len(shown) == 6 and info["loop"] == 2
    assert [d for _, d in shown] == [100] * 6

    def distance(one, other):
        return np.abs(shown[one][0].astype(int) - shown[other][0]).mean()

    # frames 3 and 2 again on the way back: lossy, so within a level or two, where the
    # neighbouring frames differ by twenty
    assert distance(4, 2) < 2 and distance(5, 1) < 2
    assert min(distance(4, 3), distance(4, 1), distance(5, 0), distance(5, 2)) > 10


def test_quality_and_lossless_change_the_file(tmp_path):
    frames = turntable(count=3)
    timing = Timing((0, 1, 2), 8.0, 0)
    write_webp(frames, tmp_path / "low.webp", WebpSettings(quality=20), timing, WHITE)
    write_webp(frames, tmp_path / "high.webp", WebpSettings(quality=95), timing, WHITE)
    write_webp(frames, tmp_path / "exact.webp", WebpSettings(lossless=True), timing, WHITE)
    assert (tmp_path / "low.webp").stat().st_size < (tmp_path / "high.webp").stat().st_size
    exact, _ = decoded(tmp_path / "exact.webp")
    assert all((f[..., :3] == s[..., :3]).all() for s, (f, _) in zip(frames, exact))
