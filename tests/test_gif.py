
import numpy as np
import pytest
from PIL import Image, ImageSequence

from conftest import turntable_frames
from pipeline.frames import composite
from pipeline.gif import write_gif
from pipeline.settings import GifSettings
from pipeline.ssim import ssim
from pipeline.timing import Timing

WHITE = (255, 255, 255)


def turntable(count=8, size=(64, 48), alpha=False):
    return turntable_frames(count, size, alpha=alpha)


def decoded(path):
    """(RGB frames, per-frame durations, info of the file)."""
    with Image.open(path) as image:
        info = dict(image.info)
        frames, durations = [], []
        for frame in ImageSequence.Iterator(image):
            durations.append(frame.info["duration"])
            frames.append(np.asarray(frame.convert("RGB")))
    return frames, durations, info


def timing(count, loop=0, order=None):
    return Timing(order or tuple(range(count)), 8.0, loop)


def test_opaque_sequence_decodes_with_its_frames_delays_and_loop(tmp_path):
    frames = turntable()
    target = tmp_path / "x.gif"
    write_gif(frames, target, GifSettings(), timing(8), WHITE)
    shown, durations, info = decoded(target)
    assert len(shown) == 8
    assert durations == [120, 130, 130, 120, 120, 130, 130, 120]  # 8 fps in centiseconds, no drift
    assert info["loop"] == 0
    for source, frame in zip(frames, shown):
        assert ssim(frame, source[..., :3]) > 0.98
        assert np.abs(frame.astype(int) - source[..., :3]).mean() < 3
    assert [p.name for p in tmp_path.iterdir()] == ["x.gif"]  # no temporary left behind


def test_alpha_sequence_gets_a_white_background_and_no_dark_fringe(tmp_path):
    frames = turntable(alpha=True)
    target = tmp_path / "x.gif"
    write_gif(frames, target, GifSettings(), timing(8), WHITE)
    shown, _, _ = decoded(target)
    for source, frame in zip(frames, shown):
        expected = composite(source, WHITE).astype(int)
        assert (frame[source[..., 3] == 0] == 255).all()  # transparent -> the white matte
        edge = (source[..., 3] > 0) & (source[..., 3] < 255)
        assert edge.sum() > 20
        # a fringe would show the object's dark colour where the edge is mostly background
        assert np.abs(frame[edge].astype(int) - expected[edge]).max() <= 24
        assert ssim(frame, expected) > 0.98


def test_another_matte_shows_under_transparent_pixels(tmp_path):
    frames = turntable(alpha=True)
    write_gif(frames, tmp_path / "x.gif", GifSettings(), timing(8), (0, 0, 0))
    shown, _, _ = decoded(tmp_path / "x.gif")
    assert (shown[3][frames[3][..., 3] == 0] == 0).all()


def test_bounce_order_and_loop_count(tmp_path):
    frames = turntable(count=5)
    order = (0, 1, 2, 3, 4, 3, 2, 1)
    write_gif(frames, tmp_path / "x.gif", GifSettings(), timing(5, loop=3, order=order), WHITE)
    shown, durations, info = decoded(tmp_path / "x.gif")
    assert len(shown) == 8 and len(durations) == 8
    assert info["loop"] == 2  # GIF counts repeats after the first play
    for step, index in enumerate(order):
        assert np.abs(shown[step].astype(int) - frames[index][..., :3]).mean() < 3


def test_play_once_writes_no_loop_block(tmp_path):
    write_gif(turntable(count=3), tmp_path / "x.gif", GifSettings(), timing(3, loop=1), WHITE)
    assert "loop" not in decoded(tmp_path / "x.gif")[2]


def test_repeated_frames_keep_their_delay(tmp_path):
    frame = turntable(count=1)[0]
    write_gif([frame, frame, frame], tmp_path / "x.gif", GifSettings(), timing(3), WHITE)
    shown, durations, _ = decoded(tmp_path / "x.gif")
    assert len(shown) == 3 and sum(durations) == 380  # 375 ms rounded to centiseconds
    assert all((s == shown[0]).all() for s in shown)


