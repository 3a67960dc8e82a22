"""Timing helpers: wall-clock with warm-up, so speed numbers are comparable across models."""
from __future__ import annotations

import time
from typing import Callable, Sequence


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


def throughput(fn: Callable[[Sequence], object], items: Sequence, warmup: int = 1, repeats: int = 3) -> dict:
    """Items per second of ``fn(items)`` (best of ``repeats`` after ``warmup`` calls), and the latency per item."""
    for _ in range(warmup):
        fn(items)
    best = float("inf")
    for _ in range(repeats):
        with Timer() as t:
            fn(items)
        best = min(best, t.seconds)
    n = len(items)
    return {"items": n, "seconds": best, "items_per_s": n / best if best > 0 else float("inf"),
            "ms_per_item": 1000 * best / max(n, 1)}
