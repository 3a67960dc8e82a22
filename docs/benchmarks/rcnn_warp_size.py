"""The R-CNN's warp size (the side each region is warped to before the CNN features), compared on the detection
validation split by retraining the whole recipe at each size.

For each ``--warps`` size: :func:`facelab.detection.train.train_rcnn` (full profile; the shipped
``detection_rcnn.json`` seeds the new directory, so every other inference setting is the shipped one), then on the
validation split (never CMU+MIT): its box map fitted on its own detections at its threshold (as
``facelab train box-calibration`` fits one) and AP@0.3 / AP@0.5 at the lowest threshold through that map. At 36 px
the CNN's 36-px window sees the region once (a 1x1 map); every 4 px more adds a row and a column of window positions
to pool over. Trained runs are kept in ``--runs-dir`` and reused. Prints and writes JSON.

    python docs/benchmarks/rcnn_warp_size.py [--warps 36 40 48 56 64] [--out docs/benchmarks/results/rcnn_warp_size.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def score_on_validation(weights_dir, items) -> dict:
    """Box map fitted on the detector's own boxes at its threshold, then AP at the lowest threshold through it."""
    import numpy as np

    from facelab.detection.calibration import fit_box_map
    from facelab.detection.metrics import _as_array, detection_metrics
    from facelab.detection.rcnn import RCNNDetector

    det = RCNNDetector.load(weights_dir, min_score=-1e9)
    gts, sizes = [it["boxes"] for it in items], [it["image"].shape[:2] for it in items]
    det.box_map = None
    raw = [_as_array(det.detect(it["image"])) for it in items]
    box_map, n = fit_box_map([d[d[:, 4] >= det.config.min_score] for d in raw], gts, sizes)
    det.box_map = box_map
    t0 = time.perf_counter()
    mapped = [_as_array(det.detect(it["image"])) for it in items]
    seconds = (time.perf_counter() - t0) / len(items)
    m = detection_metrics(mapped, gts)
    return {"ap30": round(float(m["ap30"]), 4), "ap50": round(float(m["ap50"]), 4), "box_map": box_map,
            "box_map_faces": n, "s_per_image": round(seconds, 3), "warp": det.config.warp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warps", nargs="+", type=int, default=[36, 40, 48, 56, 64])
    parser.add_argument("--runs-dir", default="runs/rcnn_warp_size")
    parser.add_argument("--out", default="docs/benchmarks/results/rcnn_warp_size.json")
    args = parser.parse_args()
    from facelab.config import WEIGHTS_DIR
    from facelab.detection.train import train_rcnn
    from facelab.detection.validation import validation_set

    items = validation_set()
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "photos": len(items),
           "faces": int(sum(len(it["boxes"]) for it in items)), "shipped": score_on_validation(WEIGHTS_DIR, items),
           "retrained": {}}
    print("shipped:", out["shipped"], flush=True)
    for w in args.warps:
        d = Path(args.runs_dir) / f"warp{w}"
        if not (d / "detection_rcnn.keras").exists():
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy(WEIGHTS_DIR / "detection_rcnn.json", d / "detection_rcnn.json")
            train_rcnn("full", out_dir=d, warp=w, progress=False, verbose=0, log=lambda *a: None)
        out["retrained"][str(w)] = score_on_validation(d, items)
        print(f"warp {w}:", out["retrained"][str(w)], flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