@pytest.mark.parametrize("dither", ["none", "ordered", "floyd-steinberg"])
def test_every_dither_stays_close_to_the_source(tmp_path, dither):
    frames = turntable(count=4)
    write_gif(frames, tmp_path / "x.gif", GifSettings(dither=dither), timing(4), WHITE)
    shown, _, _ = decoded(tmp_path / "x.gif")
    assert len(shown) == 4
    assert min(ssim(f, s[..., :3]) for f, s in zip(shown, frames)) > 0.9


def test_lossy_keeps_every_pixel_within_its_tolerance(tmp_path):
    frames = turntable()
    write_gif(frames, tmp_path / "exact.gif", GifSettings(), timing(8), WHITE)
    write_gif(frames, tmp_path / "lossy.gif", GifSettings(lossy=12), timing(8), WHITE)
    exact, _, _ = decoded(tmp_path / "exact.gif")
    lossy, _, _ = decoded(tmp_path / "lossy.gif")
    for source, plain, loose in zip(frames, exact, lossy):
        quantisation = np.abs(plain.astype(int) - source[..., :3]).max()
        assert np.abs(loose.astype(int) - source[..., :3]).max() <= max(quantisation, 12)
    assert (tmp_path / "lossy.gif").stat().st_size < (tmp_path / "exact.gif").stat().st_size


def test_colour_count_is_respected(tmp_path):
    write_gif(turntable(count=4), tmp_path / "x.gif", GifSettings(colors=16), timing(4), WHITE)
    shown, _, _ = decoded(tmp_path / "x.gif")
    colours = np.unique(np.concatenate([f.reshape(-1, 3) for f in shown]), axis=0)
    assert len(colours) <= 16
    assert (colours == 255).all(axis=1).any()  # the matte is exactly in the palette


def gradient(size=(64, 48)) -> np.ndarray:
    """An opaque RGBA picture of far more than 256 colours."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 4 % 256, y * 5 % 256, (x * y) % 256, np.full_like(x, 255)]).astype(np.uint8)


def test_each_frame_after_the_first_holds_only_the_box_that_changed(tmp_path):
    frames = []
    for k in range(4):  # an 8x8 square moving 2 px a frame over a still picture
        frame = gradient()
        frame[10:18, 10 + 2 * k:18 + 2 * k, :3] = (255, 0, 0)
        frames.append(frame)
    target = tmp_path / "x.gif"
    write_gif(frames, target, GifSettings(), timing(4), WHITE)
    with Image.open(target) as image:
        boxes = []
        for index in range(4):
            image.seek(index)
            boxes.append(image.tile[0][1])  # the frame's rectangle in the canvas
    assert boxes[0] == (0, 0, 64, 48)
    for box in boxes[1:]:
        left, top, right, bottom = box
        assert (right - left) * (bottom - top) <= 10 * 8, box  # the square's old and new place


def test_the_matte_is_exact_however_few_pixels_show_it(tmp_path):
    matte = (0, 128, 255)
    frames = [gradient() for _ in range(2)]
    for frame in frames:
        frame[20:22, 30:32, 3] = 0  # 4 transparent pixels of 3,072
    target = tmp_path / "x.gif"
    write_gif(frames, target, GifSettings(), timing(2), matte)
    shown, _, _ = decoded(target)
    for frame in shown:
        assert {tuple(frame[y, x]) for y in (20, 21) for x in (30, 31)} == {matte}


def test_pixels_a_frame_does_not_change_cost_next_to_nothing(tmp_path):
    rng = np.random.default_rng(7)
    colours = rng.integers(0, 256, (16, 3))
    still = np.dstack([colours[rng.integers(0, 16, (48, 64))], np.full((48, 64), 255)]).astype(np.uint8)
    frames = []
    for k in range(2):  # two squares in opposite corners move: the changed box is the whole frame
        frame = still.copy()
        frame[2:6, 2 + k:6 + k, :3] = (255, 0, 0)
        frame[42:46, 58 - k:62 - k, :3] = (0, 0, 255)
        frames.append(frame)
    one, two = tmp_path / "one.gif", tmp_path / "two.gif"
    write_gif(frames[:1], one, GifSettings(), timing(1), WHITE)
    write_gif(frames, two, GifSettings(), timing(2), WHITE)
    # the second frame codes its unchanged noise as transparent runs, not again
    assert two.stat().st_size < 1.25 * one.stat().st_size
    shown, _, _ = decoded(two)
    assert np.array_equal(shown[1], frames[1][..., :3])
