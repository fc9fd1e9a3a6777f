"""Wall time for the benches: the best of several runs."""
from __future__ import annotations

import time


def best_of(times: int, run, *args):
    """Least wall seconds of `times` calls of `run(*args)` (other load on the machine only ever
    adds time), and what the last call returned."""
    best, result = float("inf"), None
    for _ in range(max(times, 1)):
        start = time.perf_counter()
        result = run(*args)
        best = min(best, time.perf_counter() - start)
    return best, result
