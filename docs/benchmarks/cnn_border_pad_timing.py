"""What the CNN's border padding costs in time: the shipped CNN, the same weights without the padding and the group
rule (the config before issue 24's padding), and Haar alt2, taking turns image by image over the CMU+MIT A+B photos
for several passes in one process, at the lowest threshold as the benchmark runs them.

The first pass is what ``facelab.detection.benchmark`` (notebook 02, ``docs/benchmarks/detection_validation.py``)
measures: each detector warmed up on the first photo only, so the pass includes TensorFlow's work for every new
pyramid-canvas shape, and the padded pyramid has more of them. The later passes are the warm cost, what a user
running many photos of the same sizes pays. Timing only: no accuracy is computed here. Prints and writes JSON.

    python docs/benchmarks/cnn_border_pad_timing.py [--passes 3] [--out docs/benchmarks/results/cnn_border_pad_timing.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--out", default="docs/benchmarks/results/cnn_border_pad_timing.json")
    args = parser.parse_args()
    from facelab.data import load_cmu_mit
    from facelab.detection import get_detector
    from facelab.preprocess import read_image

    images = [read_image(it["path"], "bgr") for it in load_cmu_mit()]
    shipped = get_detector("cnn", min_score=-1e9)
    unpadded = get_detector("cnn", min_score=-1e9)
    unpadded.config = replace(unpadded.config, border_pad=0, group_holds=0)
    detectors = {"cnn": shipped, "cnn without border_pad and group_holds": unpadded,
                 "haar-alt2": get_detector("haar-alt2", min_score=-1e9)}
    for det in detectors.values():
        det.detect(images[0])
    passes = []
    for k in range(args.passes):
        seconds = {name: 0.0 for name in detectors}
        for im in images:
            for name, det in detectors.items():
                t0 = time.perf_counter()
                det.detect(im)
                seconds[name] += time.perf_counter() - t0
        row = {name: {"s_per_image": round(s / len(images), 4), "x_haar_alt2": round(s / seconds["haar-alt2"], 3)}
               for name, s in seconds.items()}
        passes.append(row)
        print(f"pass {k + 1}: " + ", ".join(f"{n} {r['x_haar_alt2']}x" for n, r in row.items()), flush=True)
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "photos": len(images),
           "note": "pass 1 is what the benchmark measures (warm-up on the first photo only); later passes are warm",
           "passes": passes}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
