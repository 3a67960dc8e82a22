"""A detector's seconds per photo as a user's process sees them: each run is a fresh Python process holding only
that detector and the reference (Haar alt2), taking turns with it photo by photo.

Why beside :func:`facelab.detection.benchmark.benchmark`: that benchmark runs every detector in one process, and
the TensorFlow models among them (MTCNN, deepface's MTCNN, the R-CNN) share the CNN's oneDNN primitive caches and
CPU caches (the likely cause of what follows). Measured on CMU+MIT A+B beside six other detectors, that slows the
CNN by about a quarter to a third even on a warm pass (0.46-0.47x Haar alt2's time against 0.35-0.37x alone,
``docs/benchmarks/cnn_border_pad_timing.py``). A user's ``facelab detect`` process runs one detector. Fresh
processes also make each first pass cold, as a new user's is, and several of them show how much the ratio moves on
a shared machine. The timing loop is :func:`benchmark`'s (images outer, detectors inner) without its metrics, and
with a config override, which it has no way to take.

    python -m facelab.detection.speed --child '{"name": "cnn", "paths": [...], "passes": 2}'   # one run (internal)
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace

REFERENCE = "haar-alt2"


def _one_run(name: str, paths: list[str], passes: int, reference: str = REFERENCE, config: dict | None = None,
             others: tuple = ()) -> list[dict]:
    """In this process: each detector warmed up on the first photo, then ``passes`` passes over the photos, the
    detectors taking turns photo by photo at the lowest threshold (as the benchmark runs them). Per pass and
    detector: s/photo and its ratio to the reference's."""
    from ..preprocess import read_image
    from .registry import get_detector

    images = [read_image(p, "bgr") for p in paths]
    detectors = {name: get_detector(name, min_score=-1e9)}
    if config:
        detectors[name].config = replace(detectors[name].config, **config)
    for n in (reference, *others):
        detectors.setdefault(n, get_detector(n, min_score=-1e9))
    for det in detectors.values():
        det.detect(images[0])
    rows = []
    for _ in range(passes):
        seconds = dict.fromkeys(detectors, 0.0)
        for im in images:
            for n, det in detectors.items():
                t0 = time.perf_counter()
                det.detect(im)
                seconds[n] += time.perf_counter() - t0
        rows.append({n: {"s_per_image": s / len(images), "x_reference": s / seconds[reference]}
                     for n, s in seconds.items()})
    return rows


def spread(values: list[float]) -> dict | None:
    """Median, range and count (``None`` for no values)."""
    if not values:
        return None
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def ratio_spreads(runs: list[list[dict]], name: str) -> tuple[dict | None, dict | None]:
    """The spread of ``name``'s ratio to the reference over ``runs`` (each a list of passes, as :func:`_one_run`
    returns): on the first (cold) passes, and on the later (warm) ones."""
    return (spread([rows[0][name]["x_reference"] for rows in runs]),
            spread([row[name]["x_reference"] for rows in runs for row in rows[1:]]))


def time_in_fresh_processes(name: str, paths, runs: int = 4, passes: int = 2, reference: str = REFERENCE,
                            config: dict | None = None, others=(), log=None) -> dict:
    """``runs`` fresh processes of :func:`_one_run`. Returns the runs and, for ``name``, the spread of its ratio to
    the reference on the first (cold) pass and on the later (warm) passes. ``config``: fields of the detector's
    config to override (a variant of the shipped settings); ``others``: detectors interleaved as well."""
    from .registry import DETECTORS

    if runs < 1 or passes < 1:
        raise ValueError(f"runs and passes must be at least 1, not {runs} and {passes}")
    for n in (name, reference, *others):
        DETECTORS[n]  # an unknown name fails here, naming the known ones, before any process starts
    job = {"name": name, "paths": [str(p) for p in paths], "passes": passes, "reference": reference,
           "config": config or {}, "others": list(others)}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
    out = []
    for r in range(runs):
        done = subprocess.run([sys.executable, "-m", "facelab.detection.speed", "--child", json.dumps(job)],
                              capture_output=True, text=True, env=env)
        if done.returncode:  # the child's exception, its traceback's last line
            reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise RuntimeError(f"timing run {r + 1} of {name} failed: {reason}")
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        out.append(rows)
        if log:
            log(f"run {r + 1}/{runs}, {name}: " + "; ".join(
                f"pass {k + 1} {row[name]['x_reference']:.3f}x {reference}" for k, row in enumerate(rows)))
    first, later = ratio_spreads(out, name)
    return {"detector": name, "reference": reference, "config": config or {}, "others": list(others),
            "photos": len(job["paths"]), "runs": out, "first_pass_x_reference": first,
            "later_passes_x_reference": later}


def _main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="one timing run of facelab.detection.speed (internal)")
    parser.add_argument("--child", required=True, help="the run as JSON")
    job = json.loads(parser.parse_args(argv).child)
    rows = _one_run(job["name"], job["paths"], job["passes"], job.get("reference", REFERENCE), job.get("config"),
                    tuple(job.get("others", ())))
    print(json.dumps(rows))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _main()
