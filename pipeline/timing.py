"""When each frame of an animation is shown: play order (with bounce), delays and loop count.

Plain data shared by every encoder, so a GIF, a WebP and a video of one sequence play at the
same pace.
"""
from __future__ import annotations

from typing import NamedTuple

from .settings import AnimationSettings


class Timing(NamedTuple):
    order: tuple[int, ...]  # index of the source frame shown at each step
    fps: float
    loop: int  # times the whole animation plays; 0 = forever

    @property
    def duration_ms(self) -> float:
        """How long each shown frame stays, in milliseconds."""
        return 1000.0 / self.fps

    def durations(self, step_ms: int = 1) -> list[int]:
        """Each shown frame's delay as a multiple of `step_ms`, rounded so that the running
        total never drifts: at 8 fps GIF (10 ms steps) alternates 120 and 130 ms."""
        delays, shown = [], 0
        for k in range(1, len(self.order) + 1):
            end = round(k * self.duration_ms / step_ms) * step_ms
            delays.append(end - shown)
            shown = end
        return delays


def play_order(count: int, bounce: bool) -> tuple[int, ...]:
    """0..n-1, and with bounce back down to 1: the end frames are not shown twice in a row."""
    forward = tuple(range(count))
    return forward + tuple(range(count - 2, 0, -1)) if bounce else forward


def timing_for(count: int, settings: AnimationSettings) -> Timing:
    return Timing(play_order(count, settings.bounce), settings.fps, settings.loop)
