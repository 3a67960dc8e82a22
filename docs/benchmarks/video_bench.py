"""Speed and memory of `facelab video` (:func:`facelab.pipeline.video.analyze_video`), as issue 22 asks: frames per
second end to end (read, detect, embed, track, sequence models, annotated MJPG copy and JSON written) at 640x480
with 1-3 faces, and the peak resident memory over a short video against one 4x longer, each in its own process.

The videos are ASSEMBLED: a non-face scene from the data home as the background, with the heads of 1-3 LFW photos
of the embedding's test people (pairsDevTest) drifting across it (face j is on screen while (t // 20) % 3 >= j, so
the count cycles 1, 2, 3). Each run warms the models on a few frames first (graphs traced) and then times the
whole video. Prints JSON.

    python docs/benchmarks/video_bench.py [--frames 60] [--every 1 2] [--min-face 0 48] [--seed 42]

``--min-face``: runs detecting every frame with the CNN detector searching only for faces at least that wide (the
heads here are 110-150 px), the speed knob of ``facelab video --min-face``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

W, H = 640, 480


def assembled_video(path: Path, frames: int, seed: int) -> Path:
    import cv2
    import numpy as np

    from facelab.data import list_non_face_scenes, lfw, pair_paths, read_pairs
    from facelab.preprocess import read_image

    rng = np.random.default_rng(seed)
    scene = cv2.resize(read_image(list_non_face_scenes()[int(rng.integers(100))], "bgr"), (W, H))
    a, b, _ = pair_paths(read_pairs(lfw.path() / "pairsDevTest.txt"))
    photos = sorted({str(p) for p in a + b})
    heads, places, speeds = [], [], []
    for j in range(3):
        side = int(rng.integers(110, 150))
        heads.append(cv2.resize(read_image(photos[int(rng.integers(len(photos)))], "bgr")[40:210, 40:210], (side, side)))
        places.append(np.array([20.0 + 200 * j, float(rng.integers(0, H - side))]))
        speeds.append(rng.uniform(-3, 3, 2))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (W, H))
    for t in range(frames):
        frame = scene.copy()
        for j, (head, place, speed) in enumerate(zip(heads, places, speeds)):
            side = head.shape[0]
            place += speed
            for k, top in ((0, W - side), (1, H - side)):  # bounce off the edges
                if not 0 <= place[k] <= top:
                    speed[k] = -speed[k]
                    place[k] = min(max(place[k], 0), top)
            if (t // 20) % 3 >= j:
                x, y = int(place[0]), int(place[1])
                frame[y:y + side, x:x + side] = head
        writer.write(frame)
    writer.release()
    return path


def one_run(video: str, every: int, out: str, min_face: float | None = None) -> dict:
    """Analyze ``video`` in this process after a warm-up; the seconds, frames/s, tracks and peak RSS."""
    from facelab.pipeline.analyzer import FaceAnalyzer
    from facelab.pipeline.video import analyze_video

    analyzer = FaceAnalyzer(expression=None, emotion=None, min_face=min_face)
    analyze_video(video, analyzer, max_frames=8, window=4)  # warm-up: models loaded, graphs traced
    rss_warm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    analyzer.timings.clear()
    t0 = time.perf_counter()
    result = analyze_video(video, analyzer, out_dir=out, every=every)
    seconds = time.perf_counter() - t0
    doc = result.to_dict()
    faces = sum(len(t.frames) for t in result.tracks)
    return {"frames": result.info.frames_read, "every": every, "min_face": min_face, "seconds": round(seconds, 2),
            "frames_per_s": round(result.info.frames_read / seconds, 2), "tracks": len(result.tracks),
            "faces_tracked": faces, "dropped_short_tracks": result.dropped_short_tracks,
            "seconds_per_frame_by_stage": {k: round(v / result.info.frames_read, 4)
                                           for k, v in doc["seconds_per_stage"].items()},
            "peak_rss_mb_after_warmup": round(rss_warm, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="frames of the short video (the long one has 4x)")
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2], help="detect on every k-th frame")
    parser.add_argument("--min-face", type=float, nargs="+", default=[0, 48],
                        help="smallest face searched for, px, at every frame (0: the detector's own, 28 px)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--one", nargs=4, metavar=("VIDEO", "EVERY", "OUT", "MIN_FACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.one:
        print(json.dumps(one_run(args.one[0], int(args.one[1]), args.one[2], float(args.one[3]) or None)))
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, n in (("short", args.frames), ("long", 4 * args.frames)):
            video = assembled_video(Path(tmp) / f"{label}.avi", n, args.seed)
            plan = [(e, 0.0) for e in args.every] + [(1, m) for m in args.min_face if m] if label == "short" else [(1, 0.0)]
            for every, min_face in plan:
                out = subprocess.run([sys.executable, __file__, "--one", str(video), str(every), str(Path(tmp) / "out"),
                                      str(min_face)], check=True, capture_output=True, text=True).stdout
                runs.append({"video": label, **json.loads(out.strip().splitlines()[-1])})
    short = next(r for r in runs if r["video"] == "short" and r["every"] == 1 and not r["min_face"])
    long = next(r for r in runs if r["video"] == "long")
    print(json.dumps({
        "size": "640x480, assembled (1-3 LFW heads drifting on a non-face scene), MJPG .avi",
        "runs": runs, "long_over_short_peak_rss": round(long["peak_rss_mb"] / short["peak_rss_mb"], 3),
        "targets": {"frames_per_s": ">= 15 end to end", "memory": "flat: the 4x video's peak ~ the short one's"},
        "cpu_count": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
