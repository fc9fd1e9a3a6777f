from pipeline.settings import AnimationSettings
from pipeline.timing import Timing, play_order, timing_for


def test_bounce_plays_back_without_repeating_the_end_frames():
    assert play_order(4, bounce=False) == (0, 1, 2, 3)
    assert play_order(4, bounce=True) == (0, 1, 2, 3, 2, 1)
    assert play_order(2, bounce=True) == (0, 1)
    assert play_order(1, bounce=True) == (0,)


def test_gif_delays_round_to_centiseconds_without_drifting():
    timing = Timing(tuple(range(16)), 8.0, 0)
    delays = timing.durations(10)
    assert set(delays) == {120, 130}
    assert sum(delays) == 2000  # 16 frames at 8 fps: exactly two seconds
    assert timing.durations() == [125] * 16


def test_timing_follows_the_animation_settings():
    timing = timing_for(5, AnimationSettings(fps=10.0, loop=3, bounce=True))
    assert timing == Timing((0, 1, 2, 3, 4, 3, 2, 1), 10.0, 3)
    assert timing.durations(10) == [100] * 8
