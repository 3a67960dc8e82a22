"""Speed of the application pipeline, as issue 21's targets ask: `facelab analyze` on 640x480 photos with 1-3
faces (photos per second end to end, seconds per stage), and a cold one-photo `facelab analyze` against a bare
`python -c "import tensorflow"` on the same machine.

The 640x480 photos are ASSEMBLED: a non-face scene from the data home as the background, with 1-3 LFW photos of
the embedding's test people (pairsDevTest) pasted at random places and sizes. Prints JSON.

    python docs/benchmarks/pipeline_bench.py [--photos 60] [--seed 42] [--cold-runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def assembled_photos(n: int, seed: int, folder: Path) -> list[str]:
    import cv2
    import numpy as np

    from facelab.data import lfw, list_non_face_scenes, pair_paths, read_pairs
    from facelab.preprocess import read_image

    rng = np.random.default_rng(seed)
    scenes = list_non_face_scenes()
    a, b, _ = pair_paths(read_pairs(lfw.path() / "pairsDevTest.txt"))
    faces = sorted({str(p) for p in a + b})
    out = []
    for k in range(n):
        canvas = cv2.resize(read_image(scenes[rng.integers(len(scenes))], "bgr"), (640, 480))
        for j in range(int(rng.integers(1, 4))):
            face = read_image(faces[rng.integers(len(faces))], "bgr")[40:210, 40:210]  # the head of the 250x250 photo
            side = int(rng.integers(110, 200))
            face = cv2.resize(face, (side, side))
            x, y = 20 + j * 210 + int(rng.integers(0, max(1, 200 - side))), int(rng.integers(0, 480 - side))
            canvas[y:y + side, x:x + side] = face
        path = folder / f"assembled_{k:03d}.jpg"
        cv2.imwrite(str(path), canvas)
        out.append(str(path))
    return out


def cold_seconds(argv: list[str], runs: int) -> float:
    best = float("inf")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from facelab.pipeline.analyzer import FaceAnalyzer

    with tempfile.TemporaryDirectory() as tmp:
        photos = assembled_photos(args.photos, args.seed, Path(tmp))
        analyzer = FaceAnalyzer()
        analyzer.analyze(photos[:2])  # warm-up: graphs traced, models loaded
        analyzer.timings.clear()
        t0 = time.perf_counter()
        results = analyzer.analyze(photos)
        seconds = time.perf_counter() - t0
        faces = sum(len(r.faces) for r in results)
        facelab = [sys.executable, "-m", "facelab.cli", "analyze", photos[0], "--json"]
        cold = cold_seconds(facelab, args.cold_runs)
        tf = cold_seconds([sys.executable, "-c", "import tensorflow"], args.cold_runs)
    print(json.dumps({
        "photos": len(photos), "size": "640x480, assembled (1-3 LFW faces on a non-face scene)", "faces_found": faces,
        "photos_per_s": round(len(photos) / seconds, 2), "seconds": round(seconds, 2),
        "seconds_per_photo_by_stage": {k: round(v / len(photos), 4) for k, v in analyzer.timings.items()},
        "cold_one_photo_analyze_s": round(cold, 2), "cold_import_tensorflow_s": round(tf, 2),
        "cold_ratio": round(cold / tf, 2), "targets": {"photos_per_s": ">= 15", "cold_ratio": "<= 2"},
        "cpu_count": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
